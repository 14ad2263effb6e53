package instance

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage"
)

// isVolumeDisk reports whether a device is a disk mounting a custom storage volume: pool= names the pool and
// source= the volume (a host path is absolute).
func isVolumeDisk(dev map[string]string) bool {
	return dev["type"] == "disk" && dev["path"] != "/" && dev["pool"] != "" && dev["source"] != "" &&
		!strings.HasPrefix(dev["source"], "/")
}

// validateVolumeDisk checks a disk mounting a custom storage volume: a valid volume name, an absolute path in
// the container without "..", no size (the volume has its own) and a boolean readonly.
func validateVolumeDisk(name string, dev map[string]string) error {
	err := storage.ValidateVolumeName("storage volume", dev["source"])
	if err != nil {
		return fmt.Errorf("device %q: %w", name, err)
	}

	path := dev["path"]
	if !strings.HasPrefix(path, "/") || strings.Contains("/"+path+"/", "/../") {
		return fmt.Errorf("device %q: the path %q must be absolute and without \"..\": %w", name, path, errs.ErrInvalid)
	}

	if dev["size"] != "" {
		return fmt.Errorf("device %q: a disk on a storage volume cannot have a size (the volume's size= applies): %w", name, errs.ErrInvalid)
	}

	v, ok := dev["readonly"]
	if ok {
		err := checkBool(v)
		if err != nil {
			return fmt.Errorf("device %q: readonly: %w: %w", name, err, errs.ErrInvalid)
		}
	}

	return nil
}

// checkVolumeDisks makes sure the custom volume of every volume disk of instance key exists, on a pool that
// exists, among the custom volumes the instance's project reaches.
func checkVolumeDisks(ctx context.Context, tx *db.Tx, key string, devices map[string]map[string]string) error {
	custom, err := project.FeatureProjectOf(ctx, tx, project.InstanceProject(key), "storage.volumes")
	if err != nil {
		return err
	}

	tx = tx.InProject(custom)
	for _, name := range sortedDevices(devices) {
		dev := devices[name]
		if !isVolumeDisk(dev) {
			continue
		}

		_, err := tx.GetStoragePool(ctx, dev["pool"])
		if err != nil {
			return fmt.Errorf("device %q: storage pool %q not found: %w", name, dev["pool"], errs.ErrNotFound)
		}

		_, err = tx.GetStorageVolume(ctx, dev["pool"], storage.VolumeTypeCustom, dev["source"])
		if err != nil {
			return fmt.Errorf("device %q: storage volume %q not found on pool %q: %w", name, dev["source"], dev["pool"], errs.ErrNotFound)
		}
	}

	return nil
}

// volumeDisks returns the devices of instance key with the source of each volume disk replaced by the host
// directory of its volume, made ready for the id map idmap (nil for a privileged container), so that the driver
// bind mounts it as any host path.
func (m *Manager) volumeDisks(ctx context.Context, key string, devices map[string]map[string]string, idmap *IDMap) (map[string]map[string]string, error) {
	target := ""
	if idmap != nil {
		target = idmap.JSON()
	}

	return m.resolveVolumeDisks(ctx, key, devices, target)
}

// resolveVolumeDisks is volumeDisks with the id map as LXD records it ("" for none).
func (m *Manager) resolveVolumeDisks(ctx context.Context, key string, devices map[string]map[string]string, idmap string) (map[string]map[string]string, error) {
	var out map[string]map[string]string
	var pools *storage.Pools
	for _, name := range sortedDevices(devices) {
		dev := devices[name]
		if !isVolumeDisk(dev) {
			continue
		}

		if pools == nil {
			p := project.InstanceProject(key)
			var custom string
			err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
				var err error
				custom, err = project.FeatureProjectOf(ctx, tx, p, "storage.volumes")
				return err
			})
			if err != nil {
				return nil, err
			}

			pools = m.pool.In(p, custom)
		}

		path, err := pools.PrepareVolume(ctx, dev["pool"], dev["source"], idmap)
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", name, err)
		}

		if out == nil {
			out = maps.Clone(devices)
		}

		resolved := maps.Clone(dev)
		resolved["source"] = path
		out[name] = resolved
	}

	if out == nil {
		return devices, nil
	}

	return out, nil
}

// runningVolumeDisks resolves the volume disks of a running container, for its id map: the one it runs with
// (volatile.idmap.current) when recorded, else the one it gets at start.
func (m *Manager) runningVolumeDisks(ctx context.Context, name string, devices map[string]map[string]string) (map[string]map[string]string, error) {
	has := false
	for _, dev := range devices {
		has = has || isVolumeDisk(dev)
	}

	if !has {
		return devices, nil
	}

	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	idmap := inst.Config["volatile.idmap.current"]
	if idmap == "" && !m.privileged(config) {
		idmap = m.idmap.JSON()
	}

	return m.resolveVolumeDisks(ctx, name, devices, idmap)
}
