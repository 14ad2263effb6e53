package rest

// The ?project= of every endpoint: only default exists, so a request naming another project gets what LXD 5.0.2
// answers for a project that does not exist, and never the default project's objects.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// TestProjectScopesDeclared checks that every endpoint of api10 declares its project scope and that the
// declarations name only endpoints of api10.
func TestProjectScopesDeclared(t *testing.T) {
	paths := map[string]bool{}
	for _, ep := range api10 {
		paths[ep.Path] = true
		_, ok := projectScopes[ep.Path]
		if !ok {
			t.Errorf("endpoint %q has no entry in projectScopes (lxd/rest/api.go)", ep.Path)
		}
	}

	for path := range projectScopes {
		if !paths[path] {
			t.Errorf("projectScopes declares %q, which is not an endpoint of api10", path)
		}
	}
}

// TestProjectScopesAsLXD pins the scope of the endpoints whose behaviour with another project the stock daemon
// shows: its objects are refused, its collections of instances are empty, the rest ignores the project.
func TestProjectScopesAsLXD(t *testing.T) {
	want := map[string]ProjectScope{
		"": ProjectUnscoped, "certificates": ProjectUnscoped, "operations": ProjectUnscoped,
		"operations/{id}": ProjectUnscoped, "events": ProjectScoped, "images": ProjectScoped,
		"images/aliases": ProjectScoped, "images/{fingerprint}": ProjectScoped, "profiles": ProjectScoped,
		"profiles/{name}": ProjectScoped, "instances": ProjectListed, "containers": ProjectListed,
		"instances/{name}": ProjectScoped, "instances/{name}/snapshots": ProjectScoped,
	}

	for path, scope := range want {
		if projectScopes[path] != scope {
			t.Errorf("%q: got scope %v, want %v", path, projectScopes[path], scope)
		}
	}
}

// endpointMethods lists the methods an endpoint serves.
func endpointMethods(ep Endpoint) []string {
	var out []string
	for _, m := range []struct {
		name   string
		action Action
	}{{http.MethodGet, ep.Get}, {http.MethodPut, ep.Put}, {http.MethodPost, ep.Post},
		{http.MethodDelete, ep.Delete}, {http.MethodPatch, ep.Patch}, {http.MethodHead, ep.Head}} {
		if m.action.Handler != nil {
			out = append(out, m.name)
		}
	}

	return out
}

// fixturePath is the path of an endpoint with its variables set to the corpus fixtures.
func (c *corpusEnv) fixturePath(endpoint string) string {
	return "/1.0/" + pathVar.ReplaceAllStringFunc(endpoint, func(v string) string {
		return c.fixture(endpoint, pathVar.FindStringSubmatch(v)[1])
	})
}

// storedState is what the corpus fixtures hold, to compare before and after requests that must change nothing.
func (c *corpusEnv) storedState(t *testing.T) string {
	t.Helper()
	return c.e.snapshot(t, "/1.0/instances?recursion=1", "/1.0/instances/"+c.inst+"/snapshots?recursion=1",
		"/1.0/images?recursion=1", "/1.0/images/aliases?recursion=1", "/1.0/profiles?recursion=1",
		"/1.0/instances/"+c.inst+"/metadata")
}

// TestUnknownProjectEveryEndpoint sends every method of every endpoint, on the fixtures, with ?project=foo and a
// body that would change them: project-scoped endpoints answer 404 "project not found", the instance collections
// an empty list, unscoped ones what they answer anyway (never "project not found", never 500), and nothing stored
// changes.
func TestUnknownProjectEveryEndpoint(t *testing.T) {
	c := newCorpusEnv(t, "c1", nil)
	body := `{"name": "new", "description": "changed", "config": {"user.x": "1"}, "source": {"type": "none"},
		"target": "` + c.fp + `", "action": "start", "command": ["/bin/true"]}`
	before := c.storedState(t)
	for _, ep := range api10 {
		scope := projectScopes[ep.Path]
		for _, method := range endpointMethods(ep) {
			for _, query := range []string{"project=foo", "project=foo&recursion=1", "recursion=2&project=foo"} {
				path := c.fixturePath(ep.Path) + "?" + query
				code, msg, op, err := c.send(method, path, body, nil)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}

				if op != "" {
					c.wait(t, op)
				}

				switch {
				case scope == ProjectListed && method == http.MethodGet:
					res := c.e.expect(t, http.StatusOK, method, path, nil)
					if string(res.Env.Metadata) != "[]" {
						t.Errorf("%s %s: got %s, want an empty list", method, path, res.Env.Metadata)
					}

				case scope == ProjectUnscoped:
					// The projects endpoints name a project in their path, which does not exist here.
					named := strings.HasPrefix(ep.Path, "projects/")
					if code == http.StatusInternalServerError || msg == errProjectNotFound && !named {
						t.Errorf("%s %s (unscoped): got %d %q", method, path, code, msg)
					}

				default:
					if code != http.StatusNotFound || msg != errProjectNotFound {
						t.Errorf("%s %s: got %d %q, want 404 %q", method, path, code, msg, errProjectNotFound)
					}
				}
			}
		}
	}

	after := c.storedState(t)
	if after != before {
		t.Fatalf("requests in an unknown project changed the default project:\nbefore %s\nafter %s", before, after)
	}
}

// TestDefaultProjectEveryGet checks that ?project=default (and an empty ?project=) answers every GET as no
// project does.
func TestDefaultProjectEveryGet(t *testing.T) {
	c := newCorpusEnv(t, "c1", nil)
	for _, ep := range api10 {
		if ep.Get.Handler == nil || strings.HasSuffix(ep.Path, "websocket") || ep.Path == "events" {
			continue
		}

		path := c.fixturePath(ep.Path)
		plainCode, plainMsg, _, err := c.send(http.MethodGet, path+"?recursion=1", "", nil)
		if err != nil {
			t.Fatal(err)
		}

		for _, query := range []string{"?project=default&recursion=1", "?project=&recursion=1"} {
			code, msg, _, err := c.send(http.MethodGet, path+query, "", nil)
			if err != nil {
				t.Fatal(err)
			}

			if code != plainCode || msg != plainMsg {
				t.Errorf("GET %s%s: got %d %q, want %d %q as without a project", path, query, code, msg, plainCode, plainMsg)
			}
		}
	}

	// The objects themselves are the same.
	for _, path := range []string{"/1.0/instances", "/1.0/images", "/1.0/images/aliases", "/1.0/profiles",
		"/1.0/instances/c1", "/1.0/profiles/p1", "/1.0/images/" + c.fp, "/1.0/instances/c1/snapshots"} {
		plain := c.e.expect(t, http.StatusOK, http.MethodGet, path+"?recursion=1", nil)
		dflt := c.e.expect(t, http.StatusOK, http.MethodGet, path+"?recursion=1&project=default", nil)
		if string(plain.Env.Metadata) != string(dflt.Env.Metadata) {
			t.Errorf("GET %s: got %s with project=default, want %s", path, dflt.Env.Metadata, plain.Env.Metadata)
		}
	}
}

// TestProjectChanges makes changes with ?project=foo, refused with nothing stored, and the same changes with
// ?project=default, which apply.
func TestProjectChanges(t *testing.T) {
	c := newCorpusEnv(t, "c1", nil)
	changes := []struct {
		method string
		path   string
		body   string
		check  string
	}{
		{http.MethodPost, "/1.0/profiles", `{"name": "p2"}`, "/1.0/profiles/p2"},
		{http.MethodPost, "/1.0/instances", `{"name": "c2", "source": {"type": "none"}}`, "/1.0/instances/c2"},
		{http.MethodPost, "/1.0/containers", `{"name": "c3", "source": {"type": "none"}}`, "/1.0/instances/c3"},
		{http.MethodPost, "/1.0/instances/c1/snapshots", `{"name": "s2"}`, "/1.0/instances/c1/snapshots/s2"},
		{http.MethodPost, "/1.0/images/aliases", `{"name": "img2", "target": "` + c.fp + `"}`, "/1.0/images/aliases/img2"},
		{http.MethodPost, "/1.0/instances/c1", `{"name": "c4"}`, "/1.0/instances/c4"},
	}

	for _, ch := range changes {
		code, msg, _, err := c.send(ch.method, ch.path+"?project=foo", ch.body, nil)
		if err != nil || code != http.StatusNotFound || msg != errProjectNotFound {
			t.Fatalf("%s %s?project=foo: got %d %q, %v; want 404 %q", ch.method, ch.path, code, msg, err, errProjectNotFound)
		}

		c.e.expect(t, http.StatusNotFound, http.MethodGet, ch.check, nil)
		code, msg, op, err := c.send(ch.method, ch.path+"?project=default", ch.body, nil)
		if err != nil || code >= 300 && code != http.StatusAccepted {
			t.Fatalf("%s %s?project=default: got %d %q, %v", ch.method, ch.path, code, msg, err)
		}

		if op != "" {
			c.wait(t, op)
		}

		c.e.expect(t, http.StatusOK, http.MethodGet, ch.check, nil)
	}

	// Deletes: refused in foo, done in default.
	for _, path := range []string{"/1.0/profiles/p2", "/1.0/images/aliases/img2", "/1.0/instances/c2"} {
		c.e.expect(t, http.StatusNotFound, http.MethodDelete, path+"?project=foo", nil)
		c.e.expect(t, http.StatusOK, http.MethodGet, path, nil)
		code, msg, op, err := c.send(http.MethodDelete, path+"?project=default", "", nil)
		if err != nil || code >= 300 && code != http.StatusAccepted {
			t.Fatalf("DELETE %s?project=default: got %d %q, %v", path, code, msg, err)
		}

		if op != "" {
			c.wait(t, op)
		}

		c.e.expect(t, http.StatusNotFound, http.MethodGet, path, nil)
	}
}

// TestAllProjects checks ?all-projects=true on the collections: it lists every project (default), the instance
// collections refuse a project besides it, and the other collections still check the project.
func TestAllProjects(t *testing.T) {
	c := newCorpusEnv(t, "c1", nil)
	for _, path := range []string{"/1.0/instances", "/1.0/containers", "/1.0/images", "/1.0/profiles"} {
		plain := c.e.expect(t, http.StatusOK, http.MethodGet, path+"?recursion=1", nil)
		for _, all := range []string{"true", "1", "TRUE"} {
			res := c.e.expect(t, http.StatusOK, http.MethodGet, path+"?recursion=1&all-projects="+all, nil)
			if string(res.Env.Metadata) != string(plain.Env.Metadata) || string(res.Env.Metadata) == "[]" {
				t.Errorf("GET %s?all-projects=%s: got %s, want %s", path, all, res.Env.Metadata, plain.Env.Metadata)
			}
		}
	}

	for _, path := range []string{"/1.0/instances", "/1.0/containers"} {
		for _, project := range []string{"foo", "default"} {
			res := c.e.expect(t, http.StatusBadRequest, http.MethodGet, path+"?all-projects=true&project="+project, nil)
			if res.Env.Error != "cannot specify a project when requesting all projects" {
				t.Errorf("GET %s with a project and all-projects: got %q", path, res.Env.Error)
			}
		}
	}

	c.e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/images?all-projects=true&project=foo", nil)
	c.e.expect(t, http.StatusOK, http.MethodGet, "/1.0/images?all-projects=true&project=default", nil)
	c.e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles?all-projects=true&project=default", nil)
	// all-projects=false is no list of every project.
	res := c.e.expect(t, http.StatusOK, http.MethodGet, "/1.0/instances?all-projects=false&project=foo", nil)
	if string(res.Env.Metadata) != "[]" {
		t.Errorf("got %s, want an empty list", res.Env.Metadata)
	}
}

// TestProjectServerAndCallers checks GET /1.0, which names the project asked for as LXD does, and that the
// access policy comes before the project: an untrusted caller is refused a trusted endpoint whatever the project,
// and is told that the project does not exist on an endpoint open to it.
func TestProjectServerAndCallers(t *testing.T) {
	e := newAPIEnv(t)
	for project, want := range map[string]string{"": "default", "default": "default", "foo": "foo"} {
		var srv api.Server
		e.expect(t, http.StatusOK, http.MethodGet, "/1.0?project="+project, nil).metadata(t, &srv)
		if srv.Environment.Project != want {
			t.Errorf("GET /1.0?project=%s: got project %q, want %q", project, srv.Environment.Project, want)
		}
	}

	untrusted := withHeader("X-Test-Untrusted", "1")
	e.expect(t, http.StatusForbidden, http.MethodGet, "/1.0/instances?project=foo", nil, untrusted)
	res := e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/images?project=foo", nil, untrusted)
	if res.Env.Error != errProjectNotFound {
		t.Errorf("got %q, want %q", res.Env.Error, errProjectNotFound)
	}

	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/images?project=default", nil, untrusted)
	// The project is read from the URL alone: a form body naming another one (which net/http's FormValue would
	// prefer) does not count.
	e.expect(t, http.StatusNotFound, http.MethodPost, "/1.0/profiles?project=foo", "project=default",
		withHeader("Content-Type", "application/x-www-form-urlencoded"))
	var list []string
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/profiles", nil).metadata(t, &list)
	if len(list) != 1 {
		t.Fatalf("got profiles %v, want default alone", list)
	}
}
