package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/lxd-go/lxd/lxd/backup"
	"github.com/lxd-go/lxd/lxd/config"
)

// backupPruneInterval is how often expired backups are looked for, as LXD does every hour; the first look is at
// start.
const backupPruneInterval = time.Hour

// openBackups sets up the instance backups, once the instances are.
func (d *Daemon) openBackups() error {
	d.state.Backups = backup.NewManager(backup.ManagerArgs{
		Dir:         filepath.Join(d.dirs.Var, "backups"),
		Instances:   d.state.Instances,
		Compression: func() string { return d.currentConfig().Get(config.BackupsCompressionAlgorithm) },
	})

	return d.state.Backups.Init()
}

// pruneBackupsLoop deletes expired backups, and those of instances that are gone, until ctx ends.
func (d *Daemon) pruneBackupsLoop(ctx context.Context) {
	every(ctx, backupPruneInterval, func() {
		_, err := d.state.Backups.Prune(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			slog.Error("failed pruning expired backups", "err", err)
		}
	})
}
