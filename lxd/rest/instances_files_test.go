package rest

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance"
)

// testIDMap is the map of the unprivileged containers of filesEnv.
var testIDMap = &instance.IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}

// filesEnv is an API whose containers are unprivileged (testIDMap) over a dir pool under dir, holding the stopped
// instance "c1" with an empty root.
type filesEnv struct {
	handler http.Handler
	rootfs  string
}

func newFilesEnv(t *testing.T) *filesEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: instance storage needs root")
	}

	e := newAPIEnv(t, withIDMap(testIDMap))
	env := &filesEnv{handler: e.Handler}
	rec := env.do(t, http.MethodPost, "/1.0/instances", `{"name": "c1", "source": {"type": "none"}}`, nil)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("got %d creating c1: %s", rec.Code, rec.Body)
	}

	env.rootfs = filepath.Join(e.Dir, "pool", "containers", "c1", "rootfs")
	waitFor(t, "c1 created", func() bool {
		return env.do(t, http.MethodGet, "/1.0/instances/c1/files?path=/", "", nil).Code == http.StatusOK
	})

	return env
}

// do serves one request with headers.
func (e *filesEnv) do(t *testing.T, method string, path string, body string, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}

	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

// TestFilePushSpecialModes pushes files and directories with the setuid, setgid and sticky bits: they keep them,
// owned by the container ids asked for, shifted through the idmap.
func TestFilePushSpecialModes(t *testing.T) {
	e := newFilesEnv(t)
	tests := []struct {
		path    string
		kind    string
		mode    string
		want    fs.FileMode
		wantRaw uint32
	}{
		{"/su", "file", "4755", 0o755 | fs.ModeSetuid, 0o4755},
		{"/sg", "file", "2711", 0o711 | fs.ModeSetgid, 0o2711},
		{"/all", "file", "7777", 0o777 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky, 0o7777},
		{"/shared", "directory", "2775", fs.ModeDir | 0o775 | fs.ModeSetgid, 0o2775},
		{"/tmp", "directory", "1777", fs.ModeDir | 0o777 | fs.ModeSticky, 0o1777},
	}

	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := e.do(t, http.MethodPost, "/1.0/instances/c1/files?path="+tt.path, "#!/bin/sh\n",
				map[string]string{"X-LXD-type": tt.kind, "X-LXD-mode": tt.mode, "X-LXD-uid": "1000", "X-LXD-gid": "50"})
			if rec.Code != http.StatusOK {
				t.Fatalf("got %d (%s), want 200", rec.Code, rec.Body)
			}

			fi, err := os.Lstat(filepath.Join(e.rootfs, tt.path))
			if err != nil {
				t.Fatal(err)
			}

			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode() != tt.want || st.Mode&0o7777 != tt.wantRaw {
				t.Fatalf("got mode %v (%o), want %v (%o)", fi.Mode(), st.Mode&0o7777, tt.want, tt.wantRaw)
			}

			if st.Uid != 1001000 || st.Gid != 1000050 {
				t.Fatalf("got owner %d:%d on the host, want 1001000:1000050", st.Uid, st.Gid)
			}

			rec = e.do(t, http.MethodGet, "/1.0/instances/c1/files?path="+tt.path, "", nil)
			if rec.Code != http.StatusOK || rec.Header().Get("X-LXD-mode") != tt.mode ||
				rec.Header().Get("X-LXD-uid") != "1000" || rec.Header().Get("X-LXD-gid") != "50" {
				t.Fatalf("got %d with mode %q and owner %s:%s, want 200, %q and 1000:50", rec.Code,
					rec.Header().Get("X-LXD-mode"), rec.Header().Get("X-LXD-uid"), rec.Header().Get("X-LXD-gid"), tt.mode)
			}
		})
	}

	// A later push without a mode keeps the special bits of the file it overwrites.
	rec := e.do(t, http.MethodPost, "/1.0/instances/c1/files?path=/su", "new", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d (%s), want 200", rec.Code, rec.Body)
	}

	fi, err := os.Stat(filepath.Join(e.rootfs, "su"))
	if err != nil || fi.Mode() != 0o755|fs.ModeSetuid {
		t.Fatalf("got %v, %v after an overwrite without a mode, want %v", fi.Mode(), err, 0o755|fs.ModeSetuid)
	}

	for _, mode := range []string{"10000", "77777", "9", "x"} {
		rec := e.do(t, http.MethodPost, "/1.0/instances/c1/files?path=/bad", "", map[string]string{"X-LXD-mode": mode})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("X-LXD-mode %q: got %d (%s), want 400", mode, rec.Code, rec.Body)
		}
	}
}

// TestFileSymlinkEscape goes through symlinks naming places outside the instance's root: they are resolved as
// the instance sees them (an absolute target from its root, ".." stopping at it), so every method looks inside
// the instance, finds nothing there and writes nothing outside the root.
func TestFileSymlinkEscape(t *testing.T) {
	e := newFilesEnv(t)
	outside := t.TempDir()
	for name, target := range map[string]string{"abs": outside, "rel": "../../../../../../../../../../" + outside} {
		err := os.Symlink(target, filepath.Join(e.rootfs, name))
		if err != nil {
			t.Fatal(err)
		}
	}

	for _, link := range []string{"abs", "rel"} {
		p := "/" + link + "/victim"
		for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			rec := e.do(t, method, "/1.0/instances/c1/files?path="+p, "x", nil)
			if rec.Code != http.StatusNotFound {
				t.Fatalf("%s %s: got %d (%s), want 404 for a path missing in the instance", method, p, rec.Code, rec.Body)
			}
		}
	}

	entries, err := os.ReadDir(outside)
	if err != nil || len(entries) != 0 {
		t.Fatalf("got %v, %v outside the root, want nothing written", entries, err)
	}

	// The same symlinks lead to the instance's own copy of those directories when it has them.
	err = os.MkdirAll(filepath.Join(e.rootfs, outside), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	for _, link := range []string{"abs", "rel"} {
		rec := e.do(t, http.MethodPost, "/1.0/instances/c1/files?path=/"+link+"/"+link+".txt", link, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("push through %s: got %d (%s), want 200", link, rec.Code, rec.Body)
		}

		data, err := os.ReadFile(filepath.Join(e.rootfs, outside, link+".txt"))
		if err != nil || string(data) != link {
			t.Fatalf("push through %s: got %q %v in the instance", link, data, err)
		}

		rec = e.do(t, http.MethodGet, "/1.0/instances/c1/files?path=/"+link+"/"+link+".txt", "", nil)
		if rec.Code != http.StatusOK || rec.Body.String() != link {
			t.Fatalf("pull through %s: got %d (%s)", link, rec.Code, rec.Body)
		}
	}

	entries, err = os.ReadDir(outside)
	if err != nil || len(entries) != 0 {
		t.Fatalf("got %v, %v outside the root, want nothing written", entries, err)
	}

	// A path under a file, and a directory that is not empty, are the client's errors too.
	rec := e.do(t, http.MethodPost, "/1.0/instances/c1/files?path=/f", "x", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d (%s), want 200", rec.Code, rec.Body)
	}

	rec = e.do(t, http.MethodPost, "/1.0/instances/c1/files?path=/d", "", map[string]string{"X-LXD-type": "directory"})
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d (%s), want 200", rec.Code, rec.Body)
	}

	rec = e.do(t, http.MethodPost, "/1.0/instances/c1/files?path=/d/x", "x", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d (%s), want 200", rec.Code, rec.Body)
	}

	for _, req := range []struct{ method, path string }{
		{http.MethodPost, "/f/x"}, {http.MethodGet, "/f/x"}, {http.MethodDelete, "/d"},
	} {
		rec := e.do(t, req.method, "/1.0/instances/c1/files?path="+req.path, "x", nil)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("%s %s: got %d (%s), want 400", req.method, req.path, rec.Code, rec.Body)
		}
	}
}
