package image

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/simplestreams"
)

// streamsServer serves the public images of m as a simplestreams tree, counting the image files it sends.
func streamsServer(t *testing.T, m *Manager) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var files atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/streams/v1/") {
			imgs, err := m.PublicSourceImages(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}

			index, products := simplestreams.Build(imgs)
			var doc any = index
			if r.URL.Path == "/streams/v1/images.json" {
				doc = products
			}

			_ = json.NewEncoder(w).Encode(doc)
			return
		}

		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/images/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}

		path, err := m.PublicFile(r.Context(), parts[0], parts[1])
		if err != nil {
			http.NotFound(w, r)
			return
		}

		files.Add(1)
		http.ServeFile(w, r, path)
	}))
	t.Cleanup(srv.Close)
	return srv, &files
}

func (e *testEnv) row(t *testing.T, fp string) *db.Image {
	t.Helper()
	var img *db.Image
	err := e.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		var err error
		img, err = tx.GetImage(ctx, fp)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	return img
}

// An instance created from another server's image caches it once; a refresh follows the alias to a newer image,
// which replaces the cached copy (and the old one's bases are pruned).
func TestCacheRemoteAndRefresh(t *testing.T) {
	ctx := context.Background()
	source := newTestEnv(t, nil)
	v1 := source.mustAdd(t, "v1", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}}})
	srv, files := streamsServer(t, source.m)

	e := newTestEnv(t, nil)
	src := api.InstanceSource{Server: srv.URL, Protocol: "simplestreams", Alias: "tiny"}
	var last map[string]any
	fp, err := e.m.CacheRemote(ctx, src, PullArgs{Progress: func(md map[string]any) { last = md }})
	if err != nil {
		t.Fatal(err)
	}

	if fp != v1.Fingerprint || last["fingerprint"] != fp {
		t.Fatalf("cached %s (last report %v), want %s", fp, last, v1.Fingerprint)
	}

	row := e.row(t, fp)
	if !row.Cached || !row.AutoUpdate || row.Source == nil || row.Source.Alias != "tiny" || row.Source.Protocol != "simplestreams" {
		t.Fatalf("got row %+v (source %+v), want a cached, auto-updating image pulled by alias tiny", row, row.Source)
	}

	// The second creation uses the cached copy without downloading.
	again, err := e.m.CacheRemote(ctx, src, PullArgs{})
	if err != nil || again != fp || files.Load() != 1 {
		t.Fatalf("got %s, %v after %d downloads, want %s from the cache", again, err, files.Load(), fp)
	}

	// A newer image takes the alias on the source.
	err = source.m.DeleteAlias(ctx, "tiny")
	if err != nil {
		t.Fatal(err)
	}

	v2 := source.mustAdd(t, "v2", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}}})
	newFP, err := e.m.Refresh(ctx, fp, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if newFP != v2.Fingerprint {
		t.Fatalf("refreshed to %s, want %s", newFP, v2.Fingerprint)
	}

	if got := e.fingerprints(t); len(got) != 1 || got[0] != v2.Fingerprint {
		t.Fatalf("got images %v, want the replaced cached copy gone and only %s", got, v2.Fingerprint)
	}

	if row := e.row(t, newFP); !row.Cached || !row.AutoUpdate {
		t.Fatalf("got row %+v, want the new copy cached and auto-updating", row)
	}

	if e.pruned.Load() != 1 {
		t.Fatalf("prune hook called %d times, want once for the replaced copy", e.pruned.Load())
	}

	// Nothing newer: the auto-update task runs and changes nothing.
	tasks := 0
	e.m.runTask = func(ctx context.Context, description string, fn func(ctx context.Context, progress Progress) error) error {
		tasks++
		if description != "Updating images" {
			t.Errorf("task %q, want \"Updating images\"", description)
		}

		return fn(ctx, nil)
	}

	err = e.m.AutoUpdate(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if got := e.fingerprints(t); tasks != 1 || len(got) != 1 || got[0] != v2.Fingerprint {
		t.Fatalf("after %d tasks got images %v, want %s only", tasks, got, v2.Fingerprint)
	}
}

// A pull of an image the store already holds records nothing new and downloads nothing.
func TestPullExistingImage(t *testing.T) {
	ctx := context.Background()
	source := newTestEnv(t, nil)
	img := source.mustAdd(t, "v1", StoreArgs{Public: true, Aliases: []api.ImageAlias{{Name: "tiny"}}})
	srv, files := streamsServer(t, source.m)

	e := newTestEnv(t, nil)
	e.mustAdd(t, "v1", StoreArgs{})
	req := api.ImagesPost{Source: &api.ImagesPostSource{ImageSource: api.ImageSource{Server: srv.URL, Protocol: "simplestreams",
		Alias: "tiny"}, Type: "image"}}
	got, err := e.m.Pull(ctx, req, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if got.Fingerprint != img.Fingerprint || files.Load() != 0 {
		t.Fatalf("got %s after %d downloads, want %s from the store", got.Fingerprint, files.Load(), img.Fingerprint)
	}
}
