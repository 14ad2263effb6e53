package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// Member roles, as LXD names them. The database roles follow the member's place in dqlite and cannot be set; the
// others are assigned by the administrator.
const (
	RoleDatabase        = "database"
	RoleDatabaseLeader  = "database-leader"
	RoleDatabaseStandby = "database-standby"
	RoleEventHub        = "event-hub"
	RoleOVNChassis      = "ovn-chassis"
)

// Member statuses, as LXD shows them.
const (
	StatusOnline    = "Online"
	StatusOffline   = "Offline"
	StatusEvacuated = "Evacuated"
)

// memberConfigKeys are the configuration keys a member accepts (LXD's scheduler.instance and user keys).
func validMemberConfig(key string, value string) error {
	switch {
	case key == "scheduler.instance":
		if value != "" && !slices.Contains([]string{"all", "manual", "group"}, value) {
			return errs.Invalid("invalid value %q for scheduler.instance: must be one of all, manual, group", value)
		}

	case strings.HasPrefix(key, "user."):
	default:
		return errs.Invalid("unknown cluster member configuration key %q", key)
	}

	return nil
}

// Paths are the files of the cluster certificate and of the server's own certificate.
type Paths struct {
	ServerCert  string
	ServerKey   string
	ClusterCert string
	ClusterKey  string
}

// ManagerArgs are the dependencies of a Manager.
type ManagerArgs struct {
	DB      *db.DB
	Gateway *Gateway
	Paths   Paths

	// Config returns the server configuration in force; UpdateConfig changes it (binding listeners as needed).
	Config       func() *config.Config
	UpdateConfig func(ctx context.Context, changes map[string]any, replace bool) error

	// Schema and APIExtensions are the versions this build runs, recorded with every heartbeat.
	Schema        int
	APIExtensions int
	Architecture  string

	// OnCertificate, when set, is called with the certificate the listeners present from then on: the new cluster
	// certificate after an update or a join, the server's again when a join is undone.
	OnCertificate func(cert *tlsutil.CertInfo)

	// Storage returns the storage pools, which a join extends to the cluster's.
	Storage func() *storage.Pools

	// OnMembership, when set, is called once this server joined a cluster or left one, to load the configuration
	// and trust store of the database it runs on from then on.
	OnMembership func(ctx context.Context) error
}

// Manager enables clustering and keeps the members' records.
type Manager struct {
	args ManagerArgs

	mu   sync.Mutex
	name string
	cert *tlsutil.CertInfo

	// changeMu serialises the changes of this server's membership and of the cluster certificate.
	changeMu sync.Mutex

	// fwd is the transport to the other members' API, made for the cluster certificate fwdCert (under mu).
	fwd     *http.Transport
	fwdCert *tlsutil.CertInfo

	// relay is the relay of the other members' events (RelayEvents).
	relay relayState
}

// NewManager returns the cluster manager.
func NewManager(args ManagerArgs) *Manager {
	return &Manager{args: args}
}

// Clustered reports whether this server is a cluster member.
func (m *Manager) Clustered() bool {
	return m.args.DB.Clustered()
}

// Address is the address this member is reached at by the others: cluster.https_address, or core.https_address
// when that is not set.
func (m *Manager) Address() string {
	cfg := m.args.Config()
	addr := cfg.Get(config.ClusterHTTPSAddress)
	if addr == "" {
		addr = cfg.Get(config.HTTPSAddress)
	}

	return addr
}

// Certificate returns the cluster certificate of a member; nil when the server is not clustered.
func (m *Manager) Certificate() *tlsutil.CertInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cert
}

// Repair undoes what an enable interrupted by a crash left: the node's directory without the member marker and the
// cluster certificate. The server's data never left local.db, so it is a server that is not clustered again.
func (m *Manager) Repair() error {
	if !m.args.Gateway.interrupted() {
		return nil
	}

	slog.Warn("removing the cluster database of an interrupted enable", "dir", m.args.Gateway.Dir())
	err := os.RemoveAll(m.args.Gateway.Dir())
	if err != nil {
		return fmt.Errorf("removing the cluster database of an interrupted enable: %w", err)
	}

	for _, path := range []string{m.args.Paths.ClusterCert, m.args.Paths.ClusterKey} {
		err = os.Remove(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the cluster certificate of an interrupted enable: %w", err)
		}
	}

	return nil
}

// LoadCertificate loads the cluster certificate, if this server has one. The daemon serves it on its listeners.
func (m *Manager) LoadCertificate() (*tlsutil.CertInfo, error) {
	err := m.completeCertificateUpdate()
	if err != nil {
		return nil, fmt.Errorf("completing the update of the cluster certificate: %w", err)
	}

	_, err = os.Stat(m.args.Paths.ClusterCert)
	if err != nil {
		return nil, nil
	}

	cert, err := tlsutil.Load(m.args.Paths.ClusterCert, m.args.Paths.ClusterKey)
	if err != nil {
		return nil, fmt.Errorf("cluster certificate: %w", err)
	}

	m.mu.Lock()
	m.cert = cert
	m.mu.Unlock()
	return cert, nil
}

// Resume starts the database of a member as the daemon starts, once its HTTPS listener serves DatabasePath. It
// does nothing on a server that is not clustered.
func (m *Manager) Resume(ctx context.Context) error {
	if !m.args.Gateway.Configured() {
		return nil
	}

	cert := m.Certificate()
	if cert == nil {
		return fmt.Errorf("this server is a cluster member but has no cluster certificate (%s)", m.args.Paths.ClusterCert)
	}

	global, err := m.args.Gateway.Start(ctx, m.Address(), cert, nil)
	if err != nil {
		return err
	}

	err = m.waitVersions(ctx, global)
	if err == nil {
		err = m.args.DB.UseCluster(ctx, db.ClusterArgs{Global: global, NodeConfig: config.NodeKeys})
	}

	if err != nil {
		_ = global.Close()
		m.args.Gateway.Stop()
		return err
	}

	_, err = m.LocalName(ctx)
	if err != nil {
		return err
	}

	return m.Heartbeat(ctx)
}

// ValidMemberName checks a member name: 1 to 63 letters, digits and dashes, neither starting nor ending with a dash.
func ValidMemberName(name string) error {
	if name == "" || len(name) > 63 {
		return errs.Invalid("cluster member name %q must be 1 to 63 characters long", name)
	}

	for _, c := range name {
		ok := c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return errs.Invalid("cluster member name %q may only contain letters, digits and dashes", name)
		}
	}

	if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
		return errs.Invalid("cluster member name %q must not start or end with a dash", name)
	}

	return nil
}

// clusterAddress checks that addr can identify a member: a specific host and port, not a wildcard.
func clusterAddress(addr string) (string, error) {
	if addr == "" {
		return "", errs.Invalid("This server is not available on the network: set core.https_address or cluster.https_address first")
	}

	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errs.Invalid("invalid cluster address %q: %v", addr, err)
	}

	if config.WildcardHost(host) {
		return "", errs.Invalid("cluster address %q is a wildcard: set cluster.https_address to the address other members reach this server at", addr)
	}

	return addr, nil
}

// CheckPut refuses, before any work starts, a PUT /1.0/cluster this server cannot carry out: one without a member
// name, one that disables clustering, a join with the trust password, and an enable or a join on a server that is
// clustered already. Enable and Join check again under their lock.
func (m *Manager) CheckPut(put api.ClusterPut) error {
	if put.ServerName == "" && put.Enabled {
		return errs.Invalid("ServerName may not be empty")
	}

	if put.ServerName == "" && !put.Enabled {
		return errs.Unsupported("disabling clustering is not supported")
	}

	if put.ClusterPassword != "" && put.ClusterToken == "" {
		return errs.Unsupported("joining a cluster with its trust password is not supported: use a join token (lxc cluster add <name> on a member)")
	}

	if m.Clustered() {
		return errs.Invalid("This server is already clustered")
	}

	return nil
}

// IsJoin reports whether a PUT /1.0/cluster asks to join an existing cluster rather than found a new one.
func IsJoin(put api.ClusterPut) bool {
	return put.ClusterAddress != "" || put.ClusterToken != "" || put.ClusterPassword != ""
}

// Enable makes this server the first member of a new cluster, named name: its certificate becomes the cluster
// certificate, its database moves into a new replicated database reached at the member's address, and the member
// is recorded. On error the server is left as it was.
func (m *Manager) Enable(ctx context.Context, name string) error {
	err := ValidMemberName(name)
	if err != nil {
		return err
	}

	// One change of membership at a time: a second enable finds the first one's member and is refused.
	m.changeMu.Lock()
	defer m.changeMu.Unlock()

	if m.Clustered() || m.args.Gateway.Configured() {
		return errs.Conflict("This server is already clustered")
	}

	addr, err := clusterAddress(m.Address())
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()

	// The listener on cluster.https_address is what members dial; without the key the member is reached on
	// core.https_address, which LXD records as the cluster address.
	if m.args.Config().Get(config.ClusterHTTPSAddress) == "" {
		err = m.args.UpdateConfig(ctx, map[string]any{config.ClusterHTTPSAddress: addr}, false)
		if err != nil {
			return err
		}

		r.Add(func() {
			_ = m.args.UpdateConfig(context.Background(), map[string]any{config.ClusterHTTPSAddress: ""}, false)
		})
	}

	cert, err := m.installCertificate()
	if err != nil {
		return err
	}

	r.Add(func() {
		_ = os.Remove(m.args.Paths.ClusterCert)
		_ = os.Remove(m.args.Paths.ClusterKey)
	})

	global, err := m.startNode(ctx, r, addr, cert, nil)
	if err != nil {
		return err
	}

	err = m.args.DB.UseCluster(ctx, db.ClusterArgs{Global: global, Bootstrap: true, NodeConfig: config.NodeKeys})
	if err != nil {
		return err
	}

	r.Add(m.args.DB.LeaveCluster)
	var id int64
	err = m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		id, err = tx.CreateNode(ctx, db.Node{
			Name:          name,
			Address:       addr,
			Schema:        m.args.Schema,
			APIExtensions: m.args.APIExtensions,
			Architecture:  m.args.Architecture,
			Heartbeat:     time.Now(),
		})
		if err != nil {
			return err
		}

		return tx.AssignToNode(ctx, id)
	})
	if err != nil {
		return err
	}

	m.args.DB.SetNode(id)
	r.Add(func() { m.args.DB.SetNode(0) })

	err = m.becomeMember(name, cert)
	if err != nil {
		return err
	}

	r.Success()
	return nil
}

// startNode starts the database node of an enable or a join (join lists the members to reach) and adds to r its
// undoing: the node stops and its directory goes.
func (m *Manager) startNode(ctx context.Context, r *revert.Reverter, addr string, cert *tlsutil.CertInfo, join []string) (*sql.DB, error) {
	global, err := m.args.Gateway.Start(ctx, addr, cert, join)
	if err != nil {
		_ = os.RemoveAll(m.args.Gateway.Dir())
		return nil, err
	}

	r.Add(func() {
		_ = global.Close()
		m.args.Gateway.Stop()
		_ = os.RemoveAll(m.args.Gateway.Dir())
	})

	return global, nil
}

// becomeMember writes the member marker, the last step of an enable or a join, and takes the member's name and
// the cluster certificate.
func (m *Manager) becomeMember(name string, cert *tlsutil.CertInfo) error {
	err := m.args.Gateway.markMember()
	if err != nil {
		return err
	}

	m.mu.Lock()
	m.name = name
	m.cert = cert
	m.mu.Unlock()
	return nil
}

// installCertificate copies the server's certificate and key to the cluster certificate's files.
func (m *Manager) installCertificate() (*tlsutil.CertInfo, error) {
	p := m.args.Paths
	certPEM, err := os.ReadFile(p.ServerCert)
	if err != nil {
		return nil, fmt.Errorf("reading the server certificate: %w", err)
	}

	keyPEM, err := os.ReadFile(p.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("reading the server key: %w", err)
	}

	return m.writeCertificate(certPEM, keyPEM)
}
