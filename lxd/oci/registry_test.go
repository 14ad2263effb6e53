package oci

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	registry "github.com/lxd-go/lxd/shared/oci"
)

// authRegistry wraps the test registry with an authentication scheme: "bearer" (a token from /token, given to
// anyone), or "basic" (alice:secret). The test's own pushes carry X-Push.
func authRegistry(t *testing.T, scheme string) *testRegistry {
	t.Helper()
	var realm string
	tr := newTestRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Push") != "" {
				h.ServeHTTP(w, r)
				return
			}

			switch scheme {
			case "bearer":
				if r.URL.Path == "/token" {
					_, _ = w.Write([]byte(`{"access_token": "anon"}`))
					return
				}

				if r.Header.Get("Authorization") != "Bearer anon" {
					w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
			case "basic":
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret"))
				if r.Header.Get("Authorization") != want {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
			}

			h.ServeHTTP(w, r)
		})
	})

	realm = tr.srv.URL + "/token"
	return tr
}

func TestInspectAnonymousToken(t *testing.T) {
	tr := authRegistry(t, "bearer")
	tr.pushMarked(t, "anon:1", testImage(t, runtime.GOARCH, false, v1.Config{}, layer(t, file("f", "x"))))
	_, err := tr.reg.Inspect(context.Background(), "anon:1")
	if err != nil {
		t.Fatal(err)
	}
}

func TestInspectBasicAuth(t *testing.T) {
	tr := authRegistry(t, "basic")
	tr.pushMarked(t, "basic:1", testImage(t, runtime.GOARCH, false, v1.Config{}, layer(t, file("f", "x"))))
	_, err := tr.reg.Inspect(context.Background(), "basic:1")
	if err == nil {
		t.Fatal("access without credentials accepted")
	}

	withCreds, err := registry.NewRegistry(strings.Replace(tr.srv.URL, "https://", "https://alice:secret@", 1))
	if err != nil {
		t.Fatal(err)
	}

	withCreds.Transport = tr.srv.Client().Transport
	info, err := withCreds.Inspect(context.Background(), "basic:1")
	if err != nil {
		t.Fatal(err)
	}

	s, is := newStores(t)
	_, err = s.Pull(context.Background(), info, is, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestInspectDockerManifestList(t *testing.T) {
	tr := newTestRegistry(t, nil)
	host := testImage(t, runtime.GOARCH, false, v1.Config{}, layer(t, file("host", "h")))
	other := testImage(t, "s390x", false, v1.Config{}, layer(t, file("other", "o")))
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}},
		mutate.IndexAddendum{Add: host, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	), types.DockerManifestList)
	tr.push(t, "docker:list", idx)
	info, err := tr.reg.Inspect(context.Background(), "docker:list")
	if err != nil {
		t.Fatal(err)
	}

	mt, _ := host.MediaType()
	d, _ := host.Digest()
	if info.Digest != d.String() || mt != types.DockerManifestSchema2 {
		t.Fatalf("got %s (%s), want the host's Docker manifest %s", info.Digest, mt, d)
	}

	// An index without the host's architecture is refused.
	tr.push(t, "docker:foreign", mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}}))
	_, err = tr.reg.Inspect(context.Background(), "docker:foreign")
	if err == nil && runtime.GOARCH != "s390x" {
		t.Fatal("an index without the host's architecture accepted")
	}
}

// FuzzManifest serves arbitrary manifest and configuration documents: Inspect refuses or accepts them, and never
// panics.
func FuzzManifest(f *testing.F) {
	f.Add(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`,
		"application/vnd.oci.image.manifest.v1+json", `{}`)
	f.Add(`{"schemaVersion":2,"manifests":[{"digest":"sha256:00","platform":{"os":"linux","architecture":"amd64"}}]}`,
		"application/vnd.oci.image.index.v1+json", `{"architecture":"amd64"}`)
	f.Add(`{"schemaVersion":1}`, "application/vnd.docker.distribution.manifest.v1+prettyjws", ``)
	f.Fuzz(func(t *testing.T, manifest string, mediaType string, config string) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/v2/":
				w.WriteHeader(http.StatusOK)
			case strings.Contains(r.URL.Path, "/manifests/"):
				w.Header().Set("Content-Type", mediaType)
				_, _ = w.Write([]byte(manifest))
			case strings.Contains(r.URL.Path, "/blobs/"):
				_, _ = w.Write([]byte(config))
			default:
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		defer srv.Close()
		reg, err := registry.NewRegistry(srv.URL)
		if err != nil {
			t.Fatal(err)
		}

		reg.Transport = srv.Client().Transport
		info, err := reg.Inspect(context.Background(), "x:latest")
		if err != nil {
			return
		}

		if len(info.Layers) == 0 || len(info.Fingerprint) != 64 {
			t.Fatalf("accepted an image without layers or fingerprint: %+v", info)
		}
	})
}
