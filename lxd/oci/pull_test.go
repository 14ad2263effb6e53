package oci

import (
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
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// httpsOnly sends every request over https, as the test registry only speaks TLS.
type httpsOnly struct{ base http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	clone := req.Clone(req.Context())
	clone.URL.Scheme = "https"
	return h.base.RoundTrip(clone)
}

// testRegistry is a registry on loopback over TLS.
type testRegistry struct {
	srv *httptest.Server
	reg *registry.Registry
}

func newTestRegistry(t *testing.T, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}

	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	reg, err := registry.NewRegistry(srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	reg.Transport = srv.Client().Transport
	return &testRegistry{srv: srv, reg: reg}
}

// push writes img (or an index) as repo:tag.
func (tr *testRegistry) push(t *testing.T, ref string, img any) {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(tr.srv.URL, "https://")+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}

	opt := remote.WithTransport(httpsOnly{tr.srv.Client().Transport})
	switch v := img.(type) {
	case v1.Image:
		err = remote.Write(r, v, opt)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v, opt)
	}

	if err != nil {
		t.Fatal(err)
	}
}

// pushMarked pushes as push does, marked so that an authenticating wrapper lets it through.
func (tr *testRegistry) pushMarked(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(tr.srv.URL, "https://")+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}

	err = remote.Write(r, img, remote.WithTransport(pushHeader{httpsOnly{tr.srv.Client().Transport}}))
	if err != nil {
		t.Fatal(err)
	}
}

// testImage builds an image of the given layers (gzip, or zstd when asked) and configuration.
func testImage(t *testing.T, arch string, zstdLayers bool, cfg v1.Config, layers ...[]byte) v1.Image {
	t.Helper()
	img := empty.Image
	for _, l := range layers {
		data := l
		opts := []tarball.LayerOption{}
		if zstdLayers {
			opts = append(opts, tarball.WithCompression(compression.ZStd))
		}

		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, opts...)
		if err != nil {
			t.Fatal(err)
		}

		img, err = mutate.AppendLayers(img, layer)
		if err != nil {
			t.Fatal(err)
		}
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}

	cf = cf.DeepCopy()
	cf.Architecture = arch
	cf.OS = "linux"
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}

	return img
}

func newStores(t *testing.T) (*Store, *images.Store) {
	t.Helper()
	d := t.TempDir()
	s, err := NewStore(filepath.Join(d, "oci"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(s.Wait)

	is, err := images.NewStore(filepath.Join(d, "images"))
	if err != nil {
		t.Fatal(err)
	}

	return s, is
}

// pushAndPull pushes img as tag to a new test registry and pulls it into new stores, committed.
func pushAndPull(t *testing.T, tag string, img v1.Image) (*registry.Image, *Store, *images.Store) {
	t.Helper()
	tr := newTestRegistry(t, nil)
	tr.push(t, tag, img)
	info, err := tr.reg.Inspect(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}

	s, is := newStores(t)
	pending, err := s.Pull(context.Background(), info, is, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = pending.Commit()
	if err != nil {
		t.Fatal(err)
	}

	return info, s, is
}

// unpackImage unpacks the committed image fp and returns its root.
func unpackImage(t *testing.T, is *images.Store, fp string) string {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "rootfs")
	err := is.Unpack(context.Background(), fp, dest, images.UnpackOptions{})
	if err != nil {
		t.Fatal(err)
	}

	return dest
}

func TestPullBuildsImage(t *testing.T) {
	tr := newTestRegistry(t, nil)
	base := layer(t, dir("bin"), file("bin/busybox", "bb"), hardlink("bin/sh", "bin/busybox"), dir("etc"),
		file("etc/gone", "g"), dir("var"), file("var/x", "x"), dir("opq"), file("opq/old", "o"))
	top := layer(t, file("etc/.wh.gone", ""), file(".wh.var", ""), file("opq/.wh..wh..opq", ""), file("opq/new", "n"))
	cfg := v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: []string{"A=1"}, WorkingDir: "/opq", User: "1000:1000"}
	for _, zstd := range []bool{false, true} {
		tag := "app:gz"
		if zstd {
			tag = "app:zstd"
		}

		tr.push(t, tag, testImage(t, runtime.GOARCH, zstd, cfg, base, top))
		info, err := tr.reg.Inspect(context.Background(), tag)
		if err != nil {
			t.Fatal(err)
		}

		want := registry.Fingerprint([]string{info.Layers[0].Digest.String(), info.Layers[1].Digest.String()})
		if info.Fingerprint != want || info.Name != "app" || info.Config.Config.WorkingDir != "/opq" {
			t.Fatalf("inspect: got %+v", info)
		}

		s, is := newStores(t)
		pending, err := s.Pull(context.Background(), info, is, nil)
		if err != nil {
			t.Fatal(err)
		}

		if pending.Fingerprint != info.Fingerprint || pending.Metadata.Properties["type"] != "oci" ||
			pending.Metadata.Properties["description"] != "app (OCI)" || pending.Metadata.Properties["id"] != tag {
			t.Fatalf("pending: %+v %+v", pending, pending.Metadata)
		}

		err = pending.Commit()
		if err != nil {
			t.Fatal(err)
		}

		got := tree(t, unpackImage(t, is, info.Fingerprint))
		wantTree := []string{"bin/", "bin/busybox", "bin/sh", "etc/", "opq/", "opq/new"}
		if !slices.Equal(got, wantTree) {
			t.Fatalf("tree: got %v, want %v", got, wantTree)
		}

		blobs, _ := s.Blobs()
		if len(blobs) != 2 {
			t.Fatalf("blobs: %v", blobs)
		}
	}
}

// The layers of an image that only an application on disk merges (a name under a symbolic link, an implied
// directory) are applied into a temporary tree, with the same result.
func TestPullAppliesOnDisk(t *testing.T) {
	base := layer(t, dir("usr"), dir("usr/lib"), file("usr/lib/old", "o"), symlink("lib", "usr/lib"), file("a/b/c", "c"))
	top := layer(t, file("lib/new", "n"), file("lib/.wh.old", ""))
	info, _, is := pushAndPull(t, "ondisk:1", testImage(t, runtime.GOARCH, false, v1.Config{}, base, top))
	got := tree(t, unpackImage(t, is, info.Fingerprint))
	want := []string{"a/", "a/b/", "a/b/c", "lib", "usr/", "usr/lib/", "usr/lib/new"}
	if !slices.Equal(got, want) {
		t.Fatalf("tree: got %v, want %v", got, want)
	}
}

func TestPullSharesAndPrunesBlobs(t *testing.T) {
	tr := newTestRegistry(t, nil)
	base := layer(t, file("base", "b"))
	tr.push(t, "one:1", testImage(t, runtime.GOARCH, false, v1.Config{}, base, layer(t, file("one", "1"))))
	tr.push(t, "two:1", testImage(t, runtime.GOARCH, false, v1.Config{}, base, layer(t, file("two", "2"))))
	s, is := newStores(t)
	var fps []string
	for _, ref := range []string{"one:1", "two:1"} {
		info, err := tr.reg.Inspect(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}

		pending, err := s.Pull(context.Background(), info, is, nil)
		if err != nil {
			t.Fatal(err)
		}

		err = pending.Commit()
		if err != nil {
			t.Fatal(err)
		}

		fps = append(fps, info.Fingerprint)
	}

	blobs, _ := s.Blobs()
	if len(blobs) != 3 {
		t.Fatalf("shared base stored twice or missing: %v", blobs)
	}

	err := s.Forget(fps[0])
	if err != nil {
		t.Fatal(err)
	}

	blobs, _ = s.Blobs()
	if len(blobs) != 2 {
		t.Fatalf("after forgetting one image: %v", blobs)
	}

	err = s.Reconcile(func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}

	blobs, _ = s.Blobs()
	if len(blobs) != 0 {
		t.Fatalf("after forgetting all: %v", blobs)
	}
}

func TestPullRefusesTamperedBlob(t *testing.T) {
	// A byte changed near the end fails only the digest; one changed early also breaks the layer's decompression,
	// which runs as the blob downloads.
	for _, fromEnd := range []bool{true, false} {
		testPullRefusesTamperedBlob(t, fromEnd)
	}
}

func testPullRefusesTamperedBlob(t *testing.T, fromEnd bool) {
	var tamper bool
	tr := newTestRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !tamper || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				h.ServeHTTP(w, r)
				return
			}

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) > 40 && fromEnd {
				body[len(body)-20] ^= 0xff
			} else if len(body) > 40 {
				body[12] ^= 0xff
			}

			for k, v := range rec.Header() {
				w.Header()[k] = v
			}

			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	})

	tr.push(t, "bad:1", testImage(t, runtime.GOARCH, false, v1.Config{}, layer(t, file("f", strings.Repeat("x", 4096)))))
	info, err := tr.reg.Inspect(context.Background(), "bad:1")
	if err != nil {
		t.Fatal(err)
	}

	tamper = true
	s, is := newStores(t)
	_, err = s.Pull(context.Background(), info, is, nil)
	if err == nil {
		t.Fatal("tampered blob accepted")
	}

	_ = s.Forget(info.Fingerprint)
	blobs, _ := s.Blobs()
	if len(blobs) != 0 {
		t.Fatalf("blobs kept: %v", blobs)
	}

	entries, _ := os.ReadDir(is.Dir())
	for _, e := range entries {
		if e.Name() != ".tmp" {
			t.Fatalf("image store holds %s", e.Name())
		}
	}
}

func TestPutChecksDigestAndSize(t *testing.T) {
	s, _ := newStores(t)
	data := []byte("hello")
	digest := "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	cases := map[string]struct {
		data []byte
		size int64
	}{
		"short":     {data[:4], 5},
		"long":      {append(data, '!'), 5},
		"different": {[]byte("hellO"), 5},
		"size lies": {data, 4},
	}

	for n, c := range cases {
		err := s.Put(context.Background(), digest, c.size, bytes.NewReader(c.data), nil)
		if !errors.Is(err, ErrDigestMismatch) || !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("%s: got %v", n, err)
		}

		if s.Has(digest) {
			t.Fatalf("%s: blob stored", n)
		}
	}

	err := s.Put(context.Background(), digest, 5, bytes.NewReader(data), nil)
	if err != nil || !s.Has(digest) {
		t.Fatalf("good blob: %v", err)
	}

	err = s.Put(context.Background(), "sha256:../../etc", 5, bytes.NewReader(data), nil)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("bad digest: %v", err)
	}

	tmp, _ := os.ReadDir(s.tmpDir())
	if len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

func TestInspectPicksHostArchitecture(t *testing.T) {
	tr := newTestRegistry(t, nil)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}

	host := testImage(t, runtime.GOARCH, false, v1.Config{}, layer(t, file("host", "h")))
	foreign := testImage(t, other, false, v1.Config{}, layer(t, file("foreign", "f")))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: host, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	tr.push(t, "multi:latest", idx)
	info, err := tr.reg.Inspect(context.Background(), "multi")
	if err != nil {
		t.Fatal(err)
	}

	d, _ := host.Digest()
	if info.Digest != d.String() {
		t.Fatalf("got manifest %s, want %s", info.Digest, d)
	}

	_, err = tr.reg.Inspect(context.Background(), "missing:1")
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("missing image: %v", err)
	}
}

func TestInspectTokenAuth(t *testing.T) {
	var realm string
	tr := newTestRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				user, pw, ok := r.BasicAuth()
				if !ok || user != "alice" || pw != "secret" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}

				_, _ = w.Write([]byte(`{"token": "t0k"}`))
				return
			}

			if r.Header.Get("Authorization") != "Bearer t0k" && r.Header.Get("X-Push") == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}

			h.ServeHTTP(w, r)
		})
	})

	realm = tr.srv.URL + "/token"
	r, _ := name.ParseReference(strings.TrimPrefix(tr.srv.URL, "https://")+"/private:1", name.Insecure)
	push := pushHeader{httpsOnly{tr.srv.Client().Transport}}
	err := remote.Write(r, testImage(t, runtime.GOARCH, false, v1.Config{}, layer(t, file("f", "x"))), remote.WithTransport(push))
	if err != nil {
		t.Fatal(err)
	}

	_, err = tr.reg.Inspect(context.Background(), "private:1")
	if err == nil {
		t.Fatal("anonymous access accepted")
	}

	withCreds, err := registry.NewRegistry(strings.Replace(tr.srv.URL, "https://", "https://alice:secret@", 1))
	if err != nil {
		t.Fatal(err)
	}

	withCreds.Transport = tr.srv.Client().Transport
	info, err := withCreds.Inspect(context.Background(), "private:1")
	if err != nil {
		t.Fatal(err)
	}

	s, is := newStores(t)
	_, err = s.Pull(context.Background(), info, is, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// pushHeader marks the test's own pushes, which the auth wrapper lets through.
type pushHeader struct{ base http.RoundTripper }

func (p pushHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	clone := req.Clone(req.Context())
	clone.Header.Set("X-Push", "1")
	return p.base.RoundTrip(clone)
}
