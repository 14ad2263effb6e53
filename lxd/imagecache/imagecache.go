// Package imagecache keeps the image store and its records together: deleting an image everywhere, and pruning the
// cached images (those pulled to create instances) that have not been used for images.remote_cache_expiry days.
package imagecache

import (
	"context"
	"log/slog"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// Delete removes an image's row and aliases, and then its files: a crash in between leaves only files without a
// row, which the daemon removes at start.
func Delete(ctx context.Context, s *state.State, fp string) error {
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteImage(ctx, fp)
	})
	if err != nil {
		return err
	}

	return s.Images.Delete(fp)
}

// Prune deletes the cached images last used (or, never used, stored) before images.remote_cache_expiry days ago.
// An expiry of 0 keeps them. It returns the fingerprints deleted.
func Prune(ctx context.Context, s *state.State, now time.Time) ([]string, error) {
	days := s.Config().Int(config.RemoteCacheExpiry)
	if days <= 0 {
		return nil, nil
	}

	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	cached := true
	var imgs []db.Image
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		imgs, err = tx.GetImages(ctx, db.ImageFilter{Cached: &cached})
		return err
	})
	if err != nil {
		return nil, err
	}

	var deleted []string
	for _, img := range imgs {
		used := img.LastUsedAt
		if used.IsZero() {
			used = img.UploadedAt
		}

		if !used.Before(cutoff) {
			continue
		}

		err = Delete(ctx, s, img.Fingerprint)
		if err != nil {
			slog.Error("failed pruning a cached image", "fingerprint", img.Fingerprint, "err", err)
			continue
		}

		slog.Info("pruned unused cached image", "fingerprint", img.Fingerprint, "last_used", used)
		s.Events.SendLifecycle("default", api.EventLifecycle{Action: "image-deleted", Source: "/1.0/images/" + img.Fingerprint})
		deleted = append(deleted, img.Fingerprint)
	}

	return deleted, nil
}
