// Package cluster runs this server's part of a cluster: the replicated database (dqlite) that members share, the
// members' records, their heartbeats and their roles.
package cluster

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/canonical/go-dqlite/app"
	"github.com/canonical/go-dqlite/client"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// DatabasePath is the path members reach each other's database on, through an HTTP upgrade to "dqlite" on their
// HTTPS listener, as LXD's members do.
const DatabasePath = "/internal/database"

// databaseName is the name of the cluster database inside dqlite.
const databaseName = "db.bin"

// startTimeout bounds the wait for the database to elect a leader when a member starts.
const startTimeout = 2 * time.Minute

// Gateway runs the local dqlite node of a member. The database's traffic goes through the members' HTTPS listeners:
// Dial opens an upgraded connection to another member, Accept receives one the HTTPS listener upgraded. Both sides
// authenticate with the cluster certificate, which every member holds.
type Gateway struct {
	dir string

	mu      sync.Mutex
	cert    *tlsutil.CertInfo
	app     *app.App
	socket  string
	address string
}

// socketName is the abstract unix socket the dqlite node of dir listens on, one per data directory.
func socketName(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "@lxd-dqlite-" + hex.EncodeToString(sum[:8])
}

// NewGateway returns the gateway whose dqlite state lives in dir (LXD_DIR/database/global).
func NewGateway(dir string) *Gateway {
	return &Gateway{dir: dir}
}

// Dir is the directory of the dqlite node.
func (g *Gateway) Dir() string {
	return g.dir
}

// memberMarker is the file written in the node's directory once the server became a member; a directory without it
// is what an interrupted enable or join left.
const memberMarker = "member"

// Configured reports whether this server is a cluster member.
func (g *Gateway) Configured() bool {
	_, err := os.Stat(g.markerPath())
	return err == nil
}

// markerPath is the member marker's path.
func (g *Gateway) markerPath() string {
	return filepath.Join(g.dir, memberMarker)
}

// interrupted reports whether the node's directory exists without the member marker.
func (g *Gateway) interrupted() bool {
	_, err := os.Stat(g.dir)
	return err == nil && !g.Configured()
}

// markMember records, durably, that the server is now a member.
func (g *Gateway) markMember() error {
	return fsutil.WriteFileAtomic(g.markerPath(), []byte{}, 0o600)
}

// Running reports whether the dqlite node runs.
func (g *Gateway) Running() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.app != nil
}

// Start starts the dqlite node at address with the cluster certificate cert and opens the cluster database. join
// lists the addresses of members of the cluster to join; it is empty when the node founds the cluster or already
// belongs to it. The HTTPS listener at address must be serving DatabasePath through Accept.
func (g *Gateway) Start(ctx context.Context, address string, cert *tlsutil.CertInfo, join []string) (*sql.DB, error) {
	g.mu.Lock()
	if g.app != nil {
		g.mu.Unlock()
		return nil, errs.Conflict("the cluster database already runs")
	}

	err := os.MkdirAll(g.dir, 0o700)
	if err != nil {
		g.mu.Unlock()
		return nil, fmt.Errorf("creating %s: %w", g.dir, err)
	}

	// Accept joins the connections the HTTPS listener upgraded to the node's socket itself: the library's own
	// accept path needs the bare TCP connection under TLS, which the listener's connection accounting wraps. Nothing
	// is ever sent on its channel.
	g.cert = cert
	g.socket = socketName(g.dir)
	g.address = address
	opts := []app.Option{
		app.WithAddress(address),
		app.WithExternalConn(g.Dial, make(chan net.Conn)),
		app.WithUnixSocket(g.socket),
		app.WithLogFunc(logFunc),
	}

	if len(join) > 0 {
		opts = append(opts, app.WithCluster(join))
	}

	a, err := app.New(g.dir, opts...)
	if err != nil {
		g.cert = nil
		g.mu.Unlock()
		return nil, fmt.Errorf("starting the cluster database: %w", err)
	}

	g.app = a
	g.mu.Unlock()

	readyCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	err = a.Ready(readyCtx)
	if err != nil {
		g.Stop()
		return nil, fmt.Errorf("waiting for the cluster database: %w", err)
	}

	db, err := a.Open(readyCtx, databaseName)
	if err != nil {
		g.Stop()
		return nil, fmt.Errorf("opening the cluster database: %w", err)
	}

	return db, nil
}

// Handover hands this node's database roles over to other members, if any, before the member stops. The listeners
// must still serve: the other members are reached through them.
func (g *Gateway) Handover() {
	g.mu.Lock()
	a := g.app
	g.mu.Unlock()
	if a == nil {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.Handover(ctx)
	if err != nil {
		slog.Warn("cluster database handover failed", "err", err)
	}
}

// Stop stops the node.
func (g *Gateway) Stop() {
	g.mu.Lock()
	a := g.app
	g.app = nil
	g.mu.Unlock()
	if a == nil {
		return
	}

	err := a.Close()
	if err != nil {
		slog.Warn("stopping the cluster database", "err", err)
	}
}

// setCertificate makes the node authenticate with cert from now on; established connections stay as they are.
func (g *Gateway) setCertificate(cert *tlsutil.CertInfo) {
	g.mu.Lock()
	g.cert = cert
	g.mu.Unlock()
}

// Authorized reports whether a TLS peer is a member: it presented the cluster certificate.
func (g *Gateway) Authorized(cs *tls.ConnectionState) bool {
	g.mu.Lock()
	cert := g.cert
	g.mu.Unlock()
	if cert == nil || cs == nil || len(cs.PeerCertificates) == 0 {
		return false
	}

	return tlsutil.FingerprintDER(cs.PeerCertificates[0].Raw) == cert.Fingerprint()
}

// Accept serves a connection the HTTPS listener upgraded to "dqlite": it answers the upgrade and joins the
// connection to the local node until either side closes it.
func (g *Gateway) Accept(ctx context.Context, conn net.Conn) error {
	g.mu.Lock()
	socket := g.socket
	running := g.app != nil
	g.mu.Unlock()
	if !running {
		return errs.Busy("the cluster database does not run")
	}

	var dialer net.Dialer
	local, err := dialer.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("connecting to the local database node: %w", err)
	}

	_, err = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: dqlite\r\n\r\n"))
	if err != nil {
		_ = local.Close()
		return fmt.Errorf("answering the database upgrade: %w", err)
	}

	go splice(conn, local)
	return nil
}

// splice copies between a and b in both directions until one side ends, then closes both.
func splice(a net.Conn, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(a, b)
		done <- struct{}{}
	}()

	go func() {
		_, _ = io.Copy(b, a)
		done <- struct{}{}
	}()

	<-done
	_ = a.Close()
	_ = b.Close()
	<-done
}

// Dial opens a database connection to the member at address: TLS with the cluster certificate on both sides, then
// an HTTP upgrade to "dqlite". The member's own node is reached on its unix socket directly, which dqlite accepts
// from this process only.
func (g *Gateway) Dial(ctx context.Context, address string) (net.Conn, error) {
	g.mu.Lock()
	cert, own, socket := g.cert, g.address, g.socket
	g.mu.Unlock()
	if address == own && socket != "" {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", socket)
	}

	if cert == nil {
		return nil, errors.New("no cluster certificate")
	}

	cfg, err := tlsutil.ClientConfig(cert, cert.PEM)
	if err != nil {
		return nil, err
	}

	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("connecting to cluster member %s: %w", address, err)
	}

	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}

	_ = conn.SetDeadline(deadline)
	err = upgrade(conn, address)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("cluster member %s: %w", address, err)
	}

	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// upgrade asks the HTTPS server on conn to switch it to the dqlite protocol. The answer is read byte by byte so that
// nothing of the dqlite stream that follows is consumed.
func upgrade(conn net.Conn, address string) error {
	_, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: dqlite\r\nConnection: Upgrade\r\n\r\n", DatabasePath, address)
	if err != nil {
		return fmt.Errorf("sending the database upgrade: %w", err)
	}

	r := bufio.NewReaderSize(byteReader{conn}, 16)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		b, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("reading the database upgrade answer: %w", err)
		}

		head.WriteByte(b)
		if head.Len() > 8192 {
			return errors.New("database upgrade answer too long")
		}
	}

	status, _, _ := strings.Cut(head.String(), "\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		return fmt.Errorf("database upgrade refused: %s", status)
	}

	return nil
}

// byteReader reads one byte at a time from its connection, so a bufio.Reader over it never reads ahead.
type byteReader struct {
	conn net.Conn
}

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}

	return b.conn.Read(p)
}

// DatabaseRoles returns the database role of each member's address ("database" for a voter, "database-standby"
// for a stand-by; spares have none) and the leader's address.
func (g *Gateway) DatabaseRoles(ctx context.Context) (map[string]string, string, error) {
	g.mu.Lock()
	a := g.app
	g.mu.Unlock()
	if a == nil {
		return nil, "", errs.Busy("the cluster database does not run")
	}

	cli, err := a.Leader(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("reaching the cluster database leader: %w", err)
	}

	defer func() { _ = cli.Close() }()
	nodes, err := cli.Cluster(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("listing the cluster database nodes: %w", err)
	}

	leader, err := cli.Leader(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("finding the cluster database leader: %w", err)
	}

	roles := map[string]string{}
	for _, n := range nodes {
		switch n.Role {
		case client.Voter:
			roles[n.Address] = RoleDatabase
		case client.StandBy:
			roles[n.Address] = RoleDatabaseStandby
		}
	}

	leaderAddress := ""
	if leader != nil {
		leaderAddress = leader.Address
	}

	return roles, leaderAddress, nil
}

// RemoveNode removes the database node at address from the cluster's database, if there is one: the node of a
// member that left, or of a join that did not finish.
func (g *Gateway) RemoveNode(ctx context.Context, address string) error {
	g.mu.Lock()
	a := g.app
	g.mu.Unlock()
	if a == nil {
		return errs.Busy("the cluster database does not run")
	}

	cli, err := a.Leader(ctx)
	if err != nil {
		return fmt.Errorf("reaching the cluster database leader: %w", err)
	}

	defer func() { _ = cli.Close() }()
	nodes, err := cli.Cluster(ctx)
	if err != nil {
		return fmt.Errorf("listing the cluster database nodes: %w", err)
	}

	for _, n := range nodes {
		if n.Address != address {
			continue
		}

		err = cli.Remove(ctx, n.ID)
		if err != nil {
			return fmt.Errorf("removing the database node of %s: %w", address, err)
		}
	}

	return nil
}

// logFunc forwards dqlite's messages to the daemon's log.
func logFunc(l client.LogLevel, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	switch l {
	case client.LogError:
		slog.Error("dqlite: " + msg)
	case client.LogWarn:
		slog.Warn("dqlite: " + msg)
	default:
		slog.Debug("dqlite: " + msg)
	}
}
