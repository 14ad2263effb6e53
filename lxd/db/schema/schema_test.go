package schema

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

var update = flag.Bool("update", false, "rewrite schema.sql from the updates")

// openTemp opens an empty database file in a temporary directory.
func openTemp(t *testing.T) *sql.DB {
	t.Helper()

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = db.Close() })
	return db
}

// inTx runs fn in a transaction and commits it.
func inTx(t *testing.T, db *sql.DB, fn func(tx *sql.Tx) error) error {
	t.Helper()

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}

	err = fn(tx)
	if err != nil {
		_ = tx.Rollback()
		return err
	}

	return tx.Commit()
}

// masterRow is one entry of sqlite_master.
type masterRow struct {
	Type, Name, Table, SQL string
}

// master lists every schema object of db.
func master(t *testing.T, db *sql.DB) []masterRow {
	t.Helper()

	rows, err := db.Query("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = rows.Close() }()

	var out []masterRow
	for rows.Next() {
		var r masterRow
		err = rows.Scan(&r.Type, &r.Name, &r.Table, &r.SQL)
		if err != nil {
			t.Fatal(err)
		}

		out = append(out, r)
	}

	err = rows.Err()
	if err != nil {
		t.Fatal(err)
	}

	return out
}

func TestUpdatesAreContiguous(t *testing.T) {
	for v := 1; v <= Latest(); v++ {
		_, ok := Update(v)
		if !ok {
			t.Fatalf("update %d is missing, updates must be numbered 1..%d", v, Latest())
		}
	}
}

// TestFreshSchema checks that schema.sql is the result of applying every
// update; with -update it rewrites schema.sql instead.
func TestFreshSchema(t *testing.T) {
	ctx := context.Background()

	updated := openTemp(t)
	err := inTx(t, updated, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, Latest())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if *update {
		tx, err := updated.Begin()
		if err != nil {
			t.Fatal(err)
		}

		dump, err := Dump(ctx, tx)
		_ = tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}

		err = os.WriteFile("schema.sql", []byte(dump), 0o644)
		if err != nil {
			t.Fatal(err)
		}

		t.Skip("schema.sql rewritten; run again without -update")
	}

	fresh := openTemp(t)
	err = inTx(t, fresh, func(tx *sql.Tx) error {
		return ApplyFresh(ctx, tx)
	})
	if err != nil {
		t.Fatalf("applying schema.sql: %v", err)
	}

	got := master(t, fresh)
	want := master(t, updated)
	if !slices.Equal(got, want) {
		t.Fatalf("schema.sql differs from the updates; regenerate it with -update\nschema.sql: %v\nupdates:    %v", got, want)
	}

	for _, db := range []*sql.DB{fresh, updated} {
		var v int
		err = inTx(t, db, func(tx *sql.Tx) error {
			var err error
			v, err = Current(ctx, tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		if v != Latest() {
			t.Fatalf("got version %d, want %d", v, Latest())
		}
	}
}

// TestEachUpdate applies the updates one at a time and checks each leaves a
// consistent database at the expected version.
func TestEachUpdate(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)

	for v := 1; v <= Latest(); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			var from, now int
			err := inTx(t, db, func(tx *sql.Tx) error {
				var err error
				from, err = Apply(ctx, tx, v)
				if err != nil {
					return err
				}

				now, err = Current(ctx, tx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}

			if from != v-1 || now != v {
				t.Fatalf("got %d -> %d, want %d -> %d", from, now, v-1, v)
			}

			var check string
			err = db.QueryRow("PRAGMA integrity_check").Scan(&check)
			if err != nil {
				t.Fatal(err)
			}

			if check != "ok" {
				t.Fatalf("got integrity_check %q, want ok", check)
			}

			rows, err := db.Query("PRAGMA foreign_key_check")
			if err != nil {
				t.Fatal(err)
			}

			bad := rows.Next()
			_ = rows.Close()
			if bad {
				t.Fatal("foreign_key_check reports violations")
			}
		})
	}
}

// TestUpdate2KeepsCertificates checks that update 2 leaves version 1 data alone.
func TestUpdate2KeepsCertificates(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	fp := strings.Repeat("ab", 32)

	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 1)
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO certificates (fingerprint, type, name, certificate) VALUES (?, 'client', 'c1', 'PEM')", fp)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 2)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var name string
	err = db.QueryRow("SELECT name FROM certificates WHERE fingerprint = ?", fp).Scan(&name)
	if err != nil {
		t.Fatal(err)
	}

	if name != "c1" {
		t.Fatalf("got name %q, want c1", name)
	}

	_, err = db.Exec("INSERT INTO images (fingerprint, size, architecture, upload_date) VALUES (?, 1, 'x86_64', '2024-01-01T00:00:00.000000000Z')", fp)
	if err != nil {
		t.Fatalf("images table unusable after update 2: %v", err)
	}
}

func TestApplyRefusesNewerDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)

	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, Latest())
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO schema (version, updated_at) VALUES (?, '')", Latest()+1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, Latest())
		return err
	})
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("got %v, want ErrTooNew", err)
	}
}

func TestApplyFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)

	_, err := db.Exec("CREATE TABLE images (x)")
	if err != nil {
		t.Fatal(err)
	}

	err = inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, Latest())
		return err
	})
	if err == nil {
		t.Fatal("got nil, want an error from a clashing table")
	}

	var n int
	err = db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name IN ('schema', 'config', 'certificates')").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}

	if n != 0 {
		t.Fatalf("got %d tables left behind, want 0", n)
	}
}

func TestApplyUnknownTarget(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)

	for _, target := range []int{-1, Latest() + 1} {
		err := inTx(t, db, func(tx *sql.Tx) error {
			_, err := Apply(ctx, tx, target)
			return err
		})
		if err == nil {
			t.Fatalf("target %d: got nil, want an error", target)
		}
	}
}

// TestUpdate4KeepsInstances checks that update 4 leaves instances alone and that their snapshots go with them.
func TestUpdate4KeepsInstances(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 3)
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO instances (name, architecture, creation_date) VALUES ('c1', 'x86_64', '2024-01-01T00:00:00.000000000Z')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 4)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	_, err = db.Exec(`INSERT INTO instances_snapshots (instance_id, name, architecture, creation_date)
SELECT id, 'snap0', architecture, creation_date FROM instances WHERE name = 'c1'`)
	if err != nil {
		t.Fatalf("instances_snapshots unusable after update 4: %v", err)
	}

	_, err = db.Exec("DELETE FROM instances WHERE name = 'c1'")
	if err != nil {
		t.Fatal(err)
	}

	var n int
	err = db.QueryRow("SELECT count(*) FROM instances_snapshots").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}

	if n != 0 {
		t.Fatalf("got %d snapshots after deleting their instance, want 0", n)
	}
}

// TestUpdate5AddsWarnings checks that update 5 leaves instances alone and that a warning is unique per type,
// entity, project and location.
func TestUpdate5AddsWarnings(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 4)
		if err != nil {
			return err
		}

		_, err = tx.Exec("INSERT INTO instances (name, architecture, creation_date) VALUES ('c1', 'x86_64', '2024-01-01T00:00:00.000000000Z')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 5)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var n int
	err = db.QueryRow("SELECT count(*) FROM instances WHERE name = 'c1'").Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("got %d instances (%v), want 1", n, err)
	}

	insert := `INSERT INTO warnings (uuid, type, first_seen_at, last_seen_at, updated_at, severity)
VALUES (?, 'T', '2024-01-01T00:00:00.000000000Z', '2024-01-01T00:00:00.000000000Z', '2024-01-01T00:00:00.000000000Z', 'low')`
	_, err = db.Exec(insert, "00000000-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatalf("warnings unusable after update 5: %v", err)
	}

	_, err = db.Exec(insert, "00000000-0000-4000-8000-000000000002")
	if err == nil {
		t.Fatal("got nil, want a second warning of the same type and entity refused")
	}
}

// TestUpdate8AddsDefaultProject checks that update 8 creates the default project with the features LXD 5.0.2
// shows for it, and that project names are unique.
func TestUpdate8AddsDefaultProject(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	err := inTx(t, db, func(tx *sql.Tx) error {
		_, err := Apply(ctx, tx, 8)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var desc string
	var n int
	err = db.QueryRow(`SELECT projects.description, count(projects_config.key) FROM projects
JOIN projects_config ON projects_config.project_id = projects.id
WHERE projects.name = 'default' AND projects_config.key LIKE 'features.%' AND projects_config.value = 'true'`).Scan(&desc, &n)
	if err != nil || desc != "Default LXD project" || n != 4 {
		t.Fatalf("got %q with %d features (%v), want the default project with 4 features", desc, n, err)
	}

	_, err = db.Exec("INSERT INTO projects (name) VALUES ('default')")
	if err == nil {
		t.Fatal("got nil, want a second project named default refused")
	}
}
