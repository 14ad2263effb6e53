package db

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestNetworks(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNetwork(ctx, Network{Name: "br0", Description: "d",
			Config: map[string]string{"ipv4.address": "10.1.2.1/24"}})
		return err
	})

	var n *Network
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		n, err = tx.GetNetwork(ctx, "br0")
		return err
	})

	if n.State != NetworkPending || n.Type != "bridge" || n.Description != "d" || n.Config["ipv4.address"] != "10.1.2.1/24" {
		t.Fatalf("unexpected network: %+v", n)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		err := tx.SetNetworkState(ctx, "br0", NetworkCreated)
		if err != nil {
			return err
		}

		err = tx.UpdateNetwork(ctx, "br0", "e", map[string]string{"ipv4.nat": "true"})
		if err != nil {
			return err
		}

		return tx.RenameNetwork(ctx, "br0", "br1")
	})

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		nets, err := tx.GetNetworks(ctx)
		if err != nil {
			return err
		}

		want := []Network{{ID: n.ID, Name: "br1", Type: "bridge", Description: "e", State: NetworkCreated,
			Config: map[string]string{"ipv4.nat": "true"}}}
		if !reflect.DeepEqual(nets, want) {
			t.Fatalf("got %+v, want %+v", nets, want)
		}

		return nil
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateNetwork(ctx, Network{Name: "br1"})
			return err
		}, errs.ErrConflict},
		{"missing get", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetNetwork(ctx, "nope")
			return err
		}, errs.ErrNotFound},
		{"missing update", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateNetwork(ctx, "nope", "", nil)
		}, errs.ErrNotFound},
		{"missing state", func(ctx context.Context, tx *Tx) error {
			return tx.SetNetworkState(ctx, "nope", NetworkCreated)
		}, errs.ErrNotFound},
		{"bad state", func(ctx context.Context, tx *Tx) error {
			return tx.SetNetworkState(ctx, "br1", "bogus")
		}, errs.ErrInvalid},
		{"missing rename", func(ctx context.Context, tx *Tx) error {
			return tx.RenameNetwork(ctx, "nope", "x")
		}, errs.ErrNotFound},
		{"missing delete", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteNetwork(ctx, "nope")
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
		err := tx.DeleteNetwork(ctx, "br1")
		if err != nil {
			return err
		}

		nets, err := tx.GetNetworks(ctx)
		if err != nil {
			return err
		}

		if len(nets) != 0 {
			t.Fatalf("network left: %+v", nets)
		}

		return nil
	})
}

func TestNetworkDeviceUses(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateProfile(ctx, Profile{Name: "default", Devices: map[string]map[string]string{
			"eth0": {"type": "nic", "network": "br0"},
			"disk": {"type": "disk", "network": "br0", "path": "/x"},
		}})
		if err != nil {
			return err
		}

		_, err = tx.CreateInstance(ctx, Instance{
			Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: time.Now(),
			Devices: map[string]map[string]string{
				"eth1": {"type": "nic", "network": "br0"},
				"eth2": {"type": "nic", "network": "other"},
				"eth3": {"type": "nic", "nictype": "bridged", "parent": "br0"},
				"eth4": {"type": "nic", "nictype": "p2p", "parent": "br0"},
			},
		})
		return err
	})

	uses := func(name string) []DeviceUse {
		var out []DeviceUse
		mustTx(t, d, func(ctx context.Context, tx *Tx) error {
			var err error
			out, err = tx.GetNetworkDeviceUses(ctx, name)
			return err
		})

		return out
	}

	want := []DeviceUse{{"instance", "c1", "eth1"}, {"instance", "c1", "eth3"}, {"profile", "default", "eth0"}}
	got := uses("br0")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
