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
	r := revert.New()
	defer r.Fail()

	// A base written while importing is published only once the image is recorded.
	r.Add(pending.DiscardBase)
	err := pending.Commit()
	if err != nil {
		return nil, err
	}

	fp := pending.Fingerprint
	r.Add(func() {
		err := m.store.Delete(fp)
		if err != nil {
			slog.Error("failed removing the files of an image that could not be recorded", "fingerprint", fp, "err", err)
		}
	})

	img := imageFromPending(pending, args)
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateImage(ctx, img)
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
	if err != nil {
		return nil, fmt.Errorf("record image: %w", err)
	}

	r.Success()
	pending.PublishBase()
	m.lifecycle(args.Requestor, "image-created", fp, map[string]any{"type": "container"})
	return &img, nil
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
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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
