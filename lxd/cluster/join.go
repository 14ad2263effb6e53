package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/revert"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// AcceptPath is where a member accepts a server that joins, once a join token put its certificate in the trust
// store.
const AcceptPath = "/internal/cluster/accept"

// AcceptRequest is what a joining server tells the member it joins through.
type AcceptRequest struct {
	Name          string `json:"name"`
	Address       string `json:"address"`
	Schema        int    `json:"schema"`
	APIExtensions int    `json:"api_extensions"`
	Architecture  string `json:"architecture"`
}

// AcceptResponse is what the joining server needs: its member id, the cluster certificate and key, the database
// members to reach, and the cluster's storage pools and managed networks.
type AcceptResponse struct {
	ID                 int64                 `json:"id"`
	ClusterCertificate string                `json:"cluster_certificate"`
	ClusterKey         string                `json:"cluster_key"`
	Members            []string              `json:"members"`
	StoragePools       []storage.ClusterPool `json:"storage_pools"`
	Networks           []string              `json:"networks"`
}

// Accept records a server that joins the cluster, called by the member it joins through. Its certificate
// (fingerprint) must be in the trust store as the server certificate a join token admitted for its name, and it must
// run this member's schema and API. A record left by an earlier attempt of the same server that did not finish is
// replaced.
func (m *Manager) Accept(ctx context.Context, fingerprint string, req AcceptRequest) (*AcceptResponse, error) {
	if !m.Clustered() {
		return nil, notClustered()
	}

	err := ValidMemberName(req.Name)
	if err != nil {
		return nil, err
	}

	_, err = clusterAddress(req.Address)
	if err != nil {
		return nil, err
	}

	if req.Schema != m.args.Schema || req.APIExtensions != m.args.APIExtensions {
		return nil, errs.Invalid("The joining server version doesn't match (expected schema %d with %d API extensions, got schema %d with %d)",
			m.args.Schema, m.args.APIExtensions, req.Schema, req.APIExtensions)
	}

	m.changeMu.Lock()
	defer m.changeMu.Unlock()

	certPEM, err := os.ReadFile(m.args.Paths.ClusterCert)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster certificate: %w", err)
	}

	keyPEM, err := os.ReadFile(m.args.Paths.ClusterKey)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster key: %w", err)
	}

	resp := &AcceptResponse{ClusterCertificate: string(certPEM), ClusterKey: string(keyPEM), Networks: []string{}}
	stale := false
	err = m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := TrustedJoiner(ctx, tx, fingerprint, req.Name)
		if err != nil {
			return err
		}

		stale, err = dropUnfinishedJoin(ctx, tx, req)
		if err != nil {
			return err
		}

		resp.ID, err = tx.CreateNode(ctx, db.Node{
			Name:          req.Name,
			Address:       req.Address,
			Schema:        req.Schema,
			APIExtensions: req.APIExtensions,
			Architecture:  req.Architecture,
			Heartbeat:     time.Now(),
			State:         db.NodePending,
		})
		if err != nil {
			return err
		}

		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		for _, n := range nodes {
			if n.ID != resp.ID && n.State != db.NodePending {
				resp.Members = append(resp.Members, n.Address)
			}
		}

		pools, err := tx.GetStoragePools(ctx)
		if err != nil {
			return err
		}

		for _, p := range pools {
			resp.StoragePools = append(resp.StoragePools, storage.ClusterPool{Name: p.Name, Driver: p.Driver, Config: storage.SharedConfig(p.Config)})
		}

		networks, err := tx.GetNetworks(ctx)
		if err != nil {
			return err
		}

		for _, n := range networks {
			resp.Networks = append(resp.Networks, n.Name)
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	// The database node of an attempt that did not finish holds the address: it goes before the new one joins.
	if stale {
		err = m.args.Gateway.RemoveNode(ctx, req.Address)
		if err != nil {
			return nil, err
		}
	}

	return resp, nil
}

// dropUnfinishedJoin removes the record of an earlier join of the same server (name and address) that did not
// finish, and reports whether there was one. Any other member of that name or address is a conflict.
func dropUnfinishedJoin(ctx context.Context, tx *db.Tx, req AcceptRequest) (bool, error) {
	n, err := tx.GetNodeByAddress(ctx, req.Address)
	if errors.Is(err, errs.ErrNotFound) {
		return false, nil
	}

	if err != nil {
		return false, err
	}

	if n.State != db.NodePending || n.Name != req.Name {
		return false, errs.Conflict("The cluster already has a member with address %s (%s)", req.Address, n.Name)
	}

	return true, tx.DeleteNode(ctx, n.Name)
}

// joinTarget is the member a join goes through, with the cluster certificate it presents.
type joinTarget struct {
	address string
	certPEM string
}

// findJoinTarget picks the member to join through: the address given with its certificate, or the first address of
// the token whose certificate has the token's fingerprint. A certificate given must have it too.
func findJoinTarget(put api.ClusterPut, token *api.ClusterMemberJoinToken) (joinTarget, error) {
	if put.ClusterCertificate != "" {
		fp, err := tlsutil.FingerprintPEM([]byte(put.ClusterCertificate))
		if err != nil {
			return joinTarget{}, errs.Invalid("invalid cluster certificate: %v", err)
		}

		if fp != token.Fingerprint {
			return joinTarget{}, errs.Invalid("The cluster certificate does not match the fingerprint of the join token")
		}

		addr := put.ClusterAddress
		if addr == "" {
			addr = token.Addresses[0]
		}

		return joinTarget{address: addr, certPEM: put.ClusterCertificate}, nil
	}

	addresses := token.Addresses
	if put.ClusterAddress != "" {
		addresses = []string{put.ClusterAddress}
	}

	for _, addr := range addresses {
		cert, err := client.GetServerCertificate("https://"+addr, "")
		if err != nil || tlsutil.FingerprintDER(cert.Raw) != token.Fingerprint {
			continue
		}

		return joinTarget{address: addr, certPEM: string(tlsutil.CertPEM(cert))}, nil
	}

	return joinTarget{}, errs.Invalid("Unable to connect to any of the cluster members specified in join token")
}

// Join makes this server a member of an existing cluster, as PUT /1.0/cluster asks with a join token: the cluster
// trusts its certificate through the token, accepts it as a member, and hands over the cluster certificate; its
// database node joins the cluster's, and its pools become the cluster's on this member. Its own instances, images,
// custom volumes and networks would be hidden by the cluster's, so a server holding any is refused. On error this
// server is left as it was; a record the cluster kept is replaced at the next attempt.
func (m *Manager) Join(ctx context.Context, put api.ClusterPut) error {
	err := ValidMemberName(put.ServerName)
	if err != nil {
		return err
	}

	if put.ClusterToken == "" {
		return errs.Unsupported("joining a cluster needs a join token (lxc cluster add <name> on a member)")
	}

	token, err := DecodeJoinToken(put.ClusterToken)
	if err != nil {
		return err
	}

	if token.ServerName != put.ServerName {
		return errs.Invalid("Server name %q does not match the join token's %q", put.ServerName, token.ServerName)
	}

	m.changeMu.Lock()
	defer m.changeMu.Unlock()

	if m.Clustered() || m.args.Gateway.Configured() {
		return errs.Conflict("This server is already clustered")
	}

	address := put.ServerAddress
	if address == "" {
		address = m.Address()
	}

	address, err = clusterAddress(address)
	if err != nil {
		return err
	}

	pools := m.args.Storage()
	local, err := m.localState(ctx, pools)
	if err != nil {
		return err
	}

	target, err := findJoinTarget(put, token)
	if err != nil {
		return err
	}

	resp, err := m.requestJoin(put, target, address)
	if err != nil {
		return err
	}

	member := memberPoolConfig(put.MemberConfig)
	err = storage.CheckJoin(local, resp.StoragePools, member)
	if err != nil {
		return err
	}

	if len(resp.Networks) > 0 {
		return errs.Unsupported("joining a cluster with managed networks (%v) is not supported yet", resp.Networks)
	}

	return m.completeJoin(ctx, put.ServerName, address, resp, local, member)
}

// localState checks that this server holds nothing a join would hide, and returns its storage pools.
func (m *Manager) localState(ctx context.Context, pools *storage.Pools) ([]db.StoragePool, error) {
	var blockers []string
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		blockers, err = tx.JoinBlockers(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}

	if len(blockers) > 0 {
		return nil, errs.Invalid("This server has %v: delete them before joining a cluster", blockers)
	}

	return pools.LocalPools(ctx)
}

// memberPoolConfig collects the storage pool keys of a join's member configuration, by pool.
func memberPoolConfig(keys []api.ClusterMemberConfigKey) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, k := range keys {
		if k.Entity != "storage-pool" || k.Value == "" {
			continue
		}

		if out[k.Name] == nil {
			out[k.Name] = map[string]string{}
		}

		out[k.Name][k.Key] = k.Value
	}

	return out
}

// requestJoin has the cluster trust this server's certificate with the token, then accept it as member name at
// address.
func (m *Manager) requestJoin(put api.ClusterPut, target joinTarget, address string) (*AcceptResponse, error) {
	certPEM, err := os.ReadFile(m.args.Paths.ServerCert)
	if err != nil {
		return nil, fmt.Errorf("reading the server certificate: %w", err)
	}

	keyPEM, err := os.ReadFile(m.args.Paths.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("reading the server key: %w", err)
	}

	c, err := client.ConnectLXD("https://"+target.address, &client.ConnectionArgs{
		TLSClientCert: string(certPEM),
		TLSClientKey:  string(keyPEM),
		TLSServerCert: target.certPEM,
		SkipGetServer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to cluster member %s: %w", target.address, err)
	}

	err = c.CreateCertificate(api.CertificatesPost{
		CertificatePut: api.CertificatePut{Type: api.CertificateTypeServer, Name: put.ServerName},
		Password:       put.ClusterToken,
	})
	if err != nil {
		return nil, fmt.Errorf("setting up the trust of the cluster: %w", err)
	}

	raw, _, err := c.RawQuery(http.MethodPost, AcceptPath, AcceptRequest{
		Name:          put.ServerName,
		Address:       address,
		Schema:        m.args.Schema,
		APIExtensions: m.args.APIExtensions,
		Architecture:  m.args.Architecture,
	}, "")
	if err != nil {
		return nil, fmt.Errorf("being accepted by the cluster: %w", err)
	}

	resp := &AcceptResponse{}
	err = json.Unmarshal(raw.Metadata, resp)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's answer: %w", err)
	}

	return resp, nil
}

// completeJoin carries out an accepted join: member address, cluster certificate, database node joined to the
// cluster's, the cluster's data in use, this member's pools recorded, the member in service, then the marker. Every
// step is undone on error.
func (m *Manager) completeJoin(ctx context.Context, name string, address string, resp *AcceptResponse, local []db.StoragePool, member map[string]map[string]string) error {
	r := revert.New()
	defer r.Fail()

	if m.args.Config().Get(config.ClusterHTTPSAddress) != address {
		old := m.args.Config().Get(config.ClusterHTTPSAddress)
		err := m.args.UpdateConfig(ctx, map[string]any{config.ClusterHTTPSAddress: address}, false)
		if err != nil {
			return err
		}

		r.Add(func() {
			_ = m.args.UpdateConfig(context.Background(), map[string]any{config.ClusterHTTPSAddress: old}, false)
		})
	}

	cert, err := m.writeCertificate([]byte(resp.ClusterCertificate), []byte(resp.ClusterKey))
	if err != nil {
		return err
	}

	r.Add(func() {
		_ = os.Remove(m.args.Paths.ClusterCert)
		_ = os.Remove(m.args.Paths.ClusterKey)
		serverCert, err := tlsutil.Load(m.args.Paths.ServerCert, m.args.Paths.ServerKey)
		if err == nil && m.args.OnCertificate != nil {
			m.args.OnCertificate(serverCert)
		}
	})

	// The listeners present the cluster certificate from now on: the other members' database nodes check it.
	if m.args.OnCertificate != nil {
		m.args.OnCertificate(cert)
	}

	global, err := m.startNode(ctx, r, address, cert, resp.Members)
	if err != nil {
		return err
	}

	err = m.args.DB.UseCluster(ctx, db.ClusterArgs{Global: global, NodeConfig: config.NodeKeys})
	if err != nil {
		return err
	}

	r.Add(m.args.DB.LeaveCluster)
	m.args.DB.SetNode(resp.ID)
	r.Add(func() { m.args.DB.SetNode(0) })
	err = m.args.Storage().Join(ctx, local, member)
	if err != nil {
		return err
	}

	err = m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetNodeJoined(ctx, resp.ID, time.Now(), m.args.Schema, m.args.APIExtensions)
	})
	if err != nil {
		return err
	}

	err = m.becomeMember(name, cert)
	if err != nil {
		return err
	}

	r.Success()

	// The server's configuration and trust store are the cluster's from now on.
	if m.args.OnMembership != nil {
		err = m.args.OnMembership(ctx)
		if err != nil {
			return fmt.Errorf("loading the cluster's configuration: %w", err)
		}
	}

	return nil
}

// writeCertificate writes the cluster certificate and key a member handed over.
func (m *Manager) writeCertificate(certPEM []byte, keyPEM []byte) (*tlsutil.CertInfo, error) {
	p := m.args.Paths
	err := fsutil.WriteFileAtomic(p.ClusterKey, keyPEM, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing the cluster key: %w", err)
	}

	err = fsutil.WriteFileAtomic(p.ClusterCert, certPEM, 0o644)
	if err != nil {
		_ = os.Remove(p.ClusterKey)
		return nil, fmt.Errorf("writing the cluster certificate: %w", err)
	}

	cert, err := tlsutil.Load(p.ClusterCert, p.ClusterKey)
	if err != nil {
		_ = os.Remove(p.ClusterCert)
		_ = os.Remove(p.ClusterKey)
		return nil, fmt.Errorf("invalid cluster certificate: %w", err)
	}

	return cert, nil
}
