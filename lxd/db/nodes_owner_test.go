package db

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// instanceNames lists the names of insts.
func instanceNames(insts []Instance) []string {
	out := []string{}
	for _, inst := range insts {
		out = append(out, inst.Name+"@"+inst.Node)
	}

	return out
}

// A standalone server's instances and pool keys belong to no member; AssignToNode gives them to the first member;
// from then on each member creates its own instances, sees its own pool keys and keeps the others'.
func TestNodeOwnership(t *testing.T) {
	d := newTestDB(t)
	ctx := context.Background()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateInstance(ctx, Instance{Name: "c1", Type: "container", Architecture: "x86_64", CreatedAt: created})
		if err != nil {
			return err
		}

		_, err = tx.CreateStoragePool(ctx, StoragePool{Name: "p", Driver: "dir", Config: map[string]string{"source": "/a", "rsync.bwlimit": "10"}})
		return err
	})

	var n1, n2 int64
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		n1, err = tx.CreateNode(ctx, testNode("n1", "10.0.0.1:8443"))
		if err != nil {
			return err
		}

		n2, err = tx.CreateNode(ctx, testNode("n2", "10.0.0.2:8443"))
		if err != nil {
			return err
		}

		return tx.AssignToNode(ctx, n1)
	})

	if countRows(t, d, "instances", n1) != 1 || countRows(t, d, "storage_pools_config", n1) != 1 {
		t.Fatalf("AssignToNode left the instance or the pool's source to no member")
	}

	// Member n2 creates c2 and records its own source; it sees its instance and its source only.
	d.SetNode(n2)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateInstance(ctx, Instance{Name: "c2", Type: "container", Architecture: "x86_64", CreatedAt: created})
		if err != nil {
			return err
		}

		return tx.SetStoragePoolNodeConfig(ctx, "p", map[string]string{"source": "/b"})
	})

	check := func(node int64, all []string, local []string, config map[string]string) {
		t.Helper()
		d.SetNode(node)
		mustTx(t, d, func(ctx context.Context, tx *Tx) error {
			insts, err := tx.GetInstances(ctx)
			if err != nil {
				return err
			}

			if got := instanceNames(insts); !reflect.DeepEqual(got, all) {
				t.Errorf("member %d: all instances %v, want %v", node, got, all)
			}

			insts, err = tx.GetLocalInstances(ctx)
			if err != nil {
				return err
			}

			if got := instanceNames(insts); !reflect.DeepEqual(got, local) {
				t.Errorf("member %d: local instances %v, want %v", node, got, local)
			}

			pool, err := tx.GetStoragePool(ctx, "p")
			if err != nil {
				return err
			}

			if !reflect.DeepEqual(pool.Config, config) {
				t.Errorf("member %d: pool config %v, want %v", node, pool.Config, config)
			}

			return nil
		})
	}

	check(n1, []string{"c1@n1", "c2@n2"}, []string{"c1@n1"}, map[string]string{"source": "/a", "rsync.bwlimit": "10"})
	check(n2, []string{"c1@n1", "c2@n2"}, []string{"c2@n2"}, map[string]string{"source": "/b", "rsync.bwlimit": "10"})

	// An update through n2 changes the shared key for all and n2's source only.
	d.SetNode(n2)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.UpdateStoragePool(ctx, "p", "", map[string]string{"source": "/b2", "rsync.bwlimit": "20"})
	})

	check(n1, []string{"c1@n1", "c2@n2"}, []string{"c1@n1"}, map[string]string{"source": "/a", "rsync.bwlimit": "20"})
	check(n2, []string{"c1@n1", "c2@n2"}, []string{"c2@n2"}, map[string]string{"source": "/b2", "rsync.bwlimit": "20"})

	// Only member keys may be set per member, and only by a member.
	err := d.Transaction(ctx, func(ctx context.Context, tx *Tx) error {
		return tx.SetStoragePoolNodeConfig(ctx, "p", map[string]string{"rsync.bwlimit": "1"})
	})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a shared key set per member: %v", err)
	}

	d.SetNode(0)
	err = d.Transaction(ctx, func(ctx context.Context, tx *Tx) error {
		return tx.SetStoragePoolNodeConfig(ctx, "p", map[string]string{"source": "/c"})
	})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("member keys set on a server that is not clustered: %v", err)
	}

	// A member that holds instances cannot be removed.
	err = d.Transaction(ctx, func(ctx context.Context, tx *Tx) error {
		return tx.DeleteNode(ctx, "n2")
	})
	if err == nil {
		t.Fatalf("a member holding an instance was removed")
	}
}
