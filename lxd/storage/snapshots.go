package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/revert"
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

// CreateSnapshot copies the merged root filesystem of a container into a new snapshot, then calls extra (when not
// nil) on the snapshot's directory for the files kept next to it. The container's root is mounted for the copy if
// it is not already (a running container's is). The snapshot appears under its name only once complete.
func (p *Pool) CreateSnapshot(name string, snap string, extra func(dir string) error) error {
	dir := p.SnapshotPath(name, snap)
	_, err := os.Lstat(dir)
	if err == nil {
		return fmt.Errorf("snapshot storage %s/%s already exists: %w", name, snap, errs.ErrConflict)
	}

	err = makeTreesDir(p.snapshotsPath(name), 0o700)
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

	copyRoot := func(dst string) error { return CopyTree(root, dst) }
	if !p.layered(name) {
		copyRoot = func(dst string) error { return p.copyVolume(root, dst, true) }
	}

	tmp, err := os.MkdirTemp(p.snapshotsPath(name), ".tmp-")
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	r.Add(func() { _ = removeTree(tmp) })

	err = copyRoot(filepath.Join(tmp, "rootfs"))
	if err != nil {
		return fmt.Errorf("copying the root filesystem of %q: %w", name, err)
	}

	if extra != nil {
		err = extra(tmp)
		if err != nil {
			return err
		}
	}

	CrashPoint("snapshot-copied")
	err = os.Rename(tmp, dir)
	if err != nil {
		return err
	}

	r.Success()
	return nil
}

// DeleteSnapshot removes a snapshot's storage, renaming it out of the way first; a missing one is not an error.
func (p *Pool) DeleteSnapshot(name string, snap string) error {
	err := removeEntombed(p.SnapshotPath(name, snap), "snapshot-delete-entombed")
	if err != nil {
		return err
	}

	_ = os.Remove(p.snapshotsPath(name))
	return nil
}

// DeleteSnapshots removes the storage of all of a container's snapshots, renaming it out of the way first.
func (p *Pool) DeleteSnapshots(name string) error {
	return removeEntombed(p.snapshotsPath(name), "")
}

// CopySnapshot copies the storage of snapshot snap of instance from to the same snapshot of instance to. The copy
// is built under a .tmp- name and appears under its own only once complete.
func (p *Pool) CopySnapshot(from string, to string, snap string) error {
	return p.copySnapshotFrom(p.SnapshotPath(from, snap), to, snap)
}

// copySnapshotFrom copies the snapshot storage src (of this pool or another) as snapshot snap of to.
func (p *Pool) copySnapshotFrom(src string, to string, snap string) error {
	return p.placeSnapshotFrom(src, to, snap, false)
}

// placeSnapshotFrom is copySnapshotFrom, moving the root filesystem of src into place when move is set (a staging
// tree its caller discards).
func (p *Pool) placeSnapshotFrom(src string, to string, snap string, move bool) error {
	dir := p.SnapshotPath(to, snap)
	_, err := os.Lstat(dir)
	if err == nil {
		return fmt.Errorf("snapshot storage %s/%s already exists: %w", to, snap, errs.ErrConflict)
	}

	err = os.MkdirAll(p.snapshotsPath(to), 0o700)
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp(p.snapshotsPath(to), ".tmp-")
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	r.Add(func() { _ = removeTree(tmp) })

	err = os.Chmod(tmp, 0o700)
	if err != nil {
		return err
	}

	place := p.copyVolume
	if move {
		place = p.moveVolume
	}

	err = place(filepath.Join(src, "rootfs"), filepath.Join(tmp, "rootfs"), true)
	if err != nil {
		return fmt.Errorf("copying snapshot %q: %w", snap, err)
	}

	err = carryOver(src, tmp)
	if err != nil {
		return fmt.Errorf("copying the metadata of snapshot %q: %w", snap, err)
	}

	CrashPoint("copy-snapshot-copied")
	err = os.Rename(tmp, dir)
	if err != nil {
		return err
	}

	r.Success()
	return nil
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

// RestoreSnapshot replaces the root filesystem of a stopped container with a copy of a snapshot's, and the files
// kept next to it (metadata and templates) with the snapshot's when the snapshot keeps any. The container no
// longer depends on a base afterwards: its root is a plain directory.
func (p *Pool) RestoreSnapshot(name string, snap string) error {
	dir := p.SnapshotPath(name, snap)
	src := filepath.Join(dir, "rootfs")
	if !dirExists(src) {
		return fmt.Errorf("snapshot storage %s/%s: %w", name, snap, errs.ErrNotFound)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}

	if len(entries) > 1 {
		return p.replaceRootfs(name, src, dir)
	}

	return p.ReplaceRootfs(name, src)
}

// ReplaceRootfs replaces the root filesystem of a stopped container with a copy of the tree src, as a plain
// directory without a base. The new container directory is built apart (the copy, and the container's other files
// carried over) and exchanged with the old one in one atomic rename, so that a failure or a crash at any moment
// leaves the container either as it was or restored; what is left apart is removed at the next start.
func (p *Pool) ReplaceRootfs(name string, src string) error {
	return p.replaceRootfs(name, src, p.ContainerPath(name))
}

// replaceRootfs is ReplaceRootfs taking the files kept next to the root filesystem from the directory extras.
func (p *Pool) replaceRootfs(name string, src string, extras string) error {
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

	tmp, err := os.MkdirTemp(filepath.Join(p.dir, "containers"), ".tmp-")
	if err != nil {
		return err
	}

	defer func() { _ = removeTree(tmp) }()
	err = os.Chmod(tmp, 0o711)
	if err != nil {
		return err
	}

	err = p.copyVolume(src, filepath.Join(tmp, "rootfs"), false)
	if err != nil {
		return err
	}

	err = carryOver(extras, tmp)
	if err != nil {
		return err
	}

	err = os.WriteFile(filepath.Join(tmp, "lower"), []byte("\n"), 0o600)
	if err != nil {
		return err
	}

	CrashPoint("restore-copied")

	// tmp now holds the old container, which the deferred removal drops.
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// A file system without RENAME_EXCHANGE: two renames, with the old directory set aside in between.
		old := tmp + ".old"
		err = os.Rename(dir, old)
		if err != nil {
			return err
		}

		defer func() { _ = removeTree(old) }()
		err = os.Rename(tmp, dir)
		if err != nil {
			_ = os.Rename(old, dir)
			return err
		}
	}

	if err == nil {
		CrashPoint("restore-exchanged")
	}

	return err
}

// carryOver copies the entries of a container or snapshot directory other than its root filesystem layers
// (metadata and templates) into the new directory dst.
func carryOver(dir string, dst string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}

	for _, e := range entries {
		switch e.Name() {
		case "rootfs", "upper", "work", "lower":
			continue
		}

		from := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		err = unix.Lstat(from, &st)
		if err != nil {
			return err
		}

		err = copyEntryTree(from, filepath.Join(dst, e.Name()), &st)
		if err != nil {
			return err
		}
	}

	return nil
}

// CreateContainerFrom lays out a new container whose root filesystem is a copy of the tree src, as a plain
// directory without a base, or src itself moved into place when move is set (a staging tree its caller discards).
// The container appears under its name only once the copy is complete.
func (p *Pool) CreateContainerFrom(name string, src string, move bool) error {
	return p.createContainer(name, func(dir string) error {
		if move {
			return p.moveVolume(src, filepath.Join(dir, "rootfs"), false)
		}

		return p.copyVolume(src, filepath.Join(dir, "rootfs"), false)
	}, "")
}
