package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// Cached images are the copies of other servers' images pulled to create instances. They are refreshed with
// images.auto_update_cached and deleted when unused for images.remote_cache_expiry days.

// CheckRemoteSource validates the image source of an instance creation from another server before anything starts.
func CheckRemoteSource(src api.InstanceSource) error {
	if !validServerURL(src.Server) {
		return errs.Invalid("invalid image server %q", src.Server)
	}

	switch src.Protocol {
	case "", "lxd", "simplestreams", ProtocolOCI:
	default:
		return errs.Invalid("unsupported image server protocol %q", src.Protocol)
	}

	if src.Mode != "" && src.Mode != "pull" {
		return errs.Invalid("image source mode %q is not supported (use pull)", src.Mode)
	}

	if src.Alias == "" && src.Fingerprint == "" {
		return errs.Invalid("the image source needs an alias or a fingerprint")
	}

	return nil
}

// cachedRemote finds a local copy of the image a remote source names, without contacting the source: an image
// pulled from the same server by the same alias (the newest), or an image whose fingerprint starts with the one
// given. None is of class errs.ErrNotFound.
func (m *Manager) cachedRemote(ctx context.Context, src api.InstanceSource) (string, error) {
	var fp string
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		if src.Alias == "" {
			img, err := tx.GetImageByPrefix(ctx, src.Fingerprint, db.ImageFilter{})
			if err != nil {
				return err
			}

			fp = img.Fingerprint
			return nil
		}

		imgs, err := tx.GetImages(ctx, db.ImageFilter{})
		if err != nil {
			return err
		}

		var newest time.Time
		for _, img := range imgs {
			if img.Source == nil || img.Source.Server != src.Server || img.Source.Alias != src.Alias ||
				img.Source.Protocol != protocolName(src.Protocol) {
				continue
			}

			if fp == "" || img.UploadedAt.After(newest) {
				fp = img.Fingerprint
				newest = img.UploadedAt
			}
		}

		if fp == "" {
			return errs.ErrNotFound
		}

		return nil
	})
	if err != nil {
		return "", err
	}

	return fp, nil
}

// CacheRemote returns the fingerprint of the local image an instance creation from another server uses: the cached
// copy when the store has one, otherwise the image pulled now, marked cached unless the store already held it.
func (m *Manager) CacheRemote(ctx context.Context, src api.InstanceSource, args PullArgs) (string, error) {
	fp, err := m.cachedRemote(ctx, src)
	if err == nil {
		slog.Debug("using the cached image", "server", src.Server, "alias", src.Alias, "fingerprint", fp)
		return fp, nil
	}

	if !errors.Is(err, errs.ErrNotFound) {
		return "", err
	}

	var known []string
	err = m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, db.ImageFilter{})
		if err != nil {
			return err
		}

		for _, img := range imgs {
			known = append(known, img.Fingerprint)
		}

		return nil
	})
	if err != nil {
		return "", err
	}

	req := api.ImagesPost{Source: &api.ImagesPostSource{Type: "image", Mode: "pull"}}
	req.Source.Server = src.Server
	req.Source.Protocol = src.Protocol
	req.Source.Certificate = src.Certificate
	req.Source.Alias = src.Alias
	req.Source.Fingerprint = src.Fingerprint
	req.Source.Secret = src.Secret

	// A cached image pulled by alias follows it when images.auto_update_cached is on.
	req.AutoUpdate = src.Alias != "" && m.config().Bool(config.AutoUpdateCached)
	img, err := m.Pull(ctx, req, args)
	if err != nil {
		return "", fmt.Errorf("failed getting the image from %s: %w", src.Server, err)
	}

	fp = img.Fingerprint
	if slices.Contains(known, fp) {
		return fp, nil
	}

	// An image that cannot be marked cached would never expire: it goes again.
	r := revert.New()
	defer r.Fail()
	r.Add(func() {
		err := m.remove(context.WithoutCancel(ctx), fp)
		if err != nil {
			slog.Error("failed removing a pulled image that could not be marked cached", "fingerprint", fp, "err", err)
		}
	})

	err = m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateImageCached(ctx, fp, true)
	})
	if err != nil {
		return "", err
	}

	r.Success()
	return fp, nil
}

// Prune deletes the cached images (of every project) last used (or, never used, stored) before images.remote_cache_expiry days ago.
// An expiry of 0 keeps them. It returns the fingerprints deleted.
func (m *Manager) Prune(ctx context.Context, now time.Time) ([]string, error) {
	days := m.config().Int(config.RemoteCacheExpiry)
	if days <= 0 {
		return nil, nil
	}

	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	cached := true
	var imgs []db.Image
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		imgs, err = tx.GetImages(ctx, db.ImageFilter{Cached: &cached, AllProjects: true})
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

		err = m.In(img.Project).Delete(ctx, img.Fingerprint, nil)
		if err != nil {
			slog.Error("failed pruning a cached image", "fingerprint", img.Fingerprint, "project", img.Project, "err", err)
			continue
		}

		slog.Info("pruned unused cached image", "fingerprint", img.Fingerprint, "project", img.Project, "last_used", used)
		deleted = append(deleted, img.Fingerprint)
	}

	return deleted, nil
}
