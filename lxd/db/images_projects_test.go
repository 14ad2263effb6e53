package db

import (
	"context"
	"errors"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// TestImagesPerProject checks that a project sees its own images and aliases only, that the same fingerprint and
// alias name may be recorded in two projects, and that deleting one project's record leaves the other's.
func TestImagesPerProject(t *testing.T) {
	d := newTestDB(t)
	fp := testFP(1)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		p1 := tx.InProject("p1")
		for _, tx := range []*Tx{tx, p1} {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64"})
			if err != nil {
				return err
			}

			_, err = tx.CreateImageAlias(ctx, ImageAlias{Name: "bb", Target: fp})
			if err != nil {
				return err
			}
		}

		_, err := p1.CreateImage(ctx, Image{Fingerprint: testFP(2), Size: 1, Architecture: "x86_64"})
		if err != nil {
			return err
		}

		_, err = p1.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64"})
		if !errors.Is(err, errs.ErrConflict) {
			t.Errorf("got %v for a fingerprint twice in p1, want a conflict", err)
		}

		imgs, err := tx.GetImages(ctx, ImageFilter{})
		if err != nil || len(imgs) != 1 || imgs[0].Project != "default" {
			t.Errorf("default's images: %+v, %v", imgs, err)
		}

		imgs, err = p1.GetImages(ctx, ImageFilter{})
		if err != nil || len(imgs) != 2 || imgs[0].Project != "p1" {
			t.Errorf("p1's images: %+v, %v", imgs, err)
		}

		imgs, err = tx.GetImages(ctx, ImageFilter{AllProjects: true})
		if err != nil || len(imgs) != 3 {
			t.Errorf("all images: %+v, %v", imgs, err)
		}

		_, err = tx.GetImageByPrefix(ctx, testFP(2), ImageFilter{})
		if !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("got %v for p1's image seen from default, want not found", err)
		}

		err = tx.DeleteImageAlias(ctx, "bb")
		if err != nil {
			return err
		}

		_, err = p1.GetImageAlias(ctx, "bb")
		if err != nil {
			t.Errorf("p1's alias after deleting default's: %v", err)
		}

		err = p1.DeleteImage(ctx, fp)
		if err != nil {
			return err
		}

		held, err := tx.ImageHeld(ctx, fp)
		if err != nil || !held {
			t.Errorf("held after p1 deleted its record: %v, %v", held, err)
		}

		_, err = tx.GetImage(ctx, fp)
		if err != nil {
			t.Errorf("default's image after p1 deleted its record: %v", err)
		}

		err = tx.DeleteImage(ctx, fp)
		if err != nil {
			return err
		}

		held, err = tx.ImageHeld(ctx, fp)
		if err != nil || held {
			t.Errorf("held after both deleted their records: %v, %v", held, err)
		}

		return nil
	})
}
