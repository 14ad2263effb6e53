// Package storage holds instance root filesystems on storage pools. Every pool keeps one read-only base per image
// (and per id shift), unpacked once, and makes each container from it without copying: on a dir pool an overlayfs
// root (the base as lower layer, an upper and a work directory of its own), on a btrfs pool a snapshot of the
// base's subvolume. Pools (pools.go) routes each container to the pool holding it; the pools' records and drivers
// are managed in service.go, the drivers themselves in lxd/storage/drivers.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/locking"
	"github.com/lxd-go/lxd/lxd/storage/drivers"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/revert"
)

// DefaultPool is the name of the pool created at first start.
const DefaultPool = "default"

// Pool is the volumes of one storage pool: images/<base>/rootfs holds the bases and containers/<name>/ the
// containers, each with rootfs/ and a "lower" file naming its base, plus upper/ and work/ when rootfs/ is an overlay
// mount point (dir) rather than a volume of its own (btrfs).
type Pool struct {
	name string
	dir  string

	// drv is the pool's driver: dir (containers as overlays on their base) or btrfs (bases as read-only
	// subvolumes, containers and snapshots as snapshots of them).
	drv drivers.Driver

	// mu serialises container mounts.
	mu sync.Mutex

	// bases serialises the creation and removal of each base, so that unpacking one image (seconds for a large
	// one) holds up neither the mounts nor the unpacking of other images.
	bases locking.Keyed
}

// baseLock locks one base and returns its unlock function.
func (p *Pool) baseLock(base string) func() {
	return p.bases.Lock(base)
}

// NewDirPool opens (creating it if needed) the dir pool name in dir.
func NewDirPool(name string, dir string) (*Pool, error) {
	drv, err := drivers.Load("dir")
	if err != nil {
		return nil, err
	}

	return openPool(name, drv, dir)
}

// openPool opens the volumes of a pool whose driver has mounted it in dir, repairing what a crash left.
func openPool(name string, drv drivers.Driver, dir string) (*Pool, error) {
	err := os.MkdirAll(dir, 0o711)
	if err != nil {
		return nil, fmt.Errorf("creating storage pool %q: %w", name, err)
	}

	for _, d := range []string{filepath.Join(dir, "images"), filepath.Join(dir, "containers")} {
		err := makeTreesDir(d, 0o711)
		if err != nil {
			return nil, fmt.Errorf("creating storage pool %q: %w", name, err)
		}
	}

	p := &Pool{name: name, dir: dir, drv: drv}
	p.removeUnfinished()
	err = p.checkBases()
	if err != nil {
		return nil, err
	}

	return p, nil
}

// makeTreesDir makes (if needed) a directory under which whole trees are written, and marks it so that the file
// system spreads them (fsutil.MarkTreeTop): a file system without the mark keeps them where it would anyway.
func makeTreesDir(dir string, mode os.FileMode) error {
	err := os.MkdirAll(dir, mode)
	if err != nil {
		return err
	}

	_ = fsutil.MarkTreeTop(dir)
	return nil
}

// Name returns the pool name.
func (p *Pool) Name() string {
	return p.name
}

// Driver returns the name of the pool's driver.
func (p *Pool) Driver() string {
	return p.drv.Name()
}

// Dir returns the pool directory.
func (p *Pool) Dir() string {
	return p.dir
}

// BaseName is the name of the base of image fp: fp itself unshifted, fp.shifted-<hostuid>-<hostgid> shifted.
func BaseName(fp string, shiftUID int64, shiftGID int64) string {
	if shiftUID == 0 && shiftGID == 0 {
		return fp
	}

	return fmt.Sprintf("%s.shifted-%d-%d", fp, shiftUID, shiftGID)
}

// BaseImage returns the image fingerprint a base name belongs to.
func BaseImage(base string) string {
	fp, _, _ := strings.Cut(base, ".")
	return fp
}

func (p *Pool) basePath(base string) string {
	return filepath.Join(p.dir, "images", base)
}

// BaseRootfs returns the root filesystem directory of a base.
func (p *Pool) BaseRootfs(base string) string {
	return filepath.Join(p.basePath(base), "rootfs")
}

// baseComplete is the file written last into a base, once its unpack is complete: a base is used only under its
// final name and with this file.
const baseComplete = "complete"

// HasBase reports whether a complete base is in place.
func (p *Pool) HasBase(base string) bool {
	_, err := os.Stat(filepath.Join(p.basePath(base), baseComplete))
	return err == nil
}

// checkBases deals with the bases that lack their completeness file at start. One that a container is built on was
// made before bases had the file (they were always unpacked apart and renamed into place, and only unused bases
// were removed in place), so it is complete and gets the file. An unused one may be what a removal cut short
// left: it is removed, and unpacked again when next needed.
func (p *Pool) checkBases() error {
	bases, err := p.Bases()
	if err != nil {
		return err
	}

	used := map[string]bool{}
	names, err := p.Containers()
	if err != nil {
		return err
	}

	for _, name := range names {
		base, err := p.ContainerBase(name)
		if err == nil && base != "" {
			used[base] = true
		}
	}

	for _, base := range bases {
		if p.HasBase(base) {
			continue
		}

		if used[base] {
			slog.Info("marking a base from before completeness files as complete", "base", base)
			err = fsutil.WriteFileAtomic(filepath.Join(p.basePath(base), baseComplete), nil, 0o600)
			if err != nil {
				return err
			}

			continue
		}

		slog.Warn("removing an image base that is not complete", "base", base)
		err = removeEntombed(p.basePath(base), "")
		if err != nil {
			return err
		}
	}

	return nil
}

// EnsureBase makes sure the base exists, calling unpack to fill a fresh directory when it does not. Concurrent
// callers for the same base unpack once. It reports whether it unpacked.
func (p *Pool) EnsureBase(ctx context.Context, base string, unpack func(ctx context.Context, dest string) error) (bool, error) {
	err := checkBaseName(base)
	if err != nil {
		return false, err
	}

	unlock := p.baseLock(base)
	defer unlock()
	if p.HasBase(base) {
		return false, nil
	}

	staged, err := p.StageBase()
	if err != nil {
		return false, err
	}

	err = unpack(ctx, staged.Rootfs())
	if err != nil {
		staged.Discard()
		return false, err
	}

	err = staged.publishLocked(base)
	if err != nil {
		return false, err
	}

	return true, nil
}

// Bases lists the bases in the pool.
func (p *Pool) Bases() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(p.dir, "images"))
	if err != nil {
		return nil, err
	}

	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}

	return out, nil
}

// DeleteBase removes a base; the caller makes sure no container uses it. The base is renamed out of the way
// before its removal, so that a crash never leaves part of it under its name.
func (p *Pool) DeleteBase(base string) error {
	if strings.ContainsAny(base, "/") || base == "" || strings.HasPrefix(base, ".") {
		return fmt.Errorf("invalid base name %q: %w", base, errs.ErrInvalid)
	}

	unlock := p.baseLock(base)
	defer unlock()
	return removeEntombed(p.basePath(base), "base-delete-entombed")
}

// ContainerPath returns the directory of a container.
func (p *Pool) ContainerPath(name string) string {
	return filepath.Join(p.dir, "containers", name)
}

// ContainerRootfs returns the mount point of a container's root filesystem.
func (p *Pool) ContainerRootfs(name string) string {
	return filepath.Join(p.ContainerPath(name), "rootfs")
}

// CreateContainer lays out a container on a base: upper/ and work/ (upper's root takes the owner and mode of the
// base's root, since the overlay root shows upper's), the rootfs/ mount point and the lower file. Without a base
// the container gets a plain, empty rootfs/ directory owned by rootUID:rootGID.
func (p *Pool) CreateContainer(name string, base string, rootUID int, rootGID int) error {
	if base != "" && !p.HasBase(base) {
		return fmt.Errorf("base %q: %w", base, errs.ErrNotFound)
	}

	return p.createContainer(name, func(dir string) error {
		if base != "" && !p.drv.Layered() {
			return p.copyVolume(p.BaseRootfs(base), filepath.Join(dir, "rootfs"), false)
		}

		if base == "" {
			err := p.drv.CreateVolume(filepath.Join(dir, "rootfs"))
			if err != nil {
				return err
			}

			return os.Chown(filepath.Join(dir, "rootfs"), rootUID, rootGID)
		}

		err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755)
		if err != nil {
			return err
		}

		var st unix.Stat_t
		err = unix.Stat(p.BaseRootfs(base), &st)
		if err != nil {
			return err
		}

		for _, sub := range []string{"upper", "work"} {
			err = os.Mkdir(filepath.Join(dir, sub), 0o755)
			if err != nil {
				return err
			}
		}

		upper := filepath.Join(dir, "upper")
		err = os.Chown(upper, int(st.Uid), int(st.Gid))
		if err != nil {
			return err
		}

		return os.Chmod(upper, fs.FileMode(st.Mode&0o7777))
	}, base)
}

// createContainer fills a temporary directory with fill, writes the lower file naming base, and only then renames
// the directory to the container's name: a crash never leaves a half-made container under its name, only a .tmp-
// directory that the next start removes.
func (p *Pool) createContainer(name string, fill func(dir string) error, base string) error {
	dir := p.ContainerPath(name)
	_, err := os.Lstat(dir)
	if err == nil {
		return fmt.Errorf("storage for %q already exists: %w", name, errs.ErrConflict)
	}

	tmp, err := os.MkdirTemp(filepath.Join(p.dir, "containers"), ".tmp-")
	if err != nil {
		return err
	}

	r := revert.New()
	defer r.Fail()
	r.Add(func() { _ = removeTree(tmp) })

	err = os.Chmod(tmp, 0o711)
	if err != nil {
		return err
	}

	err = fill(tmp)
	if err != nil {
		return err
	}

	err = os.WriteFile(filepath.Join(tmp, "lower"), []byte(base+"\n"), 0o600)
	if err != nil {
		return err
	}

	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// A file system without RENAME_NOREPLACE: the check above and the instance lock keep the name free.
		err = os.Rename(tmp, dir)
	}

	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("storage for %q already exists: %w", name, errs.ErrConflict)
	}

	if err != nil {
		return err
	}

	r.Success()
	return nil
}

// ContainerBase returns the base a container is built on.
func (p *Pool) ContainerBase(name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(p.ContainerPath(name), "lower"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("storage for %q: %w", name, errs.ErrNotFound)
	}

	if err != nil {
		return "", err
	}

	return strings.TrimSpace(string(data)), nil
}

// OverlayOptions returns the overlayfs mount options of a container.
func OverlayOptions(lower string, upper string, work string) string {
	return "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
}

// Mount mounts a container's root filesystem (if not mounted yet) and returns its path.
func (p *Pool) Mount(name string) (string, error) {
	return p.mount(name, false)
}

// MountTransient is Mount for a short use that the caller ends with Unmount before anything else mounts the root
// filesystem (the rendering of templates at creation). The overlay is volatile: its unmount does not sync the whole
// file system under it, which after an import of an image means writing the image's base out before the first
// container exists. The files written are as durable as any written without fsync. A kernel without volatile
// overlays mounts it as Mount does.
func (p *Pool) MountTransient(name string) (string, error) {
	return p.mount(name, true)
}

// volatileMarker is the directory overlayfs leaves in the work directory of a volatile overlay, which refuses any
// later mount until it is removed (Documentation/filesystems/overlayfs.rst).
func volatileMarker(work string) string {
	return filepath.Join(work, "work", "incompat", "volatile")
}

func (p *Pool) mount(name string, transient bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	base, err := p.ContainerBase(name)
	if err != nil {
		return "", err
	}

	dir := p.ContainerPath(name)
	target := filepath.Join(dir, "rootfs")
	if base == "" || !p.layered(name) {
		return target, nil
	}

	mounted, err := IsMountPoint(target)
	if err != nil {
		return "", err
	}

	if mounted {
		return target, nil
	}

	// A transient mount's marker: the system has not crashed since, or its unsynced writes are lost as any file's
	// would be, so the upper layer is as usable as after an unmount without sync.
	work := filepath.Join(dir, "work")
	err = os.RemoveAll(volatileMarker(work))
	if err != nil {
		return "", err
	}

	opts := OverlayOptions(p.BaseRootfs(base), filepath.Join(dir, "upper"), work)
	if transient {
		err = unix.Mount("overlay", target, "overlay", 0, opts+",volatile")
		if err == nil {
			return target, nil
		}
	}

	err = unix.Mount("overlay", target, "overlay", 0, opts)
	if err != nil {
		return "", fmt.Errorf("mounting the root filesystem of %q: %w", name, err)
	}

	return target, nil
}

// Unmount unmounts a container's root filesystem if it is mounted.
func (p *Pool) Unmount(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return unmount(p.ContainerRootfs(name))
}

func unmount(target string) error {
	for range 10 {
		mounted, err := IsMountPoint(target)
		if err != nil || !mounted {
			return err
		}

		err = unix.Unmount(target, 0)
		if errors.Is(err, syscall.EBUSY) {
			slog.Debug("root filesystem busy, detaching it", "path", target)
			err = unix.Unmount(target, unix.MNT_DETACH)
		}

		if err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmounting %s: %w", target, err)
		}
	}

	return nil
}

// IsMounted reports whether a container's root filesystem is mounted, or needs no mount (a container with no
// overlay: its root filesystem is a plain directory or a subvolume).
func (p *Pool) IsMounted(name string) bool {
	if !p.layered(name) {
		return dirExists(p.ContainerRootfs(name))
	}

	mounted, _ := IsMountPoint(p.ContainerRootfs(name))
	return mounted
}

// layered reports whether a container's root filesystem is an overlay (it has an upper layer).
func (p *Pool) layered(name string) bool {
	return dirExists(filepath.Join(p.ContainerPath(name), "upper"))
}

// SetQuota limits the root filesystem of a container to size bytes (0 lifts the limit), where the driver can.
func (p *Pool) SetQuota(name string, size int64) error {
	return p.drv.SetQuota(p.ContainerRootfs(name), size)
}

// copyVolume makes dst a copy of the volume src: a snapshot where the driver has them, else a copy of the files
// (into a fresh volume of the driver's kind).
func (p *Pool) copyVolume(src string, dst string, readOnly bool) error {
	done, err := p.drv.Snapshot(src, dst, readOnly)
	if err != nil || done {
		return err
	}

	if p.drv.Layered() {
		return CopyTree(src, dst)
	}

	err = p.drv.CreateVolume(dst)
	if err != nil {
		return err
	}

	err = copyTreeInto(src, dst)
	if err == nil && readOnly {
		err = p.drv.SetReadOnly(dst)
	}

	return err
}

// moveVolume is copyVolume for a source its caller discards afterwards (a received or unpacked staging tree): on a
// pool whose volumes are plain directories, a source on the pool's file system is renamed into place rather than
// copied; elsewhere (another file system, btrfs subvolumes) it is copied.
func (p *Pool) moveVolume(src string, dst string, readOnly bool) error {
	if p.drv.Layered() {
		err := os.Rename(src, dst)
		if err == nil {
			return nil
		}

		if !errors.Is(err, unix.EXDEV) {
			return fmt.Errorf("moving %s into place: %w", src, err)
		}
	}

	return p.copyVolume(src, dst, readOnly)
}

// RenameContainer moves a stopped container's storage to a new name.
func (p *Pool) RenameContainer(name string, newName string) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	err := unmount(p.ContainerRootfs(name))
	if err != nil {
		return err
	}

	_, err = os.Lstat(p.ContainerPath(newName))
	if err == nil {
		return fmt.Errorf("storage for %q already exists: %w", newName, errs.ErrConflict)
	}

	return os.Rename(p.ContainerPath(name), p.ContainerPath(newName))
}

// DeleteContainer unmounts and removes a container's storage and its snapshots' storage; a missing container is
// not an error. Both are renamed to tombstones first, so that a crash never leaves part of them under their names.
// The container's tombstone, emptied, stays as the record that the deletion is under way (DeletedContainers) until
// the instance's row is gone too: the caller then removes it with RemoveTombstones.
func (p *Pool) DeleteContainer(name string) error {
	tomb, snaps, err := p.entombContainer(name)
	if err != nil {
		return err
	}

	// Outside the mount lock: removing large snapshots takes a while and holds up no other container.
	CrashPoint("instance-delete-entombed")
	marker := tomb
	if marker == "" {
		marker = snaps
	}

	for _, path := range []string{tomb, snaps} {
		switch path {
		case "":
			continue
		case marker:
			err = removeContents(path)
		default:
			err = removeTree(path)
		}

		if err != nil {
			return err
		}
	}

	CrashPoint("instance-delete-removed")
	return nil
}

// removeContents removes everything in the directory dir, keeping dir.
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}

	for _, e := range entries {
		err = removeTree(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
	}

	return nil
}

// entombContainer unmounts a container's root filesystem and renames its directory and its snapshots' directory
// to tombstones, returning their paths ("" for a missing one).
func (p *Pool) entombContainer(name string) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	err := unmount(p.ContainerRootfs(name))
	if err != nil {
		return "", "", err
	}

	tomb, err := entomb(p.ContainerPath(name))
	if err != nil {
		return "", "", err
	}

	snaps, err := entomb(p.snapshotsPath(name))
	return tomb, snaps, err
}

// ContainerUsage returns the bytes a container adds to its base (its upper layer, or its whole root without one).
func (p *Pool) ContainerUsage(name string) int64 {
	var total int64
	dir := filepath.Join(p.ContainerPath(name), "upper")
	if !p.layered(name) {
		dir = p.ContainerRootfs(name)
	}

	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}

		info, err := d.Info()
		if err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}

		return nil
	})

	return total
}

// IsMountPoint reports whether path is a mount point: from statx's STATX_ATTR_MOUNT_ROOT where the kernel reports it
// (Linux 5.8), at the same cost however many containers have their root mounted, else from /proc/self/mountinfo.
func IsMountPoint(path string) (bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, 0, &stx)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}

	if err == nil && stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
	}

	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}

	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && unescapeMountPath(fields[4]) == path {
			return true, nil
		}
	}

	return false, nil
}

// unescapeMountPath undoes the octal escapes of mountinfo (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}

	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			_, err := fmt.Sscanf(s[i+1:i+4], "%o", &v)
			if err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}

		b.WriteByte(s[i])
	}

	return b.String()
}
