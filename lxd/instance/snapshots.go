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
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// Volatile keys recording a multi-step snapshot change while it runs, so that the next start undoes or completes
// what a crash interrupted.
const (
	// KeySnapshotFreeze names the snapshot an instance was frozen for by the daemon: an instance found frozen at
	// start with it set is thawed, while one a user paused (without it) stays frozen.
	KeySnapshotFreeze = "volatile.snapshot_freeze"

	// KeyRestoring names the snapshot an instance is being restored to: a restore found interrupted at start is
	// done again.
	KeyRestoring = "volatile.restoring"
)

// SnapshotURL is the API path of a snapshot.
func SnapshotURL(name string, snap string) string {
	p, inst := project.SplitInstanceKey(name)
	return project.WithProject("/1.0/instances/"+inst+"/snapshots/"+snap, p)
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
	names := make([]string, 0, len(snap.Profiles))
	for _, p := range snap.Profiles {
		names = append(names, project.ProfileName(p))
	}

	return api.InstanceSnapshot{
		Name:            snap.Name,
		CreatedAt:       snap.CreatedAt,
		Architecture:    snap.Architecture,
		Config:          snap.Config,
		Devices:         snap.Devices,
		Ephemeral:       snap.Ephemeral,
		Profiles:        names,
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
		thaw := m.freezeForSnapshot(ctx, name, snap)
		defer thaw()
	}

	// Deferred after the thaw, so it runs first: a failed snapshot is rolled back before the instance resumes.
	defer r.Fail()

	// The snapshot keeps the instance's metadata and templates as they are now.
	err = m.pool.CreateSnapshot(name, snap, func(dir string) error {
		return copyTemplatesIn(m.pool.ContainerPath(name), dir)
	})
	if err != nil {
		return err
	}

	r.Success()
	return nil
}

// freezeForSnapshot freezes a running instance for a snapshot and returns what thaws it. The instance row records
// the freeze first (KeySnapshotFreeze), so that a crash before the thaw is undone at the next start; an instance
// whose freeze cannot be recorded is not frozen.
func (m *Manager) freezeForSnapshot(ctx context.Context, name string, snap string) func() {
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, map[string]string{KeySnapshotFreeze: snap})
	})
	if err != nil {
		slog.Warn("not freezing the instance for a snapshot: its freeze cannot be recorded", "instance", name, "err", err)
		return func() {}
	}

	forget := func() { m.setVolatile(context.Background(), name, map[string]string{KeySnapshotFreeze: ""}) }
	err = m.driver.Freeze(name)
	if err != nil {
		slog.Warn("failed freezing the instance for a snapshot", "instance", name, "err", err)
		forget()
		return func() {}
	}

	m.lifecycle("instance-paused", name)
	storage.CrashPoint("snapshot-frozen")
	return func() {
		err := m.driver.Unfreeze(name)
		if err != nil {
			// The record stays, so that the next start thaws it.
			slog.Error("failed resuming the instance after a snapshot", "instance", name, "err", err)
			return
		}

		forget()
		m.lifecycle("instance-resumed", name)
	}
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

	// A crash from here on leaves one row without storage and one storage without a row, a rename the next start
	// completes.
	storage.CrashPoint("snapshot-rename-row-renamed")
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

	// A crash from here on leaves storage without a row, which the next start removes.
	storage.CrashPoint("snapshot-delete-row-deleted")
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

	_, err = m.loadSnapshot(ctx, name, snap)
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
	err = m.restoreLocked(ctx, name, snap)
	if err != nil {
		return err
	}

	if running {
		return m.startLocked(ctx, name)
	}

	return nil
}

// loadSnapshot reads one snapshot row.
func (m *Manager) loadSnapshot(ctx context.Context, name string, snap string) (*db.Snapshot, error) {
	var row *db.Snapshot
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		row, err = tx.GetSnapshot(ctx, name, snap)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.NotFound("snapshot %q of instance %q not found", snap, name)
	}

	return row, err
}

// restoreLocked restores a stopped instance to a snapshot. The row records the restore (KeyRestoring) before the
// root filesystem is exchanged, and the row's update to the snapshot's state clears it: a crash in between leaves
// the record, and the next start does the restore again (finishRestore), which gives the same result.
func (m *Manager) restoreLocked(ctx context.Context, name string, snap string) error {
	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	row, err := m.loadSnapshot(ctx, name, snap)
	if err != nil {
		return err
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, map[string]string{KeyRestoring: snap})
	})
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	r.Add(func() { m.setVolatile(context.Background(), name, map[string]string{KeyRestoring: ""}) })

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

	// The instance's volatile keys as loaded before KeyRestoring was set: the update clears it.
	for k, v := range inst.Config {
		if strings.HasPrefix(k, "volatile.") && k != KeyRestoring {
			config[k] = v
		}
	}

	// The restored files are shifted as they were when the snapshot was taken: the next start shifts them to the
	// instance's map if that has changed since.
	if row.Config[KeyLastIdmap] != "" {
		config[KeyLastIdmap] = row.Config[KeyLastIdmap]
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

	r.Success()
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
		insts, err := tx.GetLocalInstances(ctx)
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
			m.events.SendLifecycle(project.InstanceProject(snap.Instance), api.EventLifecycle{Action: "instance-snapshot-deleted",
				Source: SnapshotURL(snap.Instance, snap.Name)})
		}

		n++
	}

	return n, nil
}
