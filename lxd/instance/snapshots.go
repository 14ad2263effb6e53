package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// SnapshotURL is the API path of a snapshot.
func SnapshotURL(name string, snap string) string {
	return URL(name) + "/snapshots/" + snap
}

// ValidSnapshotName checks a snapshot name: not empty, at most 63 characters, no slash, not "." or "..".
func ValidSnapshotName(snap string) error {
	if snap == "" {
		return fmt.Errorf("snapshot name must not be empty: %w", errs.ErrInvalid)
	}

	if len(snap) > 63 {
		return fmt.Errorf("snapshot name %q is longer than 63 characters: %w", snap, errs.ErrInvalid)
	}

	if strings.ContainsAny(snap, "/\\ \t\n") || snap == "." || snap == ".." || strings.HasPrefix(snap, ".") {
		return fmt.Errorf("snapshot name %q may not contain slashes or spaces nor start with a dot: %w", snap, errs.ErrInvalid)
	}

	return nil
}

// snapshotToAPI converts a snapshot row.
func (m *Manager) snapshotToAPI(ctx context.Context, tx *db.Tx, snap *db.Snapshot) (api.InstanceSnapshot, error) {
	profiles, err := loadProfiles(ctx, tx, snap.Profiles)
	if err != nil {
		// A profile deleted since: show the snapshot's own state only.
		profiles = nil
	}

	config, devices := Expand(profiles, snap.Config, snap.Devices)
	return api.InstanceSnapshot{
		Name:            snap.Name,
		CreatedAt:       snap.CreatedAt,
		Architecture:    snap.Architecture,
		Config:          snap.Config,
		Devices:         snap.Devices,
		Ephemeral:       snap.Ephemeral,
		Profiles:        snap.Profiles,
		ExpandedConfig:  config,
		ExpandedDevices: devices,
		ExpiresAt:       snap.ExpiresAt,
		Stateful:        snap.Stateful,
		Size:            -1,
		Description:     snap.Description,
	}, nil
}

// Snapshots returns the snapshots of an instance, oldest first.
func (m *Manager) Snapshots(ctx context.Context, name string) ([]api.InstanceSnapshot, error) {
	_, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	out := []api.InstanceSnapshot{}
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		snaps, err := tx.GetSnapshots(ctx, name)
		if err != nil {
			return err
		}

		for i := range snaps {
			snap, err := m.snapshotToAPI(ctx, tx, &snaps[i])
			if err != nil {
				return err
			}

			out = append(out, snap)
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	return out, nil
}

// Snapshot returns one snapshot of an instance.
func (m *Manager) Snapshot(ctx context.Context, name string, snap string) (*api.InstanceSnapshot, error) {
	_, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	var out api.InstanceSnapshot
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err := tx.GetSnapshot(ctx, name, snap)
		if err != nil {
			return err
		}

		out, err = m.snapshotToAPI(ctx, tx, row)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	if err != nil {
		return nil, err
	}

	return &out, nil
}

// NextSnapshotName returns the first free name snapN of an instance's snapshots.
func (m *Manager) NextSnapshotName(ctx context.Context, name string) (string, error) {
	snaps, err := m.Snapshots(ctx, name)
	if err != nil {
		return "", err
	}

	used := map[string]bool{}
	for _, s := range snaps {
		used[s.Name] = true
	}

	for i := 0; ; i++ {
		n := fmt.Sprintf("snap%d", i)
		if !used[n] {
			return n, nil
		}
	}
}

// CreateSnapshot takes a snapshot of an instance, running or not: its writable state and a complete copy of its
// root filesystem. The zero expiry means never.
func (m *Manager) CreateSnapshot(ctx context.Context, name string, snap string, expires time.Time) error {
	err := ValidSnapshotName(snap)
	if err != nil {
		return err
	}

	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateSnapshot(ctx, db.Snapshot{
			Instance:     name,
			Name:         snap,
			Architecture: inst.Architecture,
			Ephemeral:    inst.Ephemeral,
			Description:  inst.Description,
			CreatedAt:    time.Now().UTC(),
			ExpiresAt:    expires,
			Config:       inst.Config,
			Devices:      inst.Devices,
			Profiles:     inst.Profiles,
		})
		return err
	})
	if errors.Is(err, errs.ErrConflict) {
		return errs.Conflict("snapshot %q of instance %q already exists", snap, name)
	}

	if err != nil {
		return err
	}

	r := revert.New()
	r.Add(func() {
		err := m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.DeleteSnapshot(ctx, name, snap)
		})
		if err != nil {
			slog.Error("failed removing the record of a failed snapshot", "instance", name, "snapshot", snap, "err", err)
		}
	})

	// A running instance is frozen for the copy, so the snapshot is consistent.
	if m.driver.Status(name) == api.Running {
		err = m.driver.Freeze(name)
		if err != nil {
			slog.Warn("failed freezing the instance for a snapshot", "instance", name, "err", err)
		} else {
			m.lifecycle("instance-paused", name)
			defer func() {
				err := m.driver.Unfreeze(name)
				if err != nil {
					slog.Error("failed resuming the instance after a snapshot", "instance", name, "err", err)
					return
				}

				m.lifecycle("instance-resumed", name)
			}()
		}
	}

	// Deferred after the unfreeze, so it runs first: a failed snapshot is rolled back before the instance resumes.
	defer r.Fail()
	err = m.pool.CreateSnapshot(name, snap)
	if err != nil {
		return err
	}

	r.Add(func() { _ = m.pool.DeleteSnapshot(name, snap) })

	// The snapshot keeps the instance's metadata and templates as they are now.
	err = copyTemplatesIn(m.pool.ContainerPath(name), m.pool.SnapshotPath(name, snap))
	if err != nil {
		return err
	}

	r.Success()
	return nil
}

// RenameSnapshot renames a snapshot of an instance.
func (m *Manager) RenameSnapshot(ctx context.Context, name string, snap string, newSnap string) error {
	err := ValidSnapshotName(newSnap)
	if err != nil {
		return err
	}

	unlock := m.lock(name)
	defer unlock()

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.RenameSnapshot(ctx, name, snap, newSnap)
	})
	if errors.Is(err, errs.ErrConflict) {
		return errs.Conflict("snapshot %q of instance %q already exists", newSnap, name)
	}

	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	if err != nil {
		return err
	}

	err = m.pool.RenameSnapshot(name, snap, newSnap)
	if err != nil {
		_ = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.RenameSnapshot(ctx, name, newSnap, snap)
		})
		return err
	}

	return nil
}

// DeleteSnapshot removes a snapshot of an instance.
func (m *Manager) DeleteSnapshot(ctx context.Context, name string, snap string) error {
	unlock := m.lock(name)
	defer unlock()

	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteSnapshot(ctx, name, snap)
	})
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	if err != nil {
		return err
	}

	return m.pool.DeleteSnapshot(name, snap)
}

// RestoreSnapshot brings an instance back to a snapshot: its root filesystem and its writable state (volatile keys
// stay the instance's). A running instance is stopped for the restore and started again.
func (m *Manager) RestoreSnapshot(ctx context.Context, name string, snap string) error {
	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	var row *db.Snapshot
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err = tx.GetSnapshot(ctx, name, snap)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	if err != nil {
		return err
	}

	running := m.driver.Status(name) != api.Stopped
	if running && inst.Ephemeral {
		return errs.Invalid("stop the ephemeral instance before restoring it")
	}

	if running {
		err = m.stopLocked(ctx, name, 30*time.Second, false)
		if err != nil {
			return fmt.Errorf("stopping the instance for the restore: %w", err)
		}
	}

	m.waitRunDone(name)
	err = m.pool.RestoreSnapshot(name, snap)
	if err != nil {
		return err
	}

	config := map[string]string{}
	for k, v := range row.Config {
		if !strings.HasPrefix(k, "volatile.") {
			config[k] = v
		}
	}

	for k, v := range inst.Config {
		if strings.HasPrefix(k, "volatile.") {
			config[k] = v
		}
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := loadProfiles(ctx, tx, row.Profiles)
		profiles := row.Profiles
		if err != nil {
			// A profile deleted since the snapshot: keep the current ones.
			profiles = inst.Profiles
		}

		return tx.UpdateInstance(ctx, name, db.InstanceUpdate{
			Architecture: inst.Architecture,
			Ephemeral:    row.Ephemeral,
			Description:  row.Description,
			Config:       config,
			Devices:      maps.Clone(row.Devices),
			Profiles:     profiles,
		})
	})
	if err != nil {
		return err
	}

	if running {
		return m.startLocked(ctx, name)
	}

	return nil
}

// UpdateSnapshotExpiry changes when a snapshot expires; the zero time means never.
func (m *Manager) UpdateSnapshotExpiry(ctx context.Context, name string, snap string, expires time.Time) error {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateSnapshotExpiry(ctx, name, snap, expires)
	})
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	return err
}

// snapshotPruneInterval is how often expired snapshots are looked for.
const snapshotPruneInterval = time.Minute

// pruneSnapshotsLoop deletes expired snapshots until ctx ends.
func (m *Manager) pruneSnapshotsLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(snapshotPruneInterval):
		}

		_, err := m.PruneExpiredSnapshots(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			slog.Error("failed pruning expired snapshots", "err", err)
		}
	}
}

// PruneExpiredSnapshots deletes the snapshots whose expiry is before now and returns how many went.
func (m *Manager) PruneExpiredSnapshots(ctx context.Context, now time.Time) (int, error) {
	var expired []db.Snapshot
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		insts, err := tx.GetInstances(ctx)
		if err != nil {
			return err
		}

		for _, inst := range insts {
			snaps, err := tx.GetSnapshots(ctx, inst.Name)
			if err != nil {
				return err
			}

			for _, snap := range snaps {
				if !snap.ExpiresAt.IsZero() && snap.ExpiresAt.Before(now) {
					expired = append(expired, snap)
				}
			}
		}

		return nil
	})
	if err != nil {
		return 0, err
	}

	n := 0
	for _, snap := range expired {
		err = m.DeleteSnapshot(ctx, snap.Instance, snap.Name)
		if err != nil {
			slog.Warn("failed deleting an expired snapshot", "instance", snap.Instance, "snapshot", snap.Name, "err", err)
			continue
		}

		slog.Info("deleted expired snapshot", "instance", snap.Instance, "snapshot", snap.Name)
		if m.events != nil {
			m.events.SendLifecycle("default", api.EventLifecycle{Action: "instance-snapshot-deleted",
				Source: SnapshotURL(snap.Instance, snap.Name)})
		}

		n++
	}

	return n, nil
}
