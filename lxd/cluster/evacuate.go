package cluster

import (
	"context"
	"fmt"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

// Evacuate evacuates this member, name: it is recorded evacuated (the scheduler places nothing more on it), then
// stop stops its instances. A failure to stop them puts the member back in service.
func (m *Manager) Evacuate(ctx context.Context, name string, stop func(ctx context.Context) error) error {
	err := m.checkLocal(name)
	if err != nil {
		return err
	}

	err = m.SetEvacuated(ctx, name, true)
	if err != nil {
		return err
	}

	err = stop(ctx)
	if err != nil {
		_ = m.SetEvacuated(context.Background(), name, false)
		return err
	}

	return nil
}

// Restore restores this member, name, from an evacuation: start starts its instances again, then it is back in
// service. When start fails the member stays evacuated, for the administrator to look at.
func (m *Manager) Restore(ctx context.Context, name string, start func(ctx context.Context) error) error {
	err := m.checkLocal(name)
	if err != nil {
		return err
	}

	if !m.Evacuated(ctx) {
		return errs.Invalid("Cluster member %q is not evacuated", name)
	}

	err = start(ctx)
	if err != nil {
		return err
	}

	return m.SetEvacuated(ctx, name, false)
}

// SetEvacuated records whether member name is evacuated: an evacuated member takes no new instance from the
// scheduler and does not start its instances with its daemon.
func (m *Manager) SetEvacuated(ctx context.Context, name string, evacuated bool) error {
	if !m.Clustered() {
		return notClustered()
	}

	state := db.NodeCreated
	if evacuated {
		state = db.NodeEvacuated
	}

	return m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNode(ctx, name)
		if err != nil {
			return err
		}

		switch {
		case n.State == db.NodePending:
			return errs.NotFound("cluster member %q not found", name)
		case evacuated && n.State == db.NodeEvacuated:
			return errs.Invalid("Cluster member %q is already evacuated", name)
		case !evacuated && n.State != db.NodeEvacuated:
			return errs.Invalid("Cluster member %q is not evacuated", name)
		}

		return tx.SetNodeState(ctx, n.ID, state)
	})
}

// Evacuated reports whether this member is evacuated; false when the server is not clustered or its record cannot
// be read.
func (m *Manager) Evacuated(ctx context.Context) bool {
	if !m.Clustered() {
		return false
	}

	evacuated := false
	addr := m.Address()
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNodeByAddress(ctx, addr)
		if err != nil {
			return err
		}

		evacuated = n.State == db.NodeEvacuated
		return nil
	})
	if err != nil {
		return false
	}

	return evacuated
}

// checkLocal refuses an action on a member other than this one.
func (m *Manager) checkLocal(name string) error {
	if name != m.Name() {
		return fmt.Errorf("cluster member %q is not this member (%q): %w", name, m.Name(), errs.ErrInvalid)
	}

	return nil
}
