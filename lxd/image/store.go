package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// StoreArgs describe the record of a received image.
type StoreArgs struct {
	// Filename is the name the image was uploaded or downloaded under.
	Filename string

	// Public makes the image readable by untrusted callers.
	Public bool

	// Properties override those of the image's metadata.yaml.
	Properties map[string]string

	// AutoUpdate and Source are set for images pulled from another server.
	AutoUpdate bool
	Source     *db.ImageSource

	// Aliases are created pointing at the image.
	Aliases []api.ImageAlias

	// Requestor is who asked, for the lifecycle event; nil for the daemon's own actions.
	Requestor *api.EventLifecycleRequestor
}

// Store commits a received image into the store and records it with its aliases, as one change: the files are
// renamed into place first and the row written second, and if the row or an alias cannot be written the files go
// again (a crash in between leaves files that Init removes). A base written while importing is published once the
// row is written, and discarded if the image is not recorded.
func (m *Manager) Store(ctx context.Context, pending *images.Pending, args StoreArgs) (*db.Image, error) {
	m.filesMu.Lock()
	defer m.filesMu.Unlock()

	r := revert.New()
	defer r.Fail()

	// A base written while importing is published only once the image is recorded.
	r.Add(pending.DiscardBase)
	fp := pending.Fingerprint
	err := pending.Commit()
	shared := false
	if errors.Is(err, images.ErrImageExists) {
		// Another project's image: its files (and base) serve this project's record too.
		shared, err = m.held(ctx, fp)
		if err == nil && !shared {
			err = images.ErrImageExists
		}
	}

	if err != nil {
		return nil, err
	}

	if !shared {
		r.Add(func() {
			err := m.store.Delete(fp)
			if err != nil {
				slog.Error("failed removing the files of an image that could not be recorded", "fingerprint", fp, "err", err)
			}
		})
	}

	img := imageFromPending(pending, args)
	img.Project = m.Project()
	err = m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateImage(ctx, img)
		if errors.Is(err, errs.ErrConflict) {
			return images.ErrImageExists
		}

		if err != nil {
			return err
		}

		for _, a := range args.Aliases {
			err = createAlias(ctx, tx, a.Name, a.Description, fp)
			if err != nil {
				return err
			}
		}

		return nil
	})
	if errors.Is(err, images.ErrImageExists) {
		return nil, err
	}

	if err != nil {
		return nil, fmt.Errorf("record image: %w", err)
	}

	r.Success()
	if shared {
		pending.DiscardBase()
	} else {
		pending.PublishBase()
		if m.onStored != nil {
			m.onStored(fp)
		}
	}

	m.lifecycle(args.Requestor, "image-created", fp, map[string]any{"type": "container"})
	return &img, nil
}

// held tells whether any project records image fp.
func (m *Manager) held(ctx context.Context, fp string) (bool, error) {
	held := false
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		held, err = tx.ImageHeld(ctx, fp)
		return err
	})

	return held, err
}

// adopt records in the manager's project an image another project holds, without its files, which are shared: the
// image's metadata is the other record's, what args gives (public, auto-update, source, properties, aliases) is
// this record's own. It returns nil when no project holds fp, and the project's own record when it has one.
func (m *Manager) adopt(ctx context.Context, fp string, args StoreArgs) (*db.Image, error) {
	m.filesMu.Lock()
	defer m.filesMu.Unlock()

	var img *db.Image
	created := false
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		own := tx.InProject(m.Project())
		cur, err := own.GetImage(ctx, fp)
		if err == nil {
			img = cur
			return nil
		}

		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}

		others, err := tx.GetImages(ctx, db.ImageFilter{Fingerprint: &fp, AllProjects: true})
		if err != nil || len(others) == 0 {
			return err
		}

		o := others[0]
		props := maps.Clone(o.Properties)
		maps.Copy(props, args.Properties)
		rec := db.Image{Fingerprint: fp, Project: m.Project(), Filename: o.Filename, Size: o.Size, Public: args.Public,
			Architecture: o.Architecture, Type: o.Type, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt,
			UploadedAt: time.Now().UTC(), Properties: props, AutoUpdate: args.AutoUpdate, Source: args.Source}
		_, err = own.CreateImage(ctx, rec)
		if err != nil {
			return err
		}

		for _, a := range args.Aliases {
			err = createAlias(ctx, own, a.Name, a.Description, fp)
			if err != nil {
				return err
			}
		}

		img = &rec
		created = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record image: %w", err)
	}

	if created {
		m.lifecycle(args.Requestor, "image-created", fp, map[string]any{"type": img.Type})
	}

	return img, nil
}

// imageFromPending builds the image row of a received image: metadata.yaml's properties, overridden by those the
// request names.
func imageFromPending(p *images.Pending, args StoreArgs) db.Image {
	props := map[string]string{}
	maps.Copy(props, p.Metadata.Properties)
	maps.Copy(props, args.Properties)
	return db.Image{
		Fingerprint:  p.Fingerprint,
		Filename:     args.Filename,
		Size:         p.Size,
		Public:       args.Public,
		Architecture: p.Metadata.Architecture,
		Type:         p.Type,
		CreatedAt:    time.Unix(p.Metadata.CreationDate, 0).UTC(),
		ExpiresAt:    time.Unix(p.Metadata.ExpiryDate, 0).UTC(),
		UploadedAt:   time.Now().UTC(),
		Properties:   props,
		AutoUpdate:   args.AutoUpdate,
		Source:       args.Source,
	}
}

// existing returns the stored image fp, or nil when there is none.
func (m *Manager) existing(ctx context.Context, fp string) (*db.Image, error) {
	var img *db.Image
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		img, err = tx.GetImage(ctx, fp)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	return img, nil
}
