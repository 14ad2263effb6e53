package rest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

func TestStoragePoolsAPI(t *testing.T) {
	e := newAPIEnv(t)
	var urls []string
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools", nil).metadata(t, &urls)
	if strings.Join(urls, " ") != "/1.0/storage-pools/default" {
		t.Fatalf("pools: %v", urls)
	}

	src := filepath.Join(t.TempDir(), "p1")
	res := e.expect(t, http.StatusCreated, http.MethodPost, "/1.0/storage-pools", api.StoragePoolsPost{Name: "p1", Driver: "dir",
		StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": src}, Description: "one"}})
	if res.Header.Get("Location") != "/1.0/storage-pools/p1" {
		t.Fatalf("location %q", res.Header.Get("Location"))
	}

	e.expect(t, http.StatusConflict, http.MethodPost, "/1.0/storage-pools", api.StoragePoolsPost{Name: "p1", Driver: "dir"})
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/storage-pools", api.StoragePoolsPost{Name: "p2", Driver: "lvm"})
	e.expect(t, http.StatusBadRequest, http.MethodPost, "/1.0/storage-pools", `{"name": "p2", "driver": "dir", "config": {"size": "1GiB"}}`)
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/storage-pools/nope", nil)

	var pools []api.StoragePool
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools?recursion=1", nil).metadata(t, &pools)
	if len(pools) != 2 || pools[1].Name != "p1" || pools[1].Config["source"] != src || pools[1].Status != "Created" ||
		pools[1].Description != "one" || pools[1].UsedBy == nil {
		t.Fatalf("pools: %+v", pools)
	}

	res = e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools/p1", nil)
	etag := res.Header.Get("ETag")
	e.expect(t, http.StatusPreconditionFailed, http.MethodPatch, "/1.0/storage-pools/p1", `{"description": "x"}`,
		withHeader("If-Match", `"0123abcd"`))
	e.expect(t, http.StatusOK, http.MethodPatch, "/1.0/storage-pools/p1", `{"config": {"volume.size": "1GiB"}}`,
		withHeader("If-Match", etag))
	e.expect(t, http.StatusBadRequest, http.MethodPatch, "/1.0/storage-pools/p1", `{"config": {"source": "/x"}}`)

	var pool api.StoragePool
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools/p1", nil).metadata(t, &pool)
	if pool.Config["volume.size"] != "1GiB" || pool.Config["source"] != src || pool.Description != "one" {
		t.Fatalf("patched pool: %+v", pool)
	}

	// PUT replaces the description and keeps source when it is left out.
	e.expect(t, http.StatusOK, http.MethodPut, "/1.0/storage-pools/p1", `{"description": "two", "config": {}}`)
	pool = api.StoragePool{}
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools/p1", nil).metadata(t, &pool)
	if pool.Config["volume.size"] != "" || pool.Config["source"] != src || pool.Description != "two" {
		t.Fatalf("put pool: %+v", pool)
	}

	var resources api.ResourcesStoragePool
	e.expect(t, http.StatusOK, http.MethodGet, "/1.0/storage-pools/p1/resources", nil).metadata(t, &resources)
	if resources.Space.Total == 0 || resources.Inodes.Total == 0 {
		t.Fatalf("resources: %+v", resources)
	}

	// The default profile names the default pool: it is in use.
	res = e.expect(t, http.StatusBadRequest, http.MethodDelete, "/1.0/storage-pools/default", nil)
	if !strings.Contains(res.Env.Error, "/1.0/profiles/default") {
		t.Fatalf("error %q", res.Env.Error)
	}

	e.expect(t, http.StatusOK, http.MethodDelete, "/1.0/storage-pools/p1", nil)
	e.expect(t, http.StatusNotFound, http.MethodGet, "/1.0/storage-pools/p1", nil)
	e.expect(t, http.StatusNotFound, http.MethodDelete, "/1.0/storage-pools/p1", nil)
}
