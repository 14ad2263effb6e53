package daemon_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/daemon"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// testWait bounds every wait for something that must happen; it only runs out when a test fails.
const testWait = 30 * time.Second

// startDaemon initialises a daemon on dir, stops it when the test ends, and waits until it answers on its socket.
func startDaemon(t *testing.T, dir string) *daemon.Daemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the daemon needs root (liblxc, mounts)")
	}

	d := daemon.New(dir)
	err := d.Init()
	if err != nil {
		d.Stop()
		t.Fatalf("starting the daemon on %s: %v", dir, err)
	}

	t.Cleanup(d.Stop)
	waitReady(t, filepath.Join(dir, "unix.socket"))
	return d
}

// waitReady polls the socket as "lxd waitready" does, until the daemon answers /internal/ready.
func waitReady(t *testing.T, socket string) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		c, err := client.ConnectLXDUnix(socket, &client.ConnectionArgs{SkipGetServer: true})
		if err == nil {
			_, _, err = c.RawQuery(http.MethodGet, "/internal/ready", nil, "")
			c.Disconnect()
			if err == nil {
				return
			}
		}

		if time.Now().After(deadline) {
			t.Fatalf("the daemon is not ready after %v: %v", testWait, err)
		}

		time.Sleep(10 * time.Millisecond)
	}
}

// connect returns a client of the daemon's unix socket, as lxc uses it.
func connect(t *testing.T, dir string) *client.ProtocolLXD {
	t.Helper()
	c, err := client.ConnectLXDUnix(filepath.Join(dir, "unix.socket"), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(c.Disconnect)
	return c.(*client.ProtocolLXD)
}

// waitStopped waits for the daemon to finish stopping.
func waitStopped(t *testing.T, d *daemon.Daemon) {
	t.Helper()
	select {
	case <-d.Stopped():
	case <-time.After(testWait):
		t.Fatalf("the daemon did not stop within %v", testWait)
	}
}

// checkGone checks that the socket is removed and nothing answers there any more.
func checkGone(t *testing.T, dir string) {
	t.Helper()
	socket := filepath.Join(dir, "unix.socket")
	_, err := os.Stat(socket)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket after stop: got %v, want it removed", err)
	}

	_, err = client.ConnectLXDUnix(socket, nil)
	if err == nil {
		t.Fatal("a client connected to a stopped daemon")
	}
}

func TestDaemonStartStopRestart(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	c := connect(t, dir)

	srv, etag, err := c.GetServer()
	if err != nil {
		t.Fatal(err)
	}

	certPEM, err := os.ReadFile(filepath.Join(dir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}

	fp, err := tlsutil.FingerprintPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}

	if srv.Auth != "trusted" || srv.APIVersion != "1.0" || srv.Environment.ServerPid != os.Getpid() ||
		srv.Environment.CertificateFingerprint != fp || etag == "" {
		t.Fatalf("GET /1.0: got auth %q api %q pid %d fingerprint %q etag %q, want a trusted local view of this daemon",
			srv.Auth, srv.APIVersion, srv.Environment.ServerPid, srv.Environment.CertificateFingerprint, etag)
	}

	// Something stored, to find again after the restart.
	err = c.CreateProfile(api.ProfilesPost{Name: "kept", ProfilePut: api.ProfilePut{
		Description: "survives a restart", Config: map[string]string{"user.k": "v"},
	}})
	if err != nil {
		t.Fatal(err)
	}

	d.Stop()
	waitStopped(t, d)
	checkGone(t, dir)
	_, _, err = c.GetServer()
	if err == nil {
		t.Fatal("the old client still reaches the stopped daemon")
	}

	// Stop is idempotent.
	d.Stop()

	// A second start on the same directory reopens the database and keeps the server certificate.
	d2 := startDaemon(t, dir)
	c2 := connect(t, dir)
	srv, _, err = c2.GetServer()
	if err != nil {
		t.Fatal(err)
	}

	if srv.Environment.CertificateFingerprint != fp {
		t.Fatalf("got certificate %s after the restart, want %s", srv.Environment.CertificateFingerprint, fp)
	}

	p, _, err := c2.GetProfile("kept")
	if err != nil {
		t.Fatalf("the profile made before the restart: %v", err)
	}

	if p.Description != "survives a restart" || p.Config["user.k"] != "v" {
		t.Fatalf("got %+v after the restart, want the profile as stored", p)
	}

	names, err := c2.GetProfileNames()
	if err != nil {
		t.Fatal(err)
	}

	if strings.Join(names, " ") != "default kept" {
		t.Fatalf("got profiles %v after the restart, want default and kept once each", names)
	}

	d2.Stop()
	waitStopped(t, d2)
	checkGone(t, dir)
}

// TestDaemonShutdownOverSocket stops the daemon as "lxd shutdown" does.
func TestDaemonShutdownOverSocket(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	c := connect(t, dir)
	_, _, err := c.RawQuery(http.MethodPut, "/internal/shutdown", nil, "")
	if err != nil {
		t.Fatal(err)
	}

	waitStopped(t, d)
	checkGone(t, dir)
}

// TestDaemonRefusesSecondStart checks that a daemon does not start beside a live one on the same directory, and
// that its failed start leaves the live one serving.
func TestDaemonRefusesSecondStart(t *testing.T) {
	dir := t.TempDir()
	startDaemon(t, dir)

	other := daemon.New(dir)
	err := other.Init()
	other.Stop()
	if err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Fatalf("second start: got %v, want a refusal to run beside the live daemon", err)
	}

	c := connect(t, dir)
	_, _, err = c.GetServer()
	if err != nil {
		t.Fatalf("the live daemon after the refused start: %v", err)
	}
}
