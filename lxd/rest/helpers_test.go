package rest

// Shared setup of the handler tests: the API served from a real state in a temporary directory, requests through
// the real router as a chosen caller, and waits on conditions instead of sleeps.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/backup"
	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/template"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// testWait bounds every wait for something that must happen; generous, since it only runs out when a test fails,
// and -race on a busy machine is slow.
const testWait = 20 * time.Second

// apiEnv is the API over a real state in a temporary directory: a SQLite database, an image store, a dir storage
// pool and an instance manager whose driver runs nothing (fuzzDriver: every instance is stopped). The server
// configuration lives in memory and in the database, as in the daemon; the trust store is reloaded from the
// database by State.ReloadTrust, as in the daemon, and decides whether a TLS caller (asClient) is trusted. Nothing
// in it needs root.
type apiEnv struct {
	// Dir is the data directory.
	Dir string

	State   *state.State
	Handler http.Handler

	config  atomic.Pointer[config.Config]
	trustMu sync.Mutex
	trusted map[string]string

	// restricted holds the projects of the restricted certificates, by fingerprint.
	restricted map[string][]string
}

// envOption changes how newAPIEnv builds the instance manager.
type envOption func(args *instance.ManagerArgs)

// withIDMap makes the containers unprivileged, mapped through m.
func withIDMap(m *instance.IDMap) envOption {
	return func(args *instance.ManagerArgs) { args.IDMap = m }
}

// withDriver runs the instances with driver instead of fuzzDriver.
func withDriver(driver instance.Driver) envOption {
	return func(args *instance.ManagerArgs) { args.Driver = driver }
}

// newAPIEnv builds an apiEnv; everything is released when the test ends.
func newAPIEnv(t testing.TB, opts ...envOption) *apiEnv {
	t.Helper()
	e := &apiEnv{Dir: t.TempDir(), trusted: map[string]string{}}
	d, err := db.Open(filepath.Join(e.Dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	store, err := images.NewStore(filepath.Join(e.Dir, "images"))
	if err != nil {
		t.Fatal(err)
	}

	pools, err := storage.OpenPools(context.Background(), storage.OpenArgs{DB: d, PoolsDir: filepath.Join(e.Dir, "storage-pools"),
		DisksDir: filepath.Join(e.Dir, "disks"), DefaultSource: filepath.Join(e.Dir, "pool")})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	ev := events.NewServer()
	args := instance.ManagerArgs{DB: d, Images: store, Pools: pools, Driver: fuzzDriver{}, Events: ev,
		LogDir: filepath.Join(e.Dir, "logs"), Render: template.Render}
	for _, opt := range opts {
		opt(&args)
	}

	m := instance.NewManager(args)
	err = m.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var stored map[string]string
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		stored, err = tx.GetConfig(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	e.config.Store(config.New(stored))
	var configMu sync.Mutex
	e.State = &state.State{
		ShutdownCtx: ctx,
		Dirs:        state.NewDirs(e.Dir),
		DB:          d,
		Config:      e.config.Load,
		UpdateConfig: func(ctx context.Context, changes map[string]any, replace bool) error {
			configMu.Lock()
			defer configMu.Unlock()
			next, changed, err := e.config.Load().Change(changes, replace)
			if err != nil {
				return err
			}

			err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
				return tx.UpdateConfig(ctx, changed)
			})
			if err != nil {
				return err
			}

			e.config.Store(config.New(next))
			return nil
		},
		HTTPSAddresses: func() []string { return []string{} },
		ReloadTrust:    e.reloadTrust,
		Images:         store,
		Image:          image.NewManager(image.ManagerArgs{DB: d, Store: store, Events: ev, Config: e.config.Load}),
		Ops:            operations.NewRegistry(ev),
		Events:         ev,
		Instances:      m,
		Storage:        pools,
		Warnings:       warnings.NewManager(warnings.ManagerArgs{DB: d}),
		Projects:       project.NewManager(project.ManagerArgs{DB: d}),
		Backups:        backup.NewManager(backup.ManagerArgs{Dir: filepath.Join(e.Dir, "backups"), Instances: m}),
	}

	e.State.Cluster = cluster.NewManager(cluster.ManagerArgs{
		DB:      d,
		Gateway: cluster.NewGateway(filepath.Join(e.Dir, "database", "global")),
		Paths: cluster.Paths{
			ServerCert:  filepath.Join(e.Dir, "server.crt"),
			ServerKey:   filepath.Join(e.Dir, "server.key"),
			ClusterCert: filepath.Join(e.Dir, "cluster.crt"),
			ClusterKey:  filepath.Join(e.Dir, "cluster.key"),
		},
		Config:       e.config.Load,
		UpdateConfig: e.State.UpdateConfig,
	})

	srv := &Server{
		State:        e.State,
		Authenticate: e.authenticate,
		Ready:        func() bool { return true },
		Shutdown:     func() {},
	}

	e.Handler = srv.Handler()
	err = e.reloadTrust(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		opsCtx, opsCancel := context.WithTimeout(context.Background(), testWait)
		defer opsCancel()
		_ = e.State.Ops.Shutdown(opsCtx)
		cancel()
		ev.Close(time.Second)
		_ = d.Close()
	})

	return e
}

// reloadTrust reads the trusted fingerprints and their certificate types from the database, as the daemon does.
func (e *apiEnv) reloadTrust(ctx context.Context) error {
	trusted := map[string]string{}
	restricted := map[string][]string{}
	err := e.State.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		certs, err := tx.GetCertificates(ctx)
		for _, c := range certs {
			trusted[c.Fingerprint] = c.Type
			if c.Restricted {
				restricted[c.Fingerprint] = c.Projects
			}
		}

		return err
	})
	if err != nil {
		return err
	}

	e.trustMu.Lock()
	e.trusted = trusted
	e.restricted = restricted
	e.trustMu.Unlock()
	return nil
}

// callerKey carries a request's caller from apiEnv.request to authenticate.
type callerKey struct{}

// testCaller is who sends a request: the local unix socket (trusted) unless a TLS client is chosen.
type testCaller struct {
	tls  bool
	cert *x509.Certificate
}

// authenticate is the daemon's rule: unix callers are trusted, TLS callers when their certificate is in the
// trust store as a client certificate (a metrics certificate only sets the requestor's CertificateType). A request
// with the header "X-Test-Untrusted" comes from a TLS caller without a certificate.
func (e *apiEnv) authenticate(r *http.Request) *request.Requestor {
	if r.Header.Get("X-Test-Untrusted") != "" {
		return &request.Requestor{Protocol: "tls", Address: r.RemoteAddr}
	}

	c, _ := r.Context().Value(callerKey{}).(*testCaller)
	if c == nil || !c.tls {
		return &request.Requestor{Trusted: true, Protocol: "unix", Username: "0", Address: "@"}
	}

	req := &request.Requestor{Protocol: "tls", Address: "127.0.0.1:50000"}
	if c.cert != nil {
		req.Certificate = c.cert.Raw
		req.Fingerprint = tlsutil.FingerprintDER(c.cert.Raw)
		e.trustMu.Lock()
		req.CertificateType = e.trusted[req.Fingerprint]
		projects, restricted := e.restricted[req.Fingerprint]
		e.trustMu.Unlock()
		req.Trusted = req.CertificateType == api.CertificateTypeClient
		if req.Trusted {
			req.Username = req.Fingerprint
			req.Restricted, req.Projects = restricted, projects
		}
	}

	return req
}

// reqOption changes one request of apiEnv.request.
type reqOption func(r *http.Request) *http.Request

// asClient sends the request over "TLS" with the client certificate cert (nil: none). The caller is trusted when
// cert is in the trust store.
func asClient(cert *x509.Certificate) reqOption {
	return func(r *http.Request) *http.Request {
		return r.WithContext(context.WithValue(r.Context(), callerKey{}, &testCaller{tls: true, cert: cert}))
	}
}

// withHeader sets a request header.
func withHeader(key string, value string) reqOption {
	return func(r *http.Request) *http.Request {
		r.Header.Set(key, value)
		return r
	}
}

// apiResult is the answer to one request.
type apiResult struct {
	Code   int
	Header http.Header
	Env    api.ResponseRaw
}

// metadata decodes the answer's metadata into v.
func (res apiResult) metadata(t testing.TB, v any) {
	t.Helper()
	err := res.Env.MetadataAsStruct(v)
	if err != nil {
		t.Fatalf("decoding metadata %s: %v", res.Env.Metadata, err)
	}
}

// request serves one request through the router and checks that the answer is a JSON envelope matching its status.
// body is sent as is when it is a string or []byte, JSON-encoded otherwise, and not at all when nil.
func (e *apiEnv) request(t testing.TB, method string, path string, body any, opts ...reqOption) apiResult {
	t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}

		reader = bytes.NewReader(data)
	}

	req := httptest.NewRequest(method, path, reader)
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	for _, opt := range opts {
		req = opt(req)
	}

	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	res := apiResult{Code: rec.Code, Header: rec.Header()}
	err := json.Unmarshal(rec.Body.Bytes(), &res.Env)
	if err != nil {
		t.Fatalf("%s %s: status %d, body is not a JSON envelope: %v: %q", method, path, rec.Code, err, rec.Body.String())
	}

	switch {
	case rec.Code == http.StatusAccepted:
		if res.Env.Type != api.AsyncResponse || res.Env.Operation == "" {
			t.Fatalf("%s %s: 202 with envelope type %q and operation %q", method, path, res.Env.Type, res.Env.Operation)
		}

	case rec.Code >= 400:
		if res.Env.Type != api.ErrorResponse || res.Env.Code != rec.Code || res.Env.Error == "" {
			t.Fatalf("%s %s: status %d with envelope %+v, want an error envelope with that code", method, path, rec.Code, res.Env)
		}

	default:
		if res.Env.Type != api.SyncResponse {
			t.Fatalf("%s %s: status %d with envelope type %q, want sync", method, path, rec.Code, res.Env.Type)
		}
	}

	return res
}

// expect is request that also checks the status code.
func (e *apiEnv) expect(t testing.TB, code int, method string, path string, body any, opts ...reqOption) apiResult {
	t.Helper()
	res := e.request(t, method, path, body, opts...)
	if res.Code != code {
		t.Fatalf("%s %s: got %d (%s), want %d", method, path, res.Code, res.Env.Error, code)
	}

	return res
}

// setConfig applies a server configuration change, as PATCH /1.0 does.
func (e *apiEnv) setConfig(t testing.TB, changes map[string]any) {
	t.Helper()
	err := e.State.UpdateConfig(context.Background(), changes, false)
	if err != nil {
		t.Fatal(err)
	}
}

// newClientCert returns a new self-signed client certificate.
func newClientCert(t testing.TB) *x509.Certificate {
	t.Helper()
	certPEM, _, err := tlsutil.GeneratePEM(true)
	if err != nil {
		t.Fatal(err)
	}

	cert, err := tlsutil.ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}

	return cert
}

// waitFor polls cond until it holds, failing the test when it does not within testWait.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	err := pollUntil(testWait, cond)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pollUntil polls cond every few milliseconds until it holds or timeout passes.
func pollUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("condition not met within " + timeout.String())
		}

		time.Sleep(5 * time.Millisecond)
	}

	return nil
}

// snapshot returns the metadata of GET requests (as the trusted local caller) to paths, to compare what is stored
// before and after a request that must change nothing.
func (e *apiEnv) snapshot(t testing.TB, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range paths {
		res := e.request(t, http.MethodGet, p, nil)
		fmt.Fprintf(&b, "%s %d %s\n", p, res.Code, res.Env.Metadata)
	}

	return b.String()
}
