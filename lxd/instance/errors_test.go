package instance

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/shared/api"
)

// httpError renders err as the REST API does (response.SmartError) and returns the status and message a client
// sees.
func httpError(t *testing.T, err error) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	rerr := response.SmartError(err).Render(rec, httptest.NewRequest(http.MethodGet, "/1.0", nil))
	if rerr != nil {
		t.Fatal(rerr)
	}

	var raw api.ResponseRaw
	rerr = json.Unmarshal(rec.Body.Bytes(), &raw)
	if rerr != nil {
		t.Fatal(rerr)
	}

	return rec.Code, raw.Error
}

// httpStatus is the status of httpError.
func httpStatus(t *testing.T, err error) int {
	t.Helper()
	code, _ := httpError(t, err)
	return code
}

// TestErrorsAsClientsSeeThem checks the status and message of the manager's errors as the REST API renders them:
// the same as when they were StatusErrors.
func TestErrorsAsClientsSeeThem(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	_, getErr := m.Get(ctx, "nope")
	_, snapErr := m.Snapshot(ctx, "nope", "snap0")
	tests := []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"not running", ErrNotRunning, http.StatusBadRequest, "the instance is not running"},
		{"missing instance", getErr, http.StatusNotFound, `instance "nope" not found`},
		{"missing instance of a snapshot", snapErr, http.StatusNotFound, `instance "nope" not found`},
		{"template name", ValidTemplateName(""), http.StatusBadRequest, "the template name is missing"},
		{"no root disk", checkRootDisk(nil, nil), http.StatusBadRequest, "Failed getting root disk: No root device could be found"},
		{"other pool", checkRootDisk(map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "fast"}}, nil),
			http.StatusNotFound, `storage pool "fast" not found`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := httpError(t, tt.err)
			if code != tt.code || msg != tt.msg {
				t.Fatalf("got %d %q, want %d %q", code, msg, tt.code, tt.msg)
			}
		})
	}
}
