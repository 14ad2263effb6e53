package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// toHTTPS sends every request over https, as the test registry only speaks TLS.
type toHTTPS struct{ base http.RoundTripper }

func (h toHTTPS) RoundTrip(req *http.Request) (*http.Response, error) {
	clone := req.Clone(req.Context())
	clone.URL.Scheme = "https"
	return h.base.RoundTrip(clone)
}

// ociRegistryServer is a registry on loopback over TLS holding app:1, one layer with one file; the manager trusts it.
func ociRegistryServer(t *testing.T, e *testEnv) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	e.m.oci.configure = func(r *registry.Registry) { r.Transport = srv.Client().Transport }
	ociPush(t, srv, "app:1", "hi")
	return srv
}

// ociPush pushes to srv, as ref, an image of one layer holding the file hello with the given content.
func ociPush(t *testing.T, srv *httptest.Server, tag string, content string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}

	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}

	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Config = v1.Config{Cmd: []string{"/hello"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}

	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "https://")+"/"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}

	err = remote.Write(ref, img, remote.WithTransport(toHTTPS{srv.Client().Transport}))
	if err != nil {
		t.Fatal(err)
	}
}

func TestCacheRemoteOCI(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := ociRegistryServer(t, e)
	src := api.InstanceSource{Type: "image", Server: srv.URL, Protocol: "oci", Alias: "app:1"}
	fp, err := e.m.CacheRemote(context.Background(), src, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	row := e.row(t, fp)
	if row.Properties["type"] != "oci" || row.Properties["description"] != "app (OCI)" || row.Properties["id"] != "app:1" ||
		!row.Cached || row.Source == nil || row.Source.Protocol != "oci" || row.Source.Alias != "app:1" {
		t.Fatalf("row: %+v source %+v", row, row.Source)
	}

	// A second creation from the same name uses the copy here, with the registry gone.
	srv.Close()
	again, err := e.m.CacheRemote(context.Background(), src, PullArgs{})
	if err != nil || again != fp {
		t.Fatalf("from the cache: %s %v", again, err)
	}

	blobs := filepath.Join(filepath.Dir(e.store.Dir()), "oci", "blobs", "sha256")
	entries, _ := os.ReadDir(blobs)
	if len(entries) != 1 {
		t.Fatalf("blobs: %v", entries)
	}

	err = e.m.Delete(context.Background(), fp, nil)
	if err != nil {
		t.Fatal(err)
	}

	entries, _ = os.ReadDir(blobs)
	if len(entries) != 0 {
		t.Fatalf("blobs kept after the image's deletion: %v", entries)
	}
}

func TestPullOCIMissing(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := ociRegistryServer(t, e)
	req := api.ImagesPost{Source: &api.ImagesPostSource{Type: "image", Mode: "pull"}}
	req.Source.Server = srv.URL
	req.Source.Protocol = "oci"
	req.Source.Alias = "missing:1"
	_, err := e.m.Pull(context.Background(), req, PullArgs{})
	if !errors.Is(err, errs.ErrNotFound) || strings.Count(err.Error(), "not found") != 1 {
		t.Fatalf("got %v", err)
	}

	// Copy by name, as lxc image copy sends it (in source.fingerprint), twice: the second finds it here.
	req.Source.Alias, req.Source.Fingerprint = "", "app:1"
	first, err := e.m.Copy(context.Background(), req, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	second, err := e.m.Copy(context.Background(), req, PullArgs{})
	if err != nil || second.Fingerprint != first.Fingerprint {
		t.Fatalf("second copy: %v %v", second, err)
	}

	if len(e.fingerprints(t)) != 1 {
		t.Fatalf("images: %v", e.fingerprints(t))
	}
}

func TestRefreshOCI(t *testing.T) {
	e := newTestEnv(t, map[string]string{"images.auto_update_cached": "true"})
	srv := ociRegistryServer(t, e)
	src := api.InstanceSource{Type: "image", Server: srv.URL, Protocol: "oci", Alias: "app:1"}
	fp, err := e.m.CacheRemote(context.Background(), src, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if !e.row(t, fp).AutoUpdate {
		t.Fatal("a cached image pulled by name does not follow it")
	}

	// The tag moves to new layers: the refresh pulls them, and the old cached image goes with its blobs.
	ociPush(t, srv, "app:1", "hello again")
	newFP, err := e.m.Refresh(context.Background(), fp, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if newFP == fp || len(e.fingerprints(t)) != 1 || e.fingerprints(t)[0] != newFP {
		t.Fatalf("after the refresh: %s -> %s, images %v", fp, newFP, e.fingerprints(t))
	}

	entries, _ := os.ReadDir(filepath.Join(filepath.Dir(e.store.Dir()), "oci", "blobs", "sha256"))
	if len(entries) != 1 {
		t.Fatalf("blobs after the refresh: %v", entries)
	}
}
