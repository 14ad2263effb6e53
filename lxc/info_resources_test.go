package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// TestInfoResourcesStockGolden renders testdata/resources-<case>.json as testdata/stock-info-resources-<case>.txt
// shows the stock 5.0.2 client printing the same resources, served to it by a fake server ("host" is what the stock
// daemon answered on a test machine).
func TestInfoResourcesStockGolden(t *testing.T) {
	for _, name := range []string{"host", "rich", "single", "empty"} {
		t.Run(name, func(t *testing.T) {
			res := loadResources(t, name)
			want, err := os.ReadFile(filepath.Join("testdata", "stock-info-resources-"+name+".txt"))
			if err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			renderResources(&out, res)
			if out.String() != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}

// loadResources reads testdata/resources-<name>.json.
func loadResources(t *testing.T, name string) *api.Resources {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "resources-"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}

	res := &api.Resources{}
	err = json.Unmarshal(raw, res)
	if err != nil {
		t.Fatal(err)
	}

	return res
}

func TestByteSizeIEC(t *testing.T) {
	tests := []struct {
		n         int64
		precision int
		want      string
	}{
		{0, 2, "0B"}, {1023, 2, "1023B"}, {1024, 2, "1.00KiB"}, {49152, 0, "48KiB"}, {503316480, 0, "480MiB"},
		{274877906944, 2, "256.00GiB"}, {1000204886016, 2, "931.51GiB"}, {1 << 40, 2, "1.00TiB"},
	}

	for _, tt := range tests {
		got := byteSizeIEC(tt.n, tt.precision)
		if got != tt.want {
			t.Errorf("byteSizeIEC(%d, %d): got %q, want %q", tt.n, tt.precision, got, tt.want)
		}
	}
}

// serveResources answers GET /1.0 with the given API extensions and GET /1.0/resources with res on a unix socket,
// and returns a configuration directory whose default remote is that socket.
func serveResources(t *testing.T, extensions []string, res *api.Resources) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		fakeReply(w, http.StatusOK, api.Server{ServerUntrusted: api.ServerUntrusted{APIExtensions: extensions,
			APIStatus: "stable", APIVersion: "1.0", Auth: "trusted", AuthMethods: []string{"tls"}}})
	})
	mux.HandleFunc("GET /1.0/resources", func(w http.ResponseWriter, r *http.Request) {
		fakeReply(w, http.StatusOK, res)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	conf := filepath.Join(dir, "conf")
	err = os.MkdirAll(conf, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	yml := fmt.Sprintf("default-remote: local\nremotes:\n  local:\n    addr: unix://%s\n    public: false\n", sock)
	err = os.WriteFile(filepath.Join(conf, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	return conf
}

// runInfo runs "lxc info" with args against the configuration in dir.
func runInfo(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand((&cmdInfo{global: global}).command())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"info"}, args...))
	err = root.Execute()
	return out.String(), err
}

func TestInfoResourcesCommand(t *testing.T) {
	res := loadResources(t, "rich")
	want, err := os.ReadFile(filepath.Join("testdata", "stock-info-resources-rich.txt"))
	if err != nil {
		t.Fatal(err)
	}

	dir := serveResources(t, []string{"resources", "resources_v2"}, res)
	out, err := runInfo(t, dir, "--resources")
	if err != nil || out != string(want) {
		t.Fatalf("got %v:\n%s\nwant:\n%s", err, out, want)
	}

	out, err = runInfo(t, dir, "local:", "--resources")
	if err != nil || out != string(want) {
		t.Fatalf("with a remote: got %v:\n%s\nwant:\n%s", err, out, want)
	}

	refused := []struct {
		name string
		dir  string
		args []string
		want string
	}{
		{"no v2 extension", serveResources(t, []string{"resources"}, res), []string{"--resources"},
			"the server doesn't implement the newer v2 resources API"},
		{"instance name", dir, []string{"c1", "--resources"},
			"--resources shows the server's resources and takes no instance name"},
		{"bad value", dir, []string{"--resources=maybe"}, `invalid argument "maybe" for "--resources" flag`},
	}

	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runInfo(t, tt.dir, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v (output %q), want an error containing %q", err, out, tt.want)
			}
		})
	}
}
