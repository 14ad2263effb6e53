package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// CopyTree copies the directory tree src to dst (which must not exist) as a complete, independent copy: file
// contents, ownership, modes (with setuid, setgid and sticky bits), extended attributes, modification times,
// symlinks, hard links (kept as links within the copy), device nodes, fifos and sockets. Other file systems mounted
// under src are not crossed.
func CopyTree(src string, dst string) error {
	var rootSt unix.Stat_t
	err := unix.Lstat(src, &rootSt)
	if err != nil {
		return err
	}

	if rootSt.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("copying %s: not a directory", src)
	}

	return copyEntryTree(src, dst, &rootSt)
}

// copyEntryTree copies the entry src (of any type, st its Lstat) to dst as CopyTree copies a tree.
func copyEntryTree(src string, dst string, st *unix.Stat_t) error {
	return copyEntryTreeInto(src, dst, st, "")
}

// copyTreeInto is CopyTree into the existing empty directory dst (a fresh volume).
func copyTreeInto(src string, dst string) error {
	var rootSt unix.Stat_t
	err := unix.Lstat(src, &rootSt)
	if err != nil {
		return err
	}

	if rootSt.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("copying %s: not a directory", src)
	}

	return copyEntryTreeInto(src, dst, &rootSt, dst)
}

// copyEntryTreeInto copies like copyEntryTree; the directory existing is taken as it is rather than made.
func copyEntryTreeInto(src string, dst string, st *unix.Stat_t, existing string) error {
	c := &treeCopier{dev: st.Dev, links: map[[2]uint64]string{}, existing: existing}
	err := c.copyEntry(src, dst, st)
	if err != nil {
		return err
	}

	// Directory times last, since filling a directory changes them.
	for i := len(c.dirs) - 1; i >= 0; i-- {
		d := c.dirs[i]
		err = unix.UtimesNanoAt(unix.AT_FDCWD, d.path, d.times, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("setting the times of %s: %w", d.path, err)
		}
	}

	return nil
}

type dirTimes struct {
	path  string
	times []unix.Timespec
}

// treeCopier keeps the state of one copy: the device of the source root, the hard links seen, by device and inode,
// and the directories whose times are set at the end.
type treeCopier struct {
	dev   uint64
	links map[[2]uint64]string
	dirs  []dirTimes

	// existing is a destination directory that exists already.
	existing string
}

func (c *treeCopier) copyEntry(src string, dst string, st *unix.Stat_t) error {
	mode := st.Mode & unix.S_IFMT
	if mode != unix.S_IFDIR && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		first, ok := c.links[key]
		if ok {
			return os.Link(first, dst)
		}

		c.links[key] = dst
	}

	var err error
	switch mode {
	case unix.S_IFDIR:
		if dst != c.existing {
			err = unix.Mkdir(dst, 0o700)
		}
	case unix.S_IFREG:
		err = copyFileData(src, dst)
	case unix.S_IFLNK:
		var target string
		target, err = os.Readlink(src)
		if err == nil {
			err = os.Symlink(target, dst)
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		err = unix.Mknod(dst, st.Mode, int(st.Rdev))
	default:
		return fmt.Errorf("copying %s: unsupported file type %o", src, mode)
	}

	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}

	err = unix.Lchown(dst, int(st.Uid), int(st.Gid))
	if err != nil {
		return fmt.Errorf("setting the owner of %s: %w", dst, err)
	}

	err = copyXattrs(src, dst)
	if err != nil {
		return err
	}

	if mode != unix.S_IFLNK {
		// After chown, which clears the setuid and setgid bits.
		err = unix.Chmod(dst, st.Mode&0o7777)
		if err != nil {
			return fmt.Errorf("setting the mode of %s: %w", dst, err)
		}
	}

	times := []unix.Timespec{st.Atim, st.Mtim}
	if mode == unix.S_IFDIR {
		c.dirs = append(c.dirs, dirTimes{path: dst, times: times})
		return c.copyDir(src, dst, st)
	}

	err = unix.UtimesNanoAt(unix.AT_FDCWD, dst, times, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("setting the times of %s: %w", dst, err)
	}

	return nil
}

func (c *treeCopier) copyDir(src string, dst string, st *unix.Stat_t) error {
	if st.Dev != c.dev {
		// A mount point: keep the directory, not what is mounted on it.
		return nil
	}

	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}

	for _, e := range entries {
		var est unix.Stat_t
		p := filepath.Join(src, e.Name())
		err = unix.Lstat(p, &est)
		if err != nil {
			return err
		}

		err = c.copyEntry(p, filepath.Join(dst, e.Name()), &est)
		if err != nil {
			return err
		}
	}

	return nil
}

func copyFileData(src string, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}

	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}

	_, err = io.Copy(out, in)
	if err != nil {
		_ = out.Close()
		return err
	}

	return out.Close()
}

// copyXattrs copies the extended attributes of src to dst, without following symlinks. Attributes the file
// systems do not support are skipped.
func copyXattrs(src string, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}

	for _, name := range names {
		if strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}

		value, err := getXattr(src, name)
		if err != nil {
			return fmt.Errorf("reading the attribute %s of %s: %w", name, src, err)
		}

		err = unix.Lsetxattr(dst, name, value, 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) && strings.HasPrefix(name, "user.") {
			continue
		}

		if err != nil {
			return fmt.Errorf("setting the attribute %s of %s: %w", name, dst, err)
		}
	}

	return nil
}

func listXattrs(path string) ([]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}

	if err != nil || size == 0 {
		return nil, err
	}

	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}

	var names []string
	for _, n := range strings.Split(string(buf[:size]), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}

	return names, nil
}

func getXattr(path string, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(path, name, nil)
	if err != nil {
		return nil, err
	}

	buf := make([]byte, size)
	size, err = unix.Lgetxattr(path, name, buf)
	if err != nil {
		return nil, err
	}

	return buf[:size], nil
}

// dirExists reports whether path is an existing directory.
func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
