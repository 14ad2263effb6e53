package db

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

// testNode returns a member record named name at address.
func testNode(name string, address string) Node {
	return Node{
		Name:          name,
		Address:       address,
		Schema:        11,
		APIExtensions: 100,
		Architecture:  "x86_64",
		Heartbeat:     time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
	}
}

// getNode reads the member called name, failing the test on error.
func getNode(t *testing.T, d *DB, name string) Node {
	t.Helper()

	var n Node
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		n, err = tx.GetNode(ctx, name)
		return err
	})

	return n
}

// countRows counts the rows of table whose node_id is id.
func countRows(t *testing.T, d *DB, table string, id int64) int {
	t.Helper()

	var n int
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.queryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE node_id = ?", []any{id}, &n)
	})

	return n
}

func TestNodesCreateAndGet(t *testing.T) {
	d := newTestDB(t)

	n1 := testNode("node1", "10.0.0.1:8443")
	n1.Description = "first"
	n1.Roles = []string{"ovn-chassis", "event-hub", "event-hub"}
	n1.Config = map[string]string{"scheduler.instance": "manual", "user.a": "b"}

	n2 := testNode("node2", "10.0.0.2:8443")
	n2.FailureDomain = "rack2"
	n2.State = NodeEvacuated

	var id1, id2 int64
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		id1, err = tx.CreateNode(ctx, n1)
		if err != nil {
			return err
		}

		id2, err = tx.CreateNode(ctx, n2)
		return err
	})

	if id1 == 0 || id2 <= id1 {
		t.Fatalf("got ids %d and %d, want increasing non-zero ids", id1, id2)
	}

	want1 := n1
	want1.ID = id1
	want1.FailureDomain = "default"
	want1.Roles = []string{"event-hub", "ovn-chassis"}

	want2 := n2
	want2.ID = id2
	want2.Roles = []string{}
	want2.Config = map[string]string{}

	var nodes []Node
	var byAddress Node
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		nodes, err = tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		byAddress, err = tx.GetNodeByAddress(ctx, "10.0.0.2:8443")
		return err
	})

	if !reflect.DeepEqual(nodes, []Node{want1, want2}) {
		t.Fatalf("got %+v, want %+v", nodes, []Node{want1, want2})
	}

	got := getNode(t, d, "node1")
	if !reflect.DeepEqual(got, want1) {
		t.Fatalf("got %+v, want %+v", got, want1)
	}

	if !reflect.DeepEqual(byAddress, want2) {
		t.Fatalf("got %+v, want %+v", byAddress, want2)
	}
}

func TestNodesEmpty(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		if len(nodes) != 0 {
			t.Fatalf("got %+v, want no members", nodes)
		}

		return nil
	})
}

func TestNodesErrors(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNode(ctx, testNode("node1", "10.0.0.1:8443"))
		if err != nil {
			return err
		}

		_, err = tx.CreateNode(ctx, testNode("node2", "10.0.0.2:8443"))
		return err
	})

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx *Tx) error
		want error
	}{
		{"duplicate name", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateNode(ctx, testNode("node1", "10.0.0.9:8443"))
			return err
		}, errs.ErrConflict},
		{"duplicate address", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateNode(ctx, testNode("node9", "10.0.0.1:8443"))
			return err
		}, errs.ErrConflict},
		{"empty name", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateNode(ctx, testNode("", "10.0.0.9:8443"))
			return err
		}, errs.ErrInvalid},
		{"empty address", func(ctx context.Context, tx *Tx) error {
			_, err := tx.CreateNode(ctx, testNode("node9", ""))
			return err
		}, errs.ErrInvalid},
		{"unknown role", func(ctx context.Context, tx *Tx) error {
			n := testNode("node9", "10.0.0.9:8443")
			n.Roles = []string{"database"}
			_, err := tx.CreateNode(ctx, n)
			return err
		}, errs.ErrInvalid},
		{"empty config key", func(ctx context.Context, tx *Tx) error {
			n := testNode("node9", "10.0.0.9:8443")
			n.Config = map[string]string{"": "x"}
			_, err := tx.CreateNode(ctx, n)
			return err
		}, errs.ErrInvalid},
		{"bad state", func(ctx context.Context, tx *Tx) error {
			n := testNode("node9", "10.0.0.9:8443")
			n.State = 7
			_, err := tx.CreateNode(ctx, n)
			return err
		}, errs.ErrInvalid},
		{"missing get", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetNode(ctx, "nope")
			return err
		}, errs.ErrNotFound},
		{"missing get by address", func(ctx context.Context, tx *Tx) error {
			_, err := tx.GetNodeByAddress(ctx, "10.0.0.9:8443")
			return err
		}, errs.ErrNotFound},
		{"missing update", func(ctx context.Context, tx *Tx) error {
			return tx.UpdateNode(ctx, "nope", Node{})
		}, errs.ErrNotFound},
		{"missing rename", func(ctx context.Context, tx *Tx) error {
			return tx.RenameNode(ctx, "nope", "node9")
		}, errs.ErrNotFound},
		{"rename to existing", func(ctx context.Context, tx *Tx) error {
			return tx.RenameNode(ctx, "node1", "node2")
		}, errs.ErrConflict},
		{"rename to empty", func(ctx context.Context, tx *Tx) error {
			return tx.RenameNode(ctx, "node1", "")
		}, errs.ErrInvalid},
		{"missing heartbeat", func(ctx context.Context, tx *Tx) error {
			return tx.SetNodeHeartbeat(ctx, "10.0.0.9:8443", time.Now(), 11, 1)
		}, errs.ErrNotFound},
		{"missing delete", func(ctx context.Context, tx *Tx) error {
			return tx.DeleteNode(ctx, "nope")
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

	// None of the failed calls changed the two members.
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		if len(nodes) != 2 || nodes[0].Name != "node1" || nodes[1].Name != "node2" {
			t.Fatalf("got %+v, want node1 and node2 only", nodes)
		}

		return nil
	})
}

func TestUpdateNodeReplacesRolesAndConfig(t *testing.T) {
	d := newTestDB(t)
	n := testNode("node1", "10.0.0.1:8443")
	n.Description = "old"
	n.FailureDomain = "rack1"
	n.Roles = []string{"event-hub"}
	n.Config = map[string]string{"scheduler.instance": "manual", "user.old": "1"}

	var id int64
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		id, err = tx.CreateNode(ctx, n)
		return err
	})

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.UpdateNode(ctx, "node1", Node{
			Description:   "new",
			FailureDomain: "rack2",
			Roles:         []string{"ovn-chassis"},
			Config:        map[string]string{"user.new": "2"},
			// Fields UpdateNode does not edit.
			Name:    "ignored",
			Address: "10.9.9.9:8443",
			Schema:  99,
		})
	})

	want := n
	want.ID = id
	want.Description = "new"
	want.FailureDomain = "rack2"
	want.Roles = []string{"ovn-chassis"}
	want.Config = map[string]string{"user.new": "2"}

	got := getNode(t, d, "node1")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	// An empty failure domain is the default one; nil roles and config clear them.
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.UpdateNode(ctx, "node1", Node{})
	})

	got = getNode(t, d, "node1")
	if got.FailureDomain != "default" || got.Description != "" || len(got.Roles) != 0 || len(got.Config) != 0 {
		t.Fatalf("got %+v, want default failure domain, no description, roles or configuration", got)
	}

	if got.Roles == nil || got.Config == nil {
		t.Fatalf("got nil roles or configuration, want empty ones: %+v", got)
	}

	if countRows(t, d, "nodes_roles", id) != 0 || countRows(t, d, "nodes_config", id) != 0 {
		t.Fatal("roles or configuration rows left after clearing them")
	}
}

func TestUpdateNodeFailureKeepsRecord(t *testing.T) {
	d := newTestDB(t)
	n := testNode("node1", "10.0.0.1:8443")
	n.Roles = []string{"event-hub"}
	n.Config = map[string]string{"user.a": "1"}
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNode(ctx, n)
		return err
	})

	// The role is refused after the old roles were removed: the transaction rolls back as a whole.
	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		return tx.UpdateNode(ctx, "node1", Node{Description: "x", Roles: []string{"bogus"}})
	})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}

	got := getNode(t, d, "node1")
	if got.Description != "" || !reflect.DeepEqual(got.Roles, []string{"event-hub"}) || !reflect.DeepEqual(got.Config, map[string]string{"user.a": "1"}) {
		t.Fatalf("got %+v, want the record as created", got)
	}
}

func TestRenameNode(t *testing.T) {
	d := newTestDB(t)
	n := testNode("node1", "10.0.0.1:8443")
	n.Roles = []string{"event-hub"}
	n.Config = map[string]string{"user.a": "1"}

	var id int64
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		id, err = tx.CreateNode(ctx, n)
		if err != nil {
			return err
		}

		_, err = tx.CreateNode(ctx, testNode("node2", "10.0.0.2:8443"))
		return err
	})

	err := d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		return tx.RenameNode(ctx, "node1", "node2")
	})
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.RenameNode(ctx, "node1", "node3")
	})

	got := getNode(t, d, "node3")
	if got.ID != id || got.Address != "10.0.0.1:8443" || !reflect.DeepEqual(got.Roles, []string{"event-hub"}) || got.Config["user.a"] != "1" {
		t.Fatalf("got %+v, want node1's record under its new name", got)
	}

	err = d.Transaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.GetNode(ctx, "node1")
		return err
	})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound for the old name", err)
	}

	// The old name is free again.
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNode(ctx, testNode("node1", "10.0.0.3:8443"))
		return err
	})
}

func TestSetNodeHeartbeat(t *testing.T) {
	d := newTestDB(t)
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNode(ctx, testNode("node1", "10.0.0.1:8443"))
		if err != nil {
			return err
		}

		_, err = tx.CreateNode(ctx, testNode("node2", "10.0.0.2:8443"))
		return err
	})

	before := getNode(t, d, "node2")
	when := time.Date(2030, 1, 2, 3, 4, 5, 987654321, time.FixedZone("x", 3600))
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.SetNodeHeartbeat(ctx, "10.0.0.1:8443", when, 12, 150)
	})

	got := getNode(t, d, "node1")
	if !got.Heartbeat.Equal(when) || got.Heartbeat.Location() != time.UTC {
		t.Fatalf("got heartbeat %v, want %v in UTC", got.Heartbeat, when)
	}

	if got.Schema != 12 || got.APIExtensions != 150 {
		t.Fatalf("got schema %d and API extensions %d, want 12 and 150", got.Schema, got.APIExtensions)
	}

	after := getNode(t, d, "node2")
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("the other member changed: got %+v, want %+v", after, before)
	}
}

func TestCreateNodeZeroHeartbeat(t *testing.T) {
	d := newTestDB(t)
	n := testNode("node1", "10.0.0.1:8443")
	n.Heartbeat = time.Time{}
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNode(ctx, n)
		return err
	})

	got := getNode(t, d, "node1")
	if !got.Heartbeat.IsZero() {
		t.Fatalf("got heartbeat %v, want the zero time", got.Heartbeat)
	}
}

func TestDeleteNodeCascades(t *testing.T) {
	d := newTestDB(t)
	n1 := testNode("node1", "10.0.0.1:8443")
	n1.Roles = []string{"event-hub", "ovn-chassis"}
	n1.Config = map[string]string{"user.a": "1", "user.b": "2"}
	n2 := testNode("node2", "10.0.0.2:8443")
	n2.Roles = []string{"event-hub"}
	n2.Config = map[string]string{"user.a": "3"}

	var id1, id2 int64
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		var err error
		id1, err = tx.CreateNode(ctx, n1)
		if err != nil {
			return err
		}

		id2, err = tx.CreateNode(ctx, n2)
		return err
	})

	if countRows(t, d, "nodes_roles", id1) != 2 || countRows(t, d, "nodes_config", id1) != 2 {
		t.Fatal("node1's roles and configuration were not stored")
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.DeleteNode(ctx, "node1")
	})

	if countRows(t, d, "nodes_roles", id1) != 0 || countRows(t, d, "nodes_config", id1) != 0 {
		t.Fatal("node1's roles or configuration survived its deletion")
	}

	if countRows(t, d, "nodes_roles", id2) != 1 || countRows(t, d, "nodes_config", id2) != 1 {
		t.Fatal("node2's roles or configuration were removed with node1")
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		if len(nodes) != 1 || nodes[0].ID != id2 {
			t.Fatalf("got %+v, want node2 only", nodes)
		}

		return nil
	})

	// The name and address are free again, and the new member has none of the old one's roles.
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		_, err := tx.CreateNode(ctx, testNode("node1", "10.0.0.1:8443"))
		return err
	})

	got := getNode(t, d, "node1")
	if got.ID == id1 || len(got.Roles) != 0 || len(got.Config) != 0 {
		t.Fatalf("got %+v, want a new record without roles or configuration", got)
	}
}
