package rest

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// TestRestrictedAccessPaths checks that every path of restrictedAccess is an endpoint that belongs to no project.
func TestRestrictedAccessPaths(t *testing.T) {
	unscoped := map[string]bool{"/": true}
	for _, ep := range api10 {
		if projectScopes[ep.Path] == ProjectUnscoped {
			unscoped[strings.TrimSuffix("/1.0/"+ep.Path, "/")] = true
		}
	}

	for _, ep := range streamsEndpoints {
		unscoped[ep.Path] = true
	}

	for path := range restrictedAccess {
		if !unscoped[path] {
			t.Errorf("restrictedAccess lists %q, which is not an endpoint of no project", path)
		}
	}
}

// TestRestrictedEndpointWalk walks the endpoint table: for every endpoint and method, a stranger, a client restricted
// to another project and a client restricted to the default project get what they should. Nothing exists that the
// requests could change: what matters is whether the router lets each caller through to the handler.
func TestRestrictedEndpointWalk(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", api.ProjectsPost{Name: "p1"})
	other := newClientCert(t)
	right := newClientCert(t)
	for cert, projects := range map[*struct{ raw []byte }][]string{{other.Raw}: {"p1"}, {right.Raw}: {"default"}} {
		e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{
			"type": "client", "certificate": base64.StdEncoding.EncodeToString(cert.raw),
			"restricted": true, "projects": projects,
		})
	}

	vars := regexp.MustCompile(`\{[^}]+\}`)
	for _, ep := range api10 {
		path := strings.TrimSuffix("/1.0/"+ep.Path, "/")
		url := vars.ReplaceAllString(path, "nothing") + "?project=default"
		scope := projectScopes[ep.Path]
		for method, action := range map[string]Action{http.MethodGet: ep.Get, http.MethodPut: ep.Put,
			http.MethodPost: ep.Post, http.MethodDelete: ep.Delete, http.MethodPatch: ep.Patch} {
			if action.Handler == nil {
				continue
			}

			listed := restrictedAccess[path][method] != nil
			what := method + " " + url

			if !action.AllowUntrusted {
				code := walkStatus(e, method, url, withHeader("X-Test-Untrusted", "1"))
				if code != http.StatusForbidden {
					t.Errorf("%s by a stranger: got %d, want 403", what, code)
				}
			}

			code := walkStatus(e, method, url, asClient(other))
			if (scope != ProjectUnscoped || !listed) && code != http.StatusForbidden {
				t.Errorf("%s by a client restricted to another project: got %d, want 403", what, code)
			}

			code = walkStatus(e, method, url, asClient(right))
			if scope == ProjectUnscoped && !listed && code != http.StatusForbidden {
				t.Errorf("%s by a client restricted to the default project: got %d, want 403", what, code)
			}

			if (scope != ProjectUnscoped || listed) && code == http.StatusForbidden {
				t.Errorf("%s by a client restricted to the default project: refused with 403", what)
			}
		}
	}
}

// walkStatus serves one request without a body and returns its status, whatever the body (a websocket endpoint
// asked without an upgrade answers in plain text).
func walkStatus(e *apiEnv, method string, url string, opt reqOption) int {
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, opt(httptest.NewRequest(method, url, nil)))
	return rec.Code
}

// TestRestrictedViews checks what a restricted client sees of the server and of projects and operations.
func TestRestrictedViews(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", api.ProjectsPost{Name: "p1"})
	e.setConfig(t, map[string]any{"images.auto_update_interval": "7"})
	client := newClientCert(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{
		"type": "client", "certificate": base64.StdEncoding.EncodeToString(client.Raw),
		"restricted": true, "projects": []string{"p1"},
	})

	// The server's configuration is hidden; the projects list holds its own project only.
	var srv api.Server
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0", nil, asClient(client)).metadata(t, &srv)
	if len(srv.Config) != 0 || srv.Auth != "trusted" {
		t.Fatalf("GET /1.0 by a restricted client: auth %q, config %v", srv.Auth, srv.Config)
	}

	var projects []string
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects", nil, asClient(client)).metadata(t, &projects)
	if strings.Join(projects, ",") != "/1.0/projects/p1" {
		t.Fatalf("projects of a restricted client: %v", projects)
	}

	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects/p1", nil, asClient(client))
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/projects/default", nil, asClient(client))
	e.expect(t, http.StatusForbidden, http.MethodPut, "/1.0/projects/p1", api.ProjectPut{}, asClient(client))
	e.expect(t, http.StatusForbidden, http.MethodPost, "/1.0/certificates", map[string]any{
		"type": "client", "certificate": base64.StdEncoding.EncodeToString(newClientCert(t).Raw),
	}, asClient(client))
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/instances", nil, asClient(client))
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/instances?project=p1", nil, asClient(client))
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/instances?all-projects=true", nil, asClient(client))
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/operations", nil, asClient(client))
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/operations?project=p1", nil, asClient(client))

	// A storage pool is shown without the users of other projects.
	var pool api.StoragePool
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools/default", nil).metadata(t, &pool)
	if len(pool.UsedBy) == 0 {
		t.Fatal("the default pool has no users to hide")
	}

	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools/default", nil, asClient(client)).metadata(t, &pool)
	if len(pool.UsedBy) != 0 {
		t.Fatalf("a client restricted to p1 sees the default pool used by %v", pool.UsedBy)
	}

	var pools []api.StoragePool
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools?recursion=1", nil, asClient(client)).metadata(t, &pools)
	if len(pools) != 1 || len(pools[0].UsedBy) != 0 {
		t.Fatalf("pools seen by a client restricted to p1: %+v", pools)
	}
}

// TestRestrictedJoinToken checks that a client joining with a restricted token is restricted to the token's
// projects, whatever it asks for itself.
func TestRestrictedJoinToken(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", api.ProjectsPost{Name: "p1"})
	res := e.expect(t, http.StatusAccepted, http.MethodPost, "/1.0/certificates", map[string]any{
		"name": "r1", "token": true, "restricted": true, "projects": []string{"p1"},
	})

	var op api.Operation
	res.metadata(t, &op)
	secret, _ := op.Metadata["secret"].(string)
	client := newClientCert(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/certificates", map[string]any{
		"password": secret, "restricted": false, "projects": []string{},
	}, asClient(client))

	var cert api.Certificate
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/certificates/"+tlsutil.FingerprintDER(client.Raw), nil).metadata(t, &cert)
	if !cert.Restricted || strings.Join(cert.Projects, ",") != "p1" || cert.Name != "r1" {
		t.Fatalf("certificate joined with a restricted token: %+v", cert)
	}

	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/instances", nil, asClient(client))
}
