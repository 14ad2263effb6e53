package rest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// backupOp sends a request that starts an operation and returns the operation once it has ended.
func backupOp(t *testing.T, e *apiEnv, method string, path string, body any, opts ...reqOption) api.Operation {
	t.Helper()
	res := e.expect(t, http.StatusAccepted, method, path, body, opts...)
	var op api.Operation
	e.expect(t, http.StatusOK, http.MethodGet, res.Env.Operation+"/wait?timeout=30", nil).metadata(t, &op)
	return op
}

// backupImport uploads a backup tarball as POST /1.0/instances does and returns the ended operation.
func backupImport(t *testing.T, e *apiEnv, data []byte, opts ...reqOption) api.Operation {
	t.Helper()
	opts = append([]reqOption{withHeader("Content-Type", "application/octet-stream")}, opts...)
	return backupOp(t, e, http.MethodPost, "/1.0/instances", data, opts...)
}

func TestInstanceBackups(t *testing.T) {
	e := newAPIEnv(t)
	op := backupOp(t, e, http.MethodPost, "/1.0/instances", `{"name": "c1", "source": {"type": "none"}}`)
	if op.StatusCode != api.Success {
		t.Fatalf("creating c1: %s", op.Err)
	}

	err := os.WriteFile(filepath.Join(e.State.Storage.ContainerRootfs("c1"), "hello"), []byte("hi"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	backupOp(t, e, http.MethodPost, "/1.0/instances/c1/snapshots", `{"name": "s0"}`)
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/instances/c1/backups", `{"optimized_storage": true}`)
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/instances/c1/backups", `{"compression_algorithm": "rar"}`)
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/instances/c1/backups", `{"name": "../x"}`)
	e.expect(t, http.StatusNotFound, http.MethodPost, "/1.0/instances/nope/backups", `{}`)
	op = backupOp(t, e, http.MethodPost, "/1.0/instances/c1/backups", `{"name": "b1", "compression_algorithm": "xz"}`)
	if op.StatusCode != api.Success || op.Resources["backups"][0] != "/1.0/backups/b1" {
		t.Fatalf("backup operation: got %+v", op)
	}

	var list []api.InstanceBackup
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/instances/c1/backups?recursion=1", nil).metadata(t, &list)
	if len(list) != 1 || list[0].Name != "b1" || list[0].InstanceOnly {
		t.Fatalf("got backups %+v, want b1 with its snapshots", list)
	}

	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/1.0/instances/c1/backups/b1/export", nil))
	data := rec.Body.Bytes()
	if rec.Code != http.StatusOK || !bytes.HasPrefix(data, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		t.Fatalf("export: got %d, %d bytes, want an xz tarball", rec.Code, len(data))
	}

	// Refused before the body is read.
	e.expect(t, http.StatusConflict, http.MethodPost, "/1.0/instances", data,
		withHeader("Content-Type", "application/octet-stream"), withHeader("X-LXD-name", "c1"))
	e.expect(t, http.StatusNotFound, http.MethodPost, "/1.0/instances", data,
		withHeader("Content-Type", "application/octet-stream"), withHeader("X-LXD-pool", "nope"))

	// A truncated backup fails and leaves nothing.
	op = backupImport(t, e, data[:len(data)/2], withHeader("X-LXD-name", "c3"))
	if op.StatusCode != api.Failure {
		t.Fatalf("truncated import: got %s, want a failure", op.Status)
	}

	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/instances/c3", nil)
	leftovers, _ := filepath.Glob(filepath.Join(e.Dir, "backups", ".import-*"))
	_, err = os.Lstat(e.State.Storage.ContainerPath("c3"))
	if len(leftovers) > 0 || err == nil {
		t.Fatalf("a failed import left %v (storage: %v)", leftovers, err)
	}

	op = backupImport(t, e, data, withHeader("X-LXD-name", "c2"))
	if op.StatusCode != api.Success {
		t.Fatalf("import: %s", op.Err)
	}

	got, err := os.ReadFile(filepath.Join(e.State.Storage.ContainerRootfs("c2"), "hello"))
	if err != nil || string(got) != "hi" {
		t.Fatalf("imported file: got %q, %v", got, err)
	}

	var snaps []string
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/instances/c2/snapshots", nil).metadata(t, &snaps)
	if len(snaps) != 1 || snaps[0] != "/1.0/instances/c2/snapshots/s0" {
		t.Fatalf("imported snapshots: got %v", snaps)
	}

	backupOp(t, e, http.MethodPost, "/1.0/instances/c1/backups/b1", `{"name": "b2"}`)
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/instances/c1/backups/b1", nil)
	backupOp(t, e, http.MethodDelete, "/1.0/instances/c1/backups/b2", nil)
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/instances/c1/backups?recursion=1", nil).metadata(t, &list)
	if len(list) != 0 {
		t.Fatalf("got backups %+v after the deletion, want none", list)
	}
}
