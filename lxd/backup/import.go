package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
)

// importPrefix names the directories imports are unpacked in, which a crash may leave and Init removes.
const importPrefix = ".import-"

// ImportArgs describe an instance recreated from a backup tarball.
type ImportArgs struct {
	// Name, when set, replaces the name the backup gives the instance (X-LXD-name).
	Name string

	// Pool, when set, holds the instance in place of the pool the backup names (X-LXD-pool).
	Pool string

	// Project is the project the instance is imported into; ProfileProject the project whose profiles it uses
	// (see lxd/project). Both are default when empty.
	Project        string
	ProfileProject string
}

// CheckImport refuses an import before its body is read, when what the request names already says it would fail.
func (m *Manager) CheckImport(ctx context.Context, args ImportArgs) error {
	if args.Name != "" {
		err := instance.ValidName(args.Name)
		if err != nil {
			return err
		}

		err = m.instances.Exists(ctx, project.InstanceKey(args.Project, args.Name))
		if err == nil {
			return errs.Conflict("instance %q already exists", args.Name)
		}

		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}
	}

	if args.Pool != "" && !m.instances.Pool().Has(args.Pool) {
		return errs.NotFound("storage pool %q not found", args.Pool)
	}

	return nil
}

// Import recreates an instance and its snapshots from a backup tarball read from r (compressed or not), and returns
// the instance's name. The tarball is unpacked, checked, under a directory of its own that is removed whatever
// happens; a refused or failed import leaves no instance, snapshot or storage.
func (m *Manager) Import(ctx context.Context, r io.Reader, args ImportArgs) (string, error) {
	err := m.CheckImport(ctx, args)
	if err != nil {
		return "", err
	}

	err = os.MkdirAll(m.dir, 0o700)
	if err != nil {
		return "", err
	}

	stage, err := os.MkdirTemp(m.dir, importPrefix)
	if err != nil {
		return "", err
	}

	defer func() { _ = os.RemoveAll(stage) }()
	tr, release, err := images.Decompress(r)
	if err != nil {
		if errors.Is(err, errs.ErrInvalid) {
			return "", errs.Invalid("invalid backup: not a tarball (%v)", err)
		}

		return "", err
	}

	defer release()
	err = unpackTarball(ctx, tr, stage)
	if err != nil {
		return "", err
	}

	// Trailing garbage or a compressed stream cut short shows only once it is read to its end.
	_, err = io.Copy(io.Discard, tr)
	if err != nil {
		return "", truncated(err)
	}

	restore, err := readUnpacked(filepath.Join(stage, "backup"))
	if err != nil {
		return "", err
	}

	if args.Name != "" {
		restore.Name = args.Name
	}

	restore.Pool = args.Pool
	err = instance.ValidName(restore.Name)
	if err != nil {
		return "", err
	}

	restore.Name = project.InstanceKey(args.Project, restore.Name)
	for i, p := range restore.Instance.Profiles {
		restore.Instance.Profiles[i] = project.ProfileKey(args.ProfileProject, p)
	}

	for i := range restore.Snapshots {
		for j, p := range restore.Snapshots[i].Profiles {
			restore.Snapshots[i].Profiles[j] = project.ProfileKey(args.ProfileProject, p)
		}
	}

	err = m.instances.RestoreBackup(ctx, *restore)
	if err != nil {
		return "", err
	}

	return restore.Name, nil
}

// readUnpacked reads the description of an unpacked backup in dir and checks that its trees are there.
func readUnpacked(dir string) (*instance.RestoreArgs, error) {
	data, err := readBounded(filepath.Join(dir, "index.yaml"))
	if err != nil {
		return nil, errs.Invalid("invalid backup: no readable backup/index.yaml")
	}

	info, err := parseInfo(data)
	if err != nil {
		return nil, err
	}

	cfg := info.Config
	data, err = readBounded(filepath.Join(dir, "container", "backup.yaml"))
	if cfg == nil || cfg.Container == nil {
		if err != nil {
			return nil, errs.Invalid("invalid backup: no description of the instance (backup/container/backup.yaml)")
		}

		cfg, err = parseConfig(data)
		if err != nil {
			return nil, err
		}
	}

	if cfg.Container == nil {
		return nil, errs.Invalid("invalid backup: no description of the instance")
	}

	err = instance.CheckRestoreDir(dir)
	if err != nil {
		return nil, err
	}

	out := &instance.RestoreArgs{Name: info.Name, Instance: *cfg.Container, Dir: dir}
	byName := map[string]*api.InstanceSnapshot{}
	for _, s := range cfg.Snapshots {
		if s != nil {
			byName[s.Name] = s
		}
	}

	for _, name := range info.Snapshots {
		err = instance.ValidSnapshotName(name)
		if err != nil {
			return nil, errs.Invalid("invalid backup: snapshot name %q", name)
		}

		snap := byName[name]
		if snap == nil {
			snap = &api.InstanceSnapshot{Name: name, Config: cfg.Container.Config, Devices: cfg.Container.Devices,
				Profiles: cfg.Container.Profiles, Architecture: cfg.Container.Architecture}
		}

		_, err = os.Lstat(filepath.Join(dir, "snapshots", name, "rootfs"))
		if err != nil {
			return nil, errs.Invalid("invalid backup: snapshot %q has no root filesystem", name)
		}

		out.Snapshots = append(out.Snapshots, *snap)
	}

	// The descriptions are not part of the storage of the instance or its snapshots.
	_ = os.Remove(filepath.Join(dir, "container", "backup.yaml"))
	for _, name := range info.Snapshots {
		_ = os.Remove(filepath.Join(dir, "snapshots", name, "backup.yaml"))
	}

	return out, nil
}

// readBounded reads a regular file of at most maxYAMLSize bytes.
func readBounded(path string) ([]byte, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}

	if !st.Mode().IsRegular() || st.Size() > maxYAMLSize {
		return nil, fs.ErrInvalid
	}

	return os.ReadFile(path)
}

// Receive stores an uploaded backup tarball, to be imported once the request is answered; it returns the file,
// which the caller removes (a crash leaves it to Init).
func (m *Manager) Receive(r io.Reader) (string, error) {
	err := os.MkdirAll(m.dir, 0o700)
	if err != nil {
		return "", err
	}

	f, err := os.CreateTemp(m.dir, importPrefix+"upload-")
	if err != nil {
		return "", err
	}

	_, err = io.Copy(f, r)
	closeErr := f.Close()
	if err == nil {
		err = closeErr
	}

	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("receiving the backup: %w", err)
	}

	return f.Name(), nil
}

// ImportFile imports the backup tarball stored at path by Receive, and removes it.
func (m *Manager) ImportFile(ctx context.Context, path string, args ImportArgs) (string, error) {
	defer func() { _ = os.Remove(path) }()
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}

	defer func() { _ = f.Close() }()
	return m.Import(ctx, f, args)
}

// Discard removes an upload stored by Receive that will not be imported.
func (m *Manager) Discard(path string) {
	_ = os.Remove(path)
}
