package drivers

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Quota commands and types of quotactl(2) (linux/quota.h), which golang.org/x/sys/unix does not define.
const (
	quotaGetInfo     = 0x800005 // Q_GETINFO
	quotaTypeProject = 2        // PRJQUOTA
)

// quotaInfo is struct if_dqinfo, what Q_GETINFO fills in.
type quotaInfo struct {
	BGrace uint64
	IGrace uint64
	Flags  uint32
	Valid  uint32
}

// SetQuota accepts a size and does not enforce it: the dir driver sets no project quotas, as LXD's does not on a
// file system without them. A size on a pool is logged each time and recorded once as a daemon warning about the
// pool, with what the pool's file system lacks, so that the operator sees the limit is not applied.
func (d *dir) SetQuota(path string, size int64) error {
	if size <= 0 {
		return nil
	}

	name := ""
	if d.pool != nil {
		name = d.pool.Name
	}

	slog.Warn("the size of a volume on a dir pool is not enforced", "pool", name, "path", path, "size", size)
	d.warnOnce.Do(func() {
		if d.pool == nil || d.pool.Warn == nil {
			return
		}

		// The pool's source, not the volume: a running container's root is an overlay mounted on the pool.
		d.pool.Warn(unenforcedMessage(name, projectQuotaSupport(d.source(d.pool))))
	})

	return nil
}

// unenforcedMessage is the warning of a size set on the dir pool name, with why the pool's file system cannot
// enforce it (nil: it could, with project quotas, which the dir driver does not set).
func unenforcedMessage(name string, why error) string {
	reason := "the dir driver does not set project quotas"
	if why != nil {
		reason = why.Error()
	}

	return fmt.Sprintf("size limits of volumes on the dir pool %q are accepted but not enforced: %s", name, reason)
}

// projectQuotaSupport says why the file system holding path has no project quotas in use, or nil when it has:
// it asks the file system for its project quota information (quotactl_fd Q_GETINFO PRJQUOTA).
func projectQuotaSupport(path string) error {
	f, err := os.Open(path)
	if err != nil {
		// The volume may not exist yet (a size checked before the volume is made): ask its parent.
		f, err = os.Open(filepath.Dir(path))
		if err != nil {
			return fmt.Errorf("the file system of %s cannot be examined: %w", path, err)
		}
	}

	defer func() { _ = f.Close() }()
	var info quotaInfo
	cmd := uintptr(quotaGetInfo<<8 | quotaTypeProject)
	_, _, errno := unix.Syscall6(unix.SYS_QUOTACTL_FD, f.Fd(), cmd, 0, uintptr(unsafe.Pointer(&info)), 0, 0)
	if errno == 0 {
		return nil
	}

	fsType := fileSystemType(f)
	switch {
	case errors.Is(errno, unix.ESRCH):
		return fmt.Errorf("project quotas are not enabled on the %s file system holding %s (mount it with prjquota)", fsType, path)
	case errors.Is(errno, unix.ENOSYS), errors.Is(errno, unix.EOPNOTSUPP), errors.Is(errno, unix.ENOTTY):
		return fmt.Errorf("the kernel has no project quotas for the %s file system holding %s (quotactl: %w)", fsType, path, errno)
	default:
		return fmt.Errorf("the project quotas of the %s file system holding %s cannot be read (quotactl: %w)", fsType, path, errno)
	}
}

// fileSystemType names the file system of an open file by its magic number (hex when unknown).
func fileSystemType(f *os.File) string {
	var st unix.Statfs_t
	err := unix.Fstatfs(int(f.Fd()), &st)
	if err != nil {
		return "unknown"
	}

	names := map[int64]string{
		unix.EXT4_SUPER_MAGIC: "ext4", unix.XFS_SUPER_MAGIC: "xfs", unix.TMPFS_MAGIC: "tmpfs",
		unix.BTRFS_SUPER_MAGIC: "btrfs", unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	}

	name, ok := names[int64(st.Type)]
	if ok {
		return name
	}

	return fmt.Sprintf("%#x", st.Type)
}
