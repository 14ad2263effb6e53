package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// KeyClusterEvacuate says what an evacuation of its member does with an instance: auto (the default) and stop stop
// it, migrate and live-migrate ask for a move to another member.
const KeyClusterEvacuate = "cluster.evacuate"

// checkEvacuate accepts LXD's values of cluster.evacuate.
func checkEvacuate(v string) error {
	if !slices.Contains([]string{"auto", "migrate", "live-migrate", "stop"}, v) {
		return fmt.Errorf("%q is not one of auto, migrate, live-migrate, stop", v)
	}

	return nil
}

// Evacuate stops the running instances of this member for an evacuation, as LXD does with instances on local
// storage: each one cleanly within its boot.host_shutdown_timeout (timeout when unset), else killed, keeping
// volatile.last_state.power RUNNING for Restore. An instance whose cluster.evacuate asks for a move to another member
// is refused before anything stops: instances do not move between members yet. progress, when set, is told each
// instance as it stops.
func (m *Manager) Evacuate(ctx context.Context, timeout time.Duration, progress func(name string)) error {
	insts, err := m.localInstances(ctx)
	if err != nil {
		return err
	}

	timeouts := map[string]time.Duration{}
	for i := range insts {
		config, _, err := m.expand(ctx, &insts[i])
		if err != nil {
			return err
		}

		mode := config[KeyClusterEvacuate]
		if mode == "migrate" || mode == "live-migrate" {
			return errs.Unsupported("instance %q asks to be moved to another member (%s=%s), which is not supported yet: set it to auto or stop", insts[i].Name, KeyClusterEvacuate, mode)
		}

		timeouts[insts[i].Name] = configSeconds(config, KeyBootHostShutdownTimeout, timeout)
	}

	for _, inst := range insts {
		if m.driver.Status(inst.Name) == api.Stopped {
			continue
		}

		if progress != nil {
			progress(inst.Name)
		}

		err = m.Stop(ctx, inst.Name, timeouts[inst.Name], false)
		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			slog.Warn("instance did not stop cleanly for the evacuation, killing it", "instance", inst.Name, "err", err)
			err = m.Stop(ctx, inst.Name, 0, true)
		}

		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			return fmt.Errorf("stopping %q: %w", inst.Name, err)
		}

		m.setVolatile(ctx, inst.Name, map[string]string{KeyLastStatePower: PowerStateRunning})
		m.lifecycle("instance-stopped", inst.Name)
	}

	return nil
}

// Restore starts the instances of this member that were running when it was evacuated (stopped, with
// volatile.last_state.power RUNNING). Every one is tried; the errors are returned together.
func (m *Manager) Restore(ctx context.Context, progress func(name string)) error {
	insts, err := m.localInstances(ctx)
	if err != nil {
		return err
	}

	var failed []error
	for _, inst := range insts {
		if inst.Config[KeyLastStatePower] != PowerStateRunning || m.driver.Status(inst.Name) != api.Stopped {
			continue
		}

		if progress != nil {
			progress(inst.Name)
		}

		err = m.Start(ctx, inst.Name)
		if err != nil {
			failed = append(failed, fmt.Errorf("starting %q: %w", inst.Name, err))
			continue
		}

		m.lifecycle("instance-started", inst.Name)
	}

	return errors.Join(failed...)
}

// localInstances reads the rows of the instances on this server (in a cluster, this member's).
func (m *Manager) localInstances(ctx context.Context) ([]db.Instance, error) {
	var insts []db.Instance
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		insts, err = tx.GetLocalInstances(ctx)
		return err
	})
	return insts, err
}
