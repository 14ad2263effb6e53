package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// Delete removes a stopped instance: storage, driver files, logs and row, then bases nothing uses any more.
func (m *Manager) Delete(ctx context.Context, name string) error {
	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Stopped {
		return errs.Invalid("the instance is running, stop it first")
	}

	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	err = checkDeleteProtection(config, inst.Ephemeral)
	if err != nil {
		return err
	}

	m.waitRunDone(name)
	err = m.pool.DeleteContainer(name)
	if err != nil {
		return err
	}

	err = m.pool.DeleteSnapshots(name)
	if err != nil {
		return err
	}

	err = m.driver.Cleanup(name)
	if err != nil {
		return err
	}

	m.removeAppArmor(name)

	_ = os.RemoveAll(filepath.Join(m.logDir, name))
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteInstance(ctx, name)
	})
	if err != nil {
		return err
	}

	m.deleteNICs(ctx, name, devices)
	err = m.PruneBases(ctx)
	if err != nil {
		slog.Warn("failed pruning image bases", "err", err)
	}

	return nil
}

// Rename renames a stopped instance and renders its rename templates.
func (m *Manager) Rename(ctx context.Context, name string, newName string) error {
	err := ValidName(project.InstanceName(newName))
	if err != nil {
		return err
	}

	unlock := m.lock(name)
	defer unlock()
	unlockNew := m.lock(newName)
	defer unlockNew()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Stopped {
		return errs.Invalid("renaming a running instance is not supported")
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.RenameInstance(ctx, name, newName)
	})
	if errors.Is(err, errs.ErrConflict) {
		return errs.Conflict("instance %q already exists", newName)
	}

	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	r.Add(func() {
		_ = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
			return tx.RenameInstance(ctx, newName, name)
		})
	})

	err = m.pool.RenameContainer(name, newName)
	if err != nil {
		return err
	}

	r.Success()

	err = m.pool.RenameSnapshots(name, newName)
	if err != nil {
		return err
	}

	_ = m.driver.Cleanup(name)
	_ = os.Rename(filepath.Join(m.logDir, name), filepath.Join(m.logDir, newName))

	inst.Name = newName
	config, devices, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	m.renameNICs(ctx, name, newName, config, devices)

	rootUID, rootGID := m.rootIDs(config)

	_, err = m.pool.Mount(newName)
	if err != nil {
		return err
	}

	defer func() { _ = m.pool.Unmount(newName) }()
	return m.applyTemplates(newName, images.TriggerRename, tplInstance(inst, config, devices), rootUID, rootGID)
}

// Update replaces the writable fields of an instance. Of the volatile keys, a request sets only those that describe
// the instance; the others stay the daemon's (updateVolatile). security.privileged cannot change once the root
// filesystem exists, since it is built on a base for one id map.
func (m *Manager) Update(ctx context.Context, name string, put api.InstancePut) error {
	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	config := map[string]string{}
	for k, v := range put.Config {
		if !strings.HasPrefix(k, "volatile.") {
			config[k] = v
		}
	}

	volatile, err := updateVolatile(inst.Config, put.Config, m.status(name) != api.Stopped)
	if err != nil {
		return err
	}

	err = ValidateConfig(config, false, false)
	if err != nil {
		return err
	}

	devices := put.Devices
	if devices == nil {
		devices = map[string]map[string]string{}
	}

	err = ValidateDevices(devices)
	if err != nil {
		return err
	}

	for k, v := range volatile {
		config[k] = v
	}

	profiles := put.Profiles
	if profiles == nil {
		profiles = []string{}
	}

	arch := put.Architecture
	if arch == "" {
		arch = inst.Architecture
	}

	if arch != inst.Architecture {
		return errs.Invalid("the architecture cannot be changed")
	}

	var oldDevices, newDevices map[string]map[string]string
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		newProfiles, err := loadProfiles(ctx, tx, profiles)
		if err != nil {
			return err
		}

		oldProfiles, err := loadProfiles(ctx, tx, inst.Profiles)
		if err != nil {
			return err
		}

		var oldConfig, newConfig map[string]string
		oldConfig, oldDevices = Expand(oldProfiles, inst.Config, inst.Devices)
		newConfig, newDevices = Expand(newProfiles, config, devices)
		err = project.CheckInstanceUpdate(ctx, tx, name, newConfig, newDevices)
		if err != nil {
			return err
		}

		err = checkRootDisk(newDevices, m.pool)
		if err != nil {
			return err
		}

		err = checkVolumeDisks(ctx, tx, name, newDevices)
		if err != nil {
			return err
		}

		if m.privileged(oldConfig) != m.privileged(newConfig) && inst.Config[KeyBaseImage] != "" {
			return errs.Invalid("security.privileged cannot be changed after creation")
		}

		return m.updateIDMap(ctx, tx, name, oldConfig, newConfig, config)
	})
	if err != nil {
		return err
	}

	// A running container gets its disk changes at once; the record changes only if they worked.
	r := revert.New()
	defer r.Fail()
	undoRoot, err := m.changeRootDisk(name, oldDevices, newDevices)
	if err != nil {
		return err
	}

	r.Add(undoRoot)
	if m.driver.Status(name) == api.Running {
		undo, err := m.hotplugDisks(name, oldDevices, newDevices)
		if errors.Is(err, ErrNotRunning) {
			// The container stopped meanwhile: say so as it is, without the device the hotplug failed on.
			return ErrNotRunning
		}

		if err != nil {
			return err
		}

		r.Add(undo.Fail)
	}

	nicChanges, undoNICs, err := m.updateNICs(ctx, name, inst.Config, oldDevices, newDevices)
	if err != nil {
		return err
	}

	r.Add(undoNICs.Fail)
	for k, v := range nicChanges {
		if v == "" {
			delete(config, k)
		} else {
			config[k] = v
		}
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateInstance(ctx, name, db.InstanceUpdate{
			Architecture: arch,
			Ephemeral:    put.Ephemeral,
			Description:  put.Description,
			Config:       config,
			Devices:      devices,
			Profiles:     profiles,
		})
	})
	if err != nil {
		return err
	}

	r.Success()
	m.removedNICs(ctx, name, oldDevices, newDevices)
	return nil
}

// bindDisks returns the disk devices that bind mount a host path.
func bindDisks(devices map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, dev := range devices {
		if dev["type"] == "disk" && dev["source"] != "" && dev["path"] != "/" {
			out[name] = dev
		}
	}

	return out
}

// hotplugDisks applies the change from the old to the new bind-mounted disks of a running container, and returns
// the reverter whose Fail puts the old ones back. On error, what was changed is put back already.
func (m *Manager) hotplugDisks(name string, oldDevices, newDevices map[string]map[string]string) (*revert.Reverter, error) {
	r := revert.New()
	defer r.Fail()
	hp, ok := m.driver.(DiskHotplugDriver)
	if !ok {
		return revert.New(), nil
	}

	before, err := m.runningVolumeDisks(context.Background(), name, bindDisks(oldDevices))
	if err != nil {
		return nil, err
	}

	after, err := m.runningVolumeDisks(context.Background(), name, bindDisks(newDevices))
	if err != nil {
		return nil, err
	}

	for _, dev := range sortedDevices(before) {
		if maps.Equal(before[dev], after[dev]) {
			continue
		}

		old := before[dev]
		err := hp.DetachDisk(name, old["path"])
		if err != nil {
			return nil, fmt.Errorf("device %q: unmounting %s: %w", dev, old["path"], err)
		}

		r.Add(func() { m.logHotplug(name, dev, hp.AttachDisk(name, old)) })
	}

	for _, dev := range sortedDevices(after) {
		if maps.Equal(before[dev], after[dev]) {
			continue
		}

		cur := after[dev]
		err := hp.AttachDisk(name, cur)
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", dev, err)
		}

		r.Add(func() { m.logHotplug(name, dev, hp.DetachDisk(name, cur["path"])) })
	}

	undo := r.Clone()
	r.Success()
	return undo, nil
}

// logHotplug logs a failure to put a device back as it was.
func (m *Manager) logHotplug(name string, dev string, err error) {
	if err != nil {
		slog.Error("failed putting a device back as it was", "instance", name, "device", dev, "err", err)
	}
}

// sortedDevices returns device names in order.
func sortedDevices(devices map[string]map[string]string) []string {
	return slices.Sorted(maps.Keys(devices))
}

// ProfileUpdated brings the running instances using a profile in line with its new devices: the bind-mounted disks
// it added, changed or removed are hot-plugged, as when an instance's own devices change. old is the profile as it
// was. Other changes apply at each instance's next start.
func (m *Manager) ProfileUpdated(ctx context.Context, old Profile) error {
	var users []string
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		users, err = tx.GetProfileUsedBy(ctx, old.Name)
		return err
	})
	if err != nil {
		return err
	}

	var errList []error
	for _, name := range users {
		err := m.profileUpdated(ctx, name, old)
		if err != nil {
			errList = append(errList, fmt.Errorf("instance %q: %w", name, err))
		}
	}

	return errors.Join(errList...)
}

// profileUpdated applies the changes of one profile to one instance using it: the root disk size at once, and the
// disk changes hot-plugged into it when it runs.
func (m *Manager) profileUpdated(ctx context.Context, name string, old Profile) error {
	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	var profiles []Profile
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		profiles, err = loadProfiles(ctx, tx, inst.Profiles)
		return err
	})
	if err != nil {
		return err
	}

	before := slices.Clone(profiles)
	for i := range before {
		if before[i].Name == old.Name {
			before[i] = old
		}
	}

	_, oldDevices := Expand(before, inst.Config, inst.Devices)
	_, newDevices := Expand(profiles, inst.Config, inst.Devices)
	err = m.applyProfileRootSize(name, oldDevices, newDevices)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Running {
		// Nothing to plug: the nics the profile no longer gives it leave their networks, new ones attach at its
		// next start.
		m.removedNICs(ctx, name, oldDevices, newDevices)
		return nil
	}

	_, err = m.hotplugDisks(name, oldDevices, newDevices)
	if err != nil {
		return err
	}

	return m.profileNICs(ctx, name, inst.Config, oldDevices, newDevices)
}
