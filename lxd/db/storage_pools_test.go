package db

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestStoragePools(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateStoragePool(ctx, StoragePool{Name: "p1", Driver: "dir", Description: "d",
			Config: map[string]string{"source": "/srv/p1"}})
		return err
	})

	var p *StoragePool
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		p, err = tx.GetStoragePool(ctx, "p1")
		return err
	})

	if p.State != StoragePoolPending || p.Driver != "dir" || p.Description != "d" || p.Config["source"] != "/srv/p1" {
		t.Fatalf("unexpected pool: %+v", p)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		err := tx.SetStoragePoolState(ctx, "p1", StoragePoolCreated)
		if err != nil {
			return err
		}

		return tx.UpdateStoragePool(ctx, "p1", "e", map[string]string{"source": "/srv/p2"})
	})

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		pools, err := tx.GetStoragePools(ctx)
		if err != nil {
			return err
		}

		want := []StoragePool{{ID: p.ID, Name: "p1", Driver: "dir", Description: "e", State: StoragePoolCreated,
			Config: map[string]string{"source": "/srv/p2"}}}
		if !reflect.DeepEqual(pools, want) {
			t.Fatalf("got %+v, want %+v", pools, want)
		}

		return nil
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateStoragePool(ctx, StoragePool{Name: "p1", Driver: "btrfs"})
			return err
		}, errs.ErrConflict},
		{"no driver", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateStoragePool(ctx, StoragePool{Name: "p3"})
			return err
		}, errs.ErrInvalid},
		{"missing get", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetStoragePool(ctx, "nope")
			return err
		}, errs.ErrNotFound},
		{"missing update", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateStoragePool(ctx, "nope", "", nil)
		}, errs.ErrNotFound},
		{"missing state", func(ctx context.Context, tx *Tx) error {
			return tx.SetStoragePoolState(ctx, "nope", StoragePoolCreated)
		}, errs.ErrNotFound},
		{"bad state", func(ctx context.Context, tx *Tx) error {
			return tx.SetStoragePoolState(ctx, "p1", "bogus")
		}, errs.ErrInvalid},
		{"missing delete", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteStoragePool(ctx, "nope")
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
		err := tx.DeleteStoragePool(ctx, "p1")
		if err != nil {
			return err
		}

		pools, err := tx.GetStoragePools(ctx)
		if err != nil {
			return err
		}

		if len(pools) != 0 {
			t.Fatalf("pool left: %+v", pools)
		}

		return nil
	})
}

func TestStoragePoolDeviceUses(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateProfile(ctx, Profile{Name: "default", Devices: map[string]map[string]string{
			"root": {"type": "disk", "path": "/", "pool": "p1"},
			"eth0": {"type": "nic", "pool": "p1"},
		}})
		if err != nil {
			return err
		}

		_, err = tx.CreateInstance(ctx, Instance{
			Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: time.Now(),
			Devices: map[string]map[string]string{
				"root": {"type": "disk", "path": "/", "pool": "p1"},
				"data": {"type": "disk", "path": "/d", "pool": "p2"},
			},
		})
		return err
	})

	uses := func(name string) []DeviceUse {
		var out []DeviceUse
		mustTx(t, d, func(ctx context.Context, tx *Tx) error {
			var err error
			out, err = tx.GetStoragePoolDeviceUses(ctx, name)
			return err
		})

		return out
	}

	want := []DeviceUse{{"instance", "c1", "root"}, {"profile", "default", "root"}}
	got := uses("p1")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	if got := uses("p3"); len(got) != 0 {
		t.Fatalf("unexpected users: %+v", got)
	}
}
