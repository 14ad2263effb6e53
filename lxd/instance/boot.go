package instance

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// The boot.* keys: what the daemon does with an instance when it starts and stops.
const (
	// KeyBootAutostart forces (true) or prevents (false) the start of the instance with the daemon; unset, the
	// instance starts when it was running when the daemon stopped.
	KeyBootAutostart = "boot.autostart"

	// KeyBootAutostartDelay is the number of seconds to wait after starting the instance before the next one.
	KeyBootAutostartDelay = "boot.autostart.delay"

	// KeyBootAutostartPriority orders the starts: higher first.
	KeyBootAutostartPriority = "boot.autostart.priority"

	// KeyBootStopPriority orders the stops at daemon shutdown: higher first.
	KeyBootStopPriority = "boot.stop.priority"

	// KeyBootHostShutdownTimeout is the number of seconds a clean stop at daemon shutdown may take before the
	// instance is killed.
	KeyBootHostShutdownTimeout = "boot.host_shutdown_timeout"
)

// The values of volatile.last_state.power.
const (
	PowerStateRunning = "RUNNING"
	PowerStateStopped = "STOPPED"
)

// bootAttempts is how many times a start at daemon start is tried, bootRetryWait the wait between two tries (as
// LXD does).
const (
	bootAttempts  = 3
	bootRetryWait = 5 * time.Second
)

// bootState is the start of instances in the background when the daemon starts.
type bootState struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	// sleep waits d or until ctx ends, and reports whether d went by; nil sleeps for real. Tests replace it.
	sleep func(ctx context.Context, d time.Duration) bool
}

// bootEntry is an instance to start with the daemon.
type bootEntry struct {
	name     string
	priority int64
}

// shouldAutostart reports whether an instance with this expanded configuration starts with the daemon:
// boot.autostart when set, else whether it was running when the daemon stopped.
func shouldAutostart(config map[string]string) bool {
	v := config[KeyBootAutostart]
	if v != "" {
		return IsTrue(v)
	}

	return config[KeyLastStatePower] == PowerStateRunning
}

// configInt reads an integer key (validated when set); unset or unreadable is 0.
func configInt(config map[string]string, key string) int64 {
	n, err := strconv.ParseInt(config[key], 10, 64)
	if err != nil {
		return 0
	}

	return n
}

// configSeconds reads an integer key of seconds as a duration, def when unset; negative stays negative and huge
// values are capped rather than overflowing.
func configSeconds(config map[string]string, key string, def time.Duration) time.Duration {
	v, ok := config[key]
	if !ok || v == "" {
		return def
	}

	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}

	limit := int64(math.MaxInt64 / time.Second)
	return time.Duration(max(min(n, limit), -limit)) * time.Second
}

// byPriority orders entries by priority, higher first, then by name (as LXD does).
func byPriority(a, b bootEntry) int {
	c := cmp.Compare(b.priority, a.priority)
	if c != 0 {
		return c
	}

	return cmp.Compare(a.name, b.name)
}

// Booted reports whether the starts that follow the daemon's start are over (false before Init).
func (m *Manager) Booted() bool {
	m.boot.mu.Lock()
	done := m.boot.done
	m.boot.mu.Unlock()
	if done == nil {
		return false
	}

	select {
	case <-done:
		return true
	default:
		return false
	}
}

// startBoot starts the entries in the background, in order of boot.autostart.priority; Booted then reports when
// they are done, and Shutdown cuts them short.
func (m *Manager) startBoot(ctx context.Context, entries []bootEntry) {
	slices.SortFunc(entries, byPriority)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m.boot.mu.Lock()
	m.boot.cancel = cancel
	m.boot.done = done
	m.boot.mu.Unlock()

	go func() {
		defer close(done)
		defer cancel()
		for _, e := range entries {
			if ctx.Err() != nil {
				slog.Info("daemon stopping, instances left to start at the next start", "instance", e.name)
				continue
			}

			delay := m.bootOne(ctx, e)
			if delay > 0 {
				slog.Info("waiting before starting the next instance", "instance", e.name, "delay", delay)
				m.sleep(ctx, delay)
			}
		}
	}()
}

// stopBoot cuts short the starts that follow the daemon's start and waits for the one under way.
func (m *Manager) stopBoot() {
	m.boot.mu.Lock()
	cancel, done := m.boot.cancel, m.boot.done
	m.boot.mu.Unlock()
	if cancel == nil {
		return
	}

	cancel()
	<-done
}

// sleep waits d, or less when ctx ends.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	if m.boot.sleep != nil {
		return m.boot.sleep(ctx, d)
	}

	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bootOne starts one instance at daemon start, trying up to bootAttempts times, and returns how long to wait
// before the next (its boot.autostart.delay, once started). Failures are logged and do not stop the others.
func (m *Manager) bootOne(ctx context.Context, e bootEntry) time.Duration {
	var err error
	for attempt := 1; attempt <= bootAttempts; attempt++ {
		var delay time.Duration
		var started bool
		delay, started, err = m.bootAttempt(ctx, e.name)
		if err == nil {
			if started {
				slog.Info("instance started at boot", "instance", e.name, "priority", e.priority)
				m.lifecycle("instance-started", e.name)
			}

			return delay
		}

		slog.Warn("failed starting instance at boot", "instance", e.name, "attempt", attempt, "max_attempts", bootAttempts, "err", err)
		if attempt == bootAttempts {
			break
		}

		if !m.sleep(ctx, bootRetryWait) {
			slog.Info("daemon stopping, instances left to start at the next start", "instance", e.name)
			return 0
		}
	}

	slog.Error("gave up starting instance at boot", "instance", e.name, "err", err)
	return 0
}

// bootAttempt starts an instance that still should start with the daemon: the user may have deleted it,
// started it, or changed its configuration since the daemon started. It reports whether it started it.
func (m *Manager) bootAttempt(ctx context.Context, name string) (time.Duration, bool, error) {
	unlock := m.lock(name)
	defer unlock()
	inst, err := m.load(ctx, name)
	if errors.Is(err, errs.ErrNotFound) {
		return 0, false, nil
	}

	if err != nil {
		return 0, false, err
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return 0, false, err
	}

	if !shouldAutostart(config) || m.driver.Status(name) != api.Stopped {
		return 0, false, nil
	}

	// A start under way finishes even when the daemon begins to stop: Shutdown then stops it.
	err = m.startLocked(context.WithoutCancel(ctx), name)
	if err != nil {
		return 0, false, err
	}

	return configSeconds(config, KeyBootAutostartDelay, 0), true, nil
}

// stopEntry is a running instance to stop at daemon shutdown.
type stopEntry struct {
	bootEntry
	timeout time.Duration
}

// shutdownAll stops the running instances at daemon shutdown, by boot.stop.priority: every instance of one
// priority (up to one per CPU at a time) has stopped before the next lower priority begins. Each gets its
// boot.host_shutdown_timeout (else timeout) to stop cleanly, and is then killed. All stay recorded as running,
// so that they start again with the daemon.
func (m *Manager) shutdownAll(ctx context.Context, names []string, timeout time.Duration) {
	entries := make([]stopEntry, 0, len(names))
	for _, name := range names {
		e := stopEntry{bootEntry: bootEntry{name: name}, timeout: timeout}
		inst, err := m.load(ctx, name)
		if err == nil {
			var config map[string]string
			config, _, err = m.expand(ctx, inst)
			if err == nil {
				e.priority = configInt(config, KeyBootStopPriority)
				e.timeout = configSeconds(config, KeyBootHostShutdownTimeout, timeout)
			}
		}

		if err != nil {
			slog.Warn("stopping an instance whose configuration cannot be read with the defaults", "instance", name, "err", err)
		}

		entries = append(entries, e)
	}

	slices.SortFunc(entries, func(a, b stopEntry) int { return byPriority(a.bootEntry, b.bootEntry) })

	for len(entries) > 0 {
		n := 1
		for n < len(entries) && entries[n].priority == entries[0].priority {
			n++
		}

		slog.Info("stopping instances", "stop_priority", entries[0].priority, "count", n)
		m.shutdownBatch(ctx, entries[:n])
		entries = entries[n:]
	}
}

// shutdownBatch stops the entries of one priority, up to one per CPU at a time, and returns once all have stopped.
func (m *Manager) shutdownBatch(ctx context.Context, entries []stopEntry) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.NumCPU())
	for _, e := range entries {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			m.shutdownOne(ctx, e)
		}()
	}

	wg.Wait()
}

// shutdownOne stops one instance at daemon shutdown: cleanly within its timeout, else killed. An ephemeral
// instance is then deleted, as any stop deletes it.
func (m *Manager) shutdownOne(ctx context.Context, e stopEntry) {
	if !m.shutdownStop(ctx, e) {
		return
	}

	inst, err := m.load(ctx, e.name)
	if err != nil || !inst.Ephemeral {
		return
	}

	err = m.Delete(ctx, e.name)
	if err != nil {
		slog.Error("failed deleting ephemeral instance at shutdown", "instance", e.name, "err", err)
		return
	}

	m.lifecycle("instance-deleted", e.name)
}

// shutdownStop stops one instance at daemon shutdown and reports whether this call stopped it.
func (m *Manager) shutdownStop(ctx context.Context, e stopEntry) bool {
	unlock := m.lock(e.name)
	defer unlock()
	if m.driver.Status(e.name) == api.Stopped {
		return false
	}

	action := "instance-shutdown"
	if e.timeout == 0 {
		action = "instance-stopped"
	}

	err := m.stopLocked(ctx, e.name, e.timeout, false)
	if err != nil {
		slog.Warn("clean stop failed at shutdown, killing", "instance", e.name, "timeout", e.timeout, "err", err)
		action = "instance-stopped"
		err = m.stopLocked(ctx, e.name, 0, true)
		if err != nil {
			slog.Error("failed stopping instance at shutdown", "instance", e.name, "err", err)
			return false
		}
	}

	slog.Info("instance stopped at shutdown", "instance", e.name, "stop_priority", e.priority)
	m.setVolatile(ctx, e.name, map[string]string{KeyLastStatePower: PowerStateRunning})
	m.lifecycle(action, e.name)
	return true
}
