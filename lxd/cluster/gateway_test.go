package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// testCert returns a new self-signed server certificate.
func testCert(t testing.TB) *tlsutil.CertInfo {
	t.Helper()

	certPEM, keyPEM, err := tlsutil.GeneratePEM(false)
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	return &tlsutil.CertInfo{KeyPair: pair, PEM: certPEM}
}

// serveDatabase starts an HTTPS server on 127.0.0.1 presenting cert, which hands DatabasePath to g as the daemon's
// listeners do, and returns its address. It is closed when the test ends, after what later cleanups close.
func serveDatabase(t testing.TB, cert *tlsutil.CertInfo, g *Gateway) string {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert.KeyPair},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"http/1.1"},
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != DatabasePath || r.TLS == nil {
			http.NotFound(w, r)
			return
		}

		if !g.Authorized(r.TLS) {
			http.Error(w, "not authorized", http.StatusForbidden)
			return
		}

		if r.Header.Get("Upgrade") != "dqlite" {
			http.Error(w, "missing or invalid upgrade header", http.StatusBadRequest)
			return
		}

		hijacker, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "the connection cannot be upgraded", http.StatusInternalServerError)
			return
		}

		conn, _, err := hijacker.Hijack()
		if err != nil {
			return
		}

		_ = conn.SetDeadline(time.Time{})
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		err = g.Accept(ctx, conn)
		if err != nil {
			_ = conn.Close()
		}
	})

	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// testGateway is a running gateway with its HTTPS server.
type testGateway struct {
	g    *Gateway
	cert *tlsutil.CertInfo
	addr string
	db   *sql.DB
}

// startGateway starts a one-node cluster database in a new directory.
func startGateway(t *testing.T) *testGateway {
	t.Helper()

	tg := &testGateway{cert: testCert(t), g: NewGateway(filepath.Join(t.TempDir(), "global"))}
	tg.addr = serveDatabase(t, tg.cert, tg.g)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var err error
	tg.db, err = tg.g.Start(ctx, tg.addr, tg.cert, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(tg.g.Stop)
	t.Cleanup(func() { _ = tg.db.Close() })
	return tg
}

// peerState is the TLS state of a peer that presented cert.
func peerState(t *testing.T, cert *tlsutil.CertInfo) *tls.ConnectionState {
	t.Helper()

	leaf, err := x509.ParseCertificate(cert.KeyPair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}

	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
}

func TestGatewayStartRunsSQL(t *testing.T) {
	cert := testCert(t)
	g := NewGateway(filepath.Join(t.TempDir(), "global"))
	addr := serveDatabase(t, cert, g)
	t.Cleanup(g.Stop)

	if g.Running() || g.Configured() {
		t.Fatal("a new gateway reports itself running or configured")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	db, err := g.Start(ctx, addr, cert, nil)
	if err != nil {
		t.Fatal(err)
	}

	if !g.Running() {
		t.Fatal("Running is false after Start")
	}

	// Starting the node is not becoming a member.
	if g.Configured() {
		t.Fatal("Configured is true without the member marker")
	}

	_, err = db.ExecContext(ctx, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL); INSERT INTO kv VALUES ('a', 'one')")
	if err != nil {
		t.Fatal(err)
	}

	var v string
	err = db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 'a'").Scan(&v)
	if err != nil || v != "one" {
		t.Fatalf("got %q, %v, want one", v, err)
	}

	roles, leader, err := g.DatabaseRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if len(roles) != 1 || roles[addr] != RoleDatabase || leader != addr {
		t.Fatalf("got roles %v and leader %q, want %s as the only voter and leader", roles, leader, addr)
	}

	_, err = g.Start(ctx, addr, cert, nil)
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v starting twice, want ErrConflict", err)
	}

	_ = db.Close()
	g.Stop()
	if g.Running() {
		t.Fatal("Running is true after Stop")
	}

	_, _, err = g.DatabaseRoles(ctx)
	if !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("got %v from DatabaseRoles of a stopped node, want ErrBusy", err)
	}

	a, b := net.Pipe()
	defer func() { _ = b.Close() }()
	err = g.Accept(ctx, a)
	_ = a.Close()
	if !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("got %v from Accept of a stopped node, want ErrBusy", err)
	}

	// Stopping twice is harmless.
	g.Stop()

	db, err = g.Start(ctx, addr, cert, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = db.Close() })
	err = db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = 'a'").Scan(&v)
	if err != nil || v != "one" {
		t.Fatalf("got %q, %v after a restart, want one", v, err)
	}

	_, err = db.ExecContext(ctx, "INSERT INTO kv VALUES ('a', 'two')")
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("got %v inserting a duplicate key, want a UNIQUE violation", err)
	}
}

func TestGatewayStartRefusesOtherAddress(t *testing.T) {
	tg := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_ = tg.db.Close()
	tg.g.Stop()

	// The node's directory records the address it was created with.
	_, err := tg.g.Start(ctx, "127.0.0.1:1", tg.cert, nil)
	if err == nil {
		t.Fatal("Start accepted an address other than the node's")
	}

	if tg.g.Running() {
		t.Fatal("Running is true after a failed Start")
	}

	tg.db, err = tg.g.Start(ctx, tg.addr, tg.cert, nil)
	if err != nil {
		t.Fatalf("Start with the node's address after a failed Start: %v", err)
	}
}

func TestGatewayAuthorized(t *testing.T) {
	certA := testCert(t)
	certB := testCert(t)
	g := NewGateway(filepath.Join(t.TempDir(), "global"))

	// Before Start the gateway has no certificate and accepts nobody.
	if g.Authorized(peerState(t, certA)) {
		t.Fatal("a gateway without a certificate authorized a peer")
	}

	g.setCertificate(certA)
	tests := []struct {
		name string
		cs   *tls.ConnectionState
		want bool
	}{
		{"cluster certificate", peerState(t, certA), true},
		{"other certificate", peerState(t, certB), false},
		{"no certificate", &tls.ConnectionState{}, false},
		{"no TLS", nil, false},
	}

	for _, tt := range tests {
		if got := g.Authorized(tt.cs); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	// After a certificate update only the new certificate is accepted.
	g.setCertificate(certB)
	if g.Authorized(peerState(t, certA)) || !g.Authorized(peerState(t, certB)) {
		t.Fatal("the gateway did not switch to the new certificate")
	}
}

func TestGatewayDial(t *testing.T) {
	tg := startGateway(t)
	other := testCert(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	peer := NewGateway(filepath.Join(t.TempDir(), "global"))
	_, err := peer.Dial(ctx, tg.addr)
	if err == nil {
		t.Fatal("Dial without a cluster certificate succeeded")
	}

	// A member holding the cluster certificate gets an upgraded connection.
	peer.setCertificate(tg.cert)
	conn, err := peer.Dial(ctx, tg.addr)
	if err != nil {
		t.Fatal(err)
	}

	_ = conn.Close()

	// A server presenting another certificate than the pinned one is refused before anything is sent.
	peer.setCertificate(other)
	_, err = peer.Dial(ctx, tg.addr)
	if err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("got %v dialing a server with another certificate, want a pinning failure", err)
	}

	// A server presenting the peer's certificate, whose gateway holds the cluster certificate: TLS passes, the
	// upgrade is refused as the peer's certificate is not the cluster's.
	addrB := serveDatabase(t, other, tg.g)
	_, err = peer.Dial(ctx, addrB)
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("got %v, want the upgrade refused with 403", err)
	}

	// The database still serves.
	var n int
	err = tg.db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("got %d, %v, want 1", n, err)
	}
}

func TestGatewayRefusesOtherClientCertificate(t *testing.T) {
	tg := startGateway(t)
	other := testCert(t)

	// A TLS client presenting another certificate, trusting the server's: the HTTPS request reaches the handler,
	// which refuses it.
	cfg, err := tlsutil.ClientConfig(other, tg.cert.PEM)
	if err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()

	req, err := http.NewRequest(http.MethodGet, "https://"+tg.addr+DatabasePath, nil)
	if err != nil {
		t.Fatal(err)
	}

	req.Header.Set("Upgrade", "dqlite")
	req.Header.Set("Connection", "Upgrade")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}

	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got status %d, want 403", resp.StatusCode)
	}
}

func TestSocketNamePerDirectory(t *testing.T) {
	a := socketName("/var/lib/lxd/database/global")
	b := socketName("/var/lib/lxd2/database/global")
	if a == b {
		t.Fatalf("two directories share the socket %q", a)
	}

	if a != socketName("/var/lib/lxd/database/global") {
		t.Fatal("the socket name of a directory changes")
	}

	if !strings.HasPrefix(a, "@") {
		t.Fatalf("got socket %q, want an abstract socket", a)
	}
}
