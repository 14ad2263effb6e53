package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// webHost serves one image the way a static web host announces it: HEAD on /announce answers with the hash and the
// location; GET on the location serves the file.
func webHost(t *testing.T, img []byte, hash string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead && r.URL.Path == "/announce":
			if r.Header.Get("LXD-Server-Architectures") == "" {
				t.Errorf("HEAD without LXD-Server-Architectures")
			}

			w.Header().Set("LXD-Image-Hash", hash)
			w.Header().Set("LXD-Image-URL", "files/tiny.tar")
		case r.Method == http.MethodGet && r.URL.Path == "/files/tiny.tar":
			downloads.Add(1)
			_, _ = w.Write(img)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &downloads
}

func TestImportURL(t *testing.T) {
	e := newTestEnv(t, nil)
	img := testImage(t, "web")
	sum := sha256.Sum256(img)
	fp := hex.EncodeToString(sum[:])
	srv, downloads := webHost(t, img, strings.ToUpper(fp))

	var last map[string]any
	req := api.ImagesPost{ImagePut: api.ImagePut{Public: true}, Source: &api.ImagesPostSource{Type: "url", URL: srv.URL + "/announce"},
		Aliases: []api.ImageAlias{{Name: "web"}}}
	got, err := e.m.ImportURL(context.Background(), req, PullArgs{Progress: func(md map[string]any) { last = md }})
	if err != nil {
		t.Fatal(err)
	}

	if got.Fingerprint != fp || got.Filename != "tiny.tar" || !got.Public {
		t.Fatalf("got image %+v, want %s named tiny.tar, public", got, fp)
	}

	if last["fingerprint"] != fp || last["size"] != sizeString(int64(len(img))) {
		t.Fatalf("last progress report %v, want the fingerprint and the size", last)
	}

	// The same image again is found in the store, not downloaded.
	_, err = e.m.ImportURL(context.Background(), api.ImagesPost{Source: req.Source}, PullArgs{})
	if err != nil {
		t.Fatal(err)
	}

	if downloads.Load() != 1 {
		t.Fatalf("downloaded %d times, want once", downloads.Load())
	}
}

func TestImportURLRefusesBadHostAnswers(t *testing.T) {
	img := testImage(t, "web")
	tests := []struct {
		name string
		hash string
		url  string
		want string
	}{
		{"bad scheme", "", "ftp://example.com/x", `unsupported URL scheme "ftp" (only http and https)`},
		{"hash mismatch", strings.Repeat("0", 64), "", "image from "},
		{"malformed hash", "xyz", "", `invalid LXD-Image-Hash header "xyz"`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			srv, _ := webHost(t, img, tt.hash)
			url := tt.url
			if url == "" {
				url = srv.URL + "/announce"
			}

			_, err := e.m.ImportURL(context.Background(), api.ImagesPost{Source: &api.ImagesPostSource{Type: "url", URL: url}}, PullArgs{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}

			if tt.name == "bad scheme" && !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want class invalid", err)
			}

			if len(e.fingerprints(t)) != 0 || len(e.files(t)) != 0 {
				t.Fatalf("got images %v, files %v, want nothing stored", e.fingerprints(t), e.files(t))
			}
		})
	}
}
