package rest

// A corpus of malformed requests sent to every method of every endpoint of api10, as the trusted local caller:
// none may be answered with a 500, which is kept for the daemon's own failures.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

// badPathValues replace a path variable: escaped slashes, dot segments, NUL, control characters, an empty and an
// overlong value, and what only looks like a number.
var badPathValues = []string{
	"a%2Fb", "%2F", "..", "%2E%2E", ".", "a%00b", "%00", "a%0Ab", "%20", "", "-1", "%25",
	strings.Repeat("a", 300), "c1%2F..%2F..%2Fetc",
}

// badQueries are added to the path of every method.
var badQueries = []string{
	"recursion=x", "recursion=-1", "recursion=99999999999999999999", "recursion=2",
	"timeout=-2", "timeout=x", "timeout=99999999999999999999", "timeout=1e999",
	"filter=((", "filter=name%20eq", "filter=%00", "path=", "path=%00", "path=..%2F..%2F..%2Fetc%2Fpasswd",
	"path=a%00b", "path=" + strings.Repeat("a", 5000), "project=%00", "project=..", "type=bogus", "type=%00",
	"secret=x", "public=x", "all-projects=x", "force=x", "wait=x", "fields=x", "target=..", "%zz", "a=%",
}

// badBodies are sent to every method that reads a body.
var badBodies = []string{
	"", "{", "}", "null", "[]", `"s"`, "123", "-1", "true", "{\x00}", "\xff\xfe",
	`{"bogus": 1}`, `{"name": 5}`, `{"name": "a/b"}`, `{"name": ".."}`, `{"name": "a\u0000b"}`, `{"name": ""}`,
	`{"name": "` + strings.Repeat("a", 1000) + `"}`, `{"name": "x", "name": 7}`,
	`{"config": "x"}`, `{"config": {"limits.cpu": "0-9999999"}}`, `{"config": {"limits.memory": "1B"}}`,
	`{"config": {"limits.processes": "0"}}`, `{"config": {"": ""}}`, `{"config": {"volatile.idmap.base": "-1"}}`,
	`{"config": {"raw.lxc": "lxc.rootfs.path = /"}}`, `{"config": {"raw.lxc": "\u0000"}}`,
	`{"devices": [1]}`, `{"devices": {"": {}}}`, `{"devices": {"d": null}}`, `{"devices": {"d": {"type": 5}}}`,
	`{"devices": {"d": {"type": "disk", "path": "/x", "source": "/nonexistent"}}}`,
	`{"devices": {"root": {"type": "disk", "path": "/", "pool": "nopool"}}}`,
	`{"profiles": {"a": 1}}`, `{"profiles": ["nosuchprofile"]}`, `{"profiles": [""]}`,
	`{"timeout": -2}`, `{"timeout": 99999999999999999999}`, `{"timeout": 1.5}`, `{"timeout": "x"}`,
	`{"action": "bogus"}`, `{"action": 5}`, `{"action": "stop", "timeout": -2}`,
	`{"source": {"type": "bogus"}}`, `{"source": {"type": "image", "alias": "a\u0000b"}}`,
	`{"source": {"type": "image", "fingerprint": "../../etc"}}`, `{"source": {"type": "copy", "source": "../x"}}`,
	`{"source": "x"}`, `{"target": 5}`, `{"target": ""}`, `{"description": 5}`, `{"properties": [1]}`,
	`{"public": "x"}`, `{"auto_update": 5}`, `{"expires_at": "x"}`, `{"expires_at": "-99999-01-01T00:00:00Z"}`,
	`{"aliases": [{"name": ""}]}`, `{"aliases": "x"}`, `{"type": "bogus"}`, `{"certificate": "x"}`,
	`{"certificate": "` + strings.Repeat("A", 4096) + `"}`, `{"trust_password": 5}`, `{"token": true}`,
	`{"command": []}`, `{"command": [""]}`, `{"command": ["/bin/sh"], "environment": {"A\u0000": "x"}}`,
	`{"command": ["/bin/sh"], "user": -1, "group": 4294967296}`, `{"command": ["/bin/sh"], "cwd": "../.."}`,
	`{"width": -1, "height": 99999999999}`, `{"stateful": "x"}`, `{"ephemeral": 5}`,
	`{"restore": ".."}`, `{"restore": "a/b"}`, `{"instance_only": "x"}`, `{"compression_algorithm": "../x"}`,
	`{"metadata": 5}`, `{"templates": [1]}`, `{"architecture": 5}`,
	strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
	`{"config": {"user.x": "` + strings.Repeat("x", 1<<20) + `"}}`,
}

// badFileHeaders are sent with file requests.
var badFileHeaders = []map[string]string{
	{"X-LXD-mode": "77777"}, {"X-LXD-mode": "-5"}, {"X-LXD-mode": "x"}, {"X-LXD-mode": "4755"},
	{"X-LXD-uid": "99999999999"}, {"X-LXD-uid": "-2"}, {"X-LXD-gid": "4294967296"}, {"X-LXD-uid": "x"},
	{"X-LXD-uid": "70000"}, {"X-LXD-type": "bogus"}, {"X-LXD-type": "symlink"}, {"X-LXD-type": "directory"},
	{"X-LXD-write": "x"}, {"X-LXD-write": "append"},
}

// collections are the endpoints whose POST creates an object listed by their GET.
var collections = []string{"instances", "containers", "instances/{name}/snapshots", "containers/{name}/snapshots",
	"profiles", "images", "images/aliases", "certificates"}

// pathVar matches the variables of an endpoint path, with their optional pattern.
var pathVar = regexp.MustCompile(`\{(\w+)(:[^}]*)?\}`)

// corpusEnv is the API serving the corpus, with its fixtures.
type corpusEnv struct {
	e      *apiEnv
	server *httptest.Server
	client *http.Client
	fp     string
	opID   string

	// inst is the fixture instance.
	inst string
}

// fixture returns the value of an existing object for a path variable of an endpoint.
func (c *corpusEnv) fixture(endpoint string, name string) string {
	switch {
	case name == "id":
		return c.opID
	case name == "file":
		return "lxc.log"
	case name == "snapshot":
		return "s1"
	case name == "fingerprint" && strings.HasPrefix(endpoint, "certificates"):
		return strings.Repeat("0", 64)
	case name == "fingerprint":
		return c.fp
	case strings.HasPrefix(endpoint, "profiles"):
		return "p1"
	case strings.HasPrefix(endpoint, "images/aliases"):
		return "img"
	}

	return c.inst
}

// send sends one request, answering its status, its error message and its operation; a dropped connection (a
// panic in a handler) is an error.
func (c *corpusEnv) send(method string, path string, body string, headers map[string]string) (int, string, string, error) {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}

	req, err := http.NewRequest(method, c.server.URL+"/", reader)
	if err != nil {
		return 0, "", "", err
	}

	// Sent as written, escapes and all.
	req.URL.Opaque = path
	req.URL.RawQuery = ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		req.URL.Opaque, req.URL.RawQuery = path[:i], path[i+1:]
	}

	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}

	for k, v := range headers {
		req.Header.Set(k, v)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}

	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", "", err
	}

	var env api.ResponseRaw
	_ = json.Unmarshal(data, &env)
	return resp.StatusCode, env.Error, env.Operation, nil
}

// wait waits for the operation op to end; one waiting for websockets (exec, console) is cancelled instead.
func (c *corpusEnv) wait(t *testing.T, op string) {
	t.Helper()
	res := c.e.expect(t, http.StatusOK, http.MethodGet, op, nil)
	var got api.Operation
	res.metadata(t, &got)
	method, path := http.MethodGet, op+"/wait?timeout=30"
	if got.Class != string(api.OperationClassTask) {
		method, path = http.MethodDelete, op
	}

	// An operation that ended meanwhile cannot be cancelled (400).
	code, msg, _, err := c.send(method, path, "", nil)
	if err != nil || code != http.StatusOK && (method == http.MethodGet || code != http.StatusBadRequest) {
		t.Fatalf("%s %s: got %d %q, %v", method, path, code, msg, err)
	}
}

// fixtures are the objects newCorpusEnv makes, kept by prune.
func (c *corpusEnv) fixtures() []string {
	return []string{"/1.0/instances/" + c.inst, "/1.0/instances/" + c.inst + "/snapshots/s1", "/1.0/profiles/default", "/1.0/profiles/p1",
		"/1.0/images/" + c.fp, "/1.0/images/aliases/img"}
}

// prune deletes what a request to the collection path made, all but the fixtures, so that the objects the
// corpus creates (a snapshot of the instance for every body that decodes) do not pile up.
func (c *corpusEnv) prune(t *testing.T, path string) {
	t.Helper()
	res := c.e.expect(t, http.StatusOK, http.MethodGet, path, nil)
	var urls []string
	res.metadata(t, &urls)
	for _, u := range urls {
		if slices.Contains(c.fixtures(), strings.Replace(u, "/1.0/containers/", "/1.0/instances/", 1)) {
			continue
		}

		code, msg, op, err := c.send(http.MethodDelete, u, "", nil)
		if err != nil || code >= 300 {
			t.Fatalf("deleting %s: got %d %q, %v", u, code, msg, err)
		}

		if op != "" {
			c.wait(t, op)
		}
	}
}

// mustSend sends a request that must succeed, waiting for its operation.
func (c *corpusEnv) mustSend(t *testing.T, method string, path string, body string) {
	t.Helper()
	var reader io.Reader = strings.NewReader(body)
	req := httptest.NewRequest(method, path, reader)
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/octet-stream")
	}

	rec := httptest.NewRecorder()
	c.e.Handler.ServeHTTP(rec, req)
	var env api.ResponseRaw
	err := json.Unmarshal(rec.Body.Bytes(), &env)
	if err != nil || rec.Code >= 300 && rec.Code != http.StatusAccepted {
		t.Fatalf("%s %s: got %d (%s), want success", method, path, rec.Code, rec.Body)
	}

	if rec.Code != http.StatusAccepted {
		return
	}

	c.opID = strings.TrimPrefix(env.Operation, "/1.0/operations/")
	res := c.e.expect(t, http.StatusOK, http.MethodGet, env.Operation+"/wait?timeout=30", nil)
	var op api.Operation
	res.metadata(t, &op)
	if op.StatusCode != api.Success {
		t.Fatalf("%s %s: operation ended %s: %s", method, path, op.Status, op.Err)
	}
}

// newCorpusEnv builds the API over newAPIEnv with an image "img", an instance inst with a snapshot "s1" and a
// profile "p1", served over a real listener so that handlers can hijack the connection and stream. A driver
// replaces newAPIEnv's, which runs nothing.
func newCorpusEnv(t *testing.T, inst string, driver instance.Driver) *corpusEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: instance storage needs root")
	}

	var opts []envOption
	if driver != nil {
		opts = append(opts, withDriver(driver))
	}

	e := newAPIEnv(t, opts...)
	c := &corpusEnv{e: e, server: httptest.NewServer(e.Handler), client: &http.Client{Timeout: 30 * time.Second}, inst: inst}
	t.Cleanup(c.server.Close)

	img := tinyImage(t)
	c.fp = sha256Hex(img)
	c.mustSend(t, http.MethodPost, "/1.0/images", string(img))
	c.mustSend(t, http.MethodPost, "/1.0/images/aliases", `{"name": "img", "target": "`+c.fp+`"}`)
	c.mustSend(t, http.MethodPost, "/1.0/profiles", `{"name": "p1"}`)
	c.mustSend(t, http.MethodPost, "/1.0/instances", `{"name": "`+inst+`", "source": {"type": "none"}}`)
	c.mustSend(t, http.MethodPost, "/1.0/instances/"+inst+"/snapshots", `{"name": "s1"}`)
	return c
}

// destroys reports whether a request to the fixture itself could remove it: deleting it, or the certificate
// and operation endpoints, whose DELETE succeeds whatever the body.
func destroys(method string, endpoint string) bool {
	return method == http.MethodDelete && !strings.HasSuffix(endpoint, "/files")
}

// TestBadInputNever500 sends the corpus to every method of every endpoint: bad path variables, then the valid
// fixture's path with bad queries, bad bodies and, for files, bad headers. Any 500 or dropped connection fails.
func TestBadInputNever500(t *testing.T) {
	c := newCorpusEnv(t, "c1", nil)
	c.run(t, func(string) bool { return true }, nil)
}

// run sends the corpus to the endpoints of api10 that only selects; before each endpoint, prepare (if not nil)
// puts the fixtures back as the corpus needs them.
func (c *corpusEnv) run(t *testing.T, only func(path string) bool, prepare func()) {
	type failure struct{ method, endpoint, err string }
	seen := map[failure]bool{}
	check := func(method string, endpoint string, path string, body string, headers map[string]string) {
		code, msg, op, err := c.send(method, path, body, headers)
		if op != "" {
			c.wait(t, op)
		}

		if method == http.MethodPost && code < 300 && slices.Contains(collections, endpoint) {
			c.prune(t, strings.SplitN(path, "?", 2)[0])
		}

		if err == nil && code != http.StatusInternalServerError {
			return
		}

		if err != nil {
			msg = "no answer: " + err.Error()
		}

		f := failure{method, endpoint, msg}
		if seen[f] {
			return
		}

		seen[f] = true
		if len(body) > 100 {
			body = body[:100] + "..."
		}

		if len(path) > 200 {
			path = path[:200] + "..."
		}

		t.Errorf("%s %s with body %q, headers %v: got %d %q", method, path, body, headers, code, msg)
	}

	methods := func(ep Endpoint) []string {
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

	for _, ep := range api10 {
		if !only(ep.Path) {
			continue
		}

		vars := pathVar.FindAllStringSubmatch(ep.Path, -1)
		valid := "/1.0/" + pathVar.ReplaceAllStringFunc(ep.Path, func(v string) string {
			return c.fixture(ep.Path, pathVar.FindStringSubmatch(v)[1])
		})

		for _, method := range methods(ep) {
			if prepare != nil {
				prepare()
			}

			// Each variable in turn takes each bad value, the others their fixture.
			for i := range vars {
				for _, bad := range badPathValues {
					n := -1
					path := "/1.0/" + pathVar.ReplaceAllStringFunc(ep.Path, func(v string) string {
						n++
						if n == i {
							return bad
						}

						return c.fixture(ep.Path, pathVar.FindStringSubmatch(v)[1])
					})

					check(method, ep.Path, path, "", nil)
				}
			}

			if destroys(method, ep.Path) && len(vars) > 0 {
				continue
			}

			for _, q := range badQueries {
				check(method, ep.Path, valid+"?"+q, "", nil)
			}

			if method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete {
				continue
			}

			for _, body := range badBodies {
				check(method, ep.Path, valid, body, nil)
			}
		}

		if strings.HasSuffix(ep.Path, "/files") {
			for _, h := range badFileHeaders {
				for _, p := range []string{"/pushed", "/", "/a%00b", "/nodir/x", "/" + strings.Repeat("a", 300)} {
					check(http.MethodPost, ep.Path, valid+"?path="+p, "x", h)
				}
			}
		}
	}

	var endpoints []string
	for f := range seen {
		endpoints = append(endpoints, f.method+" "+f.endpoint)
	}

	slices.Sort(endpoints)
	if len(endpoints) > 0 {
		t.Logf("endpoints answering 500: %v", slices.Compact(endpoints))
	}
}
