package instance

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// Start starts a stopped instance.
func (m *Manager) Start(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	return m.startLocked(ctx, name)
}

func (m *Manager) startLocked(ctx context.Context, name string) error {
	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	status := m.driver.Status(name)
	if status != api.Stopped {
		return errs.Invalid("the instance is already running")
	}

	m.waitRunDone(name)
	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	err = checkRootDisk(devices, m.pool)
	if err != nil {
		return err
	}

	rootfs, err := m.pool.Mount(name)
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	r.Add(func() { _ = m.pool.Unmount(name) })

	idmap, err := m.startIDMap(ctx, name, config, rootfs)
	if err != nil {
		return err
	}

	rootUID, rootGID := m.rootIDs(config)

	// Templates of a creation or copy cut short before they were rendered.
	pending := inst.Config[KeyApplyTemplate]
	if pending == images.TriggerCreate || pending == images.TriggerCopy {
		err = m.applyTemplates(name, pending, tplInstance(inst, config, devices), rootUID, rootGID)
		if err != nil {
			return err
		}

		m.setVolatile(ctx, name, map[string]string{KeyApplyTemplate: ""})
	}

	err = m.applyTemplates(name, images.TriggerStart, tplInstance(inst, config, devices), rootUID, rootGID)
	if err != nil {
		return err
	}

	if IsOCI(config) {
		err = writeOCIFiles(rootfs, name, rootUID, rootGID)
		if err != nil {
			return err
		}
	}

	logDir := filepath.Join(m.logDir, name)
	err = os.MkdirAll(logDir, 0o700)
	if err != nil {
		return err
	}

	devices, err = m.startNICs(ctx, name, config, devices)
	if err != nil {
		return err
	}

	r.Add(func() { m.stoppedNICs(context.Background(), name) })
	profile, err := m.loadAppArmor(name, config)
	if err != nil {
		return err
	}

	disks, err := m.volumeDisks(ctx, name, devices, idmap)
	if err != nil {
		return err
	}

	err = m.driver.Start(ctx, Spec{
		Name:     name,
		Hostname: project.InstanceName(name),
		Rootfs:   rootfs,
		LogFile:  filepath.Join(logDir, "lxc.log"),
		Config:   config,
		Devices:  disks,
		IDMap:    idmap,

		AppArmorProfile: profile,
	})
	if err != nil {
		return fmt.Errorf("starting instance %q: %w", name, err)
	}

	err = m.setupNICs(ctx, name, devices)
	if err != nil {
		return fmt.Errorf("starting instance %q: %w", name, err)
	}

	r.Success()
	m.follow(name)
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		err := tx.SetInstanceConfig(ctx, name, map[string]string{KeyLastStatePower: PowerStateRunning})
		if err != nil {
			return err
		}

		return tx.UpdateInstanceLastUse(ctx, name, time.Now().UTC())
	})
	if err != nil {
		slog.Error("failed recording instance start", "instance", name, "err", err)
	}

	return nil
}

// follow watches a running container and cleans up after it when it exits.
func (m *Manager) follow(name string) {
	exited, err := m.driver.WaitExit(name)
	if err != nil {
		slog.Error("cannot follow instance", "instance", name, "err", err)
		return
	}

	r := &run{done: make(chan struct{})}
	m.runMu.Lock()
	m.running[name] = r
	m.runMu.Unlock()

	go func() {
		<-exited
		m.afterExit(name, r)
	}()
}

// afterExit records the exit of a container, unmounts its root and deletes it when ephemeral. A container stopped
// from inside (not through the API) has its power state recorded first, before liblxc reports it stopped, and the
// manager reports it running until its exit is handled (see status).
func (m *Manager) afterExit(name string, r *run) {
	r.exited.Store(true)
	ctx := context.Background()
	m.runMu.Lock()
	shuttingDown := m.shuttingDown
	m.runMu.Unlock()

	var inst *db.Instance
	fromInside := false
	if !shuttingDown {
		var err error
		inst, err = m.load(ctx, name)
		if err == nil && inst.Config[KeyLastStatePower] == PowerStateRunning {
			fromInside = true
			m.setVolatile(ctx, name, map[string]string{KeyLastStatePower: PowerStateStopped})
		}
	}

	// liblxc's monitor may still be tearing the container down.
	for range 100 {
		if m.driver.Status(name) == api.Stopped {
			break
		}

		time.Sleep(50 * time.Millisecond)
	}

	err := m.pool.Unmount(name)
	if err != nil {
		slog.Error("failed unmounting stopped instance", "instance", name, "err", err)
	}

	// Before the run is done, so that a start waiting for it records its nics after this.
	m.stoppedNICs(ctx, name)
	m.runMu.Lock()
	if m.running[name] == r {
		delete(m.running, name)
	}

	m.runMu.Unlock()
	close(r.done)

	if inst == nil {
		return
	}

	if fromInside {
		m.lifecycle("instance-shutdown", name)
	}

	if inst.Ephemeral {
		go func() {
			err := m.Delete(ctx, name)
			if err != nil {
				slog.Error("failed deleting ephemeral instance", "instance", name, "err", err)
				return
			}

			m.lifecycle("instance-deleted", name)
		}()
	}
}

// waitRunDone waits until the previous run of a container has been cleaned up.
func (m *Manager) waitRunDone(name string) {
	m.runMu.Lock()
	r := m.running[name]
	m.runMu.Unlock()
	if r == nil {
		return
	}

	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		slog.Warn("instance exit not handled in time", "instance", name)
	}
}

// Stop stops a running instance: cleanly within timeout (for ever when negative), or at once when force is set
// or timeout is zero. A clean stop that times out is an error and leaves the instance running.
func (m *Manager) Stop(ctx context.Context, name string, timeout time.Duration, force bool) error {
	unlock := m.lock(name)
	defer unlock()
	return m.stopLocked(ctx, name, timeout, force)
}

func (m *Manager) stopLocked(ctx context.Context, name string, timeout time.Duration, force bool) error {
	_, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	status := m.driver.Status(name)
	if status == api.Stopped {
		return errs.Invalid("the instance is already stopped")
	}

	m.runMu.Lock()
	shuttingDown := m.shuttingDown
	m.runMu.Unlock()
	if !shuttingDown {
		m.setVolatile(ctx, name, map[string]string{KeyLastStatePower: PowerStateStopped})
	}

	if status == api.Frozen {
		force = true
	}

	if force || timeout == 0 {
		err = m.driver.Kill(ctx, name)
	} else {
		err = m.driver.Shutdown(ctx, name, timeout)
	}

	if err != nil {
		if !shuttingDown {
			m.setVolatile(ctx, name, map[string]string{KeyLastStatePower: PowerStateRunning})
		}

		return err
	}

	m.waitRunDone(name)
	return m.pool.Unmount(name)
}

// Restart stops and starts an instance.
func (m *Manager) Restart(ctx context.Context, name string, timeout time.Duration, force bool) error {
	unlock := m.lock(name)
	defer unlock()
	err := m.stopLocked(ctx, name, timeout, force)
	if err != nil {
		return err
	}

	return m.startLocked(ctx, name)
}

// Freeze pauses a running instance.
func (m *Manager) Freeze(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	if m.driver.Status(name) != api.Running {
		return ErrNotRunning
	}

	return m.driver.Freeze(name)
}

// Unfreeze resumes a frozen instance.
func (m *Manager) Unfreeze(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()
	if m.driver.Status(name) != api.Frozen {
		return errs.Invalid("the instance is not frozen")
	}

	return m.driver.Unfreeze(name)
}

// Status returns the status of an instance.
func (m *Manager) Status(name string) api.StatusCode {
	return m.status(name)
}

// status is an instance's state as the API reports it (see settledStatus).
func (m *Manager) status(name string) api.StatusCode {
	return m.settledStatus(name, m.driver.Status(name))
}

// lifecycle sends a lifecycle event for something the daemon did on its own.
func (m *Manager) lifecycle(action string, name string) {
	if m.events != nil {
		m.events.SendLifecycle(project.InstanceProject(name), api.EventLifecycle{Action: action, Source: URL(name)})
	}
}
