package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/lxd-go/lxd/lxd/events"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/instance/lxc"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
)

// instanceStopTimeout bounds the clean stop of each container when the daemon stops.
const instanceStopTimeout = 30 * time.Second

// openInstances opens the default storage pool and the liblxc driver, and sets up the id map of unprivileged
// containers (adding root's range to /etc/subuid and /etc/subgid when missing).
func (d *Daemon) openInstances(store *images.Store) (*instance.Manager, error) {
	pool, err := storage.NewDirPool(storage.DefaultPool, d.dirs.StoragePools()+"/"+storage.DefaultPool)
	if err != nil {
		return nil, err
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

	return instance.NewManager(instance.ManagerArgs{
		DB:     d.db,
		Images: store,
		Pool:   pool,
		Driver: driver,
		Events: d.events,
		IDMap:  idmap,
		LogDir: d.dirs.Logs(),
	}), nil
}

// pruneBasesOnImageDelete removes an image's unused bases once the image is deleted.
func (d *Daemon) pruneBasesOnImageDelete(ctx context.Context, m *instance.Manager) error {
	l, err := d.events.Subscribe(events.ListenerArgs{Types: []string{api.EventTypeLifecycle}})
	if err != nil {
		return err
	}

	go func() {
		defer l.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case frame, ok := <-l.Frames():
				if !ok {
					return
				}

				if !bytes.Contains(frame, []byte(`"image-deleted"`)) {
					continue
				}

				var ev api.Event
				err := json.Unmarshal(frame, &ev)
				if err != nil {
					continue
				}

				err = m.PruneBases(ctx)
				if err != nil {
					slog.Warn("failed pruning image bases", "err", err)
				}
			}
		}
	}()

	return nil
}
