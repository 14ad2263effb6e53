package rest

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"testing"

	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/shared/api"
)

// TestProjectsLifecycle drives the projects endpoints: create, list, show, update with ETags, rename and delete,
// and the refusals LXD answers.
func TestProjectsLifecycle(t *testing.T) {
	e := newAPIEnv(t)
	var urls []string
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects", nil).metadata(t, &urls)
	if !slices.Equal(urls, []string{"/1.0/projects/default"}) {
		t.Fatalf("got %v, want the default project alone", urls)
	}

	res := e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", map[string]any{"name": "p1", "description": "first"})
	if res.Header.Get("Location") != "/1.0/projects/p1" {
		t.Fatalf("got Location %q", res.Header.Get("Location"))
	}

	e.expect(t, http.StatusConflict, http.MethodPost, "/1.0/projects", map[string]any{"name": "p1"})
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/projects", map[string]any{"name": "a/b"})
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/projects", map[string]any{"name": "p2", "config": map[string]string{"bogus": "1"}})

	var list []api.Project
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects?recursion=1", nil).metadata(t, &list)
	if len(list) != 2 || list[1].Name != "p1" || list[1].Config["features.profiles"] != "true" || list[1].UsedBy == nil {
		t.Fatalf("got %+v, want default and p1 with the default features", list)
	}

	res = e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects/p1", nil)
	etag := res.Header.Get("ETag")
	put := map[string]any{"description": "changed", "config": map[string]string{"limits.containers": "2"}}
	e.expect(t, http.StatusPreconditionFailed, http.MethodPut, "/1.0/projects/p1", put, withHeader("If-Match", "nope"))
	e.expect(t, http.StatusOK, http.MethodPut, "/1.0/projects/p1", put, withHeader("If-Match", etag))
	e.expect(t, http.StatusOK, http.MethodPatch, "/1.0/projects/p1", map[string]any{"config": map[string]string{"user.a": "b"}})
	var p api.Project
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects/p1", nil).metadata(t, &p)
	if p.Description != "changed" || p.Config["limits.containers"] != "2" || p.Config["user.a"] != "b" || p.Config["features.images"] != "" {
		t.Fatalf("got %+v, want PUT to replace and PATCH to merge", p)
	}

	var st api.ProjectState
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/projects/p1/state", nil).metadata(t, &st)
	if st.Resources["containers"] != (api.ProjectStateResource{Limit: 2, Usage: 0}) || st.Resources["memory"].Limit != -1 {
		t.Fatalf("got %+v", st.Resources)
	}

	e.expect(t, http.StatusForbidden, http.MethodPost, "/1.0/projects/default", map[string]string{"name": "x"})
	e.expect(t, http.StatusForbidden, http.MethodDelete, "/1.0/projects/default", nil)
	e.expect(t, http.StatusBadRequest, http.MethodPatch, "/1.0/projects/default", map[string]any{"config": map[string]string{"features.images": "false"}})

	res = e.expect(t, http.StatusAccepted, http.MethodPost, "/1.0/projects/p1", map[string]string{"name": "p2"})
	var op api.Operation
	e.expect(t, http.StatusOK, http.MethodGet, res.Env.Operation+"/wait", nil).metadata(t, &op)
	if op.Status != "Success" {
		t.Fatalf("rename: got %+v", op)
	}

	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/projects/p1", nil)
	e.expect(t, http.StatusOK, http.MethodDelete, "/1.0/projects/p2", nil)
	e.expect(t, http.StatusNotFound, http.MethodDelete, "/1.0/projects/p2", nil)
}

// TestProjectObjects checks what the endpoints of objects answer in a project that exists besides default: its own
// instances and profiles (features.profiles), its own images (features.images, none of default's), default's images
// without the feature, and 404 for a project that does not exist.
func TestProjectObjects(t *testing.T) {
	e := newAPIEnv(t)
	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", map[string]any{"name": "p1"})
	res := e.expect(t, http.StatusOK, http.MethodGet, "/1.0/instances?project=p1&recursion=1", nil)
	if string(res.Env.Metadata) != "[]" {
		t.Fatalf("got %s, want an empty list", res.Env.Metadata)
	}

	res = e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles?project=p1", nil)
	if string(res.Env.Metadata) != `["/1.0/profiles/default?project=p1"]` {
		t.Fatalf("got %s, want the project's own default profile", res.Env.Metadata)
	}

	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/profiles?project=p1", map[string]string{"name": "x"})
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/profiles/x", nil)
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles/x?project=p1", nil)
	res = e.expect(t, http.StatusOK, http.MethodGet, "/1.0/images?project=p1", nil)
	if string(res.Env.Metadata) != "[]" {
		t.Fatalf("got %s, want no image in a project of its own images", res.Env.Metadata)
	}

	e.expect(t, http.StatusNotFound, http.MethodPost, "/1.0/instances?project=p1",
		map[string]any{"name": "c1", "source": map[string]string{"type": "image", "alias": "x"}})
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/profiles?project=p9", nil)
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/instances/p1_c1", nil)

	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", map[string]any{"name": "p2",
		"config": map[string]string{"features.images": "false", "features.profiles": "false"}})
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/images?project=p2", nil)
	res = e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles?project=p2", nil)
	if string(res.Env.Metadata) != `["/1.0/profiles/default"]` {
		t.Fatalf("got %s, want default's profiles", res.Env.Metadata)
	}
}

// TestProjectsLifecycleEvents checks the lifecycle events of project changes: sent in the project, with the
// requestor, and the old name of a rename.
func TestProjectsLifecycleEvents(t *testing.T) {
	e := newAPIEnv(t)
	l, err := e.State.Events.Subscribe(events.ListenerArgs{Types: []string{api.EventTypeLifecycle}})
	if err != nil {
		t.Fatal(err)
	}

	defer l.Close()
	next := func(action string, source string) api.EventLifecycle {
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

		if lc.Action != action || lc.Source != source || lc.Requestor == nil || ev.Project != path.Base(source) {
			t.Fatalf("got %+v in project %q, want %s of %s with its requestor", lc, ev.Project, action, source)
		}

		return lc
	}

	e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/projects", map[string]any{"name": "p1"})
	next("project-created", "/1.0/projects/p1")
	e.expect(t, http.StatusOK, http.MethodPatch, "/1.0/projects/p1", map[string]any{"description": "d"})
	next("project-updated", "/1.0/projects/p1")
	res := e.expect(t, http.StatusAccepted, http.MethodPost, "/1.0/projects/p1", map[string]string{"name": "p2"})
	e.expect(t, http.StatusOK, http.MethodGet, res.Env.Operation+"/wait", nil)
	lc := next("project-renamed", "/1.0/projects/p2")
	if lc.Context["old_name"] != "p1" {
		t.Fatalf("got context %v, want old_name p1", lc.Context)
	}

	e.expect(t, http.StatusOK, http.MethodDelete, "/1.0/projects/p2", nil)
	next("project-deleted", "/1.0/projects/p2")
}
