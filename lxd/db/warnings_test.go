package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// testWarning returns a new warning of type typ about entity, seen at at.
func testWarning(uuid string, typ string, entity string, at time.Time) Warning {
	return Warning{UUID: uuid, Type: typ, EntityURL: entity, Count: 1, FirstSeenAt: at, LastSeenAt: at, UpdatedAt: at,
		LastMessage: "m", Severity: "low", Status: "new"}
}

func TestWarnings(t *testing.T) {
	d := newTestDB(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	u1 := "00000000-0000-4000-8000-000000000001"
	u2 := "00000000-0000-4000-8000-000000000002"

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateWarning(ctx, testWarning(u1, "AppArmor support has been disabled", "", at))
		if err != nil {
			return err
		}

		w := testWarning(u2, "Missing optional program", "/1.0/instances/c1", at.Add(time.Second))
		w.Project = "default"
		_, err = tx.CreateWarning(ctx, w)
		return err
	})

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		all, err := tx.GetWarnings(ctx, WarningFilter{})
		if err != nil {
			return err
		}

		if len(all) != 2 || all[0].UUID != u1 || all[1].UUID != u2 {
			t.Fatalf("got %+v, want %s then %s", all, u1, u2)
		}

		if !all[0].FirstSeenAt.Equal(at) || all[0].Count != 1 || all[0].Status != "new" {
			t.Fatalf("got %+v, want the row as created", all[0])
		}

		project := "default"
		inProject, err := tx.GetWarnings(ctx, WarningFilter{Project: &project})
		if err != nil {
			return err
		}

		if len(inProject) != 1 || inProject[0].UUID != u2 {
			t.Fatalf("got %+v, want only %s in project default", inProject, u2)
		}

		api := all[1].ToAPI()
		if api.UUID != u2 || api.EntityURL != "/1.0/instances/c1" || api.Project != "default" {
			t.Fatalf("got %+v, want the row's fields", api)
		}

		return nil
	})

	later := at.Add(time.Hour)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		w, err := tx.GetWarning(ctx, u1)
		if err != nil {
			return err
		}

		w.Count, w.LastSeenAt, w.UpdatedAt, w.LastMessage = 3, later, later, "again"
		err = tx.UpdateWarning(ctx, *w)
		if err != nil {
			return err
		}

		return tx.UpdateWarningStatus(ctx, u1, "acknowledged", later)
	})

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		w, err := tx.GetWarning(ctx, u1)
		if err != nil {
			return err
		}

		if w.Count != 3 || !w.LastSeenAt.Equal(later) || w.LastMessage != "again" || w.Status != "acknowledged" || !w.FirstSeenAt.Equal(at) {
			t.Fatalf("got %+v, want count 3, last seen %v, message again, acknowledged", w, later)
		}

		return tx.DeleteWarning(ctx, u1)
	})

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.GetWarning(ctx, u1)
		return err
	})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v after delete, want ErrNotFound", err)
	}
}

func TestWarningsErrors(t *testing.T) {
	d := newTestDB(t)
	at := time.Now()
	u1 := "00000000-0000-4000-8000-000000000001"
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateWarning(ctx, testWarning(u1, "T", "", at))
		return err
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"same type and entity", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateWarning(ctx, testWarning("00000000-0000-4000-8000-000000000002", "T", "", at))
			return err
		}, errs.ErrConflict},
		{"bad severity", func(ctx context.Context, tx *Tx) error {
			w := testWarning("00000000-0000-4000-8000-000000000003", "U", "", at)
			w.Severity = "dire"
			_, err := tx.CreateWarning(ctx, w)
			return err
		}, errs.ErrInvalid},
		{"bad status", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateWarningStatus(ctx, u1, "gone", at)
		}, errs.ErrInvalid},
		{"status of unknown", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateWarningStatus(ctx, "00000000-0000-4000-8000-00000000000f", "new", at)
		}, errs.ErrNotFound},
		{"update unknown", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateWarning(ctx, testWarning("00000000-0000-4000-8000-00000000000f", "T", "", at))
		}, errs.ErrNotFound},
		{"delete unknown", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteWarning(ctx, "00000000-0000-4000-8000-00000000000f")
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
}
