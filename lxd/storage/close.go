package storage

import (
	"context"
	"log/slog"

	"github.com/lxd-go/lxd/lxd/db"
)

// Close releases what opening the pools took, as LXD does when it stops: loop-backed pools are unmounted and their
// loop devices detached (pools on a directory or a device of their own hold nothing). The daemon calls it once no
// container runs; the next start mounts the pools again.
func (ps *Pools) Close(ctx context.Context) {
	if ps == nil || ps.svc == nil {
		return
	}

	var rows []db.StoragePool
	err := ps.svc.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		rows, err = tx.GetStoragePools(ctx)
		return err
	})
	if err != nil {
		slog.Warn("storage pools left mounted", "err", err)
		return
	}

	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, row := range rows {
		p := ps.pools[row.Name]
		if p == nil {
			continue
		}

		err := p.drv.Unmount(ps.svc.driverPool(row))
		if err != nil {
			slog.Warn("storage pool left mounted", "pool", row.Name, "err", err)
		}
	}
}
