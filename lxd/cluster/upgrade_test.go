package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/db/schema"
	"github.com/lxd-go/lxd/lxd/errs"
)

// restart stops tm's daemon parts and starts them again on the same directories, up to Resume (not run): the
// cluster certificate is loaded.
func (tm *testMember) restart(t *testing.T) {
	t.Helper()

	err := tm.db.Close()
	if err != nil {
		t.Fatal(err)
	}

	tm.g.Stop()
	tm.db, err = db.Open(filepath.Join(tm.dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	tm.m = tm.newManager()
	_, err = tm.m.LoadCertificate()
	if err != nil {
		t.Fatal(err)
	}
}

// A member that starts with a newer version than another waits for it; one older than another is refused.
func TestResumeVersions(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema int
		check  func(err error) bool
	}{
		{"older member", schema.Latest() - 1, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) && strings.Contains(err.Error(), "waiting for cluster members [node2] to be upgraded")
		}},
		{"newer member", schema.Latest() + 1, func(err error) bool {
			return errors.Is(err, errs.ErrInvalid) && strings.Contains(err.Error(), `cluster member "node2" runs a newer version`)
		}},
		{"same version", schema.Latest(), func(err error) bool { return err == nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := newTestMember(t)
			tm.enable(t, "node1")
			err := tm.db.Transaction(testContext(t), func(ctx context.Context, tx *db.Tx) error {
				_, err := tx.CreateNode(ctx, db.Node{Name: "node2", Address: "10.0.0.2:8443", Schema: c.schema, APIExtensions: 42, Architecture: "x86_64", Heartbeat: time.Now()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}

			tm.restart(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err = tm.m.Resume(ctx)
			if !c.check(err) {
				t.Fatalf("Resume: %v", err)
			}
		})
	}
}
