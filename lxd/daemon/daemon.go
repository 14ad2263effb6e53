// Package daemon owns the daemon's start-up and shutdown order and the subsystems it wires together.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/rest"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// Daemon is a running server.
type Daemon struct {
	dirs  state.Dirs
	state *state.State
	cert  atomic.Pointer[tlsutil.CertInfo]
	db    *db.DB

	config   atomic.Pointer[config.Config]
	configMu sync.Mutex
	trusted  atomic.Pointer[map[string]trustEntry]

	ready    atomic.Bool
	shutdown context.CancelFunc

	handler http.Handler

	events *events.Server
	ops    *operations.Registry

	// logger forwards log records to the events server; prevLogger is restored on Stop.
	logger     *slog.Logger
	prevLogger *slog.Logger

	mu           sync.Mutex
	unixServer   *http.Server
	https        *httpsListener
	clusterHTTPS *httpsListener

	// api is the REST API, set once it is built; until then route answers 503.
	api atomic.Pointer[http.Handler]

	gateway *cluster.Gateway
	cluster *cluster.Manager

	// socketGID, when hasSocketGID, is the group the unix socket is given ("lxd --group").
	socketGID    int
	hasSocketGID bool

	// limits bound what untrusted HTTPS callers can hold; guard enforces them on every HTTPS listener.
	limits httpLimits
	guard  *httpsGuard

	// tasks are the periodic jobs; Stop waits for them before closing the database.
	tasks sync.WaitGroup

	stopOnce sync.Once
	stopped  chan struct{}
}

// New returns a daemon using the data directory dir.
func New(dir string) *Daemon {
	return &Daemon{dirs: state.NewDirs(dir), stopped: make(chan struct{}), limits: defaultHTTPLimits()}
}

// SetSocketGroup makes the unix socket belong to the group gid, so that its members may use the local API (as
// LXD's "--group"). Call it before Init; without it the socket keeps the daemon's own group.
func (d *Daemon) SetSocketGroup(gid int) {
	d.socketGID = gid
	d.hasSocketGID = true
}

// Init prepares the data directory, loads the certificate and starts the listeners.
func (d *Daemon) Init() error {
	err := os.MkdirAll(d.dirs.Var, 0o711)
	if err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}

	cert, err := tlsutil.LoadOrGenerate(d.dirs.ServerCert(), d.dirs.ServerKey(), false)
	if err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}

	d.cert.Store(cert)

	// Refuse to run beside a live daemon before touching its database.
	err = removeStaleSocket(d.dirs.UnixSocket())
	if err != nil {
		return err
	}

	d.db, err = db.Open(d.dirs.Database())
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	d.shutdown = cancel
	d.events = events.NewServer()
	d.installLogHandler()
	d.ops = operations.NewRegistry(d.events)
	d.handler = http.HandlerFunc(d.route)
	d.guard = d.newGuard(d.limits)

	err = d.loadConfig(ctx)
	if err != nil {
		return err
	}

	err = d.newCluster()
	if err != nil {
		return err
	}

	err = d.resumeCluster(ctx)
	if err != nil {
		return fmt.Errorf("start the cluster database: %w", err)
	}

	err = d.reloadTrust(ctx)
	if err != nil {
		return err
	}

	imageStore, imageManager, err := d.openImages(ctx)
	if err != nil {
		return err
	}

	d.state = &state.State{
		ShutdownCtx: ctx,
		Dirs:        d.dirs,
		Server: state.Server{
			PID:  os.Getpid(),
			Cert: d.cert.Load,
		},
		DB:             d.db,
		Config:         d.currentConfig,
		UpdateConfig:   d.updateConfig,
		HTTPSAddresses: d.httpsAddresses,
		ReloadTrust:    d.reloadTrustAndNotify,
		ReloadCluster:  d.loadClusterState,
		Images:         imageStore,
		Image:          imageManager,
		Ops:            d.ops,
		Events:         d.events,
		Warnings:       warnings.NewManager(warnings.ManagerArgs{DB: d.db}),
		Projects:       project.NewManager(project.ManagerArgs{DB: d.db}),
		Cluster:        d.cluster,
	}

	d.state.Networks, err = d.openNetworks(ctx)
	if err != nil {
		return err
	}

	d.state.Instances, err = d.openInstances(imageStore)
	if err != nil {
		return err
	}

	err = d.state.Instances.Init(ctx)
	if err != nil {
		return err
	}

	err = d.openBackups()
	if err != nil {
		return err
	}

	d.checkHost(ctx)
	api := &rest.Server{
		State:        d.state,
		Authenticate: d.authenticate,
		Ready:        d.ready.Load,
		Shutdown:     d.Stop,
	}

	apiHandler := api.Handler()
	d.api.Store(&apiHandler)

	err = d.listenUnix()
	if err != nil {
		return err
	}

	// A stored address that can no longer be bound is reported, but the local API still comes up so the
	// operator can fix it.
	err = d.applyListeners(d.currentConfig())
	if err != nil {
		slog.Error("cannot start the HTTPS listener", "err", err)
	}

	d.startTasks(ctx)
	d.ready.Store(true)
	slog.Info("daemon started", "dir", d.dirs.Var, "fingerprint", d.cert.Load().Fingerprint())
	return nil
}

// State returns the state handed to handlers; nil before Init.
func (d *Daemon) State() *state.State {
	return d.state
}

// installLogHandler makes the default logger also send its records as logging events.
func (d *Daemon) installLogHandler() {
	d.prevLogger = slog.Default()
	next := d.prevLogger.Handler()

	// slog's built-in handler writes through the log package, which SetDefault redirects back into slog: wrapping it
	// would loop, so a text handler on stderr at the same level takes its place.
	if fmt.Sprintf("%T", next) == "*slog.defaultHandler" {
		next = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	}

	d.logger = slog.New(events.NewLogHandler(next, d.events))
	slog.SetDefault(d.logger)
}

// listenUnix serves the local API on the unix socket; every local caller is trusted.
func (d *Daemon) listenUnix() error {
	path := d.dirs.UnixSocket()
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}

	// Stop removes the socket itself once everything else has stopped; closing the server must not remove it first.
	ul, ok := l.(*net.UnixListener)
	if ok {
		ul.SetUnlinkOnClose(false)
	}

	if d.hasSocketGID {
		err = os.Chown(path, -1, d.socketGID)
		if err != nil {
			_ = l.Close()
			return fmt.Errorf("give %s to group %d: %w", path, d.socketGID, err)
		}
	}

	err = os.Chmod(path, 0o660)
	if err != nil {
		_ = l.Close()
		return err
	}

	srv := &http.Server{
		Handler:           d.handler,
		ReadHeaderTimeout: 30 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey, c)
		},
	}

	d.mu.Lock()
	d.unixServer = srv
	d.mu.Unlock()
	go func() {
		err := srv.Serve(l)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("unix socket server stopped", "err", err)
		}
	}()

	return nil
}

// removeStaleSocket removes a socket left by a daemon that died, and refuses to start beside a live one.
func removeStaleSocket(path string) error {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}

	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("another daemon is already listening on %s", path)
	}

	return os.Remove(path)
}

type ctxKeyType int

const connKey ctxKeyType = 0

// authenticate tells who sent a request from the connection it came on.
func (d *Daemon) authenticate(r *http.Request) *request.Requestor {
	if r.TLS == nil {
		uid := ""
		c, ok := r.Context().Value(connKey).(*net.UnixConn)
		if ok {
			cred, err := peerCred(c)
			if err == nil {
				uid = strconv.Itoa(int(cred.Uid))
			}
		}

		return &request.Requestor{Trusted: true, Protocol: "unix", Username: uid, Address: "@"}
	}

	return d.authenticateTLS(r.TLS, r.RemoteAddr)
}

// operationsStopTimeout bounds how long Stop waits for cancelled operations before closing the listeners.
const operationsStopTimeout = 10 * time.Second

// Stop shuts the daemon down once: listeners close, then the state is released.
func (d *Daemon) Stop() {
	d.stopOnce.Do(func() {
		slog.Info("daemon stopping")
		d.ready.Store(false)
		if d.shutdown != nil {
			d.shutdown()
		}

		if d.state != nil && d.state.Instances != nil {
			d.state.Instances.Shutdown(context.Background(), instanceStopTimeout)
		}

		if d.state != nil && d.state.Networks != nil {
			d.state.Networks.Shutdown()
		}

		if d.ops != nil {
			opsCtx, opsCancel := context.WithTimeout(context.Background(), operationsStopTimeout)
			err := d.ops.Shutdown(opsCtx)
			opsCancel()
			if err != nil {
				slog.Warn("operations still running at shutdown", "err", err)
			}
		}

		d.closeStorage()
		if d.gateway != nil {
			d.gateway.Handover()
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.mu.Lock()
		servers := []*http.Server{d.unixServer}
		for _, l := range []*httpsListener{d.https, d.clusterHTTPS} {
			if l != nil {
				servers = append(servers, l.server)
			}
		}

		d.mu.Unlock()
		for _, srv := range servers {
			if srv != nil {
				// Connections still busy when the grace period ends (a stalled upload) are closed.
				if srv.Shutdown(ctx) != nil {
					_ = srv.Close()
				}
			}
		}

		d.tasks.Wait()
		if d.db != nil {
			err := d.db.Close()
			if err != nil {
				slog.Error("failed closing the database", "err", err)
			}
		}

		if d.gateway != nil {
			d.gateway.Stop()
		}

		if d.events != nil {
			d.events.Close(2 * time.Second)
		}

		if d.logger != nil && slog.Default() == d.logger {
			slog.SetDefault(d.prevLogger)
		}

		// The socket goes last: its absence tells "lxd shutdown" that the daemon has stopped.
		if servers[0] != nil {
			_ = os.Remove(d.dirs.UnixSocket())
		}
		close(d.stopped)
	})
}

// Stopped is closed once the daemon has stopped.
func (d *Daemon) Stopped() <-chan struct{} {
	return d.stopped
}
