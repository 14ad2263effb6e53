package rest

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// instancesPostCopy creates an instance as a copy of another one or of a snapshot (source type copy).
func instancesPostCopy(s *state.State, r *http.Request, req api.InstancesPost) response.Response {
	if req.Source.Source == "" {
		return response.BadRequest(fmt.Errorf("the copy source is missing"))
	}

	if req.Source.Mode != "" && req.Source.Mode != "pull" {
		return response.NotImplemented(fmt.Errorf("copy mode %q is not supported", req.Source.Mode))
	}

	// The source may be in another project (lxc copy --target-project): a restricted client must be allowed there
	// too.
	target := requestProject(r)
	source := req.Source.Project
	if source == "" {
		source = target
	}

	if !request.GetRequestor(r).CanAccessProject(source) {
		return response.Forbidden(nil)
	}

	if strings.Contains(req.Source.Source, "_") {
		return response.SmartError(errs.NotFound("instance %q not found", req.Source.Source))
	}

	// Profiles not named are the source's, by name, in the project whose profiles the copy uses.
	names := req.Profiles
	if names == nil && source != target {
		src, err := s.Instances.Get(r.Context(), project.InstanceKey(source, strings.Split(req.Source.Source, "/")[0]))
		if err != nil {
			return response.SmartError(err)
		}

		names = src.Profiles
	}

	profiles, err := instanceProfiles(s, r, names)
	if err != nil {
		return response.SmartError(err)
	}

	args := instance.CopyArgs{
		Source:      project.InstanceKey(source, req.Source.Source),
		Name:        project.InstanceKey(target, req.Name),
		Description: req.Description,
		Ephemeral:   req.Ephemeral,
		Config:      req.Config,
		Devices:     req.Devices,
		Profiles:    profiles,

		InstanceOnly: req.Source.InstanceOnly,
	}

	err = s.Instances.ValidateCopy(r.Context(), args)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Creating instance",
		Resources:   instanceResources(args.Name),
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			err := s.Instances.Copy(ctx, args)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-created", instance.URL(args.Name),
				map[string]any{"storage-pool": "default", "type": api.InstanceTypeContainer})
			return nil
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}
