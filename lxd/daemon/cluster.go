package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/db/schema"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/version"
	"github.com/lxd-go/lxd/shared/osarch"
)

// heartbeatInterval is how often a member records that it is alive.
const heartbeatInterval = 10 * time.Second

// newCluster builds the cluster manager and, when this server is a member, loads the cluster certificate, which its
// listeners then serve instead of the server certificate.
func (d *Daemon) newCluster() error {
	d.gateway = cluster.NewGateway(filepath.Join(d.dirs.Database(), "global"))
	d.cluster = cluster.NewManager(cluster.ManagerArgs{
		DB:      d.db,
		Gateway: d.gateway,
		Paths: cluster.Paths{
			ServerCert:  d.dirs.ServerCert(),
			ServerKey:   d.dirs.ServerKey(),
			ClusterCert: filepath.Join(d.dirs.Var, "cluster.crt"),
			ClusterKey:  filepath.Join(d.dirs.Var, "cluster.key"),
		},
		Config:        d.currentConfig,
		UpdateConfig:  d.updateConfig,
		OnCertificate: d.cert.Store,
		Storage:       func() *storage.Pools { return d.state.Storage },
		OnMembership:  d.loadClusterState,
		Schema:        schema.Latest(),
		APIExtensions: len(version.APIExtensions),
		Architecture:  osarch.Host(),
	})

	d.events.SetLocation(d.cluster.Name)
	err := d.cluster.Repair()
	if err != nil {
		return err
	}

	cert, err := d.cluster.LoadCertificate()
	if err != nil {
		return err
	}

	if cert != nil {
		d.cert.Store(cert)
	}

	return nil
}

// resumeCluster starts the cluster database of a member: its listeners come up first (the database reaches every
// member, itself included, through them), then the configuration is read again from the cluster database.
func (d *Daemon) resumeCluster(ctx context.Context) error {
	if !d.gateway.Configured() {
		return nil
	}

	err := d.applyListeners(d.currentConfig())
	if err != nil {
		return err
	}

	err = d.cluster.Resume(ctx)
	if err != nil {
		return err
	}

	return d.loadConfig(ctx)
}

// loadClusterState reads the configuration and the trust store again once this server joined a cluster (they are the
// cluster's now) or left one (they are its own again).
func (d *Daemon) loadClusterState(ctx context.Context) error {
	err := d.loadConfig(ctx)
	if err != nil {
		return err
	}

	err = d.applyListeners(d.currentConfig())
	if err != nil {
		return err
	}

	return d.reloadTrust(ctx)
}

// notifyMembers tells the other members, in the background, to read the configuration and the trust store again:
// this member changed the cluster's.
func (d *Daemon) notifyMembers() {
	if d.cluster == nil || !d.cluster.Clustered() {
		return
	}

	go d.cluster.NotifyOthers(context.Background(), cluster.ReloadPath)
}

// reloadTrustAndNotify reads the trust store again after this member changed it, and has the others do the same.
func (d *Daemon) reloadTrustAndNotify(ctx context.Context) error {
	err := d.reloadTrust(ctx)
	if err != nil {
		return err
	}

	d.notifyMembers()
	return nil
}

// route serves a request of any listener: the database upgrade of members, and the API once it is built.
func (d *Daemon) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == cluster.DatabasePath && r.TLS != nil {
		d.serveDatabase(w, r)
		return
	}

	h := d.api.Load()
	if h == nil {
		_ = response.SmartError(errs.Busy("the daemon is starting")).Render(w, r)
		return
	}

	(*h).ServeHTTP(w, r)
}

// serveDatabase hands a member's database connection, upgraded to "dqlite", to the local database node. Only the
// cluster certificate is accepted.
func (d *Daemon) serveDatabase(w http.ResponseWriter, r *http.Request) {
	if !d.gateway.Authorized(r.TLS) {
		_ = response.SmartError(errs.Forbidden("not authorized")).Render(w, r)
		return
	}

	if r.Header.Get("Upgrade") != "dqlite" {
		_ = response.SmartError(errs.Invalid("missing or invalid upgrade header")).Render(w, r)
		return
	}

	hijacker, ok := w.(http.Hijacker)
	if !ok {
		_ = response.SmartError(errors.New("the connection cannot be upgraded")).Render(w, r)
		return
	}

	conn, _, err := hijacker.Hijack()
	if err != nil {
		slog.Warn("cluster database upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}

	_ = conn.SetDeadline(time.Time{})
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	err = d.gateway.Accept(ctx, conn)
	if err != nil {
		_ = conn.Close()
		slog.Warn("cluster database connection refused", "remote", r.RemoteAddr, "err", err)
	}
}

// heartbeatLoop records this member's heartbeat every heartbeatInterval.
func (d *Daemon) heartbeatLoop(ctx context.Context) {
	every(ctx, heartbeatInterval, func() {
		err := d.cluster.Heartbeat(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Warn("cluster heartbeat failed", "err", err)
		}
	})
}
