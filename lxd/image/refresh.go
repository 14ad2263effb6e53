package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// CheckRefresh tells whether img can be refreshed: only an image pulled by an alias from another server can.
func CheckRefresh(img *api.Image) error {
	if img.UpdateSource == nil || img.UpdateSource.Alias == "" {
		return errs.Invalid("image %s was not pulled by an alias from another server: nothing to refresh", img.Fingerprint[:12])
	}

	return nil
}

// Refresh pulls the image the source alias of image fp points to now; when it is a new one, the aliases and the
// auto-update flag move to it, and the old image goes if it was only a cached copy. It returns the fingerprint in
// use afterwards. Progress receives the download's progress.
func (m *Manager) Refresh(ctx context.Context, fp string, args PullArgs) (string, error) {
	var old *db.Image
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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

	fresh, err := m.Pull(ctx, req, args)
	if err != nil {
		return "", fmt.Errorf("refresh image %s: %w", fp[:12], err)
	}

	newFP := fresh.Fingerprint
	if newFP == fp {
		return fp, nil
	}

	err = m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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
		err = m.remove(ctx, fp)
		if err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("failed removing the replaced cached image", "fingerprint", fp, "err", err)
		}
	}

	m.lifecycle(args.Requestor, "image-refreshed", newFP, map[string]any{"old": fp})
	return newFP, nil
}

// AutoUpdate refreshes every image with auto-update on, of every project, in one "Updating images" task, as the daemon does every
// images.auto_update_interval hours. Cached images are refreshed only with images.auto_update_cached. One
// unreachable source does not stop the others.
func (m *Manager) AutoUpdate(ctx context.Context) error {
	yes := true
	var imgs []db.Image
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		imgs, err = tx.GetImages(ctx, db.ImageFilter{AutoUpdate: &yes, AllProjects: true})
		return err
	})
	if err != nil {
		return err
	}

	withCached := m.config().Bool(config.AutoUpdateCached)
	var due []db.Image
	for _, img := range imgs {
		if img.Source == nil || img.Source.Alias == "" || (img.Cached && !withCached) {
			continue
		}

		due = append(due, img)
	}

	if len(due) == 0 {
		return nil
	}

	run := func(ctx context.Context, progress Progress) error {
		for _, img := range due {
			_, err := m.In(img.Project).Refresh(ctx, img.Fingerprint, PullArgs{Progress: progress})
			if err != nil {
				slog.Warn("failed refreshing image", "fingerprint", img.Fingerprint, "project", img.Project, "err", err)
			}
		}

		return nil
	}

	if m.runTask == nil {
		return run(ctx, nil)
	}

	return m.runTask(ctx, "Updating images", run)
}
