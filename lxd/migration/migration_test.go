package migration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// pair returns the two ends of one websocket.
func pair(t *testing.T) (*websocket.Conn, *websocket.Conn) {
	t.Helper()
	upgrader := websocket.Upgrader{}
	serverSide := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}

		serverSide <- conn
	}))
	t.Cleanup(srv.Close)

	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = client.Close() })
	var server *websocket.Conn
	select {
	case server = <-serverSide:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never got the connection")
	}

	t.Cleanup(func() { _ = server.Close() })
	return server, client
}

func TestHeaderRoundTrip(t *testing.T) {
	criu := int32(CRIUNone)
	refresh := true
	h := &Header{FS: FSRsync, Criu: &criu, Refresh: &refresh,
		IDMap:         []IDMapEntry{{IsUID: true, HostID: 1000000, MapRange: 1000000000}, {IsGID: true, HostID: 1000000, MapRange: 65536}},
		SnapshotNames: []string{"snap0"},
		Snapshots: []Snapshot{{Name: "snap0", Config: map[string]string{"a": "b"}, Profiles: []string{"default"},
			Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/"}}, Architecture: 2,
			CreatedAt: 1700000000, ExpiresAt: -5}},
		Rsync: &RsyncFeatures{Xattrs: true, Compress: true}}
	got, err := UnmarshalHeader(h.Marshal())
	if err != nil {
		t.Fatal(err)
	}

	if !reflect.DeepEqual(got, h) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}

	// fs = RSYNC (0) is a required field: it is on the wire even though it is zero.
	if data := (&Header{}).Marshal(); len(data) != 2 || data[0] != 0x08 || data[1] != 0 {
		t.Fatalf("empty header encodes as %x", data)
	}

	c, err := UnmarshalControl((&ControlMessage{Success: false, Message: "boom"}).Marshal())
	if err != nil || c.Success || c.Message != "boom" {
		t.Fatalf("control: %+v %v", c, err)
	}

	_, err = UnmarshalHeader([]byte{0x2a, 0x05, 0x01})
	if err == nil {
		t.Fatal("a truncated header decodes")
	}
}

// TestRsyncSessions sends two volumes one after the other over one websocket, as a migration does.
func TestRsyncSessions(t *testing.T) {
	_, err := exec.LookPath("rsync")
	if err != nil {
		t.Skip("no rsync")
	}

	src := t.TempDir()
	for _, vol := range []string{"one", "two"} {
		err = os.MkdirAll(filepath.Join(src, vol, "rootfs", "etc"), 0o755)
		if err != nil {
			t.Fatal(err)
		}

		err = os.WriteFile(filepath.Join(src, vol, "rootfs", "etc", "name"), []byte(vol), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = os.WriteFile(filepath.Join(src, "two", "metadata.yaml"), []byte("x: y\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	server, client := pair(t)
	dst := t.TempDir()
	features := &RsyncFeatures{Delete: true, Compress: true}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for _, vol := range []string{"one", "two"} {
			err := rsyncRecv(ctx, server, filepath.Join(dst, vol), features, nil)
			if err != nil {
				done <- err
				return
			}
		}

		done <- nil
	}()

	err = rsyncSend(ctx, client, volumeEntries(filepath.Join(src, "one", "rootfs"), filepath.Join(src, "one")), features, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = rsyncSend(ctx, client, volumeEntries(filepath.Join(src, "two", "rootfs"), filepath.Join(src, "two")), features, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = <-done
	if err != nil {
		t.Fatal(err)
	}

	for _, vol := range []string{"one", "two"} {
		data, err := os.ReadFile(filepath.Join(dst, vol, "rootfs", "etc", "name"))
		if err != nil || string(data) != vol {
			t.Fatalf("%s: %q %v", vol, data, err)
		}
	}

	_, err = os.Stat(filepath.Join(dst, "two", "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
}

func TestRemoveStale(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-2 * staleAge)
	for _, name := range []string{"migration-dead", "migration-busy", "migration-new", "other"} {
		err := os.Mkdir(filepath.Join(parent, name), 0o700)
		if err != nil {
			t.Fatal(err)
		}

		if name != "migration-new" {
			err = os.Chtimes(filepath.Join(parent, name), old, old)
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	unlock, err := lockStage(filepath.Join(parent, "migration-busy"), true)
	if err != nil {
		t.Fatal(err)
	}

	defer unlock()
	removeStale(parent)
	for name, want := range map[string]bool{"migration-dead": false, "migration-busy": true, "migration-new": true,
		"other": true} {
		_, err := os.Stat(filepath.Join(parent, name))
		if (err == nil) != want {
			t.Errorf("%s: present %v, want %v", name, err == nil, want)
		}
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[float64]string{0: "0B", 999: "999B", 1000: "1.00kB", 12345678: "12.35MB", 3e9: "3.00GB"} {
		got := byteSize(n)
		if got != want {
			t.Errorf("byteSize(%v) = %q, want %q", n, got, want)
		}
	}
}

func TestSession(t *testing.T) {
	s := NewSession()
	secrets := s.Secrets()
	if len(secrets) != 2 || secrets[Control] == secrets[FS] {
		t.Fatalf("secrets %v", secrets)
	}

	if s.Match("nope") != "" || s.Match("") != "" {
		t.Fatal("an unknown secret opens a websocket")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Wait(ctx)
	if err == nil {
		t.Fatal("Wait returned before the websockets connected")
	}

	server, client := pair(t)
	server2, _ := pair(t)
	_ = client
	if s.Match(secrets[Control].(string)) != Control {
		t.Fatal("the control secret does not open the control websocket")
	}

	s.Attach(Control, server)
	if s.Match(secrets[Control].(string)) != "" {
		t.Fatal("a connected websocket is opened twice")
	}

	s.Attach(FS, server2)
	control, fs, err := s.Wait(context.Background())
	if err != nil || control != server || fs != server2 {
		t.Fatalf("Wait: %v", err)
	}

	s.Close()
	if s.Match(secrets[FS].(string)) != "" {
		t.Fatal("a closed session opens websockets")
	}
}
