package rest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// imagesPostPublish makes an image from an instance or a snapshot (source type instance, container or snapshot).
func imagesPostPublish(s *state.State, r *http.Request, req api.ImagesPost) response.Response {
	name := req.Source.Name
	snap := ""
	if req.Source.Type == "snapshot" {
		var ok bool
		name, snap, ok = strings.Cut(name, "/")
		if !ok || snap == "" {
			return response.BadRequest(fmt.Errorf("snapshot source %q is not instance/snapshot", req.Source.Name))
		}
	} else if strings.Contains(name, "/") {
		return response.BadRequest(fmt.Errorf("invalid instance name %q", name))
	}

	if name == "" {
		return response.BadRequest(fmt.Errorf("no source instance given"))
	}

	imgs, err := imagesOf(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	compression, err := imgs.Compression(req.CompressionAlgorithm)
	if err != nil {
		return response.SmartError(err)
	}

	name = project.InstanceKey(requestProject(r), name)

	if snap == "" {
		err := s.Instances.Exists(r.Context(), name)
		if err != nil {
			return response.SmartError(err)
		}

		if s.Instances.Status(name) != api.Stopped {
			return response.BadRequest(fmt.Errorf("the instance is running, stop it first"))
		}
	} else {
		_, err := s.Instances.Snapshot(r.Context(), name, snap)
		if err != nil {
			return response.SmartError(err)
		}
	}

	requestor := request.GetRequestor(r)
	run := func(ctx context.Context, op *operations.Operation) error {
		start := time.Now()
		var last time.Time
		progress := func(percent int, done int64) {
			now := time.Now()
			if now.Sub(last) < 250*time.Millisecond && percent < 100 {
				return
			}

			last = now
			speed := float64(done) / now.Sub(start).Seconds()
			_ = op.UpdateMetadata(map[string]any{
				"create_image_from_container_pack_progress": fmt.Sprintf("Image pack: %d%% (%.2fMB/s)", percent, speed/1e6),
				"progress": map[string]string{
					"stage":   "create_image_from_container_pack",
					"percent": strconv.Itoa(percent),
					"speed":   strconv.FormatInt(int64(speed), 10),
				},
			})
		}

		pending, err := s.Instances.Publish(ctx, instance.PublishArgs{
			Instance:    name,
			Snapshot:    snap,
			Properties:  req.Properties,
			Compression: compression,
			Progress:    progress,
		})
		if err != nil {
			return err
		}

		img, err := imgs.Store(ctx, pending, image.StoreArgs{Filename: req.Filename, Public: req.Public,
			Properties: req.Properties, AutoUpdate: req.AutoUpdate, Aliases: req.Aliases, Requestor: requestor.Lifecycle()})
		if err != nil {
			return err
		}

		return op.UpdateMetadata(image.Result(img))
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Downloading image",
		Resources:   instanceResources(name),
		Requestor:   requestor,
		Run:         run,
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
