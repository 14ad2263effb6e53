package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestSnapshots(t *testing.T) {
	d := newTestDB(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateInstance(ctx, Instance{Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: created})
		if err != nil {
			return err
		}

		_, err = tx.CreateSnapshot(ctx, Snapshot{Instance: "c1", Name: "snap0", Architecture: "x86_64", CreatedAt: created,
			Config: map[string]string{"user.a": "1"}, Profiles: []string{"default"}})
		return err
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateSnapshot(ctx, Snapshot{Instance: "c1", Name: "snap0", Architecture: "x86_64", CreatedAt: created})
			return err
		}, errs.ErrConflict},
		{"unknown instance", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateSnapshot(ctx, Snapshot{Instance: "nope", Name: "s", Architecture: "x86_64", CreatedAt: created})
			return err
		}, errs.ErrNotFound},
		{"rename missing", func(ctx context.Context, tx *Tx) error {
			return tx.RenameSnapshot(ctx, "c1", "nope", "x")
		}, errs.ErrNotFound},
		{"delete missing", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteSnapshot(ctx, "c1", "nope")
		}, errs.ErrNotFound},
		{"get missing", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetSnapshot(ctx, "c2", "snap0")
			return err
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
		err := tx.RenameSnapshot(ctx, "c1", "snap0", "first")
		if err != nil {
			return err
		}

		snap, err := tx.GetSnapshot(ctx, "c1", "first")
		if err != nil {
			return err
		}

		if snap.Config["user.a"] != "1" || len(snap.Profiles) != 1 || !snap.CreatedAt.Equal(created) || !snap.ExpiresAt.IsZero() {
			t.Errorf("snapshot: got %+v", snap)
		}

		return tx.DeleteInstance(ctx, "c1")
	})

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateInstance(ctx, Instance{Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: created})
		if err != nil {
			return err
		}

		snaps, err := tx.GetSnapshots(ctx, "c1")
		if err != nil {
			return err
		}

		if len(snaps) != 0 {
			t.Errorf("snapshots outlived their instance: %+v", snaps)
		}

		return nil
	})
}
