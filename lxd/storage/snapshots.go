package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lxd-go/lxd/lxd/errs"
)

// SnapshotPath returns the directory of a container's snapshot; it holds rootfs/, a complete copy of the
// container's root filesystem.
func (p *Pool) SnapshotPath(name string, snap string) string {
	return filepath.Join(p.dir, "containers-snapshots", name, snap)
}

// snapshotsPath returns the directory holding a container's snapshots.
func (p *Pool) snapshotsPath(name string) string {
	return filepath.Join(p.dir, "containers-snapshots", name)
}

// CreateSnapshot copies the merged root filesystem of a container into a new snapshot. The container's root is
// mounted for the copy if it is not already (a running container's is).
func (p *Pool) CreateSnapshot(name string, snap string) error {
	dir := p.SnapshotPath(name, snap)
	_, err := os.Lstat(dir)
	if err == nil {
		return fmt.Errorf("snapshot storage %s/%s already exists: %w", name, snap, errs.ErrConflict)
	}

	err = os.MkdirAll(p.snapshotsPath(name), 0o700)
	if err != nil {
		return err
	}

	mounted := p.IsMounted(name)
	root, err := p.Mount(name)
	if err != nil {
		return err
	}

	if !mounted {
		defer func() { _ = p.Unmount(name) }()
	}

	tmp, err := os.MkdirTemp(p.snapshotsPath(name), ".tmp-")
	if err != nil {
		return err
	}

	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()

	err = CopyTree(root, filepath.Join(tmp, "rootfs"))
	if err != nil {
		return fmt.Errorf("copying the root filesystem of %q: %w", name, err)
	}

	err = os.Rename(tmp, dir)
	if err != nil {
		return err
	}

	ok = true
	return nil
}

// DeleteSnapshot removes a snapshot's storage; a missing one is not an error.
func (p *Pool) DeleteSnapshot(name string, snap string) error {
	err := os.RemoveAll(p.SnapshotPath(name, snap))
	if err != nil {
		return err
	}

	_ = os.Remove(p.snapshotsPath(name))
	return nil
}

// DeleteSnapshots removes the storage of all of a container's snapshots.
func (p *Pool) DeleteSnapshots(name string) error {
	return os.RemoveAll(p.snapshotsPath(name))
}

// RenameSnapshot renames a snapshot's storage.
func (p *Pool) RenameSnapshot(name string, snap string, newSnap string) error {
	_, err := os.Lstat(p.SnapshotPath(name, newSnap))
	if err == nil {
		return fmt.Errorf("snapshot storage %s/%s already exists: %w", name, newSnap, errs.ErrConflict)
	}

	return os.Rename(p.SnapshotPath(name, snap), p.SnapshotPath(name, newSnap))
}

// RenameSnapshots moves the snapshots of a container renamed to newName.
func (p *Pool) RenameSnapshots(name string, newName string) error {
	err := os.Rename(p.snapshotsPath(name), p.snapshotsPath(newName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}

	return err
}

// RestoreSnapshot replaces the root filesystem of a stopped container with a copy of a snapshot's. The container
// no longer depends on a base afterwards: its root is a plain directory.
func (p *Pool) RestoreSnapshot(name string, snap string) error {
	src := filepath.Join(p.SnapshotPath(name, snap), "rootfs")
	if !dirExists(src) {
		return fmt.Errorf("snapshot storage %s/%s: %w", name, snap, errs.ErrNotFound)
	}

	return p.ReplaceRootfs(name, src)
}

// ReplaceRootfs replaces the root filesystem of a stopped container with a copy of the tree src, as a plain
// directory without a base. The copy is made first, so a failure leaves the container as it was.
func (p *Pool) ReplaceRootfs(name string, src string) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	dir := p.ContainerPath(name)
	if !dirExists(dir) {
		return fmt.Errorf("storage for %q: %w", name, errs.ErrNotFound)
	}

	err := unmount(filepath.Join(dir, "rootfs"))
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp(dir, ".rootfs-")
	if err != nil {
		return err
	}

	defer func() { _ = os.RemoveAll(tmp) }()
	err = CopyTree(src, filepath.Join(tmp, "rootfs"))
	if err != nil {
		return err
	}

	old := filepath.Join(tmp, "old")
	err = os.Mkdir(old, 0o700)
	if err != nil {
		return err
	}

	for _, sub := range []string{"rootfs", "upper", "work"} {
		err = os.Rename(filepath.Join(dir, sub), filepath.Join(old, sub))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}

	err = os.Rename(filepath.Join(tmp, "rootfs"), filepath.Join(dir, "rootfs"))
	if err != nil {
		return err
	}

	return os.WriteFile(filepath.Join(dir, "lower"), []byte("\n"), 0o600)
}

// CreateContainerFrom lays out a new container whose root filesystem is a copy of the tree src, as a plain
// directory without a base. The container appears under its name only once the copy is complete.
func (p *Pool) CreateContainerFrom(name string, src string) error {
	return p.createContainer(name, func(dir string) error {
		return CopyTree(src, filepath.Join(dir, "rootfs"))
	}, "")
}
