package image

import (
	"context"
	"errors"
	"maps"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// CopyFrom records in the manager's project the image that req.Source names (an alias, or a fingerprint or a
// unique prefix of one) among the images of from, another project's manager on this server (image_source_project:
// a copy with source.project and no server). The two records share the image's files, so nothing is copied; the new
// record takes the source record's metadata, properties and update source, and what req gives (public,
// auto-update, properties, aliases). When the project holds the image already, req's aliases and flags are added to
// its record, as a pull of an image held already does.
func (m *Manager) CopyFrom(ctx context.Context, from *Manager, req api.ImagesPost, args PullArgs) (*db.Image, error) {
	src, err := from.sourceRecord(ctx, req.Source)
	if err != nil {
		return nil, err
	}

	existing, err := m.existing(ctx, src.Fingerprint)
	if err != nil {
		return nil, err
	}

	if existing != nil {
		err = m.updateCopied(ctx, src.Fingerprint, req, src.Source, args.Requestor)
		if err != nil {
			return nil, err
		}

		report(args.Progress, Result(existing))
		return existing, nil
	}

	props := maps.Clone(src.Properties)
	if props == nil {
		props = map[string]string{}
	}

	maps.Copy(props, req.Properties)
	img, err := m.adoptPulled(ctx, src.Fingerprint, pulledArgs(req, props, src.Source, args), args.Progress)
	if err != nil {
		return nil, err
	}

	if img == nil {
		// The source project deleted it meanwhile, and no other project holds it.
		return nil, errImageNotFound()
	}

	return img, nil
}

// sourceRecord returns the record of the image that src names in the manager's project: its alias, else its
// fingerprint or a unique prefix of one.
func (m *Manager) sourceRecord(ctx context.Context, src *api.ImagesPostSource) (*db.Image, error) {
	if src.Alias == "" && src.Fingerprint == "" {
		return nil, errs.Invalid("no alias or fingerprint of the image to copy")
	}

	var img *db.Image
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		fp := src.Fingerprint
		if src.Alias != "" {
			a, err := tx.GetImageAlias(ctx, src.Alias)
			if err != nil {
				return err
			}

			fp = a.Target
		}

		var err error
		img, err = tx.GetImageByPrefix(ctx, fp, db.ImageFilter{})
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errImageNotFound()
	}

	return img, err
}
