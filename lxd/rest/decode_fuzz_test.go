package rest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

// The decode fuzz targets send arbitrary bodies to the endpoints that decode JSON, through the real router, on a
// state with a database and storage in a temporary directory and a driver that runs nothing. Whatever the body,
// the handler must not panic, must answer with a JSON envelope whose type matches the status, must never answer
// 5xx other than 501 (a feature LXD has and we do not), and, when it refuses the request (4xx, 501), must leave
// everything stored as it was.

// errNoDriver is what the fuzz driver answers to anything that would run a container.
var errNoDriver = errors.New("no instance driver in this test")

// fuzzDriver is an instance driver that runs nothing: every container is stopped.
type fuzzDriver struct{}

func (fuzzDriver) Start(ctx context.Context, spec instance.Spec) error { return errNoDriver }

func (fuzzDriver) Shutdown(ctx context.Context, name string, timeout time.Duration) error {
	return errNoDriver
}

func (fuzzDriver) Kill(ctx context.Context, name string) error { return errNoDriver }
func (fuzzDriver) Freeze(name string) error                    { return errNoDriver }
func (fuzzDriver) Unfreeze(name string) error                  { return errNoDriver }
func (fuzzDriver) Status(name string) api.StatusCode           { return api.Stopped }

func (fuzzDriver) State(name string) instance.RuntimeState {
	return instance.RuntimeState{Status: api.Stopped}
}

func (fuzzDriver) WaitExit(name string) (<-chan struct{}, error) { return nil, errNoDriver }

func (fuzzDriver) Exec(name string, spec instance.ExecSpec) (int, error) { return -1, errNoDriver }

func (fuzzDriver) OpenPty(name string) (*os.File, *os.File, error) { return nil, nil, errNoDriver }
func (fuzzDriver) Cleanup(name string) error                       { return nil }

// fuzzEnv is one API over a temporary state, holding an image (alias "img") and a stopped instance "c1".
type fuzzEnv struct {
	handler http.Handler
	fp      string

	// dir is the data directory: its images, containers and snapshots are part of the stored state.
	dir string
}

// tinyImage returns a unified image tarball with an empty root filesystem.
func tinyImage(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	meta := "architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: fuzz\n"
	entries := []*tar.Header{
		{Name: "metadata.yaml", Mode: 0o644, Size: int64(len(meta)), Typeflag: tar.TypeReg},
		{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir},
	}

	for _, hdr := range entries {
		hdr.ModTime = time.Unix(1700000000, 0)
		err := tw.WriteHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}

		if hdr.Typeflag == tar.TypeReg {
			_, err = tw.Write([]byte(meta))
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	err := tw.Close()
	if err != nil {
		t.Fatal(err)
	}

	return buf.Bytes()
}

func newFuzzEnv(t testing.TB) *fuzzEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: instance storage needs root")
	}

	e := newAPIEnv(t)
	env := &fuzzEnv{handler: e.Handler, dir: e.Dir}
	img := tinyImage(t)
	env.fp = sha256Hex(img)
	code, _ := env.send(t, "POST", "/1.0/images", "application/octet-stream", img)
	if code != http.StatusAccepted {
		t.Fatalf("got %d importing the fixture image, want 202", code)
	}

	for _, req := range []struct{ path, body string }{
		{"/1.0/images/aliases", `{"name": "img", "target": "` + env.fp + `"}`},
		{"/1.0/instances", `{"name": "c1", "source": {"type": "none"}}`},
	} {
		code, _ = env.send(t, "POST", req.path, "application/json", []byte(req.body))
		if code >= 300 && code != http.StatusAccepted {
			t.Fatalf("got %d for POST %s, want success", code, req.path)
		}
	}

	return env
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// send serves one request, checks its envelope, waits for the operation of an async answer, and returns the
// status and the envelope.
func (e *fuzzEnv) send(t testing.TB, method string, path string, contentType string, body []byte) (int, api.ResponseRaw) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)

	var env api.ResponseRaw
	err := json.Unmarshal(rec.Body.Bytes(), &env)
	if err != nil {
		t.Fatalf("%s %s: status %d, body is not a JSON envelope: %v: %q", method, path, rec.Code, err, rec.Body.String())
	}

	ct := rec.Header().Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: content type %q, want JSON", method, path, ct)
	}

	switch {
	case rec.Code == http.StatusAccepted:
		if env.Type != api.AsyncResponse || env.Operation == "" {
			t.Fatalf("%s %s: 202 with envelope type %q and operation %q", method, path, env.Type, env.Operation)
		}

		e.wait(t, env.Operation)
	case rec.Code >= 400:
		if env.Type != api.ErrorResponse || env.Code != rec.Code || env.Error == "" {
			t.Fatalf("%s %s: status %d with envelope %+v, want an error envelope with that code", method, path, rec.Code, env)
		}
	default:
		if env.Type != api.SyncResponse {
			t.Fatalf("%s %s: status %d with envelope type %q, want sync", method, path, rec.Code, env.Type)
		}
	}

	return rec.Code, env
}

// wait waits for a task operation to end, whatever its result; token and websocket operations, which wait for
// a client, are cancelled.
func (e *fuzzEnv) wait(t testing.TB, op string) {
	t.Helper()
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, httptest.NewRequest("GET", op, nil))
	var got struct {
		Metadata api.Operation `json:"metadata"`
	}

	err := json.Unmarshal(rec.Body.Bytes(), &got)
	if err != nil || rec.Code != http.StatusOK {
		t.Fatalf("getting %s: status %d, %v: %s", op, rec.Code, err, rec.Body.String())
	}

	if got.Metadata.Class != string(api.OperationClassTask) {
		rec = httptest.NewRecorder()
		e.handler.ServeHTTP(rec, httptest.NewRequest("DELETE", op, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("cancelling %s operation %s: status %d: %s", got.Metadata.Class, op, rec.Code, rec.Body.String())
		}

		return
	}

	rec = httptest.NewRecorder()
	e.handler.ServeHTTP(rec, httptest.NewRequest("GET", op+"/wait?timeout=30", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("waiting for %s: status %d: %s", op, rec.Code, rec.Body.String())
	}
}

// stored returns everything the API shows of the stored state.
func (e *fuzzEnv) stored(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{
		"/1.0/instances?recursion=1", "/1.0/instances/c1/snapshots?recursion=1", "/1.0/images?recursion=1",
		"/1.0/images/aliases?recursion=1", "/1.0/profiles?recursion=1", "/1.0/certificates?recursion=1", "/1.0",
	} {
		req := httptest.NewRequest("GET", path, nil)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		b.WriteString(path + " " + rec.Body.String() + "\n")
	}

	for _, sub := range []string{"images", "pool/images", "pool/containers", "pool/containers-snapshots"} {
		entries, _ := os.ReadDir(filepath.Join(e.dir, sub))
		b.WriteString(sub + ":")
		for _, entry := range entries {
			b.WriteString(" " + entry.Name())
		}

		b.WriteString("\n")
	}

	return b.String()
}

// remoteKeys are the request fields that make the daemon contact another server; bodies that set them are not
// sent, since tests only ever reach loopback.
var remoteKeys = []string{"server", "url", "operation"}

// reachesOut reports whether a body, decoded the way the handlers decode it, sets a field that makes the daemon
// contact another server. JSON field names match case-insensitively, as encoding/json matches them.
func reachesOut(body []byte) bool {
	var v any
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&v)
	if err != nil {
		return false
	}

	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				for _, rk := range remoteKeys {
					if strings.EqualFold(k, rk) {
						return true
					}
				}

				if walk(val) {
					return true
				}
			}

		case []any:
			for _, val := range x {
				if walk(val) {
					return true
				}
			}
		}

		return false
	}

	return walk(v)
}

// fuzzDecode fuzzes the body of one endpoint.
func fuzzDecode(f *testing.F, method string, path string, seeds ...string) {
	env := newFuzzEnv(f)
	for _, s := range append(seeds, "", "{", "null", "[]", `"x"`, "{}", `{"name": 1}`, "{}{}", "{} x", "\xff") {
		f.Add([]byte(strings.ReplaceAll(s, "{fp}", env.fp)))
	}

	path = strings.ReplaceAll(path, "{fp}", env.fp)
	f.Fuzz(func(t *testing.T, body []byte) {
		if reachesOut(body) {
			t.Skip("the body would make the daemon contact another server")
		}

		before := env.stored(t)
		code, _ := env.send(t, method, path, "application/json", body)
		// 501 is how LXD refuses a feature it does not have (an unknown source type, migration); any other 5xx
		// means a request the decoder let through broke something.
		if code >= 500 && code != http.StatusNotImplemented {
			t.Fatalf("%s %s with body %q: status %d, want no server error", method, path, body, code)
		}

		if code >= 400 {
			after := env.stored(t)
			if after != before {
				t.Fatalf("%s %s with body %q was refused (%d) but changed the stored state:\nbefore %s\nafter %s",
					method, path, body, code, before, after)
			}
		}
	})
}

func FuzzInstancesPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/instances",
		`{"name": "c2", "source": {"type": "image", "alias": "img"}}`,
		`{"name": "c3", "source": {"type": "none"}, "config": {"limits.cpu": "1"}}`,
		`{"name": "c4", "source": {"type": "copy", "source": "c1"}}`,
		`{"name": "-bad", "source": {"type": "none"}}`,
		`{"name": "c5", "source": {"type": "image", "fingerprint": "nope"}, "profiles": ["missing"]}`)
}

func FuzzInstancePut(f *testing.F) {
	fuzzDecode(f, "PUT", "/1.0/instances/c1",
		`{"config": {"user.a": "b"}, "devices": {}, "profiles": ["default"]}`,
		`{"config": {"security.privileged": "maybe"}, "profiles": ["default"]}`,
		`{"devices": {"eth0": {"type": "nic"}}, "profiles": []}`,
		`{"restore": "snap0"}`)
}

func FuzzInstancePatch(f *testing.F) {
	fuzzDecode(f, "PATCH", "/1.0/instances/c1",
		`{"config": {"user.b": "c"}}`,
		`{"description": "d", "ephemeral": true}`,
		`{"profiles": ["nope"]}`)
}

func FuzzImagesPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/images",
		`{"source": {"type": "instance", "name": "c1"}, "aliases": [{"name": "pub"}]}`,
		`{"source": {"type": "snapshot", "name": "c1/none"}}`,
		`{"aliases": [{"name": "a/b"}]}`,
		`{"source": {"type": "image", "fingerprint": "abc"}}`)
}

func FuzzImagePut(f *testing.F) {
	fuzzDecode(f, "PUT", "/1.0/images/{fp}",
		`{"public": true, "properties": {"os": "fuzz"}, "auto_update": false}`,
		`{"expires_at": "2030-01-01T00:00:00Z", "profiles": ["default"]}`,
		`{"profiles": ["other"]}`,
		`{"expires_at": "yesterday"}`)
}

func FuzzImageAliasesPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/images/aliases",
		`{"name": "a1", "target": "{fp}"}`,
		`{"name": "a2", "target": "nope"}`,
		`{"name": "", "target": ""}`,
		`{"name": "img", "target": "x", "description": "dup"}`)
}

func FuzzProfilesPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/profiles",
		`{"name": "p1", "config": {"user.x": "y"}, "devices": {}}`,
		`{"name": "default"}`,
		`{"name": "p2", "devices": {"root": {"type": "disk", "path": "/", "pool": "other"}}}`,
		`{"name": "p/3"}`)
}

func FuzzCertificatesPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/certificates",
		`{"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "name": "x"}`,
		`{"type": "client", "token": true, "name": "t1"}`,
		`{"type": "metrics", "certificate": "bm90IGEgY2VydA=="}`,
		`{"password": "p"}`)
}

func FuzzInstanceExecPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/instances/c1/exec",
		`{"command": ["ls"], "wait-for-websocket": false, "interactive": false}`,
		`{"command": [], "environment": {"A": "b"}}`,
		`{"command": ["sh"], "width": -1, "height": 99999999999}`,
		`{"command": ["id"], "user": 4294967296, "cwd": "relative"}`)
}

func FuzzInstanceSnapshotsPost(f *testing.F) {
	fuzzDecode(f, "POST", "/1.0/instances/c1/snapshots",
		`{"name": "s1"}`,
		`{"name": "s/2"}`,
		`{"name": "s3", "expires_at": "2030-01-01T00:00:00Z", "stateful": true}`,
		`{"name": ""}`)
}

func TestReachesOut(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"name": "c1", "source": {"type": "image", "alias": "a"}}`, false},
		{`{"source": {"type": "image", "server": "https://example.com"}}`, true},
		{`{"source": {"type": "url", "URL": "https://example.com"}}`, true},
		{`{"source": {"type": "migration", "Operation": "x"}}`, true},
		{`{"source": {"\u0073erver": "x"}}`, true},
		{`{"source": {"ſerver": "x"}}`, true},
		{`{"a": [{"b": [{"url": 1}]}]}`, true},
		{`{"name": "server"}`, false},
		{`{"server": 1} trailing`, true},
		{`{"server": `, false},
		{`not json`, false},
	}

	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got := reachesOut([]byte(tt.body))
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
