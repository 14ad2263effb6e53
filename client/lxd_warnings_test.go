package client

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// newWarningsTestServer serves /1.0 with the given extensions and one warning, w1, whose status PUT changes and
// DELETE removes; it records the requests as "METHOD path?query".
func newWarningsTestServer(t *testing.T, extensions []string) (InstanceServer, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var requests []string
	status, deleted := "new", false
	reply := func(w http.ResponseWriter, code int, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		env := map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md}
		if code != http.StatusOK {
			env = map[string]any{"type": "error", "error_code": code, "error": md}
		}

		_ = json.NewEncoder(w).Encode(env)
	}

	warning := func() api.Warning {
		return api.Warning{WarningPut: api.WarningPut{Status: status}, UUID: "w1", Type: "Missing xz", Count: 2}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"api_extensions": extensions, "auth": "trusted"})
	})

	mux.HandleFunc("/1.0/warnings", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests = append(requests, r.Method+" "+r.URL.RequestURI())
		if r.URL.Query().Get("recursion") == "1" {
			reply(w, http.StatusOK, []api.Warning{warning()})
			return
		}

		reply(w, http.StatusOK, []string{"/1.0/warnings/w1"})
	})

	mux.HandleFunc("/1.0/warnings/{uuid}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests = append(requests, r.Method+" "+r.URL.RequestURI())
		if r.PathValue("uuid") != "w1" || deleted {
			reply(w, http.StatusNotFound, "warning not found")
			return
		}

		switch r.Method {
		case http.MethodGet:
			reply(w, http.StatusOK, warning())
		case http.MethodPut:
			var put api.WarningPut
			_ = json.NewDecoder(r.Body).Decode(&put)
			status = put.Status
			reply(w, http.StatusOK, nil)
		case http.MethodDelete:
			deleted = true
			reply(w, http.StatusOK, nil)
		}
	})

	socket := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewUnstartedServer(mux)
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)

	c, err := ConnectLXDUnix(socket, nil)
	if err != nil {
		t.Fatal(err)
	}

	return c, &requests
}

func TestWarnings(t *testing.T) {
	c, requests := newWarningsTestServer(t, []string{"warnings"})
	uuids, err := c.GetWarningUUIDs()
	if err != nil || len(uuids) != 1 || uuids[0] != "w1" {
		t.Fatalf("got %v (%v), want [w1]", uuids, err)
	}

	ws, err := c.GetWarnings()
	if err != nil || len(ws) != 1 || ws[0].UUID != "w1" || ws[0].Count != 2 {
		t.Fatalf("got %+v (%v), want w1", ws, err)
	}

	err = c.UpdateWarning("w1", api.WarningPut{Status: "acknowledged"}, "")
	if err != nil {
		t.Fatal(err)
	}

	w, _, err := c.GetWarning("w1")
	if err != nil || w.Status != "acknowledged" {
		t.Fatalf("got %+v (%v), want acknowledged", w, err)
	}

	err = c.DeleteWarning("w1")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetWarning("w1")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("got %v after delete, want a 404", err)
	}

	err = c.DeleteWarning("w1")
	if !api.StatusErrorCheck(err, http.StatusNotFound) {
		t.Fatalf("got %v deleting twice, want a 404", err)
	}

	want := []string{"GET /1.0/warnings", "GET /1.0/warnings?recursion=1", "PUT /1.0/warnings/w1", "GET /1.0/warnings/w1",
		"DELETE /1.0/warnings/w1", "GET /1.0/warnings/w1", "DELETE /1.0/warnings/w1"}
	if len(*requests) != len(want) {
		t.Fatalf("got requests %v, want %v", *requests, want)
	}

	for i := range want {
		if (*requests)[i] != want[i] {
			t.Fatalf("got requests %v, want %v", *requests, want)
		}
	}

	p, preq := newWarningsTestServer(t, []string{"warnings"})
	_, err = p.UseProject("p1").GetWarnings()
	if err != nil {
		t.Fatal(err)
	}

	if len(*preq) != 1 || (*preq)[0] != "GET /1.0/warnings?recursion=1&project=p1" {
		t.Fatalf("got requests %v, want the project named", *preq)
	}
}

func TestWarningsNeedExtension(t *testing.T) {
	c, requests := newWarningsTestServer(t, []string{"etag"})
	calls := map[string]func() error{
		"GetWarningUUIDs": func() error { _, err := c.GetWarningUUIDs(); return err },
		"GetWarnings":     func() error { _, err := c.GetWarnings(); return err },
		"GetWarning":      func() error { _, _, err := c.GetWarning("w1"); return err },
		"UpdateWarning":   func() error { return c.UpdateWarning("w1", api.WarningPut{Status: "new"}, "") },
		"DeleteWarning":   func() error { return c.DeleteWarning("w1") },
	}

	for name, call := range calls {
		err := call()
		if err == nil || err.Error() != `the server is missing the required "warnings" API extension` {
			t.Fatalf("%s: got %v, want the missing extension error", name, err)
		}
	}

	if len(*requests) != 0 {
		t.Fatalf("got requests %v, want none without the extension", *requests)
	}
}
