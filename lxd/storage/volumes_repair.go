package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lxd-go/lxd/lxd/db"
)

// SetRunning tells the pools how to know whether an instance runs (a restore refuses a volume used by one).
func (ps *Pools) SetRunning(fn func(name string) bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.running = fn
}

// RepairVolumes brings the custom volumes' storage of every open pool in line with their rows at start: what a
// crash left staged (.tmp-), half-removed (tombstones), or placed by a transaction that never committed (storage
// named after a row id that does not exist) is removed. A row whose storage is missing is reported.
func (ps *Pools) RepairVolumes(ctx context.Context) error {
	d, err := ps.volumeDB()
	if err != nil {
		return err
	}

	snapIDs := map[int64]map[int64]bool{}
	var rows []db.StorageVolume
	err = d.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		rows, err = tx.GetAllStorageVolumes(ctx, "")
		if err != nil {
			return err
		}

		for _, row := range rows {
			snaps, err := tx.GetStorageVolumeSnapshots(ctx, row.ID)
			if err != nil {
				return err
			}

			snapIDs[row.ID] = map[int64]bool{}
			for _, s := range snaps {
				snapIDs[row.ID][s.ID] = true
			}
		}

		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the storage volumes: %w", err)
	}

	for _, p := range ps.list() {
		own := map[int64]bool{}
		for _, row := range rows {
			if row.Pool == p.name {
				own[row.ID] = true
				if !exists(p.volumePath(row.ID)) {
					slog.Error("the storage of a volume is missing", "pool", p.name, "volume", row.Name,
						"path", p.volumePath(row.ID))
				}
			}
		}

		stale := unclaimed(filepath.Join(p.dir, customDir), own)
		entries, _ := os.ReadDir(filepath.Join(p.dir, customSnapshotDir))
		for _, e := range entries {
			path := filepath.Join(p.dir, customSnapshotDir, e.Name())
			id, err := strconv.ParseInt(e.Name(), 10, 64)
			if err == nil && own[id] {
				stale = append(stale, unclaimed(path, snapIDs[id])...)
				continue
			}

			stale = append(stale, path)
		}

		err = removeAll(stale, "removing storage volume leftovers of a crash")
		if err != nil {
			return err
		}
	}

	return nil
}

// unclaimed lists the entries of dir that are not named after one of ids: leftovers (.tmp-, tombstones) and
// storage of rows that do not exist.
func unclaimed(dir string, ids map[int64]bool) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		id, err := strconv.ParseInt(e.Name(), 10, 64)
		if err == nil && ids[id] {
			continue
		}

		out = append(out, filepath.Join(dir, e.Name()))
	}

	return out
}
