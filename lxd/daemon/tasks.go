package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/shared/api"
)

// pruneInterval is how often unused cached images are looked for; the first look is at start.
const pruneInterval = 24 * time.Hour

// startTasks runs the daemon's periodic work until ctx ends.
func (d *Daemon) startTasks(ctx context.Context) {
	d.tasks.Add(5)
	go func() {
		defer d.tasks.Done()
		every(ctx, pruneInterval, func() {
			_, err := d.state.Image.Prune(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				slog.Error("failed pruning cached images", "err", err)
			}
		})
	}()

	go func() {
		defer d.tasks.Done()
		d.autoUpdateLoop(ctx)
	}()

	go func() {
		defer d.tasks.Done()
		d.pruneBackupsLoop(ctx)
	}()

	go func() {
		defer d.tasks.Done()
		d.heartbeatLoop(ctx)
	}()

	// The events of the other members reach this member's listeners.
	go func() {
		defer d.tasks.Done()
		d.cluster.RelayEvents(ctx, func(ev api.Event) { _ = d.events.Relay(ev) })
	}()
}

// autoUpdateLoop refreshes auto-updating images every images.auto_update_interval hours (0 disables it); the first
// refresh comes one interval after start, so a daemon that starts offline still creates instances from its cache.
func (d *Daemon) autoUpdateLoop(ctx context.Context) {
	for {
		hours := d.currentConfig().Int(config.AutoUpdateInterval)
		wait := time.Duration(hours) * time.Hour
		if hours <= 0 {
			// Disabled: look again later in case it is turned on.
			wait = time.Hour
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}

		if hours <= 0 || d.currentConfig().Int(config.AutoUpdateInterval) <= 0 {
			continue
		}

		err := d.state.Image.AutoUpdate(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("failed auto-updating images", "err", err)
		}
	}
}

// every runs fn now and then after each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
