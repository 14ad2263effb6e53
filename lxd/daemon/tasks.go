package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/lxd-go/lxd/lxd/imagecache"
)

// pruneInterval is how often unused cached images are looked for; the first look is at start.
const pruneInterval = 24 * time.Hour

// startTasks runs the daemon's periodic work until ctx ends.
func (d *Daemon) startTasks(ctx context.Context) {
	d.tasks.Add(1)
	go func() {
		defer d.tasks.Done()
		every(ctx, pruneInterval, func() {
			_, err := imagecache.Prune(ctx, d.state, time.Now())
			if err != nil && ctx.Err() == nil {
				slog.Error("failed pruning cached images", "err", err)
			}
		})
	}()
}

// every runs fn now and then at each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
