package cluster

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/db/schema"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// testMember is a server with its database, HTTPS server and cluster manager, not clustered yet.
type testMember struct {
	dir   string
	addr  string
	paths Paths
	cert  *tlsutil.CertInfo
	g     *Gateway
	db    *db.DB
	cfg   atomic.Pointer[config.Config]
	m     *Manager
}

// newTestMember builds a server whose core.https_address is its HTTPS server's address.
func newTestMember(t *testing.T) *testMember {
	t.Helper()

	tm := &testMember{dir: t.TempDir()}
	tm.paths = Paths{
		ServerCert:  filepath.Join(tm.dir, "server.crt"),
		ServerKey:   filepath.Join(tm.dir, "server.key"),
		ClusterCert: filepath.Join(tm.dir, "cluster.crt"),
		ClusterKey:  filepath.Join(tm.dir, "cluster.key"),
	}

	err := tlsutil.Generate(tm.paths.ServerCert, tm.paths.ServerKey, false)
	if err != nil {
		t.Fatal(err)
	}

	tm.cert, err = tlsutil.Load(tm.paths.ServerCert, tm.paths.ServerKey)
	if err != nil {
		t.Fatal(err)
	}

	// The listener presents the server certificate, which Enable makes the cluster certificate.
	tm.g = NewGateway(filepath.Join(tm.dir, "database", "global"))
	tm.addr = serveDatabase(t, tm.cert, tm.g)
	t.Cleanup(tm.g.Stop)

	tm.db, err = db.Open(filepath.Join(tm.dir, "database"))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = tm.db.Close() })
	tm.cfg.Store(config.New(map[string]string{config.HTTPSAddress: tm.addr}))
	tm.m = tm.newManager()
	return tm
}

// newManager returns a manager of the member's current database and gateway.
func (tm *testMember) newManager() *Manager {
	var pools atomic.Pointer[storage.Pools]
	return NewManager(ManagerArgs{
		Storage: func() *storage.Pools {
			if pools.Load() == nil {
				ps, err := storage.OpenPools(context.Background(), storage.OpenArgs{DB: tm.db, PoolsDir: filepath.Join(tm.dir, "storage-pools")})
				if err != nil {
					panic(err)
				}

				pools.Store(ps)
			}

			return pools.Load()
		},
		DB:      tm.db,
		Gateway: tm.g,
		Paths:   tm.paths,
		Config:  tm.cfg.Load,
		UpdateConfig: func(ctx context.Context, changes map[string]any, replace bool) error {
			next, _, err := tm.cfg.Load().Change(changes, replace)
			if err != nil {
				return err
			}

			tm.cfg.Store(config.New(next))
			return nil
		},
		Schema:        schema.Latest(),
		APIExtensions: 42,
		Architecture:  "x86_64",
	})
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// testContext returns a context bounded by a minute.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// enable makes tm the first member of a cluster, named name.
func (tm *testMember) enable(t *testing.T, name string) {
	t.Helper()

	err := tm.m.Enable(testContext(t), name)
	if err != nil {
		t.Fatal(err)
	}
}

// member returns the member called name, failing the test on error.
func (tm *testMember) member(t *testing.T, name string) api.ClusterMember {
	t.Helper()

	member, err := tm.m.Member(testContext(t), name)
	if err != nil {
		t.Fatal(err)
	}

	return member
}

func TestEnable(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)

	// Data of the server that the cluster database takes over.
	err := tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateConfig(ctx, map[string]string{config.HTTPSAddress: tm.addr, config.AutoUpdateInterval: "12"})
	})
	if err != nil {
		t.Fatal(err)
	}

	info, err := tm.m.Info(ctx)
	if err != nil || info.Enabled || info.ServerName != "" {
		t.Fatalf("got %+v, %v before Enable, want clustering disabled", info, err)
	}

	_, err = tm.m.Members(ctx)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("got %v listing members before Enable, want ErrInvalid", err)
	}

	tm.enable(t, "node1")

	if !tm.m.Clustered() || !tm.db.Clustered() || !tm.g.Configured() || !tm.g.Running() {
		t.Fatal("the server is not a running cluster member after Enable")
	}

	if !exists(filepath.Join(tm.g.Dir(), memberMarker)) {
		t.Fatal("the member marker was not written")
	}

	for _, pair := range [][2]string{{tm.paths.ServerCert, tm.paths.ClusterCert}, {tm.paths.ServerKey, tm.paths.ClusterKey}} {
		server, err := os.ReadFile(pair[0])
		if err != nil {
			t.Fatal(err)
		}

		cluster, err := os.ReadFile(pair[1])
		if err != nil {
			t.Fatal(err)
		}

		if !bytes.Equal(server, cluster) {
			t.Fatalf("%s differs from %s", pair[1], pair[0])
		}
	}

	if cert := tm.m.Certificate(); cert == nil || cert.Fingerprint() != tm.cert.Fingerprint() {
		t.Fatal("the manager's cluster certificate is not the server certificate")
	}

	// Without cluster.https_address the member is recorded at core.https_address, which becomes the cluster address.
	if got := tm.cfg.Load().Get(config.ClusterHTTPSAddress); got != tm.addr {
		t.Fatalf("got cluster.https_address %q, want %q", got, tm.addr)
	}

	members, err := tm.m.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if len(members) != 1 {
		t.Fatalf("got %d members, want 1: %+v", len(members), members)
	}

	got := members[0]
	if got.ServerName != "node1" || got.URL != "https://"+tm.addr || got.Status != StatusOnline || !got.Database || got.Architecture != "x86_64" || got.FailureDomain != "default" {
		t.Fatalf("got member %+v", got)
	}

	if !reflect.DeepEqual(got.Roles, []string{RoleDatabase, RoleDatabaseLeader}) {
		t.Fatalf("got roles %v, want database and database-leader", got.Roles)
	}

	info, err = tm.m.Info(ctx)
	if err != nil || !info.Enabled || info.ServerName != "node1" {
		t.Fatalf("got %+v, %v, want node1 enabled", info, err)
	}

	if tm.m.Name() != "node1" {
		t.Fatalf("got name %q, want node1", tm.m.Name())
	}

	_, err = tm.m.Member(ctx, "nope")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}

	// The member and the server's data are in the cluster database, the node-local keys stay in local.db.
	err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNode(ctx, "node1")
		if err != nil {
			return err
		}

		if n.Address != tm.addr || n.Schema != schema.Latest() || n.APIExtensions != 42 || time.Since(n.Heartbeat) > time.Minute {
			t.Fatalf("got member record %+v", n)
		}

		cfg, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if !reflect.DeepEqual(cfg, map[string]string{config.AutoUpdateInterval: "12"}) {
			t.Fatalf("got cluster configuration %v, want images.auto_update_interval only", cfg)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = tm.db.NodeTransaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		if len(nodes) != 0 {
			t.Fatalf("got members %+v in local.db, want none", nodes)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = tm.m.Enable(ctx, "node2")
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v enabling twice, want ErrConflict", err)
	}

	if tm.m.Name() != "node1" {
		t.Fatalf("got name %q after a refused Enable, want node1", tm.m.Name())
	}
}

func TestEnableRefusesInvalidName(t *testing.T) {
	tm := newTestMember(t)
	long := string(bytes.Repeat([]byte("a"), 64))
	for _, name := range []string{"", "-node", "node-", "node_1", "node.1", "nöde", "node 1", long} {
		err := tm.m.Enable(testContext(t), name)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Enable(%q): got %v, want ErrInvalid", name, err)
		}
	}

	if tm.m.Clustered() || exists(tm.g.Dir()) || exists(tm.paths.ClusterCert) || exists(tm.paths.ClusterKey) {
		t.Fatal("a refused Enable left something behind")
	}

	for _, name := range []string{"a", "node-1", "N0DE", string(bytes.Repeat([]byte("a"), 63))} {
		err := ValidMemberName(name)
		if err != nil {
			t.Errorf("ValidMemberName(%q): %v", name, err)
		}
	}
}

func TestEnableRefusesAddress(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
	}{
		{"no address", nil},
		{"IPv4 wildcard", map[string]string{config.HTTPSAddress: "0.0.0.0:8443"}},
		{"IPv6 wildcard", map[string]string{config.HTTPSAddress: "[::]:8443"}},
		{"empty host", map[string]string{config.HTTPSAddress: ":8443"}},
		{"wildcard cluster address", map[string]string{config.HTTPSAddress: "127.0.0.1:8443", config.ClusterHTTPSAddress: "0.0.0.0:8443"}},
		{"no port", map[string]string{config.HTTPSAddress: "127.0.0.1"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTestMember(t)
			tm.cfg.Store(config.New(tt.values))
			err := tm.m.Enable(testContext(t), "node1")
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}

			if tm.m.Clustered() || tm.g.Running() || tm.g.Configured() {
				t.Fatal("the server is clustered after a refused Enable")
			}

			for _, path := range []string{tm.g.Dir(), tm.paths.ClusterCert, tm.paths.ClusterKey} {
				if exists(path) {
					t.Fatalf("%s exists after a refused Enable", path)
				}
			}

			if !reflect.DeepEqual(tm.cfg.Load().Stored(), config.New(tt.values).Stored()) {
				t.Fatalf("got configuration %v, want it unchanged", tm.cfg.Load().Stored())
			}
		})
	}
}

func TestEnableUsesClusterAddress(t *testing.T) {
	tm := newTestMember(t)
	tm.cfg.Store(config.New(map[string]string{config.HTTPSAddress: "0.0.0.0:8443", config.ClusterHTTPSAddress: tm.addr}))
	tm.enable(t, "node1")

	member := tm.member(t, "node1")
	if member.URL != "https://"+tm.addr {
		t.Fatalf("got URL %q, want the cluster address %s", member.URL, tm.addr)
	}

	if got := tm.cfg.Load().Get(config.HTTPSAddress); got != "0.0.0.0:8443" {
		t.Fatalf("got core.https_address %q, want it unchanged", got)
	}
}

func TestRepair(t *testing.T) {
	newRepair := func(t *testing.T) (*Manager, *Gateway, Paths) {
		dir := t.TempDir()
		p := Paths{
			ServerCert:  filepath.Join(dir, "server.crt"),
			ServerKey:   filepath.Join(dir, "server.key"),
			ClusterCert: filepath.Join(dir, "cluster.crt"),
			ClusterKey:  filepath.Join(dir, "cluster.key"),
		}

		err := tlsutil.Generate(p.ServerCert, p.ServerKey, false)
		if err != nil {
			t.Fatal(err)
		}

		g := NewGateway(filepath.Join(dir, "database", "global"))
		return NewManager(ManagerArgs{Gateway: g, Paths: p}), g, p
	}

	// writeState writes what Enable leaves before its end: the node's files and the cluster certificate.
	writeState := func(t *testing.T, g *Gateway, p Paths) {
		err := os.MkdirAll(g.Dir(), 0o700)
		if err != nil {
			t.Fatal(err)
		}

		for _, name := range []string{"info.yaml", "cluster.yaml", "open-1"} {
			err = os.WriteFile(filepath.Join(g.Dir(), name), []byte("x"), 0o600)
			if err != nil {
				t.Fatal(err)
			}
		}

		for _, pair := range [][2]string{{p.ServerCert, p.ClusterCert}, {p.ServerKey, p.ClusterKey}} {
			data, err := os.ReadFile(pair[0])
			if err != nil {
				t.Fatal(err)
			}

			err = os.WriteFile(pair[1], data, 0o600)
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("interrupted enable", func(t *testing.T) {
		m, g, p := newRepair(t)
		writeState(t, g, p)
		err := m.Repair()
		if err != nil {
			t.Fatal(err)
		}

		for _, path := range []string{g.Dir(), p.ClusterCert, p.ClusterKey} {
			if exists(path) {
				t.Fatalf("%s survived Repair", path)
			}
		}

		if !exists(p.ServerCert) || !exists(p.ServerKey) || !exists(filepath.Dir(g.Dir())) {
			t.Fatal("Repair removed the server certificate or the database directory")
		}

		// Repairing again finds nothing to do.
		err = m.Repair()
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("interrupted before the certificate", func(t *testing.T) {
		m, g, p := newRepair(t)
		err := os.MkdirAll(g.Dir(), 0o700)
		if err != nil {
			t.Fatal(err)
		}

		err = m.Repair()
		if err != nil {
			t.Fatal(err)
		}

		if exists(g.Dir()) || !exists(p.ServerCert) {
			t.Fatal("the node's directory survived Repair, or the server certificate did not")
		}
	})

	t.Run("member", func(t *testing.T) {
		m, g, p := newRepair(t)
		writeState(t, g, p)
		err := g.markMember()
		if err != nil {
			t.Fatal(err)
		}

		err = m.Repair()
		if err != nil {
			t.Fatal(err)
		}

		for _, path := range []string{filepath.Join(g.Dir(), memberMarker), filepath.Join(g.Dir(), "info.yaml"), p.ClusterCert, p.ClusterKey} {
			if !exists(path) {
				t.Fatalf("Repair removed %s of a member", path)
			}
		}
	})

	t.Run("not clustered", func(t *testing.T) {
		m, g, p := newRepair(t)
		err := m.Repair()
		if err != nil {
			t.Fatal(err)
		}

		if exists(g.Dir()) || !exists(p.ServerCert) {
			t.Fatal("Repair changed a server that is not clustered")
		}
	})
}

func TestRenameMember(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)

	err := tm.m.RenameMember(ctx, "node1", "node2")
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("got %v renaming before Enable, want ErrInvalid", err)
	}

	tm.enable(t, "node1")
	err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateNode(ctx, db.Node{Name: "other", Address: "10.0.0.2:8443", Architecture: "x86_64"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = tm.m.RenameMember(ctx, "node1", "node2")
	if err != nil {
		t.Fatal(err)
	}

	if tm.m.Name() != "node2" {
		t.Fatalf("got name %q after the rename, want node2", tm.m.Name())
	}

	info, err := tm.m.Info(ctx)
	if err != nil || info.ServerName != "node2" {
		t.Fatalf("got %+v, %v, want node2", info, err)
	}

	member := tm.member(t, "node2")
	if member.URL != "https://"+tm.addr || !member.Database {
		t.Fatalf("got %+v, want the renamed local member", member)
	}

	tests := []struct {
		name    string
		from    string
		to      string
		wantErr error
	}{
		{"old name", "node1", "node3", errs.ErrNotFound},
		{"taken name", "node2", "other", errs.ErrConflict},
		{"invalid name", "node2", "node_3", errs.ErrInvalid},
		{"empty name", "node2", "", errs.ErrInvalid},
	}

	for _, tt := range tests {
		err = tm.m.RenameMember(ctx, tt.from, tt.to)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.wantErr)
		}
	}

	if tm.m.Name() != "node2" {
		t.Fatalf("got name %q after refused renames, want node2", tm.m.Name())
	}

	// Renaming another member leaves this one's name alone.
	err = tm.m.RenameMember(ctx, "other", "other2")
	if err != nil {
		t.Fatal(err)
	}

	if tm.m.Name() != "node2" {
		t.Fatalf("got name %q, want node2", tm.m.Name())
	}

	// The other member, which never sent a heartbeat and holds no database role, is offline.
	other := tm.member(t, "other2")
	if other.Status != StatusOffline || other.Database || len(other.Roles) != 0 {
		t.Fatalf("got %+v, want an offline member without roles", other)
	}
}

func TestUpdateMember(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)

	err := tm.m.UpdateMember(ctx, "node1", api.ClusterMemberPut{})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("got %v updating before Enable, want ErrInvalid", err)
	}

	tm.enable(t, "node1")

	// The database roles the member shows are given back with the others; they are ignored.
	put := api.ClusterMemberPut{
		Roles:         []string{RoleEventHub, RoleDatabase, RoleDatabaseLeader, RoleOVNChassis},
		FailureDomain: "rack1",
		Description:   "first member",
		Config:        map[string]string{"scheduler.instance": "manual", "user.team": "a"},
	}

	err = tm.m.UpdateMember(ctx, "node1", put)
	if err != nil {
		t.Fatal(err)
	}

	want := tm.member(t, "node1")
	if !reflect.DeepEqual(want.Roles, []string{RoleDatabase, RoleDatabaseLeader, RoleEventHub, RoleOVNChassis}) {
		t.Fatalf("got roles %v", want.Roles)
	}

	if want.FailureDomain != "rack1" || want.Description != "first member" || !reflect.DeepEqual(want.Config, put.Config) {
		t.Fatalf("got %+v, want the update applied", want)
	}

	err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNode(ctx, "node1")
		if err != nil {
			return err
		}

		if !reflect.DeepEqual(n.Roles, []string{RoleEventHub, RoleOVNChassis}) {
			t.Fatalf("got stored roles %v, want the assignable ones only", n.Roles)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		member  string
		put     api.ClusterMemberPut
		wantErr error
	}{
		{"bogus role", "node1", api.ClusterMemberPut{Roles: []string{"bogus"}}, errs.ErrInvalid},
		{"unknown key", "node1", api.ClusterMemberPut{Config: map[string]string{"bogus.key": "1"}}, errs.ErrInvalid},
		{"bad scheduler value", "node1", api.ClusterMemberPut{Config: map[string]string{"scheduler.instance": "never"}}, errs.ErrInvalid},
		{"missing member", "nope", api.ClusterMemberPut{}, errs.ErrNotFound},
	}

	for _, tt := range tests {
		err = tm.m.UpdateMember(ctx, tt.member, tt.put)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.wantErr)
		}
	}

	if got := tm.member(t, "node1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused updates changed the member: got %+v, want %+v", got, want)
	}

	// A PUT without roles or configuration clears them, but for the database roles.
	err = tm.m.UpdateMember(ctx, "node1", api.ClusterMemberPut{})
	if err != nil {
		t.Fatal(err)
	}

	got := tm.member(t, "node1")
	if !reflect.DeepEqual(got.Roles, []string{RoleDatabase, RoleDatabaseLeader}) || len(got.Config) != 0 || got.FailureDomain != "default" {
		t.Fatalf("got %+v, want database roles only, no configuration, the default failure domain", got)
	}
}

func TestResume(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)
	tm.enable(t, "node1")
	err := tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateConfig(ctx, map[string]string{config.RemoteCacheExpiry: "3"})
	})
	if err != nil {
		t.Fatal(err)
	}

	// The daemon stops (the database closes, and with it the cluster database, then the node) and starts again on
	// the same directories.
	tm.restart(t)
	err = tm.m.Repair()
	if err != nil {
		t.Fatal(err)
	}

	cert := tm.m.Certificate()
	if cert == nil || cert.Fingerprint() != tm.cert.Fingerprint() {
		t.Fatalf("got %v, want the cluster certificate", cert)
	}

	if tm.m.Clustered() {
		t.Fatal("Clustered is true before Resume")
	}

	err = tm.m.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if !tm.m.Clustered() || tm.m.Name() != "node1" {
		t.Fatalf("got clustered %v and name %q after Resume, want node1", tm.m.Clustered(), tm.m.Name())
	}

	member := tm.member(t, "node1")
	if member.Status != StatusOnline || !reflect.DeepEqual(member.Roles, []string{RoleDatabase, RoleDatabaseLeader}) {
		t.Fatalf("got %+v after Resume", member)
	}

	err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		cfg, err := tx.GetConfig(ctx)
		if err != nil {
			return err
		}

		if cfg[config.RemoteCacheExpiry] != "3" {
			t.Fatalf("got %v, want the cluster configuration kept across the restart", cfg)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEnableConcurrent(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)

	// Two enable requests at once: one makes the server a member, the other is refused and leaves it so.
	errCh := make(chan error, 2)
	for _, name := range []string{"node1", "node2"} {
		go func() { errCh <- tm.m.Enable(ctx, name) }()
	}

	var failed []error
	for range 2 {
		err := <-errCh
		if err != nil {
			failed = append(failed, err)
		}
	}

	if len(failed) != 1 || !errors.Is(failed[0], errs.ErrConflict) {
		t.Fatalf("got errors %v, want one ErrConflict and one success", failed)
	}

	if !tm.m.Clustered() || !tm.g.Configured() || !tm.g.Running() {
		t.Fatal("the server is not a running cluster member")
	}

	for _, path := range []string{tm.paths.ClusterCert, tm.paths.ClusterKey, filepath.Join(tm.g.Dir(), "info.yaml")} {
		if !exists(path) {
			t.Fatalf("%s was removed by the refused Enable", path)
		}
	}

	if got := tm.cfg.Load().Get(config.ClusterHTTPSAddress); got != tm.addr {
		t.Fatalf("got cluster.https_address %q, want %q", got, tm.addr)
	}
}
