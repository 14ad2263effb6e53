package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
)

// TestDaemonUnixSocketUnderStalledHTTPS runs a whole daemon with short limits: strangers stalling request bodies on
// its HTTPS listener neither slow the unix socket nor keep their connections, and the trust password is guarded by
// the per-address budget.
func TestDaemonUnixSocketUnderStalledHTTPS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the daemon needs root (liblxc, mounts)")
	}

	dir := t.TempDir()
	d := New(dir)
	limits := testLimits()
	limits.MaxUntrustedConns = 64
	limits.MaxUntrustedConnsPerAddr = 64
	limits.JoinBurst = 41
	d.limits = limits
	err := d.Init()
	if err != nil {
		d.Stop()
		t.Fatal(err)
	}

	t.Cleanup(d.Stop)
	err = d.updateConfig(context.Background(), map[string]any{config.TrustPassword: "right-pass"}, false)
	if err != nil {
		t.Fatal(err)
	}

	err = d.setHTTPSAddress("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	d.mu.Lock()
	addr := d.https.bound.String()
	d.mu.Unlock()
	gs := &guardedServer{addr: addr, guard: d.guard, other: keyPair(t, true)}

	unix := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _ string, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", filepath.Join(dir, "unix.socket"))
		},
	}}

	// Trust attempts with stalled bodies, within the budget of 127.0.0.1.
	stalled := []net.Conn{}
	for range 40 {
		c := gs.dial(t, nil)
		stalledPost(t, c, "/1.0/certificates", 500)
		stalled = append(stalled, c)
	}

	start := time.Now()
	for range 20 {
		t0 := time.Now()
		resp, err := unix.Get("http://lxd/1.0")
		if err != nil {
			t.Fatal(err)
		}

		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		took := time.Since(t0)
		if took > 2*time.Second {
			t.Fatalf("got GET /1.0 on the unix socket in %v, want under 2s", took)
		}
	}

	for i, c := range stalled {
		_, closed := closedWithin(c, 5*time.Second)
		if !closed {
			t.Fatalf("stalled connection %d still open after %v", i, time.Since(start))
		}
	}

	took := time.Since(start)
	if took > limits.BodyTimeout+2*time.Second {
		t.Fatalf("got the stalled connections closed after %v, want about %v", took, limits.BodyTimeout)
	}

	waitFor(t, func() bool { return d.guard.conns.open() == 0 }, "the untrusted slots to free")

	// The budget of 127.0.0.1 has one attempt left (41 - 40): a wrong password spends it, and the right one is then refused
	// with the reason.
	try := func(source string, password string) (int, string) {
		hc := gs.client(&gs.other)
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
		hc.Transport.(*http.Transport).DialContext = dialer.DialContext
		resp, err := hc.Post("https://"+addr+"/1.0/certificates", "application/json",
			strings.NewReader(fmt.Sprintf(`{"type":"client","password":%q}`, password)))
		if err != nil {
			t.Fatal(err)
		}

		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, string(body)
	}

	code, body := try("127.0.0.1", "wrong")
	if code != http.StatusForbidden || strings.Contains(body, "too many") {
		t.Fatalf("got %d %s, want a plain 403 for a wrong password", code, body)
	}

	code, body = try("127.0.0.1", "right-pass")
	if code != http.StatusForbidden || !strings.Contains(body, "not authorized: too many attempts") {
		t.Fatalf("got %d %s, want 403 for too many attempts", code, body)
	}

	// The budget is per address: the join works from another loopback address.
	code, body = try("127.0.0.2", "right-pass")
	if code != http.StatusCreated {
		t.Fatalf("got %d %s, want 201 from another address", code, body)
	}
}
