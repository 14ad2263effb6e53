package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
)

// The scheduler picks the online member holding the fewest instances, never a manual one, and this member on a tie.
func TestPlaceInstance(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)
	addr, err := tm.m.PlaceInstance(ctx, "image")
	if err != nil || addr != "" {
		t.Fatalf("not clustered: %q, %v", addr, err)
	}

	tm.enable(t, "n1")
	local := tm.db.Node()
	add := func(name string, address string, heartbeat time.Time, config map[string]string, instances int) {
		t.Helper()
		var id int64
		err := tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			var err error
			id, err = tx.CreateNode(ctx, db.Node{Name: name, Address: address, Schema: 1, APIExtensions: 1, Architecture: "x86_64", Heartbeat: heartbeat, Config: config})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// The member's instances are created as that member creates them.
		tm.db.SetNode(id)
		defer tm.db.SetNode(local)
		for i := range instances {
			err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
				_, err := tx.CreateInstance(ctx, db.Instance{Name: fmt.Sprintf("%s-c%d", name, i), Type: "container", Architecture: "x86_64", CreatedAt: time.Now()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	// n1 (this member) holds none: it wins over an empty member on a tie.
	add("n2", "10.0.0.2:8443", time.Now(), nil, 0)
	place := func(want string) {
		t.Helper()
		got, err := tm.m.PlaceInstance(ctx, "image")
		if err != nil || got != want {
			t.Fatalf("placed on %q (%v), want %q", got, err, want)
		}
	}

	place("")
	add("n0", "10.0.0.9:8443", time.Now(), nil, 0)
	err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateInstance(ctx, db.Instance{Name: "mine", Type: "container", Architecture: "x86_64", CreatedAt: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// n1 holds one now: the first empty member in join order. A copy or a migration stays here.
	place("10.0.0.2:8443")
	for _, source := range []string{"copy", "migration"} {
		got, err := tm.m.PlaceInstance(ctx, source)
		if err != nil || got != "" {
			t.Fatalf("a %s placed on %q (%v)", source, got, err)
		}
	}

	// An offline member and a manual one are left out, whatever they hold.
	add("n3", "10.0.0.3:8443", time.Now().Add(-time.Hour), nil, 0)
	add("n4", "10.0.0.4:8443", time.Now(), map[string]string{"scheduler.instance": "manual"}, 0)
	add("n5", "10.0.0.5:8443", time.Now(), nil, 2)
	place("10.0.0.2:8443")
}
