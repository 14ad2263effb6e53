package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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
	return m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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

// updateCopied applies a copy request to image fp, which the store already holds, as LXD updates the row of an image
// it is asked to pull again: auto_update and public are switched on when the request asks (a copy never switches
// them off, where LXD would reset the one not asked for: lxc image edit does that), the request's properties are
// added, a cached image becomes one kept for good, and the request's aliases are added (one already pointing at fp
// is left as it is; one pointing elsewhere is a conflict, as for a new image). src, where this copy found the image,
// becomes its source for auto-update (see replacesSource). A change sends image-updated.
func (m *Manager) updateCopied(ctx context.Context, fp string, req api.ImagesPost, src *db.ImageSource,
	requestor *api.EventLifecycleRequestor) error {
	var changed bool
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		changed = false
		cur, err := tx.GetImage(ctx, fp)
		if err != nil {
			return err
		}

		upd := db.ImageUpdate{Public: cur.Public || req.Public, AutoUpdate: cur.AutoUpdate || req.AutoUpdate,
			ExpiresAt: cur.ExpiresAt, Properties: map[string]string{}}
		maps.Copy(upd.Properties, cur.Properties)
		maps.Copy(upd.Properties, req.Properties)
		if upd.Public != cur.Public || upd.AutoUpdate != cur.AutoUpdate || !maps.Equal(upd.Properties, cur.Properties) {
			changed = true
			err = tx.UpdateImage(ctx, fp, upd)
			if err != nil {
				return err
			}
		}

		if cur.Cached {
			changed = true
			err = tx.UpdateImageCached(ctx, fp, false)
			if err != nil {
				return err
			}
		}

		if replacesSource(cur.Source, src) {
			changed = true
			err = tx.SetImageSource(ctx, fp, *src)
			if err != nil {
				return err
			}
		}

		for _, a := range req.Aliases {
			found, err := tx.GetImageAlias(ctx, a.Name)
			if err == nil && found.Target == fp {
				continue
			}

			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}

			changed = true
			err = createAlias(ctx, tx, a.Name, a.Description, fp)
			if err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		return fmt.Errorf("update image %s: %w", fp[:12], err)
	}

	if changed {
		m.lifecycle(requestor, "image-updated", fp, nil)
	}

	return nil
}

// replacesSource tells whether src, where a copy found an image, replaces the source cur recorded for it: when there
// is none, or another one; but a source without an alias (a copy by fingerprint, which auto-update cannot follow)
// never replaces one with an alias. No source (nil: a copy from another project of an image without one) replaces
// nothing.
func replacesSource(cur *db.ImageSource, src *db.ImageSource) bool {
	if src == nil {
		return false
	}

	if cur == nil {
		return true
	}

	if *cur == *src {
		return false
	}

	return src.Alias != "" || cur.Alias == ""
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

// remove deletes the project's record of an image and its aliases, and then the image's files when no other
// project records it: a crash in between leaves only files without a row, which Init removes. The bases of
// instances are pruned after.
func (m *Manager) remove(ctx context.Context, fp string) error {
	m.filesMu.Lock()
	defer m.filesMu.Unlock()

	held := false
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.DeleteImage(ctx, fp)
		if err != nil {
			return err
		}

		held, err = tx.ImageHeld(ctx, fp)
		return err
	})
	if err != nil {
		return err
	}

	if held {
		return nil
	}

	err = m.store.Delete(fp)
	if err != nil {
		return err
	}

	m.forgetOCI(fp)
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
	err := m.transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
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
