package instance

import (
	"context"
	"maps"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// MigrationIDMap returns the map the root filesystem of an instance is shifted to on disk, as a migration source
// announces it: nil when its files are not shifted (a privileged container).
func (m *Manager) MigrationIDMap(expanded map[string]string) []IDMapEntry {
	disk := m.diskIDMap(expanded)
	if disk == nil {
		return nil
	}

	return disk.entries()
}

// ShiftReceived shifts the files of a tree received from another server, owned as the source had them on disk
// (from, nil when unshifted), to the map this server keeps the new instance's files in before its first start: none
// for a privileged container, the server's map otherwise. It returns the value of volatile.last_state.idmap that
// records it.
func (m *Manager) ShiftReceived(ctx context.Context, root string, from []IDMapEntry, config map[string]string,
	profiles []string) (string, error) {
	expanded := config
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		loaded, err := loadProfiles(ctx, tx, profiles)
		if err != nil {
			return err
		}

		expanded, _ = Expand(loaded, config, nil)
		return nil
	})
	if err != nil {
		return "", err
	}

	var src *IDMap
	if len(from) > 0 {
		src = &IDMap{Entries: from}
	}

	var dst *IDMap
	if !m.privileged(expanded) {
		dst = m.idmap
	}

	if !src.Equal(dst) {
		err = ShiftTree(root, src, dst)
		if err != nil {
			return "", err
		}
	}

	if dst == nil {
		return "[]", nil
	}

	return dst.JSON(), nil
}

// ValidateReceive checks an instance received from another server as a creation, with the volatile keys it
// carries allowed.
func (m *Manager) ValidateReceive(ctx context.Context, inst api.Instance) error {
	config, devices, err := restoreConfig(RestoreArgs{Instance: inst})
	if err != nil {
		return err
	}

	return m.validateRestore(ctx, &CreateArgs{Name: inst.Name, Description: inst.Description,
		Ephemeral: inst.Ephemeral, Config: config, Devices: devices, Profiles: inst.Profiles})
}

// RefreshArgs describe an existing instance brought up to date with files received from another server.
type RefreshArgs struct {
	// Name of the instance.
	Name string

	// Dir holds container/rootfs/ and snapshots/<name>/rootfs/ for each of Snapshots, owned as the source had
	// them on disk (From, nil when unshifted).
	Dir  string
	From []IDMapEntry

	// Snapshots are the snapshots to add; the instance's snapshots named in neither Snapshots nor Keep are deleted.
	Snapshots []api.InstanceSnapshot
	Keep      []string
}

// RefreshReceived brings a stopped instance up to date with a newer copy received from another server: its root
// filesystem is replaced, the snapshots the source no longer has are deleted and the new ones added. Its
// configuration is kept.
func (m *Manager) RefreshReceived(ctx context.Context, args RefreshArgs) error {
	inst, err := m.Get(ctx, args.Name)
	if err != nil {
		return err
	}

	if m.status(args.Name) != api.Stopped {
		return errs.Invalid("the instance %q is running, stop it before refreshing it", args.Name)
	}

	keep := map[string]bool{}
	for _, n := range args.Keep {
		keep[n] = true
	}

	for _, s := range args.Snapshots {
		keep[s.Name] = true
	}

	snaps, err := m.Snapshots(ctx, args.Name)
	if err != nil {
		return err
	}

	for _, s := range snaps {
		if !keep[s.Name] {
			err = m.DeleteSnapshot(ctx, args.Name, s.Name)
			if err != nil {
				return err
			}
		}
	}

	unlock := m.lock(args.Name)
	defer unlock()
	var from *IDMap
	if len(args.From) > 0 {
		from = &IDMap{Entries: args.From}
	}

	disk := m.diskIDMap(inst.ExpandedConfig)
	shift := func(root string) error {
		if from.Equal(disk) {
			return nil
		}

		return ShiftTree(root, from, disk)
	}

	rootfs := filepath.Join(args.Dir, "container", "rootfs")
	err = shift(rootfs)
	if err != nil {
		return err
	}

	err = m.pool.ReplaceRootfs(args.Name, rootfs)
	if err != nil {
		return err
	}

	last := "[]"
	if disk != nil {
		last = disk.JSON()
	}

	restore := RestoreArgs{Name: args.Name, Dir: args.Dir, Instance: *inst}
	for _, snap := range args.Snapshots {
		err = shift(filepath.Join(args.Dir, "snapshots", snap.Name, "rootfs"))
		if err != nil {
			return err
		}

		snap.Config = maps.Clone(snap.Config)
		if snap.Config == nil {
			snap.Config = map[string]string{}
		}

		snap.Config[KeyLastIdmap] = last
		err = m.restoreSnapshot(ctx, restore, snap)
		if err != nil {
			return err
		}
	}

	return nil
}

// ReceivePool points the root disk of an instance received from another server at a pool of this server, as LXD
// does: a root disk of the instance's own naming a pool this server does not have takes the pool of its profiles'
// root disk, or the only pool of the server.
func (m *Manager) ReceivePool(ctx context.Context, inst *api.Instance) error {
	name, root, ok := RootDisk(inst.Devices)
	if !ok || root["pool"] == "" {
		return nil
	}

	_, err := m.pool.Get(root["pool"])
	if err == nil {
		return nil
	}

	pool := ""
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		loaded, err := loadProfiles(ctx, tx, inst.Profiles)
		if err != nil {
			return err
		}

		_, devices := Expand(loaded, nil, nil)
		_, profileRoot, ok := RootDisk(devices)
		if ok {
			pool = profileRoot["pool"]
		}

		return nil
	})
	if err != nil {
		return err
	}

	if pool == "" {
		pools, err := m.pool.List(ctx)
		if err != nil {
			return err
		}

		if len(pools) == 1 {
			pool = pools[0].Name
		}
	}

	if pool == "" {
		return errs.Invalid("storage pool %q not found, and no other pool for the instance to use", root["pool"])
	}

	inst.Devices = maps.Clone(inst.Devices)
	root = maps.Clone(root)
	root["pool"] = pool
	inst.Devices[name] = root
	return nil
}
