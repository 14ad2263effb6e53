package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// LeavePath is where a member is told it was removed from the cluster.
const LeavePath = "/internal/cluster/leave"

// RemoveMember removes member name from the cluster, through another member. It must hold no instance. The member
// is told first, and leaves: it stops its database node and drops the cluster's certificate and data, going back to
// what it was before it joined. With force, a member that cannot be told (it is down, or gone for good) is removed
// all the same. Its database node, record, member keys of the pools and server certificate go.
func (m *Manager) RemoveMember(ctx context.Context, name string, force bool) error {
	if !m.Clustered() {
		return notClustered()
	}

	if name == m.Name() {
		return errs.Invalid("Cluster member %q is the one serving this request: remove it through another member", name)
	}

	m.changeMu.Lock()
	defer m.changeMu.Unlock()

	var node db.Node
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		node, err = tx.GetNode(ctx, name)
		if err != nil {
			return err
		}

		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		var held []string
		for _, inst := range insts {
			if inst.Node == name {
				held = append(held, inst.Name)
			}
		}

		if len(held) > 0 {
			return errs.Invalid("Cluster member %q still has instances: %v", name, held)
		}

		return nil
	})
	if err != nil {
		return err
	}

	_, err = m.Query(ctx, node.Address, http.MethodPost, LeavePath)
	if err != nil && !force {
		return fmt.Errorf("telling cluster member %q to leave (remove it with --force if it is gone for good): %w", name, err)
	}

	if err != nil {
		slog.Warn("removing a cluster member that could not be told", "member", name, "err", err)
	}

	err = m.args.Gateway.RemoveNode(ctx, node.Address)
	if err != nil {
		return err
	}

	return m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.DeleteNode(ctx, name)
		if err != nil {
			return err
		}

		return tx.DeleteServerCertificates(ctx, name)
	})
}

// Leave makes this member leave the cluster it was removed from, when a member tells it to: its database node
// stops, the cluster's database and certificate go, and it runs on its own database again, as before it joined.
func (m *Manager) Leave(ctx context.Context) error {
	if !m.Clustered() {
		return notClustered()
	}

	m.changeMu.Lock()
	defer m.changeMu.Unlock()

	// The marker goes first: whatever happens next, the next start finds a server that is not a member, and
	// removes what is left of the cluster's database and certificate.
	err := os.Remove(m.args.Gateway.markerPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("leaving the cluster: %w", err)
	}

	m.args.DB.LeaveCluster()
	m.args.DB.SetNode(0)
	m.args.Gateway.Stop()

	m.mu.Lock()
	m.name = ""
	m.cert = nil
	m.mu.Unlock()

	err = m.Repair()
	if err != nil {
		return err
	}

	cert, err := tlsutil.Load(m.args.Paths.ServerCert, m.args.Paths.ServerKey)
	if err == nil && m.args.OnCertificate != nil {
		m.args.OnCertificate(cert)
	}

	if m.args.OnMembership != nil {
		return m.args.OnMembership(ctx)
	}

	return nil
}
