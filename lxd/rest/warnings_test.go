package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/api"
)

// recordWarnings records a server-wide warning and one about an instance in project p1, and returns their UUIDs.
func recordWarnings(t *testing.T, e *apiEnv) (string, string) {
	t.Helper()
	ctx := context.Background()
	err := e.State.Warnings.Record(ctx, warnings.TypeAppArmorNotAvailable, warnings.Server, "no apparmor")
	if err != nil {
		t.Fatal(err)
	}

	err = e.State.Warnings.Record(ctx, warnings.TypeMissingProgram("xz"), warnings.Entity{Project: "p1", URL: "/1.0/instances/c1?project=p1"}, "no xz")
	if err != nil {
		t.Fatal(err)
	}

	ws, err := e.State.Warnings.List(ctx, warnings.Filter{})
	if err != nil || len(ws) != 2 {
		t.Fatalf("got %v (%v), want 2 warnings", ws, err)
	}

	return ws[0].UUID, ws[1].UUID
}

// nextLifecycle returns the next lifecycle event of l.
func nextLifecycle(t *testing.T, l *events.Listener) api.EventLifecycle {
	t.Helper()
	frame := <-l.Frames()
	var ev api.Event
	err := json.Unmarshal(frame, &ev)
	if err != nil {
		t.Fatal(err)
	}

	var lc api.EventLifecycle
	err = json.Unmarshal(ev.Metadata, &lc)
	if err != nil {
		t.Fatal(err)
	}

	return lc
}

func TestWarningsList(t *testing.T) {
	e := newAPIEnv(t)
	var empty []string
	e.expect(t, http.StatusOK, "GET", "/1.0/warnings", nil).metadata(t, &empty)
	if empty == nil || len(empty) != 0 {
		t.Fatalf("got %v, want []", empty)
	}

	server, xz := recordWarnings(t, e)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{server, xz}},
		{"?all-projects=true", []string{server, xz}},
		{"?project=p1", []string{xz}},
		{"?project=p1&all-projects=true", []string{server, xz}},
		{"?project=default", []string{}},
		{"?filter=type+eq+'Missing+xz'", []string{xz}},
		{"?filter=status+eq+new+and+severity+eq+low", []string{server, xz}},
	}

	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var urls []string
			e.expect(t, http.StatusOK, "GET", "/1.0/warnings"+tt.query, nil).metadata(t, &urls)
			if len(urls) != len(tt.want) {
				t.Fatalf("got %v, want %v", urls, tt.want)
			}

			for i := range urls {
				if urls[i] != "/1.0/warnings/"+tt.want[i] {
					t.Fatalf("got %v, want %v", urls, tt.want)
				}
			}
		})
	}

	var full []api.Warning
	e.expect(t, http.StatusOK, "GET", "/1.0/warnings?recursion=1&project=p1", nil).metadata(t, &full)
	if len(full) != 1 || full[0].UUID != xz || full[0].Type != "Missing xz" || full[0].Project != "p1" ||
		full[0].EntityURL != "/1.0/instances/c1?project=p1" || full[0].Count != 1 || full[0].Status != "new" ||
		full[0].Severity != "low" || full[0].LastMessage != "no xz" || full[0].FirstSeenAt.IsZero() {
		t.Fatalf("got %+v, want the xz warning in full", full)
	}

	e.expect(t, http.StatusBadRequest, "GET", "/1.0/warnings?filter=type+eq", nil)
}

func TestWarningGetPutDelete(t *testing.T) {
	e := newAPIEnv(t)
	server, _ := recordWarnings(t, e)
	l, err := e.State.Events.Subscribe(events.ListenerArgs{Types: []string{api.EventTypeLifecycle}})
	if err != nil {
		t.Fatal(err)
	}

	defer l.Close()
	path := "/1.0/warnings/" + server
	var w api.Warning
	res := e.expect(t, http.StatusOK, "GET", path, nil)
	res.metadata(t, &w)
	if w.UUID != server || w.Type != warnings.TypeAppArmorNotAvailable || w.Project != "" || w.EntityURL != "" {
		t.Fatalf("got %+v, want the server's AppArmor warning", w)
	}

	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("got no ETag")
	}

	e.expect(t, http.StatusOK, "PUT", path, api.WarningPut{Status: "acknowledged"}, withHeader("If-Match", etag))
	if ev := nextLifecycle(t, l); ev.Action != "warning-acknowledged" || ev.Source != path || ev.Requestor == nil {
		t.Fatalf("got %+v, want warning-acknowledged from %s", ev, path)
	}

	e.expect(t, http.StatusOK, "GET", path, nil).metadata(t, &w)
	if w.Status != "acknowledged" {
		t.Fatalf("got status %q, want acknowledged", w.Status)
	}

	// The old ETag no longer matches.
	e.expect(t, http.StatusPreconditionFailed, "PUT", path, api.WarningPut{Status: "new"}, withHeader("If-Match", etag))
	e.expect(t, http.StatusOK, "PATCH", path, map[string]string{"status": "new"})
	if ev := nextLifecycle(t, l); ev.Action != "warning-reset" {
		t.Fatalf("got %+v, want warning-reset", ev)
	}

	e.expect(t, http.StatusOK, "DELETE", path, nil)
	if ev := nextLifecycle(t, l); ev.Action != "warning-deleted" || ev.Source != path {
		t.Fatalf("got %+v, want warning-deleted from %s", ev, path)
	}

	e.expect(t, http.StatusNotFound, "GET", path, nil)
}

func TestWarningBadInput(t *testing.T) {
	e := newAPIEnv(t)
	server, _ := recordWarnings(t, e)
	path := "/1.0/warnings/" + server
	unknown := "/1.0/warnings/00000000-0000-4000-8000-000000000000"
	before := e.snapshot(t, "/1.0/warnings?recursion=1")

	tests := []struct {
		name   string
		code   int
		method string
		path   string
		body   any
		opts   []reqOption
	}{
		{"get unknown", http.StatusNotFound, "GET", unknown, nil, nil},
		{"put unknown", http.StatusNotFound, "PUT", unknown, api.WarningPut{Status: "acknowledged"}, nil},
		{"delete unknown", http.StatusNotFound, "DELETE", unknown, nil, nil},
		{"bad status", http.StatusBadRequest, "PUT", path, api.WarningPut{Status: "gone"}, nil},
		{"empty status", http.StatusBadRequest, "PATCH", path, map[string]string{}, nil},
		{"resolved by hand", http.StatusForbidden, "PUT", path, api.WarningPut{Status: "resolved"}, nil},
		{"not JSON", http.StatusBadRequest, "PUT", path, "status=new", nil},
		{"no body", http.StatusBadRequest, "PUT", path, nil, nil},
		{"bad method", http.StatusMethodNotAllowed, "POST", path, nil, nil},
		{"untrusted list", http.StatusForbidden, "GET", "/1.0/warnings", nil, []reqOption{withHeader("X-Test-Untrusted", "1")}},
		{"untrusted get", http.StatusForbidden, "GET", path, nil, []reqOption{asClient(newClientCert(t))}},
		{"untrusted delete", http.StatusForbidden, "DELETE", path, nil, []reqOption{withHeader("X-Test-Untrusted", "1")}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.expect(t, tt.code, tt.method, tt.path, tt.body, tt.opts...)
		})
	}

	after := e.snapshot(t, "/1.0/warnings?recursion=1")
	if after != before {
		t.Fatalf("refused requests changed the warnings:\nbefore %s\nafter  %s", before, after)
	}
}
