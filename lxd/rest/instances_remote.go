package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// checkRemoteSource validates the image source of a creation from another server before anything starts.
func checkRemoteSource(src api.InstanceSource) error {
	u, err := url.Parse(src.Server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return api.StatusErrorf(http.StatusBadRequest, "invalid image server %q", src.Server)
	}

	switch src.Protocol {
	case "", "lxd", "simplestreams":
	default:
		return api.StatusErrorf(http.StatusBadRequest, "unsupported image server protocol %q", src.Protocol)
	}

	if src.Mode != "" && src.Mode != "pull" {
		return api.StatusErrorf(http.StatusBadRequest, "image source mode %q is not supported (use pull)", src.Mode)
	}

	if src.Alias == "" && src.Fingerprint == "" {
		return api.StatusErrorf(http.StatusBadRequest, "the image source needs an alias or a fingerprint")
	}

	return nil
}

// cachedRemoteImage finds a local copy of the image a remote source names, without contacting the source: an image
// pulled from the same server by the same alias (the newest), or an image whose fingerprint starts with the one
// given.
func cachedRemoteImage(ctx context.Context, s *state.State, src api.InstanceSource) (string, error) {
	var fp string
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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

// remoteImage returns the fingerprint of the local image a creation from another server uses: the cached copy when
// the store has one, otherwise the image pulled now, marked cached unless the store already held it.
func remoteImage(ctx context.Context, s *state.State, op *operations.Operation, requestor *request.Requestor, src api.InstanceSource) (string, error) {
	fp, err := cachedRemoteImage(ctx, s, src)
	if err == nil {
		slog.Debug("using the cached image", "server", src.Server, "alias", src.Alias, "fingerprint", fp)
		return fp, nil
	}

	if !errors.Is(err, errs.ErrNotFound) {
		return "", err
	}

	var known []string
	err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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
	req.AutoUpdate = src.Alias != "" && s.Config().Bool(config.AutoUpdateCached)
	fp, err = pullImage(ctx, s, op, requestor, req)
	if err != nil {
		return "", fmt.Errorf("failed getting the image from %s: %w", src.Server, err)
	}

	if slices.Contains(known, fp) {
		return fp, nil
	}

	err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateImageCached(ctx, fp, true)
	})
	if err != nil {
		return "", err
	}

	return fp, nil
}

// markImageUsed records that an image has just been used to create an instance.
func markImageUsed(ctx context.Context, s *state.State, fp string) {
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateImageLastUse(ctx, fp, time.Now().UTC())
	})
	if err != nil {
		slog.Warn("failed recording the use of an image", "fingerprint", fp, "err", err)
	}
}
