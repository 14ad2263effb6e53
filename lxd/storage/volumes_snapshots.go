package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// volumeSnapshots reads a custom volume's row and its snapshots.
func (ps *Pools) volumeSnapshots(ctx context.Context, pool string, volType string, name string) (*db.StorageVolume, []db.StorageVolumeSnapshot, error) {
	err := ValidateVolumeType(volType)
	if err != nil {
		return nil, nil, err
	}

	if volType != VolumeTypeCustom {
		return nil, nil, errs.NotFound("storage volume %s/%s has no snapshots here: only custom volumes have", volType, name)
	}

	_, err = ps.Get(pool)
	if err != nil {
		return nil, nil, err
	}

	d, err := ps.volumeDB()
	if err != nil {
		return nil, nil, err
	}

	var row *db.StorageVolume
	var snaps []db.StorageVolumeSnapshot
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		row, err = getCustomVolume(ctx, tx, pool, name)
		if err != nil {
			return err
		}

		snaps, err = tx.GetStorageVolumeSnapshots(ctx, row.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}

	return row, snaps, nil
}

// findSnapshot returns the snapshot called snap of a volume.
func findSnapshot(row *db.StorageVolume, snaps []db.StorageVolumeSnapshot, snap string) (*db.StorageVolumeSnapshot, error) {
	for i := range snaps {
		if snaps[i].Name == snap {
			return &snaps[i], nil
		}
	}

	return nil, errs.NotFound("snapshot %q of storage volume %q not found", snap, row.Name)
}

func snapshotAPI(row *db.StorageVolume, s db.StorageVolumeSnapshot) api.StorageVolumeSnapshot {
	config := maps.Clone(s.Config)
	if config == nil {
		config = map[string]string{}
	}

	out := api.StorageVolumeSnapshot{
		StorageVolumeSnapshotPut: api.StorageVolumeSnapshotPut{Description: s.Description},
		Name:                     s.Name,
		Config:                   config,
		ContentType:              row.ContentType,
	}

	if !s.ExpiresAt.IsZero() {
		t := s.ExpiresAt
		out.ExpiresAt = &t
	}

	return out
}

// VolumeSnapshots returns the snapshots of a custom volume, oldest first.
func (ps *Pools) VolumeSnapshots(ctx context.Context, pool string, volType string, name string) ([]api.StorageVolumeSnapshot, error) {
	if volType == VolumeTypeContainer || volType == VolumeTypeImage {
		return ps.otherVolumeSnapshots(ctx, pool, volType, name)
	}

	row, snaps, err := ps.volumeSnapshots(ctx, pool, volType, name)
	if err != nil {
		return nil, err
	}

	out := make([]api.StorageVolumeSnapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, snapshotAPI(row, s))
	}

	return out, nil
}

// VolumeSnapshot returns one snapshot of a custom volume.
func (ps *Pools) VolumeSnapshot(ctx context.Context, pool string, volType string, name string, snap string) (*api.StorageVolumeSnapshot, error) {
	if volType == VolumeTypeContainer || volType == VolumeTypeImage {
		snaps, err := ps.otherVolumeSnapshots(ctx, pool, volType, name)
		if err != nil {
			return nil, err
		}

		for _, sn := range snaps {
			if sn.Name == snap {
				return &sn, nil
			}
		}

		return nil, errs.NotFound("snapshot %q of storage volume %s/%s not found", snap, volType, name)
	}

	row, snaps, err := ps.volumeSnapshots(ctx, pool, volType, name)
	if err != nil {
		return nil, err
	}

	s, err := findSnapshot(row, snaps, snap)
	if err != nil {
		return nil, err
	}

	out := snapshotAPI(row, *s)
	return &out, nil
}

// nextSnapshotName is the first free name snap<N>, as LXD names snapshots by default.
func nextSnapshotName(snaps []db.StorageVolumeSnapshot) string {
	taken := map[string]bool{}
	for _, s := range snaps {
		taken[s.Name] = true
	}

	for i := 0; ; i++ {
		name := fmt.Sprintf("snap%d", i)
		if !taken[name] {
			return name
		}
	}
}

// CheckVolumeSnapshot checks a snapshot request before it runs: the volume exists, and the name (when given) is
// valid and free. It returns the name the snapshot will have.
func (ps *Pools) CheckVolumeSnapshot(ctx context.Context, pool string, volType string, name string, snap string) (string, error) {
	row, snaps, err := ps.volumeSnapshots(ctx, pool, volType, name)
	if err != nil {
		return "", err
	}

	if snap == "" {
		return nextSnapshotName(snaps), nil
	}

	err = ValidateVolumeName("snapshot", snap)
	if err != nil {
		return "", err
	}

	_, err = findSnapshot(row, snaps, snap)
	if err == nil {
		return "", errs.Conflict("snapshot %q of storage volume %q already exists", snap, name)
	}

	return snap, nil
}

// CreateVolumeSnapshot takes a read-only snapshot of a custom volume (snap "" names it snap<N>). The copy is made
// apart and placed in the transaction that records it.
func (ps *Pools) CreateVolumeSnapshot(ctx context.Context, pool string, volType string, name string, snap string, expiresAt time.Time) (string, error) {
	p, err := ps.Get(pool)
	if err != nil {
		return "", err
	}

	unlock := p.volumeLock(name)
	defer unlock()
	snap, err = ps.CheckVolumeSnapshot(ctx, pool, volType, name, snap)
	if err != nil {
		return "", err
	}

	row, err := ps.customRow(ctx, pool, name)
	if err != nil {
		return "", err
	}

	dir := p.volumeSnapshotsPath(row.ID)
	err = makeTreesDir(dir, 0o700)
	if err != nil {
		return "", err
	}

	// Made next to its final place: btrfs does not move a read-only subvolume to another directory.
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err == nil {
		err = os.Remove(tmp)
	}

	if err != nil {
		return "", err
	}

	defer func() { _ = removeTree(tmp) }()
	err = p.copyVolume(p.volumePath(row.ID), tmp, true)
	if err != nil {
		return "", fmt.Errorf("snapshotting storage volume %q: %w", name, err)
	}

	CrashPoint("volume-snapshot-copied")

	d, err := ps.volumeDB()
	if err != nil {
		return "", err
	}

	var placed string
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		sid, err := tx.CreateStorageVolumeSnapshot(ctx, db.StorageVolumeSnapshot{VolumeID: row.ID, Name: snap,
			Description: row.Description, ExpiresAt: expiresAt, Config: row.Config})
		if err != nil {
			return err
		}

		placed = p.volumeSnapshotPath(row.ID, sid)
		err = os.Rename(tmp, placed)
		if err != nil {
			placed = ""
			return err
		}

		CrashPoint("volume-snapshot-placed")
		return fsutil.SyncDir(dir)
	})
	if err != nil && placed != "" {
		_ = removeTree(placed)
	}

	return snap, err
}

// UpdateVolumeSnapshot replaces the description and expiry of a snapshot.
func (ps *Pools) UpdateVolumeSnapshot(ctx context.Context, pool string, volType string, name string, snap string, put api.StorageVolumeSnapshotPut) error {
	return ps.changeSnapshot(ctx, pool, volType, name, snap, func(ctx context.Context, tx *db.Tx, s *db.StorageVolumeSnapshot) error {
		expiry := time.Time{}
		if put.ExpiresAt != nil {
			expiry = *put.ExpiresAt
		}

		return tx.UpdateStorageVolumeSnapshot(ctx, s.ID, put.Description, expiry)
	})
}

// RenameVolumeSnapshot renames a snapshot: its storage is named after its row's id, so the row alone changes.
func (ps *Pools) RenameVolumeSnapshot(ctx context.Context, pool string, volType string, name string, snap string, newName string) error {
	err := ValidateVolumeName("snapshot", newName)
	if err != nil {
		return err
	}

	return ps.changeSnapshot(ctx, pool, volType, name, snap, func(ctx context.Context, tx *db.Tx, s *db.StorageVolumeSnapshot) error {
		return tx.RenameStorageVolumeSnapshot(ctx, s.ID, newName)
	})
}

// DeleteVolumeSnapshot deletes a snapshot: its row, then its storage (which a crash in between leaves to the next
// start).
func (ps *Pools) DeleteVolumeSnapshot(ctx context.Context, pool string, volType string, name string, snap string) error {
	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	var path string
	err = ps.changeSnapshot(ctx, pool, volType, name, snap, func(ctx context.Context, tx *db.Tx, s *db.StorageVolumeSnapshot) error {
		path = p.volumeSnapshotPath(s.VolumeID, s.ID)
		return tx.DeleteStorageVolumeSnapshot(ctx, s.ID)
	})
	if err != nil {
		return err
	}

	return removeEntombed(path, "volume-snapshot-delete-entombed")
}

// changeSnapshot runs fn on a snapshot's row in a transaction, under the volume's lock.
func (ps *Pools) changeSnapshot(ctx context.Context, pool string, volType string, name string, snap string, fn func(ctx context.Context, tx *db.Tx, s *db.StorageVolumeSnapshot) error) error {
	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	unlock := p.volumeLock(name)
	defer unlock()
	row, snaps, err := ps.volumeSnapshots(ctx, pool, volType, name)
	if err != nil {
		return err
	}

	s, err := findSnapshot(row, snaps, snap)
	if err != nil {
		return err
	}

	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	return d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error { return fn(ctx, tx, s) })
}

// RestoreVolume replaces the contents of a custom volume with a copy of one of its snapshots. The copy is made
// apart and exchanged with the volume in one rename, so that a crash leaves the volume whole, before or after.
// A volume in use by a running instance is refused.
func (ps *Pools) RestoreVolume(ctx context.Context, pool string, name string, snap string) error {
	p, err := ps.Get(pool)
	if err != nil {
		return err
	}

	unlock := p.volumeLock(name)
	defer unlock()
	row, snaps, err := ps.volumeSnapshots(ctx, pool, VolumeTypeCustom, name)
	if err != nil {
		return err
	}

	s, err := findSnapshot(row, snaps, snap)
	if err != nil {
		return err
	}

	err = ps.checkNotRunning(ctx, pool, name, "restored")
	if err != nil {
		return err
	}

	st, err := p.stageVolume()
	if err != nil {
		return err
	}

	defer st.remove()
	err = p.copyVolume(p.volumeSnapshotPath(row.ID, s.ID), st.vol(), false)
	if err != nil {
		return fmt.Errorf("restoring snapshot %q: %w", snap, err)
	}

	err = p.applyVolumeSize(st.vol(), row.Config["size"])
	if err != nil {
		return err
	}

	config := maps.Clone(row.Config)
	for k := range config {
		if strings.HasPrefix(k, "volatile.idmap.") {
			delete(config, k)
		}
	}

	for k, v := range s.Config {
		if strings.HasPrefix(k, "volatile.idmap.") {
			config[k] = v
		}
	}

	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	// After the exchange, the staged path holds the old contents, which the deferred removal drops.
	return d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.UpdateStorageVolume(ctx, row.ID, row.Description, config)
		if err != nil {
			return err
		}

		err = unix.Renameat2(unix.AT_FDCWD, st.vol(), unix.AT_FDCWD, p.volumePath(row.ID), unix.RENAME_EXCHANGE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return errs.Unsupported("restoring a volume needs a file system with atomic exchanges: %v", err)
		}

		return err
	})
}

// checkNotRunning refuses a change (what) of a custom volume used by a running instance.
func (ps *Pools) checkNotRunning(ctx context.Context, pool string, name string, what string) error {
	vol, err := ps.Volume(ctx, pool, VolumeTypeCustom, name)
	if err != nil {
		return err
	}

	ps.mu.RLock()
	isRunning := ps.running
	ps.mu.RUnlock()
	var running []string
	for _, u := range vol.UsedBy {
		inst, ok := strings.CutPrefix(u, "/1.0/instances/")
		if ok && (isRunning == nil || isRunning(inst)) {
			running = append(running, inst)
		}
	}

	if len(running) > 0 {
		return errs.Invalid("the storage volume %q cannot be %s while it is used by running instances %s", name, what,
			strings.Join(running, ", "))
	}

	return nil
}

// otherVolumeSnapshots lists the snapshots of a container volume (the instance's snapshots stored on the pool);
// an image volume has none.
func (ps *Pools) otherVolumeSnapshots(ctx context.Context, pool string, volType string, name string) ([]api.StorageVolumeSnapshot, error) {
	_, err := ps.Volume(ctx, pool, volType, name)
	if err != nil {
		return nil, err
	}

	out := []api.StorageVolumeSnapshot{}
	if volType != VolumeTypeContainer {
		return out, nil
	}

	p, err := ps.Get(pool)
	if err != nil {
		return nil, err
	}

	names, err := p.SnapshotNames(name)
	if err != nil {
		return nil, err
	}

	for _, n := range names {
		out = append(out, api.StorageVolumeSnapshot{Name: n, Config: map[string]string{}, ContentType: "filesystem"})
	}

	return out, nil
}
