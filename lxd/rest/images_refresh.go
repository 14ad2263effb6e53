package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/imagecache"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var imageRefreshCmd = Endpoint{
	Path: "images/{fingerprint}/refresh",
	Post: Action{Handler: imageRefresh, Access: allowTrusted},
}

// imageRefresh checks the image's source for a newer image under the alias it was pulled by, and replaces it.
func imageRefresh(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	if img.UpdateSource == nil || img.UpdateSource.Alias == "" {
		return response.BadRequest(fmt.Errorf("image %s was not pulled by an alias from another server: nothing to refresh", img.Fingerprint[:12]))
	}

	requestor := request.GetRequestor(r)
	fp := img.Fingerprint
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Refreshing image",
		Resources:   map[string][]string{"images": {imageURL(fp)}},
		Requestor:   requestor,
		Run: func(ctx context.Context, op *operations.Operation) error {
			newFP, err := refreshImage(ctx, s, op, requestor, fp)
			if err != nil {
				return err
			}

			return op.UpdateMetadata(map[string]any{"refreshed": newFP != fp, "fingerprint": newFP})
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// refreshImage pulls the image the source alias of image fp points to now; when it is a new one, the aliases and
// the auto-update flag move to it, and the old image goes if it was only a cached copy. It returns the fingerprint
// in use afterwards.
func refreshImage(ctx context.Context, s *state.State, op *operations.Operation, requestor *request.Requestor, fp string) (string, error) {
	var old *db.Image
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		old, err = tx.GetImage(ctx, fp)
		return err
	})
	if err != nil {
		return "", err
	}

	if old.Source == nil || old.Source.Alias == "" {
		return fp, nil
	}

	req := api.ImagesPost{
		ImagePut: api.ImagePut{AutoUpdate: true, Public: old.Public},
		Source: &api.ImagesPostSource{
			ImageSource: api.ImageSource{
				Alias:       old.Source.Alias,
				Certificate: old.Source.Certificate,
				Protocol:    old.Source.Protocol,
				Server:      old.Source.Server,
				ImageType:   old.Source.ImageType,
			},
			Type: "image",
			Mode: "pull",
		},
	}

	newFP, err := pullImage(ctx, s, op, requestor, req)
	if err != nil {
		return "", fmt.Errorf("refresh image %s: %w", fp[:12], err)
	}

	if newFP == fp {
		return fp, nil
	}

	err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.MoveImageAliases(ctx, fp, newFP)
		if err != nil {
			return err
		}

		fresh, err := tx.GetImage(ctx, newFP)
		if err != nil {
			return err
		}

		err = tx.UpdateImage(ctx, newFP, db.ImageUpdate{Public: fresh.Public, AutoUpdate: true, ExpiresAt: fresh.ExpiresAt,
			Properties: fresh.Properties})
		if err != nil {
			return err
		}

		if old.Cached {
			err = tx.UpdateImageCached(ctx, newFP, true)
			if err != nil {
				return err
			}
		}

		return tx.UpdateImage(ctx, fp, db.ImageUpdate{Public: old.Public, AutoUpdate: false, ExpiresAt: old.ExpiresAt,
			Properties: old.Properties})
	})
	if err != nil {
		return "", err
	}

	if old.Cached {
		err = imagecache.Delete(ctx, s, fp)
		if err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("failed removing the replaced cached image", "fingerprint", fp, "err", err)
		}
	}

	lifecycleBy(s, requestor, "image-refreshed", imageURL(newFP), map[string]any{"old": fp})
	return newFP, nil
}

// AutoUpdateImages refreshes every image with auto-update on, in one "Updating images" operation, as the daemon does
// every images.auto_update_interval hours. Cached images are refreshed only with images.auto_update_cached.
func AutoUpdateImages(ctx context.Context, s *state.State) error {
	yes := true
	var imgs []db.Image
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		imgs, err = tx.GetImages(ctx, db.ImageFilter{AutoUpdate: &yes})
		return err
	})
	if err != nil {
		return err
	}

	withCached := s.Config().Bool(config.AutoUpdateCached)
	var due []string
	for _, img := range imgs {
		if img.Source == nil || img.Source.Alias == "" || (img.Cached && !withCached) {
			continue
		}

		due = append(due, img.Fingerprint)
	}

	if len(due) == 0 {
		return nil
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassTask,
		Description: "Updating images",
		Run: func(ctx context.Context, op *operations.Operation) error {
			for _, fp := range due {
				_, err := refreshImage(ctx, s, op, nil, fp)
				if err != nil {
					// One unreachable source must not stop the others.
					slog.Warn("failed refreshing image", "fingerprint", fp, "err", err)
				}
			}

			return nil
		},
	})
	if err != nil {
		return err
	}

	err = op.Start()
	if err != nil {
		return err
	}

	return op.Wait(ctx)
}
