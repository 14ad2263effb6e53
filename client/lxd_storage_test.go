package client

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// storageTestServer answers the storage endpoints with canned data and records "METHOD path?query body" for each
// request. Volume changes answer with operations that are already final, as a finished operation of the daemon.
type storageTestServer struct {
	mu       sync.Mutex
	requests []string
	ifMatch  []string
	failOp   string
}

func (s *storageTestServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func newStorageTestServer(t *testing.T, extensions []string) (InstanceServer, *storageTestServer) {
	t.Helper()
	s := &storageTestServer{}
	reply := func(w http.ResponseWriter, code int, typ string, md any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"etag-1"`)
		w.WriteHeader(code)
		env := map[string]any{"type": typ, "status": "Success", "status_code": 200, "metadata": md}
		if code >= 400 {
			env = map[string]any{"type": "error", "error_code": code, "error": md}
		}

		_ = json.NewEncoder(w).Encode(env)
	}

	finalOp := func(w http.ResponseWriter, errMsg string) {
		op := api.Operation{ID: "op1", Class: "task", Status: "Success", StatusCode: api.Success}
		if errMsg != "" {
			op.Status, op.StatusCode, op.Err = "Failure", api.Failure, errMsg
		}

		reply(w, http.StatusAccepted, "async", op)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /1.0", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, "sync", map[string]any{"api_extensions": extensions, "auth": "trusted"})
	})

	mux.HandleFunc("/1.0/storage-pools/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+strings.TrimSpace(string(body))))
		s.ifMatch = append(s.ifMatch, r.Header.Get("If-Match"))
		failOp := s.failOp
		s.mu.Unlock()
		p := strings.TrimPrefix(r.URL.EscapedPath(), "/1.0/storage-pools/")
		switch {
		case r.Method == http.MethodGet && p == "p1":
			reply(w, http.StatusOK, "sync", api.StoragePool{Name: "p1", Driver: "dir", Status: "Created"})
		case r.Method == http.MethodGet && p == "p1/resources":
			reply(w, http.StatusOK, "sync", api.ResourcesStoragePool{Space: api.ResourcesStoragePoolSpace{Used: 1, Total: 2}})
		case r.Method == http.MethodGet && p == "p1/volumes":
			reply(w, http.StatusOK, "sync", []string{"/1.0/storage-pools/p1/volumes/custom/v1", "/1.0/storage-pools/p1/volumes/container/c%2F1"})
		case r.Method == http.MethodGet && p == "p1/volumes/custom/v1":
			reply(w, http.StatusOK, "sync", api.StorageVolume{Name: "v1", Type: "custom", ContentType: "filesystem"})
		case r.Method == http.MethodGet && p == "p1/volumes/custom/v1/state":
			reply(w, http.StatusOK, "sync", api.StorageVolumeState{Usage: &api.StorageVolumeStateUsage{Used: 42}})
		case r.Method == http.MethodGet && p == "p1/volumes/custom/v1/snapshots":
			reply(w, http.StatusOK, "sync", []string{"/1.0/storage-pools/p1/volumes/custom/v1/snapshots/s1"})
		case r.Method == http.MethodGet && p == "p1/volumes/custom/v1/snapshots/s1":
			reply(w, http.StatusOK, "sync", api.StorageVolumeSnapshot{Name: "s1"})
		case r.Method == http.MethodGet && strings.HasPrefix(p, "nope"):
			reply(w, http.StatusNotFound, "", "Storage pool not found")
		case r.Method == http.MethodGet:
			reply(w, http.StatusOK, "sync", []api.StorageVolume{{Name: "v1"}})
		case strings.Contains(p, "/volumes/") && r.Method != http.MethodPut:
			finalOp(w, failOp)
		default:
			reply(w, http.StatusOK, "sync", nil)
		}
	})

	mux.HandleFunc("/1.0/storage-pools", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+strings.TrimSpace(string(body))))
		s.ifMatch = append(s.ifMatch, r.Header.Get("If-Match"))
		s.mu.Unlock()
		switch {
		case r.Method == http.MethodPost:
			reply(w, http.StatusOK, "sync", nil)
		case r.URL.Query().Get("recursion") == "1":
			reply(w, http.StatusOK, "sync", []api.StoragePool{{Name: "p1"}, {Name: "p2"}})
		default:
			reply(w, http.StatusOK, "sync", []string{"/1.0/storage-pools/p1", "/1.0/storage-pools/p%202"})
		}
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

	return c, s
}

var storageExtensions = []string{"storage", "resources", "storage_volume_state", "storage_api_volume_rename",
	"storage_api_local_volume_handling", "storage_api_volume_snapshots", "custom_volume_refresh"}

func TestStoragePools(t *testing.T) {
	c, s := newStorageTestServer(t, storageExtensions)
	names, err := c.GetStoragePoolNames()
	if err != nil || !slices.Equal(names, []string{"p1", "p 2"}) {
		t.Fatalf("got %v (%v), want [p1 p 2]", names, err)
	}

	pools, err := c.GetStoragePools()
	if err != nil || len(pools) != 2 || pools[1].Name != "p2" {
		t.Fatalf("got %+v (%v), want p1 and p2", pools, err)
	}

	pool, etag, err := c.GetStoragePool("p1")
	if err != nil || pool.Driver != "dir" || etag != "etag-1" {
		t.Fatalf("got %+v %q (%v), want the dir pool p1 with its ETag", pool, etag, err)
	}

	res, err := c.GetStoragePoolResources("p1")
	if err != nil || res.Space.Total != 2 {
		t.Fatalf("got %+v (%v), want total 2", res, err)
	}

	err = c.CreateStoragePool(api.StoragePoolsPost{Name: "p3", Driver: "dir", StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": "/x"}}})
	if err != nil {
		t.Fatal(err)
	}

	err = c.UpdateStoragePool("p1", api.StoragePoolPut{Description: "d"}, "etag-1")
	if err != nil {
		t.Fatal(err)
	}

	err = c.DeleteStoragePool("p1")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.GetStoragePool("nope")
	if !api.StatusErrorCheck(err, http.StatusNotFound) || err.Error() != "Storage pool not found" {
		t.Fatalf("got %v, want the daemon's 404", err)
	}

	want := []string{
		"GET /1.0/storage-pools",
		"GET /1.0/storage-pools?recursion=1",
		"GET /1.0/storage-pools/p1",
		"GET /1.0/storage-pools/p1/resources",
		`POST /1.0/storage-pools {"config":{"source":"/x"},"description":"","name":"p3","driver":"dir"}`,
		`PUT /1.0/storage-pools/p1 {"config":null,"description":"d"}`,
		"DELETE /1.0/storage-pools/p1",
		"GET /1.0/storage-pools/nope",
	}

	got := s.log()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if s.ifMatch[5] != `"etag-1"` || s.ifMatch[4] != "" {
		t.Fatalf("If-Match headers %q, want the ETag on the update only", s.ifMatch)
	}
}

func TestStorageVolumes(t *testing.T) {
	c, s := newStorageTestServer(t, storageExtensions)
	names, err := c.GetStoragePoolVolumeNames("p1")
	if err != nil || !slices.Equal(names, []string{"custom/v1", "container/c/1"}) {
		t.Fatalf("got %v (%v), want [custom/v1 container/c/1]", names, err)
	}

	vol, etag, err := c.GetStoragePoolVolume("p1", "custom", "v1")
	if err != nil || vol.ContentType != "filesystem" || etag != "etag-1" {
		t.Fatalf("got %+v %q (%v)", vol, etag, err)
	}

	state, err := c.GetStoragePoolVolumeState("p1", "custom", "v1")
	if err != nil || state.Usage == nil || state.Usage.Used != 42 {
		t.Fatalf("got %+v (%v), want usage 42", state, err)
	}

	err = c.CreateStoragePoolVolume("p1", api.StorageVolumesPost{Name: "v2", Type: "custom", ContentType: "block"})
	if err != nil {
		t.Fatal(err)
	}

	err = c.UpdateStoragePoolVolume("p1", "custom", "v1", api.StorageVolumePut{Config: map[string]string{"k": "v"}}, "etag-1")
	if err != nil {
		t.Fatal(err)
	}

	err = c.RenameStoragePoolVolume("p1", "custom", "v1", api.StorageVolumePost{Name: "v3"})
	if err != nil {
		t.Fatal(err)
	}

	op, err := c.CopyStoragePoolVolume("p2", c, "p1", *vol, &StoragePoolVolumeCopyArgs{Name: "c1", VolumeOnly: true})
	if err != nil {
		t.Fatal(err)
	}

	err = op.Wait()
	if err != nil {
		t.Fatal(err)
	}

	op, err = c.MoveStoragePoolVolume("p2", c, "p1", *vol, nil)
	if err == nil {
		err = op.Wait()
	}

	if err != nil {
		t.Fatal(err)
	}

	err = c.DeleteStoragePoolVolume("p1", "custom", "v1")
	if err != nil {
		t.Fatal(err)
	}

	want := []string{
		"GET /1.0/storage-pools/p1/volumes",
		"GET /1.0/storage-pools/p1/volumes/custom/v1",
		"GET /1.0/storage-pools/p1/volumes/custom/v1/state",
		`POST /1.0/storage-pools/p1/volumes/custom {"config":null,"description":"","name":"v2","type":"custom",` +
			`"source":{"name":"","type":"","pool":"","certificate":"","volume_only":false,"refresh":false},"content_type":"block"}`,
		`PUT /1.0/storage-pools/p1/volumes/custom/v1 {"config":{"k":"v"},"description":""}`,
		`POST /1.0/storage-pools/p1/volumes/custom/v1 {"name":"v3","migration":false,"target":null,"volume_only":false}`,
		`POST /1.0/storage-pools/p2/volumes/custom {"config":{},"description":"","name":"c1","type":"custom",` +
			`"source":{"name":"v1","type":"copy","pool":"p1","certificate":"","volume_only":true,"refresh":false},"content_type":"filesystem"}`,
		`POST /1.0/storage-pools/p1/volumes/custom/v1 {"name":"v1","pool":"p2","migration":false,"target":null,"volume_only":false}`,
		"DELETE /1.0/storage-pools/p1/volumes/custom/v1",
	}

	got := s.log()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A failed operation is the call's error.
	s.mu.Lock()
	s.failOp = "Volume by that name already exists"
	s.mu.Unlock()
	err = c.CreateStoragePoolVolume("p1", api.StorageVolumesPost{Name: "v2"})
	if err == nil || err.Error() != "Volume by that name already exists" {
		t.Fatalf("got %v, want the operation's error", err)
	}
}

func TestStorageVolumeSnapshots(t *testing.T) {
	c, s := newStorageTestServer(t, storageExtensions)
	names, err := c.GetStoragePoolVolumeSnapshotNames("p1", "custom", "v1")
	if err != nil || !slices.Equal(names, []string{"s1"}) {
		t.Fatalf("got %v (%v), want [s1]", names, err)
	}

	snap, _, err := c.GetStoragePoolVolumeSnapshot("p1", "custom", "v1", "s1")
	if err != nil || snap.Name != "s1" {
		t.Fatalf("got %+v (%v), want s1", snap, err)
	}

	for _, run := range []func() (Operation, error){
		func() (Operation, error) {
			return c.CreateStoragePoolVolumeSnapshot("p1", "custom", "v1", api.StorageVolumeSnapshotsPost{Name: "s2"})
		},
		func() (Operation, error) {
			return c.RenameStoragePoolVolumeSnapshot("p1", "custom", "v1", "s2", api.StorageVolumeSnapshotPost{Name: "s3"})
		},
		func() (Operation, error) { return c.DeleteStoragePoolVolumeSnapshot("p1", "custom", "v1", "s3") },
	} {
		op, err := run()
		if err == nil {
			err = op.Wait()
		}

		if err != nil {
			t.Fatal(err)
		}
	}

	err = c.RestoreStoragePoolVolumeSnapshot("p1", "custom", "v1", "s1")
	if err != nil {
		t.Fatal(err)
	}

	want := []string{
		"GET /1.0/storage-pools/p1/volumes/custom/v1/snapshots",
		"GET /1.0/storage-pools/p1/volumes/custom/v1/snapshots/s1",
		`POST /1.0/storage-pools/p1/volumes/custom/v1/snapshots {"name":"s2","expires_at":null}`,
		`POST /1.0/storage-pools/p1/volumes/custom/v1/snapshots/s2 {"name":"s3"}`,
		"DELETE /1.0/storage-pools/p1/volumes/custom/v1/snapshots/s3",
		"GET /1.0/storage-pools/p1/volumes/custom/v1",
		`PUT /1.0/storage-pools/p1/volumes/custom/v1 {"config":null,"description":"","restore":"s1"}`,
	}

	got := s.log()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if s.ifMatch[len(s.ifMatch)-1] != `"etag-1"` {
		t.Fatalf("restore sent If-Match %q, want the volume's ETag", s.ifMatch[len(s.ifMatch)-1])
	}
}

func TestStorageMissingExtension(t *testing.T) {
	c, s := newStorageTestServer(t, []string{})
	_, err := c.GetStoragePools()
	if err == nil || !strings.Contains(err.Error(), `"storage" API extension`) {
		t.Fatalf("got %v, want the missing extension", err)
	}

	_, err = c.CreateStoragePoolVolumeSnapshot("p1", "custom", "v1", api.StorageVolumeSnapshotsPost{})
	if err == nil || !strings.Contains(err.Error(), `"storage_api_volume_snapshots" API extension`) {
		t.Fatalf("got %v, want the missing extension", err)
	}

	if len(s.log()) != 0 {
		t.Fatalf("requests %v sent to a server without the extensions", s.log())
	}
}
