package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/instance/lxc"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/lxd/template"
	"github.com/lxd-go/lxd/lxd/warnings"
	"github.com/lxd-go/lxd/shared/api"
)

// instanceStopTimeout bounds the clean stop of each container when the daemon stops, unless its
// boot.host_shutdown_timeout says otherwise (LXD's default); it is then killed.
const instanceStopTimeout = 30 * time.Second

// openInstances opens the storage pools (into the state) and the liblxc driver, and sets up the id map of
// unprivileged containers (adding root's range to /etc/subuid and /etc/subgid when missing).
func (d *Daemon) openInstances(store *images.Store) (*instance.Manager, error) {
	pools, err := storage.OpenPools(d.state.ShutdownCtx, storage.OpenArgs{DB: d.db, PoolsDir: d.dirs.StoragePools(),
		DisksDir: filepath.Join(d.dirs.Var, "disks"), Warn: d.notePoolWarning})
	if err != nil {
		return nil, err
	}

	d.state.Storage = pools
	err = pools.RepairVolumes(d.state.ShutdownCtx)
	if err != nil {
		slog.Error("failed repairing storage volumes", "err", err)
	}

	driver, err := lxc.New(d.dirs.Containers())
	if err != nil {
		return nil, fmt.Errorf("instance driver: %w", err)
	}

	idmap, err := instance.EnsureIDMap("/etc/subuid", "/etc/subgid")
	if err != nil {
		slog.Warn("no id map for unprivileged containers, every container runs privileged", "err", err)
		idmap = nil
	}

	d.noteIDMap(err)

	mgr := instance.NewManager(instance.ManagerArgs{
		DB:       d.db,
		Images:   store,
		Pools:    pools,
		Driver:   driver,
		Events:   d.events,
		IDMap:    idmap,
		LogDir:   d.dirs.Logs(),
		Render:   template.Render,
		Networks: d.state.Networks,
		FetchImage: func(ctx context.Context, fp string) error {
			if !d.cluster.Clustered() {
				return nil
			}

			return d.cluster.FetchImage(ctx, fp, d.state.Image.FetchFiles)
		},
		Evacuated: d.cluster.Evacuated,
	})
	pools.SetRunning(func(name string) bool { return mgr.Status(name) == api.Running })
	return mgr, nil
}

// closeStorage unmounts the storage pools at the daemon's stop, once no container runs: a container that could not
// be stopped keeps its pool mounted.
func (d *Daemon) closeStorage() {
	if d.state == nil || d.state.Storage == nil || d.state.Instances == nil {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	insts, err := d.state.Instances.List(ctx)
	if err != nil {
		slog.Warn("storage pools left mounted", "err", err)
		return
	}

	for _, inst := range insts {
		if inst.StatusCode != api.Stopped {
			slog.Warn("storage pools left mounted: an instance still runs", "instance", inst.Name)
			return
		}
	}

	d.state.Storage.Close(ctx)
}

// notePoolWarning records a warning about a storage pool (its sizes are not enforced). It is called from storage
// changes that may hold a database transaction, so the warning is recorded apart, without waiting.
func (d *Daemon) notePoolWarning(pool string, message string) {
	slog.Warn("storage pool warning", "pool", pool, "message", message)
	if d.state.Warnings == nil {
		return
	}

	go func() {
		err := d.state.Warnings.Record(d.state.ShutdownCtx, warnings.TypeStoragePoolSizeNotEnforced,
			warnings.Entity{URL: "/1.0/storage-pools/" + pool}, message)
		if err != nil {
			slog.Error("failed recording a storage pool warning", "pool", pool, "err", err)
		}
	}()
}
