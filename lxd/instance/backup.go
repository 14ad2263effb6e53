package instance

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/lxd/storage"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// BackupSource is what a backup of an instance is made from: its description as the API gives it and the
// directories holding its files, as they are on disk (owned by the host ids of the container's map).
type BackupSource struct {
	Instance  api.Instance
	Snapshots []api.InstanceSnapshot
	Profiles  []api.Profile

	// Pool and Driver name the storage pool holding the instance; PoolSource is the pool's directory.
	Pool       string
	Driver     string
	PoolSource string

	// Dir is the instance's directory (metadata.yaml, templates/) and Rootfs its mounted root filesystem.
	Dir    string
	Rootfs string

	// SnapshotDirs are the directories of the snapshots by name (rootfs/, and the metadata of the snapshot when it
	// keeps its own); SnapshotMeta, the directory holding each snapshot's metadata and templates.
	SnapshotDirs map[string]string
	SnapshotMeta map[string]string
}

// BackupSource locks the instance name and returns what a backup of it is made from (without its snapshots when
// instanceOnly), with its root filesystem mounted; release unlocks it and unmounts what was mounted. A running
// container is read as it is, without being frozen, as LXD does.
func (m *Manager) BackupSource(ctx context.Context, name string, instanceOnly bool) (*BackupSource, func(), error) {
	unlock := m.lock(name)
	inst, err := m.Get(ctx, name)
	if err != nil {
		unlock()
		return nil, nil, err
	}

	src := &BackupSource{Instance: *inst, SnapshotDirs: map[string]string{}, SnapshotMeta: map[string]string{}}
	if !instanceOnly {
		src.Snapshots, err = m.Snapshots(ctx, name)
		if err != nil {
			unlock()
			return nil, nil, err
		}

		for _, snap := range src.Snapshots {
			src.SnapshotDirs[snap.Name] = m.pool.SnapshotPath(name, snap.Name)
			src.SnapshotMeta[snap.Name] = m.templatesSource(name, snap.Name)
		}
	}

	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		profiles, err := loadProfiles(ctx, tx, inst.Profiles)
		if err != nil {
			return err
		}

		for _, p := range profiles {
			row, err := tx.GetProfile(ctx, p.Name)
			if err != nil {
				return err
			}

			src.Profiles = append(src.Profiles, api.Profile{
				ProfilePut: api.ProfilePut{Config: p.Config, Description: row.Description, Devices: p.Devices},
				Name:       project.ProfileName(p.Name),
				UsedBy:     []string{},
			})
		}

		return nil
	})
	if err != nil {
		unlock()
		return nil, nil, err
	}

	src.Pool = m.pool.PoolOf(name)
	pool, err := m.pool.Get(src.Pool)
	if err == nil {
		src.Driver = pool.Driver()
		src.PoolSource = pool.Dir()
	}

	mounted := m.pool.IsMounted(name)
	src.Rootfs, err = m.pool.Mount(name)
	if err != nil {
		unlock()
		return nil, nil, err
	}

	src.Dir = m.pool.ContainerPath(name)
	release := func() {
		if !mounted {
			_ = m.pool.Unmount(name)
		}

		unlock()
	}

	return src, release, nil
}

// RestoreArgs describe an instance recreated from an unpacked backup.
type RestoreArgs struct {
	// Name of the new instance.
	Name string

	// Pool, when set, holds the instance's storage in place of the pool its root disk names.
	Pool string

	// Instance and Snapshots are the backup's description of the instance and of the snapshots to recreate.
	Instance  api.Instance
	Snapshots []api.InstanceSnapshot

	// Dir holds container/ (rootfs/, metadata.yaml, templates/) and snapshots/<name>/ with the same layout: a
	// staging tree the caller discards afterwards, whose root filesystems are moved into place where the pool
	// allows it (a dir pool on the same file system) and copied elsewhere.
	Dir string
}

// RestoreBackup recreates an instance and its snapshots from an unpacked backup, with their configuration,
// devices and profiles (which must exist) and the volatile keys the backup holds: the root filesystem stays as
// the backup has it, shifted to the map of volatile.last_state.idmap, and the next start shifts it to the
// instance's map. On failure nothing is left.
func (m *Manager) RestoreBackup(ctx context.Context, args RestoreArgs) error {
	config, devices, err := restoreConfig(args)
	if err != nil {
		return err
	}

	create := CreateArgs{Name: args.Name, Description: args.Instance.Description, Ephemeral: args.Instance.Ephemeral,
		Config: config, Devices: devices, Profiles: args.Instance.Profiles}
	err = m.validateRestore(ctx, &create)
	if err != nil {
		return err
	}

	unlock := m.lock(args.Name)
	defer unlock()

	r := revert.New()
	defer r.Fail()

	arch := args.Instance.Architecture
	inst := newInstanceRow(args.Name, arch, create.Ephemeral, create.Description, config, devices, create.Profiles)
	if args.Instance.Config[KeyUUID] != "" {
		config[KeyUUID] = args.Instance.Config[KeyUUID]
	}

	profiles, err := m.createRecord(ctx, r, inst, "", "import", nil)
	if err != nil {
		return err
	}

	expanded, expDevices := Expand(profiles, config, devices)
	err = m.createNICs(ctx, r, args.Name, expanded, expDevices)
	if err != nil {
		return err
	}

	_, rootDisk, _ := RootDisk(expDevices)
	err = m.pool.CreateContainerFrom(storage.ContainerArgs{Pool: rootDisk["pool"], Name: args.Name,
		Size: rootDisk["size"], Move: true}, filepath.Join(args.Dir, "container", "rootfs"))
	if err != nil {
		return err
	}

	m.undoStorage(r, args.Name, "import")
	err = copyTemplatesIn(filepath.Join(args.Dir, "container"), m.pool.ContainerPath(args.Name))
	if err != nil {
		return fmt.Errorf("restoring the templates of %q: %w", args.Name, err)
	}

	r.Add(func() { _ = m.pool.DeleteSnapshots(args.Name) })
	for _, snap := range args.Snapshots {
		err = m.restoreSnapshot(ctx, args, snap)
		if err != nil {
			return err
		}
	}

	r.Success()
	return nil
}

// restoreConfig returns the configuration and devices of an instance recreated from a backup: the backup's own,
// with the keys of this server's id map left to be chosen again, and the root disk moved to args.Pool when set.
func restoreConfig(args RestoreArgs) (map[string]string, map[string]map[string]string, error) {
	if args.Instance.Type != "" && args.Instance.Type != api.InstanceTypeContainer {
		return nil, nil, errs.Invalid("instance type %q is not supported", args.Instance.Type)
	}

	config := map[string]string{}
	for k, v := range args.Instance.Config {
		switch k {
		case KeyIdmapBase, KeyIdmapNext, KeyIdmapCurrent, KeyLastStatePower:
			continue
		}

		config[k] = v
	}

	devices := map[string]map[string]string{}
	for k, v := range args.Instance.Devices {
		devices[k] = maps.Clone(v)
	}

	if args.Pool == "" {
		return config, devices, nil
	}

	name, root, ok := RootDisk(devices)
	if ok {
		root["pool"] = args.Pool
		devices[name] = root
		return config, devices, nil
	}

	// The root disk comes from a profile: a disk of the instance's own puts it on the pool asked for, as LXD does.
	_, root, ok = RootDisk(args.Instance.ExpandedDevices)
	if !ok {
		root = map[string]string{"type": "disk", "path": "/"}
	}

	root = maps.Clone(root)
	root["pool"] = args.Pool
	devices["root"] = root
	return config, devices, nil
}

// validateRestore checks an import as a creation, with the volatile keys of the backup allowed.
func (m *Manager) validateRestore(ctx context.Context, args *CreateArgs) error {
	volatile := map[string]string{}
	plain := map[string]string{}
	for k, v := range args.Config {
		if strings.HasPrefix(k, "volatile.") {
			volatile[k] = v
		} else {
			plain[k] = v
		}
	}

	err := ValidateConfig(volatile, false, true)
	if err != nil {
		return err
	}

	check := *args
	check.Config = plain
	return m.ValidateCreate(ctx, &check)
}

// restoreSnapshot recreates one snapshot of an import: storage first, then the row.
func (m *Manager) restoreSnapshot(ctx context.Context, args RestoreArgs, snap api.InstanceSnapshot) error {
	err := ValidSnapshotName(snap.Name)
	if err != nil {
		return err
	}

	dir := filepath.Join(args.Dir, "snapshots", snap.Name)
	_, err = os.Stat(filepath.Join(dir, "rootfs"))
	if err != nil {
		return errs.Invalid("the backup has no root filesystem for snapshot %q", snap.Name)
	}

	err = m.pool.CreateSnapshotFrom(args.Name, snap.Name, dir)
	if err != nil {
		return fmt.Errorf("restoring snapshot %q: %w", snap.Name, err)
	}

	config := map[string]string{}
	for k, v := range snap.Config {
		if !strings.HasPrefix(k, "volatile.") || k == KeyBaseImage || k == KeyLastIdmap {
			config[k] = v
		}
	}

	devices := snap.Devices
	if devices == nil {
		devices = map[string]map[string]string{}
	}

	if args.Pool != "" {
		_, devices, _ = restoreConfig(RestoreArgs{Pool: args.Pool, Instance: api.Instance{InstancePut: api.InstancePut{
			Devices: snap.Devices}, ExpandedDevices: snap.ExpandedDevices}})
	}

	arch := snap.Architecture
	if arch == "" {
		arch = args.Instance.Architecture
	}

	row := db.Snapshot{Instance: args.Name, Name: snap.Name, Architecture: arch, Ephemeral: snap.Ephemeral,
		Description: snap.Description, CreatedAt: snap.CreatedAt, ExpiresAt: snap.ExpiresAt, Config: config,
		Devices: devices, Profiles: snap.Profiles}
	if row.Profiles == nil {
		row.Profiles = []string{}
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateSnapshot(ctx, row)
		return err
	})
}

// CompressWriter returns a writer compressing into w with one of the image compression algorithms (none, gzip,
// bzip2, xz, lzma, zstd), as publishing an instance does.
func CompressWriter(compression string, w io.Writer) (io.WriteCloser, error) {
	return compressWriter(compression, w)
}

// CheckRestoreDir checks that an unpacked backup holds the root filesystem of the instance.
func CheckRestoreDir(dir string) error {
	st, err := os.Lstat(filepath.Join(dir, "container", "rootfs"))
	if err != nil || !st.IsDir() {
		return errs.Invalid("invalid backup: it has no root filesystem (backup/container/rootfs)")
	}

	return nil
}
