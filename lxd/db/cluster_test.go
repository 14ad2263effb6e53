package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	dqlitedriver "github.com/canonical/go-dqlite/driver"

	"github.com/lxd-go/lxd/lxd/db/schema"
	"github.com/lxd-go/lxd/lxd/errs"
)

// testNodeConfig are the node-local keys the tests pass to UseCluster, as the daemon does.
var testNodeConfig = []string{"core.https_address", "cluster.https_address"}

// newGlobalDB opens an empty SQLite database standing for the cluster database.
func newGlobalDB(t *testing.T) *sql.DB {
	t.Helper()

	global, err := sql.Open(driverName, dsn(filepath.Join(t.TempDir(), "global.db")))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = global.Close() })
	return global
}

// globalConfig reads the config table of a raw database.
func globalConfig(t *testing.T, global *sql.DB) map[string]string {
	t.Helper()

	rows, err := global.Query("SELECT key, value FROM config")
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = rows.Close() }()

	out := map[string]string{}
	for rows.Next() {
		var k, v string
		err = rows.Scan(&k, &v)
		if err != nil {
			t.Fatal(err)
		}

		out[k] = v
	}

	err = rows.Err()
	if err != nil {
		t.Fatal(err)
	}

	return out
}

// readConfig reads the configuration through fn (Transaction or NodeTransaction).
func readConfig(t *testing.T, fn func(ctx context.Context, f func(ctx context.Context, tx *Tx) error) error) map[string]string {
	t.Helper()

	var cfg map[string]string
	err := fn(context.Background(), func(ctx context.Context, tx *Tx) error {
		var err error
		cfg, err = tx.GetConfig(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	return cfg
}

// seedLocal fills local.db with configuration, a profile, an instance using it and a member.
func seedLocal(t *testing.T, d *DB) {
	t.Helper()

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		err := tx.UpdateConfig(ctx, map[string]string{
			"core.https_address":          "10.0.0.1:8443",
			"cluster.https_address":       "10.0.0.1:8443",
			"images.auto_update_interval": "12",
		})
		if err != nil {
			return err
		}

		_, err = tx.CreateProfile(ctx, Profile{Name: "small", Config: map[string]string{"limits.cpu": "1"}})
		if err != nil {
			return err
		}

		// instances_profiles is copied before profiles, which it references.
		_, err = tx.CreateInstance(ctx, Instance{Name: "c1", Type: "container", Architecture: "x86_64",
			CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Profiles: []string{"small"},
			Config: map[string]string{"user.a": "1"}})
		if err != nil {
			return err
		}

		n := testNode("node1", "10.0.0.1:8443")
		n.Roles = []string{"event-hub"}
		n.Config = map[string]string{"user.x": "y"}
		_, err = tx.CreateNode(ctx, n)
		return err
	})
}

func TestUseClusterBootstrap(t *testing.T) {
	d := newTestDB(t)
	seedLocal(t, d)
	global := newGlobalDB(t)

	if d.Clustered() {
		t.Fatal("a new database reports itself clustered")
	}

	err := d.UseCluster(context.Background(), ClusterArgs{Global: global, Bootstrap: true, NodeConfig: testNodeConfig})
	if err != nil {
		t.Fatal(err)
	}

	if !d.Clustered() {
		t.Fatal("Clustered is false after UseCluster")
	}

	// The cluster database has the latest schema and the copied data, but for the node-local keys.
	if v := rawVersion(t, global); v != schema.Latest() {
		t.Fatalf("got cluster schema version %d, want %d", v, schema.Latest())
	}

	wantGlobal := map[string]string{"images.auto_update_interval": "12"}
	if got := globalConfig(t, global); !reflect.DeepEqual(got, wantGlobal) {
		t.Fatalf("got cluster configuration %v, want %v", got, wantGlobal)
	}

	if got := readConfig(t, d.Transaction); !reflect.DeepEqual(got, wantGlobal) {
		t.Fatalf("Transaction read %v, want %v", got, wantGlobal)
	}

	wantLocal := map[string]string{
		"core.https_address":          "10.0.0.1:8443",
		"cluster.https_address":       "10.0.0.1:8443",
		"images.auto_update_interval": "12",
	}

	if got := readConfig(t, d.NodeTransaction); !reflect.DeepEqual(got, wantLocal) {
		t.Fatalf("NodeTransaction read %v, want %v", got, wantLocal)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		inst, err := tx.GetInstance(ctx, "c1")
		if err != nil {
			return err
		}

		if !reflect.DeepEqual(inst.Profiles, []string{"small"}) || inst.Config["user.a"] != "1" {
			t.Fatalf("got instance %+v, want profile small and user.a", inst)
		}

		n, err := tx.GetNode(ctx, "node1")
		if err != nil {
			return err
		}

		if !reflect.DeepEqual(n.Roles, []string{"event-hub"}) || n.Config["user.x"] != "y" {
			t.Fatalf("got member %+v, want its roles and configuration copied", n)
		}

		return nil
	})

	// Every copied row has its parent.
	rows, err := global.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}

	if rows.Next() {
		t.Fatal("the cluster database has rows without their parent")
	}

	_ = rows.Close()

	// Writes of Transaction go to the cluster database only, those of NodeTransaction to local.db only.
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.UpdateConfig(ctx, map[string]string{"images.remote_cache_expiry": "5"})
	})

	err = d.NodeTransaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		return tx.UpdateConfig(ctx, map[string]string{"core.https_address": "10.0.0.2:8443"})
	})
	if err != nil {
		t.Fatal(err)
	}

	wantGlobal["images.remote_cache_expiry"] = "5"
	if got := globalConfig(t, global); !reflect.DeepEqual(got, wantGlobal) {
		t.Fatalf("got cluster configuration %v, want %v", got, wantGlobal)
	}

	wantLocal["core.https_address"] = "10.0.0.2:8443"
	if got := readConfig(t, d.NodeTransaction); !reflect.DeepEqual(got, wantLocal) {
		t.Fatalf("NodeTransaction read %v, want %v", got, wantLocal)
	}

	// Local is a view of local.db whatever the mode.
	if got := readConfig(t, d.Local().Transaction); !reflect.DeepEqual(got, wantLocal) {
		t.Fatalf("Local().Transaction read %v, want %v", got, wantLocal)
	}

	d.LeaveCluster()
	if d.Clustered() {
		t.Fatal("Clustered is true after LeaveCluster")
	}

	if got := readConfig(t, d.Transaction); !reflect.DeepEqual(got, wantLocal) {
		t.Fatalf("Transaction read %v after LeaveCluster, want local.db's %v", got, wantLocal)
	}

	// The cluster database is left open for its owner.
	err = global.Ping()
	if err != nil {
		t.Fatalf("the cluster database was closed by LeaveCluster: %v", err)
	}
}

func TestUseClusterBootstrapReplacesRows(t *testing.T) {
	d := newTestDB(t)
	seedLocal(t, d)
	global := newGlobalDB(t)

	// A cluster database that already holds a schema and rows of its own.
	err := rawTransaction(context.Background(), global, func(tx *sql.Tx) error {
		_, err := schema.Apply(context.Background(), tx, schema.Latest())
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO config (key, value) VALUES ('stale', '1'), ('images.auto_update_interval', '99')")
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO profiles (name) VALUES ('stale')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = d.UseCluster(context.Background(), ClusterArgs{Global: global, Bootstrap: true, NodeConfig: testNodeConfig})
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"images.auto_update_interval": "12"}
	if got := globalConfig(t, global); !reflect.DeepEqual(got, want) {
		t.Fatalf("got cluster configuration %v, want %v", got, want)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		profiles, err := tx.GetProfiles(ctx)
		if err != nil {
			return err
		}

		if len(profiles) != 1 || profiles[0].Name != "small" {
			t.Fatalf("got profiles %+v, want small only", profiles)
		}

		return nil
	})
}

func TestUseClusterWithoutBootstrap(t *testing.T) {
	d := newTestDB(t)
	seedLocal(t, d)
	global := newGlobalDB(t)

	err := d.UseCluster(context.Background(), ClusterArgs{Global: global, NodeConfig: testNodeConfig})
	if err != nil {
		t.Fatal(err)
	}

	// The schema is created, no data is copied.
	if v := rawVersion(t, global); v != schema.Latest() {
		t.Fatalf("got cluster schema version %d, want %d", v, schema.Latest())
	}

	if got := readConfig(t, d.Transaction); len(got) != 0 {
		t.Fatalf("Transaction read %v, want an empty configuration", got)
	}

	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		if len(nodes) != 0 {
			t.Fatalf("got members %+v, want none", nodes)
		}

		return nil
	})
}

func TestUseClusterFailureChangesNothing(t *testing.T) {
	d := newTestDB(t)
	seedLocal(t, d)
	global := newGlobalDB(t)
	err := rawTransaction(context.Background(), global, func(tx *sql.Tx) error {
		_, err := schema.Apply(context.Background(), tx, schema.Latest())
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO config (key, value) VALUES ('stale', '1')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// A table the cluster database lacks, copied last: every other table was already replaced when it fails.
	_, err = d.local.Exec("CREATE TABLE zz_extra (x TEXT); INSERT INTO zz_extra VALUES ('a')")
	if err != nil {
		t.Fatal(err)
	}

	err = d.UseCluster(context.Background(), ClusterArgs{Global: global, Bootstrap: true, NodeConfig: testNodeConfig})
	if err == nil {
		t.Fatal("UseCluster succeeded copying a table the cluster database lacks")
	}

	if d.Clustered() {
		t.Fatal("Clustered is true after a failed UseCluster")
	}

	want := map[string]string{"stale": "1"}
	if got := globalConfig(t, global); !reflect.DeepEqual(got, want) {
		t.Fatalf("got cluster configuration %v after a failed copy, want %v", got, want)
	}

	if got := readConfig(t, d.Transaction); got["core.https_address"] != "10.0.0.1:8443" {
		t.Fatalf("Transaction read %v, want local.db's configuration", got)
	}
}

func TestUseClusterRefusesNewerSchema(t *testing.T) {
	d := newTestDB(t)
	global := newGlobalDB(t)
	_, err := global.Exec(fmt.Sprintf(`CREATE TABLE schema (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
version INTEGER NOT NULL UNIQUE, updated_at TEXT NOT NULL);
INSERT INTO schema (version, updated_at) VALUES (%d, '2030-01-01T00:00:00Z')`, schema.Latest()+1))
	if err != nil {
		t.Fatal(err)
	}

	err = d.UseCluster(context.Background(), ClusterArgs{Global: global, Bootstrap: true, NodeConfig: testNodeConfig})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("got %v, want ErrSchemaTooNew", err)
	}

	if d.Clustered() {
		t.Fatal("Clustered is true after a refused UseCluster")
	}

	// Transaction still runs on local.db.
	mustTx(t, d, func(ctx context.Context, tx *Tx) error {
		return tx.UpdateConfig(ctx, map[string]string{"images.remote_cache_expiry": "5"})
	})

	err = d.NodeTransaction(context.Background(), func(ctx context.Context, tx *Tx) error {
		cfg, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if cfg["images.remote_cache_expiry"] != "5" {
			t.Fatalf("got %v, want the write in local.db", cfg)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMapErrorDqlite(t *testing.T) {
	tests := []struct {
		name string
		code int
		want error
	}{
		{"unique", 2067, errs.ErrConflict},
		{"primary key", 19 | 6<<8, errs.ErrConflict},
		{"foreign key", 19 | 3<<8, errs.ErrConflict},
		{"not null", 19 | 5<<8, errs.ErrInvalid},
		{"check", 19 | 1<<8, errs.ErrInvalid},
		{"busy", 5, errs.ErrBusy},
		{"locked", 6, errs.ErrBusy},
		{"not leader", 10 | 40<<8, errs.ErrBusy},
		{"leadership lost", 10 | 41<<8, errs.ErrBusy},
		{"other io error", 10, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := dqlitedriver.Error{Code: tt.code, Message: "dqlite says " + tt.name}
			for _, err := range []error{in, fmt.Errorf("context: %w", in)} {
				serr, ok := asSQLiteError(err)
				if !ok {
					t.Fatalf("asSQLiteError(%v) did not recognize a dqlite error", err)
				}

				if serr.code != tt.code&0xff || serr.extended != tt.code || serr.message != in.Message {
					t.Fatalf("got %+v, want code %d, extended %d, message %q", serr, tt.code&0xff, tt.code, in.Message)
				}

				got := mapError(err)
				if got.Error() != err.Error() {
					t.Fatalf("got message %q, want %q", got.Error(), err.Error())
				}

				var derr dqlitedriver.Error
				if !errors.As(got, &derr) || derr.Code != tt.code {
					t.Fatalf("got %v, want the dqlite error kept", got)
				}

				for _, class := range []error{errs.ErrConflict, errs.ErrInvalid, errs.ErrBusy, errs.ErrNotFound} {
					if errors.Is(got, class) != (class == tt.want) {
						t.Fatalf("got errors.Is(%v) = %v, want %v", class, errors.Is(got, class), class == tt.want)
					}
				}
			}
		})
	}
}

func TestIsUniqueViolationDqlite(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{2067, true},
		{19 | 6<<8, true},
		{19 | 3<<8, false},
		{19 | 5<<8, false},
		{19, false},
		{5, false},
	}

	for _, tt := range tests {
		err := fmt.Errorf("insert: %w", dqlitedriver.Error{Code: tt.code, Message: "m"})
		if got := isUniqueViolation(err); got != tt.want {
			t.Errorf("isUniqueViolation(code %d) = %v, want %v", tt.code, got, tt.want)
		}

		// As CreateNode sees it: classified by mapError first.
		if got := isUniqueViolation(mapError(err)); got != tt.want {
			t.Errorf("isUniqueViolation(mapError(code %d)) = %v, want %v", tt.code, got, tt.want)
		}
	}

	_, ok := asSQLiteError(errors.New("plain"))
	if ok {
		t.Fatal("asSQLiteError recognized a plain error")
	}
}
