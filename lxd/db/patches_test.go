package db

import (
	"context"
	"errors"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestPatches(t *testing.T) {
	d := newTestDB(t)

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		applied, err := tx.PatchApplied(ctx, "fix_a")
		if err != nil {
			return err
		}

		if applied {
			t.Error("got applied before marking, want not applied")
		}

		err = tx.MarkPatchApplied(ctx, "fix_a")
		if err != nil {
			return err
		}

		applied, err = tx.PatchApplied(ctx, "fix_a")
		if err != nil {
			return err
		}

		if !applied {
			t.Error("got not applied after marking, want applied")
		}

		applied, err = tx.PatchApplied(ctx, "fix_b")
		if err != nil {
			return err
		}

		if applied {
			t.Error("got fix_b applied, want only fix_a")
		}

		return nil
	})

	tests := []struct {
		name  string
		patch string
		want  error
	}{
		{"twice", "fix_a", errs.ErrConflict},
		{"empty name", "", errs.ErrInvalid},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
				return tx.MarkPatchApplied(ctx, tt.patch)
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}
