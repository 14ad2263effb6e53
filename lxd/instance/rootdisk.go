package instance

import (
	"fmt"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/storage"
)

// changeRootDisk applies a change of an instance's root disk: its pool cannot change, and a new size= is applied
// to the root filesystem at once. It returns the undo of the size change.
func (m *Manager) changeRootDisk(name string, oldDevices map[string]map[string]string, newDevices map[string]map[string]string) (func(), error) {
	_, oldRoot, _ := RootDisk(oldDevices)
	_, newRoot, _ := RootDisk(newDevices)
	if oldRoot["pool"] != newRoot["pool"] && m.pool.PoolOf(name) != newRoot["pool"] {
		return nil, errs.Invalid("the root disk's pool cannot be changed (from %q to %q)", oldRoot["pool"], newRoot["pool"])
	}

	if oldRoot["size"] == newRoot["size"] {
		return func() {}, nil
	}

	err := m.pool.SetSize(name, newRoot["size"])
	if err != nil {
		return nil, fmt.Errorf("setting the root disk size: %w", err)
	}

	return func() { _ = m.pool.SetSize(name, oldRoot["size"]) }, nil
}

// applyProfileRootSize applies to an instance's root filesystem, running or not, the size= its root disk gets from
// a changed profile (an instance whose own root disk overrides the profile's sees no change here).
func (m *Manager) applyProfileRootSize(name string, oldDevices map[string]map[string]string, newDevices map[string]map[string]string) error {
	_, oldRoot, _ := RootDisk(oldDevices)
	_, newRoot, ok := RootDisk(newDevices)
	if !ok || oldRoot["size"] == newRoot["size"] || m.pool.PoolOf(name) != newRoot["pool"] {
		return nil
	}

	err := m.pool.SetSize(name, newRoot["size"])
	if err != nil {
		return fmt.Errorf("setting the root disk size: %w", err)
	}

	return nil
}

// checkRootDisk makes sure the expanded devices have a root disk on a pool this server has.
func checkRootDisk(devices map[string]map[string]string, pools *storage.Pools) error {
	_, root, ok := RootDisk(devices)
	if !ok {
		return errs.Invalid("Failed getting root disk: No root device could be found")
	}

	if root["pool"] == "" || !pools.Has(root["pool"]) {
		return errs.NotFound("storage pool %q not found", root["pool"])
	}

	if root["size"] != "" {
		_, err := storage.ParseSize(root["size"])
		if err != nil {
			return errs.Invalid("invalid root disk size %q", root["size"])
		}
	}

	return nil
}
