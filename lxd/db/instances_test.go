package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestInstancesAndProfiles(t *testing.T) {
	d := newTestDB(t)
	root := map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateProfile(ctx, Profile{Name: "default", Devices: root, Config: map[string]string{}})
		if err != nil {
			return err
		}

		_, err = tx.CreateProfile(ctx, Profile{Name: "small", Config: map[string]string{"limits.cpu": "1"}})
		if err != nil {
			return err
		}

		_, err = tx.CreateInstance(ctx, Instance{
			Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: time.Now(),
			Config:   map[string]string{"user.a": "1", "volatile.uuid": "u"},
			Devices:  map[string]map[string]string{"data": {"type": "disk", "path": "/d", "source": "/s"}},
			Profiles: []string{"small", "default"},
		})
		return err
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate instance", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateInstance(ctx, Instance{Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: time.Now()})
			return err
		}, errs.ErrConflict},
		{"unknown profile", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateInstance(ctx, Instance{Name: "c2", Type: "container", Architecture: "x86_64",
				CreatedAt: time.Now(), Profiles: []string{"nope"}})
			return err
		}, errs.ErrNotFound},
		{"profile in use", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteProfile(ctx, "small")
		}, errs.ErrConflict},
		{"duplicate profile", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateProfile(ctx, Profile{Name: "small"})
			return err
		}, errs.ErrConflict},
		{"missing instance", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteInstance(ctx, "nope")
		}, errs.ErrNotFound},
		{"bad type", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateInstance(ctx, Instance{Name: "c3", Type: "bogus", Architecture: "x86_64", CreatedAt: time.Now()})
			return err
		}, errs.ErrInvalid},
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
		inst, err := tx.GetInstance(ctx, "c1")
		if err != nil {
			return err
		}

		if inst.Profiles[0] != "small" || inst.Profiles[1] != "default" || inst.Config["user.a"] != "1" ||
			inst.Devices["data"]["source"] != "/s" {
			t.Fatalf("got %+v, want the stored instance with ordered profiles", inst)
		}

		err = tx.SetInstanceConfig(ctx, "c1", map[string]string{"volatile.uuid": "", "volatile.last_state.power": "RUNNING"})
		if err != nil {
			return err
		}

		err = tx.RenameInstance(ctx, "c1", "c9")
		if err != nil {
			return err
		}

		inst, err = tx.GetInstance(ctx, "c9")
		if err != nil {
			return err
		}

		_, hasUUID := inst.Config["volatile.uuid"]
		if hasUUID || inst.Config["volatile.last_state.power"] != "RUNNING" {
			t.Fatalf("got config %v, want uuid removed and power set", inst.Config)
		}

		users, err := tx.GetProfileUsedBy(ctx, "default")
		if err != nil || len(users) != 1 || users[0] != "c9" {
			t.Fatalf("got used_by %v %v, want [c9]", users, err)
		}

		err = tx.DeleteInstance(ctx, "c9")
		if err != nil {
			return err
		}

		return tx.DeleteProfile(ctx, "small")
	})
}
