package image

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/version"
)

// ParseWebURL accepts absolute http(s) URLs only; anything else is of class errs.ErrInvalid.
func ParseWebURL(raw string) (*url.URL, error) {
	u, err := client.ParseWebURL(raw)
	if err != nil {
		return nil, errs.Invalid("%w", err)
	}

	return u, nil
}

// ImportURL imports an image announced by a static web host: a HEAD request on the URL answers with the
// LXD-Image-Hash and LXD-Image-URL headers, and the file at LXD-Image-URL must hash to LXD-Image-Hash. An image
// already in the store is not downloaded again.
func (m *Manager) ImportURL(ctx context.Context, req api.ImagesPost, args PullArgs) (*db.Image, error) {
	source, err := ParseWebURL(req.Source.URL)
	if err != nil {
		return nil, err
	}

	host := client.NewWebImageHost(version.UserAgent(), version.Version)
	hash, fileURL, err := host.ResolveImage(ctx, source)
	if err != nil {
		return nil, err
	}

	storeArgs := StoreArgs{
		Filename:   lastPathElement(fileURL),
		Public:     req.Public,
		Properties: req.Properties,
		Aliases:    req.Aliases,
		Requestor:  args.Requestor,
	}

	img, err := m.adopt(ctx, hash, storeArgs)
	if err != nil {
		return nil, err
	}

	if img != nil {
		report(args.Progress, Result(img))
		return img, nil
	}

	body, length, err := host.OpenImage(ctx, fileURL)
	if err != nil {
		return nil, err
	}

	defer func() { _ = body.Close() }()
	reportProgress := downloadReporter(args.Progress)
	pending, err := m.store.ImportUnified(ctx, body, images.ImportOptions{
		ExpectedFingerprint: hash,
		Progress:            func(done int64) { reportProgress(done, length) },
		WriteBase:           true,
	})
	if err != nil {
		return nil, fmt.Errorf("image from %s: %w", fileURL, err)
	}

	img, err = m.Store(ctx, pending, storeArgs)
	if err != nil {
		return nil, err
	}

	report(args.Progress, Result(img))
	return img, nil
}

func lastPathElement(u *url.URL) string {
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	return parts[len(parts)-1]
}
