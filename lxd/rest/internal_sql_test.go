package rest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
)

// postSQL sends a query to POST /internal/sql as the local root caller and checks the status.
func postSQL(t *testing.T, e *apiEnv, code int, database string, query string) apiResult {
	t.Helper()
	return e.expect(t, code, http.MethodPost, "/internal/sql", map[string]string{"database": database, "query": query})
}

// sqlBatch decodes the answer of POST /internal/sql as "lxd sql" does.
func sqlBatch(t *testing.T, res apiResult) internalSQLBatch {
	t.Helper()
	var raw map[string]json.RawMessage
	res.metadata(t, &raw)
	_, ok := raw["Results"]
	if !ok {
		t.Fatalf("metadata %s has no Results field, as LXD's has", res.Env.Metadata)
	}

	var batch internalSQLBatch
	res.metadata(t, &batch)
	return batch
}

func TestInternalSQLQueries(t *testing.T) {
	e := newAPIEnv(t)
	e.setConfig(t, map[string]any{"images.auto_update_interval": "3"})

	// Both database names address the one database.
	for _, database := range []string{"local", "global"} {
		batch := sqlBatch(t, postSQL(t, e, http.StatusOK, database, "SELECT key, value FROM config WHERE key = 'images.auto_update_interval'"))
		want := []internalSQLResult{{Type: "select", Columns: []string{"key", "value"}, Rows: [][]any{{"images.auto_update_interval", "3"}}}}
		if !reflect.DeepEqual(batch.Results, want) {
			t.Fatalf("%s: got %#v, want %#v", database, batch.Results, want)
		}
	}

	// Several statements, with a semicolon inside a literal, in order; writes report their count.
	batch := sqlBatch(t, postSQL(t, e, http.StatusOK, "global",
		"INSERT INTO config (key, value) VALUES ('x.a', 'a;b'), ('x.b', '2'); UPDATE config SET value = 'c' WHERE key LIKE 'x.%'; SELECT count(*) AS n FROM config WHERE value = 'c'"))
	want := []internalSQLResult{
		{Type: "exec", RowsAffected: 2},
		{Type: "exec", RowsAffected: 2},
		{Type: "select", Columns: []string{"n"}, Rows: [][]any{{float64(2)}}},
	}

	if !reflect.DeepEqual(batch.Results, want) {
		t.Fatalf("got %#v, want %#v", batch.Results, want)
	}

	// The daemon's ".sync" of the cluster database has nothing to do here.
	batch = sqlBatch(t, postSQL(t, e, http.StatusOK, "global", ".sync"))
	if len(batch.Results) != 0 {
		t.Fatalf(".sync: got %#v, want no results", batch.Results)
	}
}

func TestInternalSQLErrors(t *testing.T) {
	e := newAPIEnv(t)
	postSQL(t, e, http.StatusOK, "global", "INSERT INTO config (key, value) VALUES ('x.a', 'before')")

	cases := []struct {
		name     string
		body     any
		code     int
		contains string
	}{
		{"syntax", map[string]string{"database": "global", "query": "SELEC * FROM config"}, http.StatusBadRequest, `near "SELEC": syntax error`},
		{"unknown table", map[string]string{"database": "global", "query": "SELECT * FROM nope"}, http.StatusBadRequest, "no such table: nope"},
		{"constraint", map[string]string{"database": "global", "query": "INSERT INTO config (key, value) VALUES ('x.a', 'dup')"}, http.StatusBadRequest, "UNIQUE constraint failed"},
		{"later statement", map[string]string{"database": "global", "query": "UPDATE config SET value = 'after'; SELECT nope FROM config"}, http.StatusBadRequest, "statement 2: no such column: nope"},
		{"transaction control", map[string]string{"database": "global", "query": "UPDATE config SET value = 'after'; COMMIT"}, http.StatusBadRequest, "COMMIT is not allowed"},
		{"no query", map[string]string{"database": "global", "query": "  "}, http.StatusBadRequest, "no query provided"},
		{"only comments", map[string]string{"database": "global", "query": "-- nothing"}, http.StatusBadRequest, "no SQL statement"},
		{"bad database", map[string]string{"database": "cluster", "query": "SELECT 1"}, http.StatusBadRequest, `invalid database "cluster"`},
		{"no body", nil, http.StatusBadRequest, "request body is empty"},
		{"not JSON", "SELECT 1", http.StatusBadRequest, "invalid JSON"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.expect(t, c.code, http.MethodPost, "/internal/sql", c.body)
			if !strings.Contains(res.Env.Error, c.contains) {
				t.Errorf("got error %q, want it to contain %q", res.Env.Error, c.contains)
			}
		})
	}

	// A refused batch changed nothing.
	batch := sqlBatch(t, postSQL(t, e, http.StatusOK, "global", "SELECT value FROM config WHERE key = 'x.a'"))
	if !reflect.DeepEqual(batch.Results[0].Rows, [][]any{{"before"}}) {
		t.Fatalf("after refused batches: got %#v, want the value unchanged", batch.Results[0].Rows)
	}

	e.expect(t, http.StatusMethodNotAllowed, http.MethodPut, "/internal/sql", nil)
}

func TestInternalSQLDump(t *testing.T) {
	e := newAPIEnv(t)
	postSQL(t, e, http.StatusOK, "global", "INSERT INTO config (key, value) VALUES ('x.a', 'it''s')")

	var dump internalSQLDump
	e.expect(t, http.StatusOK, http.MethodGet, "/internal/sql?database=global", nil).metadata(t, &dump)
	if !strings.Contains(dump.Text, "CREATE TABLE config") || !strings.Contains(dump.Text, `INSERT INTO "config" VALUES('x.a','it''s');`) {
		t.Fatalf("dump:\n%s", dump.Text)
	}

	e.expect(t, http.StatusOK, http.MethodGet, "/internal/sql?database=local&schema=1", nil).metadata(t, &dump)
	if !strings.Contains(dump.Text, "CREATE TABLE config") || strings.Contains(dump.Text, "INSERT") {
		t.Fatalf("schema dump:\n%s", dump.Text)
	}

	e.expect(t, http.StatusBadRequest, http.MethodGet, "/internal/sql?database=other", nil)
}

func TestInternalSQLAccess(t *testing.T) {
	e := newAPIEnv(t)
	cert := newClientCert(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates",
		api.CertificatesPost{CertificatePut: api.CertificatePut{Name: "admin", Certificate: certPEM(cert)}})
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates", nil, asClient(cert))
	query := map[string]string{"database": "global", "query": "UPDATE config SET value = 'x'"}

	// Trusted or not, a TLS caller never reaches it.
	e.expect(t, http.StatusForbidden, http.MethodPost, "/internal/sql", query, asClient(cert))
	e.expect(t, http.StatusForbidden, http.MethodGet, "/internal/sql?database=global", nil, asClient(cert))
	e.expect(t, http.StatusForbidden, http.MethodPost, "/internal/sql", query, asClient(nil))

	// A local caller other than root (a member of the socket's group) is trusted for the API, not for raw SQL.
	for _, uid := range []string{"1000", ""} {
		srv := &Server{
			State: e.State,
			Authenticate: func(r *http.Request) *request.Requestor {
				return &request.Requestor{Trusted: true, Protocol: "unix", Username: uid, Address: "@"}
			},
			Ready: func() bool { return true },
		}

		h := srv.Handler()
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			body, _ := json.Marshal(query)
			req := httptest.NewRequest(method, "/internal/sql?database=global", strings.NewReader(string(body)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var env api.ResponseRaw
			err := json.Unmarshal(rec.Body.Bytes(), &env)
			if err != nil {
				t.Fatal(err)
			}

			if rec.Code != http.StatusForbidden || !strings.Contains(env.Error, "only root") {
				t.Errorf("uid %q %s: got %d %q, want 403 for non-root", uid, method, rec.Code, env.Error)
			}
		}
	}
}
