package db

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestSplitSQL(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"one", "SELECT 1", []string{"SELECT 1"}},
		{"trailing semicolon and blanks", "  SELECT 1 ;  \n", []string{"SELECT 1"}},
		{"two", "SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"semicolon in a string", "INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT 1", []string{"INSERT INTO t VALUES ('a;b', 'it''s;')", "SELECT 1"}},
		{"semicolon in identifiers", `SELECT "a;b", [c;d], ` + "`e;f`" + ` FROM t`, []string{`SELECT "a;b", [c;d], ` + "`e;f`" + ` FROM t`}},
		{"comments", "SELECT 1 -- a; b\n; /* c; d */ SELECT 2", []string{"SELECT 1 -- a; b", "/* c; d */ SELECT 2"}},
		{"comments only", "-- nothing;\n /* here */ ;;", nil},
		{"empty", "", nil},
		{
			"trigger body",
			"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; DELETE FROM v; END; SELECT 1",
			[]string{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; DELETE FROM v; END", "SELECT 1"},
		},
		{"temp trigger", "create temp trigger tr after insert on t begin select 1; end;", []string{"create temp trigger tr after insert on t begin select 1; end"}},
		{"unterminated string", "SELECT 'a;b", []string{"SELECT 'a;b"}},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, st := range splitSQL(c.query) {
				got = append(got, st.text)
			}

			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestIsTransactionControl(t *testing.T) {
	cases := map[string]bool{
		"BEGIN":                      true,
		"begin exclusive":            true,
		"COMMIT":                     true,
		"END TRANSACTION":            true,
		"ROLLBACK":                   true,
		"ROLLBACK TRANSACTION":       true,
		"ROLLBACK TO sp":             false,
		"ROLLBACK TRANSACTION TO sp": false,
		"SAVEPOINT sp":               false,
		"SELECT 1":                   false,
		"UPDATE t SET begin = 1":     false,
	}

	for q, want := range cases {
		st := splitSQL(q)
		got := isTransactionControl(st[0].words)
		if got != want {
			t.Errorf("%q: got %v, want %v", q, got, want)
		}
	}
}

// runSQL runs query and fails the test on error.
func runSQL(t *testing.T, d *DB, query string) []SQLResult {
	t.Helper()
	res, err := d.RunSQL(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}

	return res
}

func TestRunSQL(t *testing.T) {
	d := newTestDB(t)

	res := runSQL(t, d, "INSERT INTO config (key, value) VALUES ('a', '1'), ('b', '2')")
	if len(res) != 1 || res[0].ReturnsRows() || res[0].RowsAffected != 2 {
		t.Fatalf("insert: got %+v, want 2 rows affected", res)
	}

	res = runSQL(t, d, "SELECT key, value FROM config ORDER BY key; UPDATE config SET value = 'x' WHERE key = 'a'; CREATE TABLE scratch (n INTEGER); SELECT count(*) AS n FROM scratch")
	want := []SQLResult{
		{Columns: []string{"key", "value"}, Rows: [][]any{{"a", "1"}, {"b", "2"}}},
		{RowsAffected: 1},
		// A DDL statement changes no rows, although SQLite's changes() still holds the UPDATE's count.
		{RowsAffected: 0},
		{Columns: []string{"n"}, Rows: [][]any{{int64(0)}}},
	}

	if !reflect.DeepEqual(res, want) {
		t.Fatalf("got %#v, want %#v", res, want)
	}

	// An empty result still has its columns; NULL, floats and blobs come back as values.
	res = runSQL(t, d, "SELECT key FROM config WHERE key = 'none'; SELECT NULL AS n, 1.5 AS f, X'616263' AS b, X'FF00' AS raw")
	want = []SQLResult{
		{Columns: []string{"key"}, Rows: [][]any{}},
		{Columns: []string{"n", "f", "b", "raw"}, Rows: [][]any{{nil, 1.5, "abc", "X'FF00'"}}},
	}

	if !reflect.DeepEqual(res, want) {
		t.Fatalf("got %#v, want %#v", res, want)
	}

	// RETURNING makes a write return rows.
	res = runSQL(t, d, "UPDATE config SET value = 'y' WHERE key = 'b' RETURNING key, value")
	if !res[0].ReturnsRows() || !reflect.DeepEqual(res[0].Rows, [][]any{{"b", "y"}}) {
		t.Fatalf("returning: got %#v", res[0])
	}

	// Rows deleted by ON DELETE CASCADE are not counted, as LXD (sql.Result.RowsAffected) does not count them.
	runSQL(t, d, "INSERT INTO profiles (id, name) VALUES (10, 'p'); INSERT INTO profiles_config (profile_id, key, value) VALUES (10, 'k1', 'v'), (10, 'k2', 'v')")
	res = runSQL(t, d, "DELETE FROM profiles WHERE id = 10")
	if res[0].RowsAffected != 1 {
		t.Fatalf("delete with cascade: got %d rows affected, want 1", res[0].RowsAffected)
	}
}

func TestRunSQLErrors(t *testing.T) {
	d := newTestDB(t)
	runSQL(t, d, "INSERT INTO config (key, value) VALUES ('a', '1')")

	cases := []struct {
		name    string
		query   string
		class   error
		message string
	}{
		{"syntax", "SELEC 1", errs.ErrInvalid, `near "SELEC": syntax error`},
		{"unknown table", "SELECT * FROM nope", errs.ErrInvalid, "no such table: nope"},
		{"unique", "INSERT INTO config (key, value) VALUES ('a', '2')", errs.ErrInvalid, "UNIQUE constraint failed: config.key"},
		{"check", "INSERT INTO profiles (name) VALUES ('')", errs.ErrInvalid, "CHECK constraint failed"},
		{"foreign key", "INSERT INTO profiles_config (profile_id, key, value) VALUES (999, 'k', 'v')", errs.ErrInvalid, "FOREIGN KEY constraint failed"},
		{"parameters", "SELECT ?", errs.ErrInvalid, "not enough args"},
		{"second statement", "UPDATE config SET value = 'changed'; SELECT * FROM nope", errs.ErrInvalid, "statement 2: no such table: nope"},
		{"begin", "BEGIN; UPDATE config SET value = 'changed'", errs.ErrInvalid, "statement 1: BEGIN is not allowed"},
		{"commit", "UPDATE config SET value = 'changed'; COMMIT", errs.ErrInvalid, "statement 2: COMMIT is not allowed"},
		{"vacuum", "VACUUM", errs.ErrInvalid, "cannot VACUUM from within a transaction"},
		{"nothing", " ; -- none", errs.ErrInvalid, "no SQL statement"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := d.RunSQL(context.Background(), c.query)
			if err == nil {
				t.Fatalf("%s: no error", c.query)
			}

			if !errors.Is(err, c.class) || errors.Is(err, errs.ErrConflict) {
				t.Errorf("got error %v, want class %v only", err, c.class)
			}

			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("got error %q, want it to contain %q", err, c.message)
			}
		})
	}

	// Nothing of the failed batches took effect.
	res := runSQL(t, d, "SELECT value FROM config WHERE key = 'a'")
	if !reflect.DeepEqual(res[0].Rows, [][]any{{"1"}}) {
		t.Fatalf("after failed batches: got %#v, want the value unchanged", res[0].Rows)
	}
}

func TestDumpSQL(t *testing.T) {
	d := newTestDB(t)
	runSQL(t, d, `INSERT INTO config (key, value) VALUES ('quote''s', 'a;b'), ('n', '');
		INSERT INTO profiles (id, name, description) VALUES (3, 'p', 'line1
line2');
		INSERT INTO profiles_config (profile_id, key, value) VALUES (3, 'k', 'v')`)

	schemaOnly, err := d.DumpSQL(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(schemaOnly, "CREATE TABLE config") || !strings.Contains(schemaOnly, "CREATE INDEX") ||
		strings.Contains(schemaOnly, "INSERT") || strings.Contains(schemaOnly, "BEGIN") {
		t.Fatalf("schema dump:\n%s", schemaOnly)
	}

	dump, err := d.DumpSQL(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}

	if !strings.HasPrefix(dump, "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n") || !strings.HasSuffix(dump, "COMMIT;\n") {
		t.Fatalf("dump is not one transaction:\n%s", dump)
	}

	// The dump rebuilds the same data in an empty database.
	other, err := sql.Open(driverName, ":memory:")
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = other.Close() }()
	_, err = other.Exec(dump)
	if err != nil {
		t.Fatalf("loading the dump: %v\n%s", err, dump)
	}

	for _, q := range []string{
		"SELECT key || '=' || value FROM config ORDER BY key",
		"SELECT name || ':' || description FROM profiles",
		"SELECT key FROM profiles_config WHERE profile_id = 3",
		"SELECT name FROM sqlite_sequence ORDER BY name",
	} {
		want := runSQL(t, d, q)[0].Rows
		var got [][]any
		rows, err := other.Query(q)
		if err != nil {
			t.Fatal(err)
		}

		for rows.Next() {
			var s string
			err = rows.Scan(&s)
			if err != nil {
				t.Fatal(err)
			}

			got = append(got, []any{s})
		}

		_ = rows.Close()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q from the dump, want %q", q, got, want)
		}
	}
}
