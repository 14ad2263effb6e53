package client

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// newLogsTestServer serves /1.0 with the given extensions and the logs of instance c1 on a unix socket.
func newLogsTestServer(t *testing.T, extensions []string) InstanceServer {
	t.Helper()
	reply := func(w http.ResponseWriter, code int, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		env := map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": md}
		if code != http.StatusOK {
			env = map[string]any{"type": "error", "error_code": code, "error": md}
		}

		_ = json.NewEncoder(w).Encode(env)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"api_extensions": extensions, "auth": "trusted"})
	})

	mux.HandleFunc("GET /1.0/instances/c1/logs", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, []string{"/1.0/instances/c1/logs/lxc.conf", "/1.0/instances/c1/logs/lxc.log"})
	})

	mux.HandleFunc("GET /1.0/instances/c1/logs/lxc.log", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "started\n")
	})

	mux.HandleFunc("GET /1.0/instances/c1/console", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "login: ")
	})

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, "not found")
	})

	socket := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewUnstartedServer(mux)
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)

	c, err := ConnectLXDUnix(socket, nil)
	if err != nil {
		t.Fatal(err)
	}

	return c
}

func TestInstanceLogfiles(t *testing.T) {
	c := newLogsTestServer(t, []string{"instances", "console"})
	names, err := c.GetInstanceLogfiles("c1")
	if err != nil {
		t.Fatal(err)
	}

	if len(names) != 2 || names[0] != "lxc.conf" || names[1] != "lxc.log" {
		t.Fatalf("got %v, want [lxc.conf lxc.log]", names)
	}

	tests := []struct {
		name    string
		read    func() (io.ReadCloser, error)
		want    string
		wantErr int
	}{
		{name: "log", read: func() (io.ReadCloser, error) { return c.GetInstanceLogfile("c1", "lxc.log") }, want: "started\n"},
		{name: "missing log", read: func() (io.ReadCloser, error) { return c.GetInstanceLogfile("c1", "exec_x.stdout") }, wantErr: 404},
		{name: "console", read: func() (io.ReadCloser, error) { return c.GetInstanceConsoleLog("c1") }, want: "login: "},
		{name: "console of a missing instance", read: func() (io.ReadCloser, error) { return c.GetInstanceConsoleLog("c2") }, wantErr: 404},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.read()
			if tt.wantErr != 0 {
				if !api.StatusErrorCheck(err, tt.wantErr) {
					t.Fatalf("got error %v, want status %d", err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			defer func() { _ = r.Close() }()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}

			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsoleNeedsExtension(t *testing.T) {
	c := newLogsTestServer(t, []string{"instances"})
	_, err := c.GetInstanceConsoleLog("c1")
	if err == nil {
		t.Fatal("reading the console log of a server without the console extension succeeded")
	}

	_, err = c.ConsoleInstance("c1", api.InstanceConsolePost{}, &InstanceConsoleArgs{})
	if err == nil {
		t.Fatal("attaching to a console of a server without the console extension succeeded")
	}
}
