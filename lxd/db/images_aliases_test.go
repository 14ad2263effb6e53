package db

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// aliasNames lists the names and targets of aliases as "name>fp-suffix".
func aliasNames(aliases []ImageAlias) []string {
	var out []string
	for _, a := range aliases {
		out = append(out, a.Name+">"+a.Target[62:])
	}

	return out
}

func TestImageAliases(t *testing.T) {
	d := newTestDB(t)
	fp1, fp2 := testFP(1), testFP(2)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: fp1, Size: 1, Architecture: "x86_64"})
		if err != nil {
			return err
		}

		_, err = tx.CreateImage(ctx, Image{Fingerprint: fp2, Size: 1, Architecture: "x86_64", Type: ImageTypeVirtualMachine})
		if err != nil {
			return err
		}

		id, err := tx.CreateImageAlias(ctx, ImageAlias{Name: "bb", Description: "busybox", Target: fp1})
		if err != nil {
			return err
		}

		_, err = tx.CreateImageAlias(ctx, ImageAlias{Name: "aa", Target: fp1})
		if err != nil {
			return err
		}

		_, err = tx.CreateImageAlias(ctx, ImageAlias{Name: "vm", Target: fp2})
		if err != nil {
			return err
		}

		a, err := tx.GetImageAlias(ctx, "bb")
		if err != nil {
			return err
		}

		want := ImageAlias{ID: id, Name: "bb", Description: "busybox", Target: fp1, Type: ImageTypeContainer}
		if *a != want {
			t.Errorf("got %+v, want %+v", *a, want)
		}

		vm, err := tx.GetImageAlias(ctx, "vm")
		if err != nil {
			return err
		}

		if vm.Type != ImageTypeVirtualMachine {
			t.Errorf("got type %q, want the image's type", vm.Type)
		}

		all, err := tx.GetImageAliases(ctx)
		if err != nil {
			return err
		}

		if !slices.Equal(aliasNames(all), []string{"aa>01", "bb>01", "vm>02"}) {
			t.Errorf("got %v, want aa, bb, vm", aliasNames(all))
		}

		forImage, err := tx.GetImageAliasesForImage(ctx, fp1)
		if err != nil {
			return err
		}

		if !slices.Equal(aliasNames(forImage), []string{"aa>01", "bb>01"}) {
			t.Errorf("got %v, want aa, bb", aliasNames(forImage))
		}

		none, err := tx.GetImageAliasesForImage(ctx, testFP(99))
		if err != nil {
			return err
		}

		if len(none) != 0 {
			t.Errorf("got %v for an unknown image, want none", none)
		}

		err = tx.UpdateImageAlias(ctx, "bb", fp2, "moved")
		if err != nil {
			return err
		}

		a, err = tx.GetImageAlias(ctx, "bb")
		if err != nil {
			return err
		}

		if a.Target != fp2 || a.Description != "moved" {
			t.Errorf("got %+v, want target %s and description moved", *a, fp2)
		}

		err = tx.RenameImageAlias(ctx, "bb", "cc")
		if err != nil {
			return err
		}

		_, err = tx.GetImageAlias(ctx, "bb")
		if !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("got %v for the old name, want ErrNotFound", err)
		}

		a, err = tx.GetImageAlias(ctx, "cc")
		if err != nil {
			return err
		}

		if a.ID != id || a.Description != "moved" {
			t.Errorf("got %+v after rename, want the same alias", *a)
		}

		err = tx.DeleteImageAlias(ctx, "cc")
		if err != nil {
			return err
		}

		_, err = tx.GetImage(ctx, fp2)
		if err != nil {
			t.Errorf("deleting an alias removed its image: %v", err)
		}

		all, err = tx.GetImageAliases(ctx)
		if err != nil {
			return err
		}

		if !slices.Equal(aliasNames(all), []string{"aa>01", "vm>02"}) {
			t.Errorf("got %v, want aa, vm", aliasNames(all))
		}

		return nil
	})
}

func TestMoveImageAliases(t *testing.T) {
	d := newTestDB(t)
	old, newer, other := testFP(1), testFP(2), testFP(3)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		for _, fp := range []string{old, newer, other} {
			_, err := tx.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64"})
			if err != nil {
				return err
			}
		}

		for name, target := range map[string]string{"a": old, "b": old, "c": other} {
			_, err := tx.CreateImageAlias(ctx, ImageAlias{Name: name, Target: target})
			if err != nil {
				return err
			}
		}

		err := tx.MoveImageAliases(ctx, old, newer)
		if err != nil {
			return err
		}

		all, err := tx.GetImageAliases(ctx)
		if err != nil {
			return err
		}

		if !slices.Equal(aliasNames(all), []string{"a>02", "b>02", "c>03"}) {
			t.Errorf("got %v, want a and b on image 2, c untouched", aliasNames(all))
		}

		return nil
	})
}

func TestImageAliasErrors(t *testing.T) {
	d := newTestDB(t)
	fp := testFP(1)
	missing := testFP(99)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateImage(ctx, Image{Fingerprint: fp, Size: 1, Architecture: "x86_64"})
		if err != nil {
			return err
		}

		for _, name := range []string{"a", "b"} {
			_, err = tx.CreateImageAlias(ctx, ImageAlias{Name: name, Target: fp})
			if err != nil {
				return err
			}
		}

		return nil
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate name", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImageAlias(ctx, ImageAlias{Name: "a", Target: fp})
			return err
		}, errs.ErrConflict},
		{"unknown image", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImageAlias(ctx, ImageAlias{Name: "z", Target: missing})
			return err
		}, errs.ErrNotFound},
		{"prefix is not a target", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImageAlias(ctx, ImageAlias{Name: "z", Target: fp[:12]})
			return err
		}, errs.ErrNotFound},
		{"empty name", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateImageAlias(ctx, ImageAlias{Name: "", Target: fp})
			return err
		}, errs.ErrInvalid},
		{"get missing", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetImageAlias(ctx, "zz")
			return err
		}, errs.ErrNotFound},
		{"update missing alias", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateImageAlias(ctx, "zz", fp, "")
		}, errs.ErrNotFound},
		{"update to missing image", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateImageAlias(ctx, "a", missing, "")
		}, errs.ErrNotFound},
		{"rename onto taken name", func(ctx context.Context, tx *Tx) error {
			return tx.RenameImageAlias(ctx, "a", "b")
		}, errs.ErrConflict},
		{"rename missing", func(ctx context.Context, tx *Tx) error {
			return tx.RenameImageAlias(ctx, "zz", "yy")
		}, errs.ErrNotFound},
		{"rename to empty", func(ctx context.Context, tx *Tx) error {
			return tx.RenameImageAlias(ctx, "a", "")
		}, errs.ErrInvalid},
		{"delete missing", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteImageAlias(ctx, "zz")
		}, errs.ErrNotFound},
		{"move from missing", func(ctx context.Context, tx *Tx) error {
			return tx.MoveImageAliases(ctx, missing, fp)
		}, errs.ErrNotFound},
		{"move to missing", func(ctx context.Context, tx *Tx) error {
			return tx.MoveImageAliases(ctx, fp, missing)
		}, errs.ErrNotFound},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Transaction(context.Background(), tt.fn)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		all, err := tx.GetImageAliases(ctx)
		if err != nil {
			return err
		}

		if !slices.Equal(aliasNames(all), []string{"a>01", "b>01"}) {
			t.Errorf("got %v after failed changes, want a and b untouched", aliasNames(all))
		}

		return nil
	})
}
