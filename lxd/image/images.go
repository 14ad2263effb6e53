package image

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
)

// errImageNotFound is what a caller learns of an image it may not see or that does not exist.
func errImageNotFound() error {
	return errs.NotFound("image not found")
}

// toAPI renders images with their aliases, reading all aliases at once.
func toAPI(ctx context.Context, tx *db.Tx, imgs []db.Image) ([]api.Image, error) {
	aliases, err := tx.GetImageAliases(ctx)
	if err != nil {
		return nil, err
	}

	byTarget := map[string][]db.ImageAlias{}
	for _, a := range aliases {
		byTarget[a.Target] = append(byTarget[a.Target], a)
	}

	out := make([]api.Image, 0, len(imgs))
	for i := range imgs {
		out = append(out, imgs[i].ToAPI(byTarget[imgs[i].Fingerprint]))
	}

	return out, nil
}

// List returns the images with their aliases; publicOnly leaves the private ones out.
func (m *Manager) List(ctx context.Context, publicOnly bool) ([]api.Image, error) {
	f := db.ImageFilter{}
	if publicOnly {
		public := true
		f.Public = &public
	}

	var out []api.Image
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, f)
		if err != nil {
			return err
		}

		out, err = toAPI(ctx, tx, imgs)
		return err
	})
	if err != nil {
		return nil, err
	}

	return out, nil
}

// Get finds the image a fingerprint or a unique prefix of one names. A missing image is errs.NotFound("image not
// found"); an ambiguous prefix is of class errs.ErrInvalid.
func (m *Manager) Get(ctx context.Context, prefix string) (*api.Image, error) {
	var img api.Image
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		found, err := tx.GetImageByPrefix(ctx, prefix, db.ImageFilter{})
		if err != nil {
			return err
		}

		aliases, err := tx.GetImageAliasesForImage(ctx, found.Fingerprint)
		if err != nil {
			return err
		}

		img = found.ToAPI(aliases)
		return nil
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errImageNotFound()
	}

	if err != nil {
		return nil, err
	}

	return &img, nil
}

// Update changes the writable fields of image fp. change gets the current state and returns the new one; it runs
// in the same transaction as the write, so that a check it makes (an ETag) and the write are one step and two
// updates from the same state cannot both succeed. Its errors are returned as they are.
func (m *Manager) Update(ctx context.Context, fp string, change func(current api.Image) (api.ImagePut, error)) error {
	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		found, err := tx.GetImage(ctx, fp)
		if err != nil {
			return err
		}

		put, err := change(found.ToAPI(nil))
		if err != nil {
			return err
		}

		for _, p := range put.Profiles {
			if p != "default" {
				return errs.Invalid("profile %q not found", p)
			}
		}

		return tx.UpdateImage(ctx, fp, db.ImageUpdate{
			Public:     put.Public,
			AutoUpdate: put.AutoUpdate,
			ExpiresAt:  put.ExpiresAt,
			Properties: put.Properties,
		})
	})
}

// Delete removes image fp (its row, aliases and files), sends the image-deleted event and prunes the instance
// bases no image needs any more.
func (m *Manager) Delete(ctx context.Context, fp string, requestor *api.EventLifecycleRequestor) error {
	err := m.remove(ctx, fp)
	if err != nil {
		return err
	}

	m.lifecycle(requestor, "image-deleted", fp, nil)
	return nil
}

// remove deletes an image's row and aliases, and then its files: a crash in between leaves only files without a
// row, which Init removes. The bases of instances are pruned after.
func (m *Manager) remove(ctx context.Context, fp string) error {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteImage(ctx, fp)
	})
	if err != nil {
		return err
	}

	err = m.store.Delete(fp)
	if err != nil {
		return err
	}

	if m.pruneBases != nil {
		err = m.pruneBases(ctx)
		if err != nil {
			slog.Warn("failed pruning image bases", "err", err)
		}
	}

	return nil
}

// MarkUsed records that image fp has just been used to create an instance (its last_use_date, which the cache
// expiry counts from). A failure is logged: the instance exists either way.
func (m *Manager) MarkUsed(ctx context.Context, fp string) {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateImageLastUse(ctx, fp, time.Now().UTC())
	})
	if err != nil {
		slog.Warn("failed recording the use of an image", "fingerprint", fp, "err", err)
	}
}

// File is one file of a stored image as it is offered for download.
type File struct {
	// Path is where the file is in the store.
	Path string

	// Name is the file name it is offered under: the fingerprint with the extension of its compression, "meta-" in
	// front for the metadata part of a split image.
	Name string
}

// Files returns the files of image fp: the unified image, or the metadata part and the rootfs part (nil for a
// unified image).
func (m *Manager) Files(fp string) (File, *File, error) {
	meta, rootfs, err := m.store.Paths(fp)
	if err != nil {
		return File{}, nil, err
	}

	if rootfs == "" {
		return File{Path: meta, Name: exportName(meta, "", fp)}, nil, nil
	}

	return File{Path: meta, Name: exportName(meta, "meta-", fp)}, &File{Path: rootfs, Name: exportName(rootfs, "", fp)}, nil
}

// exportName is the name a file of image fp is offered under.
func exportName(path string, prefix string, fp string) string {
	comp, err := images.DetectFile(path)
	if err != nil {
		return prefix + fp
	}

	return prefix + fp + images.FileExtension(comp)
}

// Compression returns the compression an image published now uses: requested, or images.compression_algorithm.
func (m *Manager) Compression(requested string) (string, error) {
	compression := requested
	if compression == "" {
		compression = m.config().Get(config.CompressionAlgorithm)
	}

	if !slices.Contains(config.Compressions, compression) {
		return "", errs.Invalid("unsupported compression algorithm %q", compression)
	}

	return compression, nil
}
