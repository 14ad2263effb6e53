package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeStorage answers the storage endpoints from testdata/storage-*.json, the stock daemon's answers the
// testdata/stock-storage-* golden files were printed from, and records the requests that change something.
type fakeStorage struct {
	t        *testing.T
	mu       sync.Mutex
	requests []string
	ifMatch  map[string]string
	devices  map[string]map[string]string
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}

	return raw
}

func newFakeStorage(t *testing.T) (*fakeStorage, string) {
	t.Helper()
	f := &fakeStorage{t: t, ifMatch: map[string]string{}, devices: map[string]map[string]string{}}
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, sock
}

func (f *fakeStorage) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// rawReply answers with metadata already encoded.
func rawReply(w http.ResponseWriter, md []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"e1"`)
	_, _ = w.Write([]byte(`{"type":"sync","status":"Success","status_code":200,"metadata":`))
	_, _ = w.Write(md)
	_, _ = w.Write([]byte("}"))
}

func (f *fakeStorage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p := r.URL.EscapedPath()
	if r.Method != http.MethodGet {
		f.mu.Lock()
		f.requests = append(f.requests, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		f.ifMatch[r.Method+" "+p] = r.Header.Get("If-Match")
		if p == "/1.0/instances/i1" {
			var put api.InstancePut
			_ = json.Unmarshal(body, &put)
			f.devices = put.Devices
		}

		f.mu.Unlock()
	}

	switch {
	case p == "/1.0":
		fakeReply(w, 200, map[string]any{"auth": "trusted", "api_extensions": []string{"storage", "resources",
			"storage_volume_state", "storage_api_volume_rename", "storage_api_local_volume_handling",
			"storage_api_volume_snapshots", "custom_volume_refresh"}, "environment": map[string]any{"server_name": "none"}})
	case r.Method == http.MethodGet && p == "/1.0/storage-pools":
		rawReply(w, readTestdata(f.t, "storage-pools.json"))
	case r.Method == http.MethodGet && p == "/1.0/storage-pools/gold":
		rawReply(w, readTestdata(f.t, "storage-pool-gold.json"))
	case r.Method == http.MethodGet && p == "/1.0/storage-pools/gold/resources":
		rawReply(w, readTestdata(f.t, "storage-pool-gold-resources.json"))
	case r.Method == http.MethodGet && p == "/1.0/storage-pools/gold/volumes":
		rawReply(w, readTestdata(f.t, "storage-volumes-gold.json"))
	case r.Method == http.MethodGet && p == "/1.0/storage-pools/gold/volumes/custom/data/state":
		fakeReply(w, 200, api.StorageVolumeState{Usage: &api.StorageVolumeStateUsage{Used: 3 << 20, Total: 1 << 30}})
	case r.Method == http.MethodGet && p == "/1.0/storage-pools/gold/volumes/custom/data/snapshots":
		expiry := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
		fakeReply(w, 200, []api.StorageVolumeSnapshot{
			{Name: "snap10", StorageVolumeSnapshotPut: api.StorageVolumeSnapshotPut{Description: "later", ExpiresAt: &expiry}},
			{Name: "snap9", StorageVolumeSnapshotPut: api.StorageVolumeSnapshotPut{ExpiresAt: &time.Time{}}},
		})
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/1.0/storage-pools/gold/volumes/custom/"):
		var vols []api.StorageVolume
		_ = json.Unmarshal(readTestdata(f.t, "storage-volumes-gold.json"), &vols)
		name := strings.TrimPrefix(p, "/1.0/storage-pools/gold/volumes/custom/")
		for _, v := range vols {
			if v.Name == name {
				w.Header().Set("ETag", `"e1"`)
				fakeReply(w, 200, v)
				return
			}
		}

		fakeFail(w, http.StatusNotFound, "Storage pool volume not found")
	case r.Method == http.MethodGet && p == "/1.0/instances/i1":
		w.Header().Set("ETag", `"i1"`)
		fakeReply(w, 200, api.Instance{Name: "i1", InstancePut: api.InstancePut{Devices: map[string]map[string]string{
			"data": {"type": "disk", "pool": "gold", "source": "data", "path": "/mnt/data"}}}})
	case r.Method == http.MethodGet:
		fakeFail(w, http.StatusNotFound, "Storage pool not found")
	case strings.Contains(p, "/snapshots") || (r.Method == http.MethodPost && strings.HasSuffix(p, "/volumes/custom")) || p == "/1.0/instances/i1":
		finalOp(w, "")
	default:
		fakeReply(w, 200, nil)
	}
}

// runStorage runs one lxc storage command against the socket sock and returns its output, stdout and stderr.
func runStorage(t *testing.T, sock string, stdin string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	yml := "default-remote: local\nremotes:\n  local:\n    addr: unix://" + sock + "\n    public: false\n"
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand((&cmdStorage{global: global}).command())
	root.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "")
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

// TestStorageStockGolden prints what testdata/stock-storage-* show the stock client printing from the same answers.
func TestStorageStockGolden(t *testing.T) {
	_, sock := newFakeStorage(t)
	tests := []struct {
		golden string
		args   []string
	}{
		{"stock-storage-list.table", []string{"storage", "list"}},
		{"stock-storage-list.csv", []string{"storage", "list", "-f", "csv"}},
		{"stock-storage-list.json", []string{"storage", "list", "-f", "json"}},
		{"stock-storage-list.yaml", []string{"storage", "list", "--format=yaml"}},
		{"stock-storage-list.compact", []string{"storage", "ls", "local:", "-f", "compact"}},
		{"stock-storage-show-gold.yaml", []string{"storage", "show", "gold"}},
		{"stock-storage-info-gold.txt", []string{"storage", "info", "local:gold"}},
		{"stock-storage-volume-list-gold.table", []string{"storage", "volume", "list", "gold"}},
		{"stock-storage-volume-list-gold.csv", []string{"storage", "volume", "list", "gold", "-f", "csv"}},
		{"stock-storage-volume-list-gold.compact", []string{"storage", "volume", "ls", "gold", "-f", "compact"}},
		{"stock-storage-volume-list-gold-nt.csv", []string{"storage", "volume", "list", "gold", "-f", "csv", "-c", "nt"}},
	}

	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := runStorage(t, sock, "", tt.args...)
			if err != nil {
				t.Fatal(err)
			}

			want := string(readTestdata(t, tt.golden))
			if got != want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestStorageChanges(t *testing.T) {
	tests := []struct {
		args []string
		out  string
		want []string
	}{
		{[]string{"storage", "create", "p9", "dir", "source=/x", "user.a="}, "Storage pool p9 created\n",
			[]string{`POST /1.0/storage-pools {"config":{"source":"/x","user.a":""},"description":"","name":"p9","driver":"dir"}`}},
		{[]string{"storage", "set", "gold", "user.owner", "dev"}, "",
			[]string{`PUT /1.0/storage-pools/gold {"config":{"source":"/tmp/stx/g1","user.owner":"dev"},"description":"Golden pool"}`}},
		{[]string{"storage", "unset", "gold", "user.owner"}, "",
			[]string{`PUT /1.0/storage-pools/gold {"config":{"source":"/tmp/stx/g1","user.owner":""},"description":"Golden pool"}`}},
		{[]string{"storage", "create", "p9", "dir", "--target", "none"}, "Storage pool p9 pending on member none\n",
			[]string{`POST /1.0/storage-pools {"config":{},"description":"","name":"p9","driver":"dir"}`}},
		{[]string{"storage", "rm", "gold"}, "Storage pool gold deleted\n", []string{"DELETE /1.0/storage-pools/gold"}},
		{[]string{"storage", "volume", "create", "gold", "custom/v2", "--type", "block"}, "Storage volume custom/v2 created\n",
			[]string{`POST /1.0/storage-pools/gold/volumes/custom {"config":{},"description":"","name":"v2","type":"custom",` +
				`"source":{"name":"","type":"","pool":"","certificate":"","volume_only":false,"refresh":false},"content_type":"block"}`}},
		{[]string{"storage", "volume", "set", "gold", "data", "user.b=2"}, "",
			[]string{`PUT /1.0/storage-pools/gold/volumes/custom/data {"config":{"user.a":"1","user.b":"2"},"description":"Data volume"}`}},
		{[]string{"storage", "volume", "snapshot", "gold", "data", "s1", "--no-expiry"}, "",
			[]string{`POST /1.0/storage-pools/gold/volumes/custom/data/snapshots {"name":"s1","expires_at":"0001-01-01T00:00:00Z"}`}},
		{[]string{"storage", "volume", "restore", "gold", "data", "keep"}, "",
			[]string{`PUT /1.0/storage-pools/gold/volumes/custom/data {"config":null,"description":"","restore":"keep"}`}},
		{[]string{"storage", "volume", "rename", "gold", "data/keep", "data/kept"}, "Renamed storage volume from \"data/keep\" to \"kept\"\n",
			[]string{`POST /1.0/storage-pools/gold/volumes/custom/data/snapshots/keep {"name":"kept"}`}},
		{[]string{"storage", "volume", "delete", "gold", "data/keep"}, "Storage volume data/keep deleted\n",
			[]string{"DELETE /1.0/storage-pools/gold/volumes/custom/data/snapshots/keep"}},
		{[]string{"storage", "volume", "move", "gold/raw", "gold-2/raw2"}, "Storage volume moved successfully!\n",
			[]string{`POST /1.0/storage-pools/gold-2/volumes/custom {"config":{"size":"16MiB"},"description":"","name":"raw2","type":"custom",` +
				`"source":{"name":"raw","type":"copy","pool":"gold","certificate":"","volume_only":false,"refresh":false},"content_type":"block"}`,
				"DELETE /1.0/storage-pools/gold/volumes/custom/raw"}},
	}

	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, sock := newFakeStorage(t)
			out, err := runStorage(t, sock, "", tt.args...)
			if err != nil {
				t.Fatal(err)
			}

			if out != tt.out {
				t.Fatalf("got output %q, want %q", out, tt.out)
			}

			if !slices.Equal(f.log(), tt.want) {
				t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(f.log(), "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStorageVolumeAttachDetach(t *testing.T) {
	f, sock := newFakeStorage(t)
	_, err := runStorage(t, sock, "", "storage", "volume", "attach", "gold", "vol9", "i1", "/mnt/v9")
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"type": "disk", "pool": "gold", "source": "vol9", "path": "/mnt/v9"}
	if !maps.Equal(f.devices["vol9"], want) || len(f.devices) != 2 {
		t.Fatalf("got devices %v, want data and vol9 %v", f.devices, want)
	}

	if f.ifMatch["PUT /1.0/instances/i1"] != `"i1"` {
		t.Fatalf("instance update sent If-Match %q, want its ETag", f.ifMatch["PUT /1.0/instances/i1"])
	}

	_, err = runStorage(t, sock, "", "storage", "volume", "attach", "gold", "vol9", "i1", "blk", "/mnt/b")
	if err != nil || f.devices["blk"]["source"] != "vol9" || f.devices["blk"]["path"] != "/mnt/b" {
		t.Fatalf("got devices %v (%v), want blk for vol9 at /mnt/b", f.devices, err)
	}

	_, err = runStorage(t, sock, "", "storage", "volume", "detach", "gold", "data", "i1")
	if err != nil || len(f.devices) != 0 {
		t.Fatalf("got devices %v (%v), want none", f.devices, err)
	}

	errors := []struct {
		args []string
		want string
	}{
		{[]string{"attach", "gold", "data", "i1", "/again"}, "the device already exists"},
		{[]string{"attach", "gold", "container/i1", "i1", "/x"}, `only "custom" volumes can be attached to instances`},
		{[]string{"detach", "gold", "vol9", "i1"}, "no device found for this storage volume"},
		{[]string{"detach", "gold", "data", "i1", "nodev"}, "the specified device doesn't exist"},
		{[]string{"attach", "gold", "data"}, "invalid number of arguments"},
	}

	for _, tt := range errors {
		n := len(f.log())
		_, err := runStorage(t, sock, "", append([]string{"storage", "volume"}, tt.args...)...)
		if err == nil || err.Error() != tt.want {
			t.Fatalf("%v: got %v, want %q", tt.args, err, tt.want)
		}

		if len(f.log()) != n {
			t.Fatalf("%v: requests %v sent by a refused command", tt.args, f.log()[n:])
		}
	}
}

func TestStorageETags(t *testing.T) {
	f, sock := newFakeStorage(t)
	for _, args := range [][]string{{"set", "gold", "user.x=1"}, {"volume", "set", "gold", "data", "user.x=1"}} {
		_, err := runStorage(t, sock, "", append([]string{"storage"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
	}

	// As the stock client: the pool is written without its ETag, a volume with it.
	if f.ifMatch["PUT /1.0/storage-pools/gold"] != "" || f.ifMatch["PUT /1.0/storage-pools/gold/volumes/custom/data"] != `"e1"` {
		t.Fatalf("If-Match headers %v", f.ifMatch)
	}
}

func TestStorageRefusals(t *testing.T) {
	f, sock := newFakeStorage(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"create", "p9", "dir", "novalue"}, "bad key=value pair: [novalue]"},
		{[]string{"set", "gold", "user.a=1", "user.b", "2"}, "invalid key=value configuration: user.b"},
		{[]string{"show", "local:"}, "missing pool name"},
		{[]string{"show", "nope"}, "Storage pool not found"},
		{[]string{"get", "gold"}, "invalid number of arguments"},
		{[]string{"show", "gold", "--target", "member1"}, "cluster member not found"},
		{[]string{"info", "gold", "--target", "none"}, "to use --target, the destination remote must be a cluster"},
		{[]string{"volume", "create", "gold", "v", "novalue"}, "bad key=value pair: [novalue]"},
		{[]string{"volume", "show", "gold", "a/b/c"}, "invalid snapshot name"},
		{[]string{"volume", "info", "gold", "data/keep"}, "only instance or custom volumes are supported"},
		{[]string{"volume", "info", "gold", "image/abc"}, "only instance or custom volumes are supported"},
		{[]string{"volume", "list", "gold", "-c", "L"}, "can't specify column L when not clustered"},
		{[]string{"volume", "list", "gold", "-c", "nz"}, "unknown column shorthand char 'z' in 'nz'"},
		{[]string{"volume", "rename", "gold", "data/keep", "other/kept"}, "invalid new snapshot name, parent volume must be the same as source"},
		{[]string{"volume", "rename", "gold", "data/keep", "kept"}, "invalid new snapshot name, parent volume must be the same as source"},
		{[]string{"volume", "rename", "gold", "data/keep", "data"}, "invalid new snapshot name"},
		{[]string{"volume", "set", "gold", "data/keep", "user.x=1"}, "snapshots are read-only and can't have their configuration changed"},
		{[]string{"volume", "unset", "gold", "data/keep", "user.x"}, "snapshots are read-only and can't have their configuration changed"},
		{[]string{"volume", "snapshot", "gold", "container/i1"}, `only "custom" volumes can be snapshotted`},
		{[]string{"volume", "copy", "data", "gold/x"}, "no storage pool for source volume specified"},
		{[]string{"volume", "copy", "gold/data", "x"}, "no storage pool for target volume specified"},
		{[]string{"volume", "copy", "gold/data", "gold/x", "--mode", "teleport"}, `invalid transfer mode "teleport": one of pull, push or relay`},
		{[]string{"volume", "move", "gold/data/keep", "gold/x"}, "a snapshot cannot be moved, copy it instead"},
		{[]string{"volume", "copy", "gold/nope", "gold/x"}, "Storage pool volume not found"},
	}

	for _, tt := range tests {
		_, err := runStorage(t, sock, "", append([]string{"storage"}, tt.args...)...)
		if err == nil || err.Error() != tt.want {
			t.Fatalf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}

	if len(f.log()) != 0 {
		t.Fatalf("requests %v sent by refused commands", f.log())
	}
}

func TestParseVolume(t *testing.T) {
	tests := []struct {
		arg, name, volType string
	}{
		{"v1", "v1", "custom"},
		{"custom/v1", "v1", "custom"},
		{"container/c1", "c1", "container"},
		{"virtual-machine/vm", "vm", "virtual-machine"},
		{"image/abc", "abc", "image"},
		{"v1/snap0", "v1/snap0", "custom"},
		{"custom/v1/snap0", "v1/snap0", "custom"},
		{"other/v1", "other/v1", "custom"},
	}

	for _, tt := range tests {
		name, volType := parseVolume("custom", tt.arg)
		if name != tt.name || volType != tt.volType {
			t.Errorf("parseVolume(%q) = %q, %q, want %q, %q", tt.arg, name, volType, tt.name, tt.volType)
		}
	}
}

func TestPoolUsedBy(t *testing.T) {
	got := poolUsedBy([]string{
		"/1.0/instances/c1",
		"/1.0/instances/c2?project=p",
		"/1.0/profiles/default",
		"/1.0/storage-pools/gold/volumes/custom/data",
		"/1.0/storage-pools/gold/volumes/custom/data/snapshots/s1",
		"/1.0/images/abc",
		"weird",
	})

	want := map[string][]string{
		"instances":    {"c1", `c2 (project "p")`},
		"profiles":     {"default"},
		"volumes":      {"data", "data"},
		"images":       {"abc"},
		"unrecognized": {"weird"},
	}

	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Fatalf("%s: got %v, want %v", k, got[k], v)
		}
	}
}

func TestStorageVolumeInfo(t *testing.T) {
	_, sock := newFakeStorage(t)
	got, err := runStorage(t, sock, "", "storage", "volume", "info", "gold", "data")
	if err != nil {
		t.Fatal(err)
	}

	head := `Name: data
Description: Data volume
Type: custom
Content type: filesystem
Usage: 3.00MiB
Total: 1.00GiB

Snapshots:
`
	expires := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC).Local().Format("2006/01/02 15:04 MST")
	rows := [][]string{{"snap9", "", ""}, {"snap10", "later", expires}}
	want := head + drawTable([]string{"NAME", "DESCRIPTION", "EXPIRES AT"}, rows, true)
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}

	// As the stock client: what the daemon cannot tell is an error, not an empty answer.
	_, err = runStorage(t, sock, "", "storage", "volume", "info", "gold", "vol9")
	if err == nil {
		t.Fatal("info without the volume's state succeeded")
	}
}
