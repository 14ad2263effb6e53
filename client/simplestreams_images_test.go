package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
	"github.com/lxd-go/lxd/simplestreams"
)

// streamServer serves a simplestreams tree of one unified image; mode makes it answer otherwise.
type streamServer struct {
	ts      *httptest.Server
	certPEM string
	fp      string
	file    []byte

	mu   sync.Mutex
	mode string
	docs map[string][]byte
}

func newStreamServer(t *testing.T) *streamServer {
	t.Helper()
	file := bytes.Repeat([]byte("unified image "), 1000)
	sum := sha256.Sum256(file)
	fp := hex.EncodeToString(sum[:])
	img := api.Image{Fingerprint: fp, Architecture: osarch.Host(), Type: "container",
		CreatedAt: time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC), Aliases: []api.ImageAlias{{Name: "bb"}},
		ImagePut: api.ImagePut{Public: true, Properties: map[string]string{"os": "Busybox"}}}
	index, products := simplestreams.Build([]simplestreams.SourceImage{
		{Image: img, Meta: simplestreams.FileInfo{Name: "bb.tar.gz", SHA256: fp, Size: int64(len(file))}},
	})

	s := &streamServer{fp: fp, file: file, mode: "ok", docs: map[string][]byte{}}
	for p, v := range map[string]any{simplestreams.IndexPath: index, simplestreams.ProductsPath: products} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}

		s.docs["/"+p] = data
	}

	s.ts = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.ts.Close)
	s.certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw}))
	return s
}

func (s *streamServer) setMode(mode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
}

func (s *streamServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	mode := s.mode
	s.mu.Unlock()
	switch mode {
	case "404":
		http.NotFound(w, r)
		return
	case "garbage":
		_, _ = w.Write([]byte("<html>maintenance</html>"))
		return
	}

	data, ok := s.docs[r.URL.Path]
	if ok {
		_, _ = w.Write(data)
		return
	}

	if r.URL.Path == "/"+simplestreams.ItemPath(s.fp, "bb.tar.gz") {
		_, _ = w.Write(s.file)
		return
	}

	http.NotFound(w, r)
}

func (s *streamServer) connect(t *testing.T, cert string, cacheDir string) *ProtocolSimpleStreams {
	t.Helper()
	c, err := ConnectSimpleStreams(s.ts.URL, &ConnectionArgs{TLSServerCert: cert})
	if err != nil {
		t.Fatal(err)
	}

	if cacheDir != "" {
		c.SetCacheDir(cacheDir)
	}

	return c
}

func TestSimpleStreamsCache(t *testing.T) {
	s := newStreamServer(t)
	cache := filepath.Join(t.TempDir(), "cache")

	// An online read fills the cache and does not come from it.
	c := s.connect(t, s.certPEM, cache)
	alias, _, err := c.GetImageAlias("bb")
	if err != nil {
		t.Fatal(err)
	}

	if alias.Target != s.fp {
		t.Fatalf("alias target: got %s, want %s", alias.Target, s.fp)
	}

	_, cached := c.CachedAt()
	if cached {
		t.Fatal("an online read reports the cache")
	}

	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".json") {
		t.Fatalf("cache directory: got %v, %v", entries, err)
	}

	tests := []struct {
		name     string
		mode     string
		cert     string
		cacheDir string
		wantErr  string
	}{
		{name: "server answers 404", mode: "404", cert: s.certPEM, cacheDir: cache, wantErr: "Not Found"},
		{name: "server answers garbage", mode: "garbage", cert: s.certPEM, cacheDir: cache, wantErr: "invalid"},
		{name: "offline without a cache", mode: "closed", cert: s.certPEM, wantErr: "connect"},
		{name: "offline, other certificate", mode: "closed", cert: "", cacheDir: cache, wantErr: "connect"},
		{name: "offline with the cache", mode: "closed", cert: s.certPEM, cacheDir: cache},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode == "closed" {
				s.ts.Close()
			} else {
				s.setMode(tt.mode)
			}

			c := s.connect(t, tt.cert, tt.cacheDir)
			alias, _, err := c.GetImageAlias("bb")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if alias.Target != s.fp {
				t.Fatalf("alias target from the cache: got %s, want %s", alias.Target, s.fp)
			}

			at, cached := c.CachedAt()
			if !cached || time.Since(at) > time.Minute {
				t.Fatalf("cache time: got %v %v", at, cached)
			}

			img, _, err := c.GetImage(s.fp[:12])
			if err != nil || img.Fingerprint != s.fp {
				t.Fatalf("image from the cache: got %v, %v", img, err)
			}
		})
	}
}

func TestSimpleStreamsImageFileChecks(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(s *streamServer)
		wantErr string
	}{
		{name: "intact"},
		{name: "file bytes differ", wantErr: "hash mismatch", tamper: func(s *streamServer) { s.file[0] ^= 1 }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStreamServer(t)
			want := append([]byte{}, s.file...)
			if tt.tamper != nil {
				tt.tamper(s)
			}

			c := s.connect(t, s.certPEM, "")
			var buf bytes.Buffer
			_, err := c.GetImageFile(s.fp, ImageFileRequest{MetaFile: &buf})
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("got %v, content equal %v", err, bytes.Equal(buf.Bytes(), want))
				}

				return
			}

			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
