package rest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
)

// The wire types of /internal/sql are LXD's (lxd/api_internal.go), so that "lxd sql" of either works with the other's
// daemon. LXD's batch has no JSON tag: its field is "Results".

// internalSQLQuery is the body of POST /internal/sql.
type internalSQLQuery struct {
	// Database is "local" (this server's own database) or "global" (the cluster's; the same one on a server that
	// is not clustered).
	Database string `json:"database"`

	// Query is one or more statements separated by semicolons.
	Query string `json:"query"`
}

// internalSQLBatch is the answer to POST /internal/sql: one result per statement, in order.
type internalSQLBatch struct {
	Results []internalSQLResult `json:"Results"`
}

// internalSQLResult is the outcome of one statement: "select" with columns and rows, or "exec" with a count.
type internalSQLResult struct {
	Type         string   `json:"type"`
	Columns      []string `json:"columns"`
	Rows         [][]any  `json:"rows"`
	RowsAffected int64    `json:"rows_affected"`
}

// internalSQLDump is the answer to GET /internal/sql: the database (or its schema) as SQL text.
type internalSQLDump struct {
	Text string `json:"text"`
}

// internalSQLCmd runs an administrator's SQL on the database ("lxd sql"). It reads and writes anything, so only root
// on the unix socket may use it.
var internalSQLCmd = Endpoint{
	Path: "sql",
	Get:  Action{Access: allowLocalRoot, Handler: internalSQLGet},
	Post: Action{Access: allowLocalRoot, Handler: internalSQLPost},
}

// allowLocalRoot lets in callers on the unix socket whose uid is 0. Group members of the socket ("lxd --group") are
// trusted for the API but not for raw database access.
func allowLocalRoot(s *state.State, r *http.Request) response.Response {
	req := request.GetRequestor(r)
	if req.Protocol != "unix" {
		return response.Forbidden(nil)
	}

	if req.Username != "0" {
		return response.Forbidden(errors.New("only root may run SQL on the daemon's database"))
	}

	return nil
}

// sqlDatabase is the database a request names: "local" is this server's own database, "global" the cluster's. They
// are one database on a server that is not clustered.
func sqlDatabase(s *state.State, name string) *db.DB {
	if name == "local" {
		return s.DB.Local()
	}

	return s.DB
}

// checkSQLDatabase validates the database name of a request.
func checkSQLDatabase(name string) response.Response {
	if name != "local" && name != "global" {
		return response.ErrorResponse(http.StatusBadRequest, fmt.Sprintf("invalid database %q: want local or global", name))
	}

	return nil
}

// internalSQLGet dumps the database as SQL text (?database=local|global), only its schema with ?schema=1.
func internalSQLGet(s *state.State, r *http.Request) response.Response {
	bad := checkSQLDatabase(r.FormValue("database"))
	if bad != nil {
		return bad
	}

	text, err := sqlDatabase(s, r.FormValue("database")).DumpSQL(r.Context(), r.FormValue("schema") == "1")
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponse(internalSQLDump{Text: text})
}

// internalSQLPost runs the statements of the query in one transaction and returns what each produced. A statement
// SQLite refuses is a 400 with SQLite's message, and then nothing is changed.
func internalSQLPost(s *state.State, r *http.Request) response.Response {
	var req internalSQLQuery
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	bad := checkSQLDatabase(req.Database)
	if bad != nil {
		return bad
	}

	query := strings.TrimSpace(req.Query)
	if query == "" {
		return response.ErrorResponse(http.StatusBadRequest, "no query provided")
	}

	// LXD's request to flush the cluster database to disk; there is nothing to flush here.
	if query == ".sync" {
		return response.SyncResponse(internalSQLBatch{Results: []internalSQLResult{}})
	}

	results, err := sqlDatabase(s, req.Database).RunSQL(r.Context(), query)
	if err != nil {
		return response.SmartError(err)
	}

	batch := internalSQLBatch{Results: make([]internalSQLResult, 0, len(results))}
	for _, res := range results {
		if res.ReturnsRows() {
			batch.Results = append(batch.Results, internalSQLResult{Type: "select", Columns: res.Columns, Rows: res.Rows})
		} else {
			batch.Results = append(batch.Results, internalSQLResult{Type: "exec", RowsAffected: res.RowsAffected})
		}
	}

	// Raw writes bypass every check of the API: leave a trace of them.
	slog.Info("SQL run on the database through /internal/sql", "statements", len(results), "uid", request.GetRequestor(r).Username)
	return response.SyncResponse(batch)
}
