package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
)

// openImageStore opens the image store and brings it back in line with the database after a crash: unfinished
// uploads are removed, and so are image files that no row records (an import that stopped between moving its files
// into place and writing its row, or a deletion that stopped after removing the row).
func (d *Daemon) openImageStore(ctx context.Context) (*images.Store, error) {
	store, err := images.NewStore(d.dirs.ImagesDir())
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}

	err = store.CleanTemp()
	if err != nil {
		return nil, fmt.Errorf("clean image store: %w", err)
	}

	known := map[string]bool{}
	err = d.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		imgs, err := tx.GetImages(ctx, db.ImageFilter{})
		if err != nil {
			return err
		}

		for _, img := range imgs {
			known[img.Fingerprint] = true
		}

		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}

	entries, err := os.ReadDir(store.Dir())
	if err != nil {
		return nil, err
	}

	orphans := map[string]bool{}
	for _, e := range entries {
		fp := strings.TrimSuffix(e.Name(), ".rootfs")
		if images.ValidFingerprint(fp) && !known[fp] {
			orphans[fp] = true
		}
	}

	for fp := range orphans {
		slog.Warn("removing image files no image record points to", "fingerprint", fp)
		err = store.Delete(fp)
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return nil, fmt.Errorf("remove orphan image %s: %w", fp, err)
		}
	}

	for fp := range known {
		_, _, err := store.Paths(fp)
		if err != nil {
			slog.Error("image recorded without its files", "fingerprint", fp, "err", err)
		}
	}

	return store, nil
}
