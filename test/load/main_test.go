package main

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}

	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", []time.Duration{ms(7)}, 50, ms(7)},
		{"p50 of 100", hundred, 50, ms(50)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p100 of 100", hundred, 100, ms(100)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := percentile(tt.sorted, tt.p)
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeDaemon answers the requests of the load test like a daemon would, breaking what its fields say.
type fakeDaemon struct {
	// failPath answers 500 on this path.
	failPath string

	// loseEdits accepts conditional PATCHes without keeping them.
	loseEdits bool

	mu    sync.Mutex
	props map[string]string
	etag  int
}

func (f *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	reply := func(code int, body map[string]any) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == f.failPath:
		reply(500, map[string]any{"type": "error", "error_code": 500, "error": "broken"})
	case strings.HasSuffix(r.URL.Path, "/wait"):
		reply(200, map[string]any{"type": "sync", "metadata": map[string]any{"status": "Success"}})
	case r.Method == "POST" && r.URL.Path == "/1.0/instances", r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/1.0/instances/"):
		reply(202, map[string]any{"type": "async", "operation": "/1.0/operations/1"})
	case strings.HasPrefix(r.URL.Path, "/1.0/images/fp") && r.Method == "GET":
		w.Header().Set("ETag", `"`+string(rune('a'+f.etag%26))+`"`)
		reply(200, map[string]any{"type": "sync", "metadata": map[string]any{"properties": f.props}})
	case r.Method == "PATCH":
		if r.Header.Get("If-Match") != `"`+string(rune('a'+f.etag%26))+`"` {
			reply(412, map[string]any{"type": "error", "error_code": 412, "error": "ETag doesn't match"})
			return
		}

		var body struct {
			Properties map[string]string `json:"properties"`
		}

		_ = json.NewDecoder(r.Body).Decode(&body)
		if !f.loseEdits {
			for k, v := range body.Properties {
				f.props[k] = v
			}
		}

		f.etag++
		reply(200, map[string]any{"type": "sync"})
	default:
		reply(200, map[string]any{"type": "sync", "metadata": map[string]any{}})
	}
}

// serveFake serves f on a unix socket and returns its path.
func serveFake(t *testing.T, f *fakeDaemon) string {
	t.Helper()
	f.props = map[string]string{}
	sock := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		fake       *fakeDaemon
		wantFailed bool
		wantKind   string
	}{
		{"healthy", &fakeDaemon{}, false, ""},
		{"server error", &fakeDaemon{failPath: "/1.0/profiles"}, true, "list-profiles/unix"},
		{"lost edits", &fakeDaemon{loseEdits: true}, true, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := serveFake(t, tt.fake)
			cfg := config{socket: sock, image: "fp", clients: 8, duration: 300 * time.Millisecond, writes: 50, instances: 2}
			res, err := run(cfg)
			if err != nil {
				t.Fatal(err)
			}

			var out strings.Builder
			res.print(&out)
			if res.failed() != tt.wantFailed {
				t.Fatalf("got failed %v, want %v:\n%s", res.failed(), tt.wantFailed, out.String())
			}

			if tt.wantKind != "" && res.kinds[tt.wantKind].errors == 0 {
				t.Fatalf("got no errors for %s:\n%s", tt.wantKind, out.String())
			}

			for _, kind := range []string{"get-server/unix", "patch-image/unix", "create-instance-wait/unix", "delete-alias/unix"} {
				if res.kinds[kind] == nil {
					t.Fatalf("no %s request was made:\n%s", kind, out.String())
				}
			}

			if !strings.Contains(out.String(), "p99: ") {
				t.Fatalf("got no p99 line:\n%s", out.String())
			}
		})
	}
}
