package drivers

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
)

// btrfs keeps volumes as subvolumes: image bases are read-only subvolumes, containers writable snapshots of them,
// instance snapshots read-only snapshots. A pool is a loop file the daemon creates ($LXD_DIR/disks/<pool>.img,
// mounted at the pool's mount path) or a directory on an existing btrfs file system (source=).
type btrfs struct{}

// btrfsSuperMagic is the f_type of a btrfs file system.
const btrfsSuperMagic = 0x9123683e

// btrfsFirstFreeObjectID is the inode number of the root directory of every subvolume.
const btrfsFirstFreeObjectID = 256

func (d *btrfs) Name() string  { return "btrfs" }
func (d *btrfs) Layered() bool { return false }

func (d *btrfs) Version() string {
	return btrfsVersion()
}

// btrfsVersion is the version of the host's btrfs tools, asked once (the server's environment reports it).
var btrfsVersion = sync.OnceValue(func() string {
	out, err := exec.Command("btrfs", "--version").Output()
	if err != nil {
		return ""
	}

	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return ""
	}

	return strings.TrimPrefix(fields[len(fields)-1], "v")
})

func (d *btrfs) Validate(config map[string]string, creating bool) error {
	err := checkKeys(config, "size", "btrfs.mount_options")
	if err != nil {
		return err
	}

	if config["size"] != "" {
		size, err := ParseSize(config["size"])
		if err != nil {
			return err
		}

		if size < 256<<20 {
			return errs.Invalid("size %q is too small for a btrfs pool (at least 256MiB)", config["size"])
		}
	}

	src := config["source"]
	if src != "" && !filepath.IsAbs(src) {
		return errs.Invalid("source %q is not an absolute path", src)
	}

	return nil
}

// loopFile is the loop file of a loop-backed pool, "" for a pool on an existing btrfs directory.
func (d *btrfs) loopFile(p *Pool) string {
	src := p.Config["source"]
	if src == "" {
		return filepath.Join(p.DisksDir, p.Name+".img")
	}

	if strings.HasSuffix(src, ".img") {
		return src
	}

	st, err := os.Stat(src)
	if err == nil && st.Mode().IsRegular() {
		return src
	}

	return ""
}

// DefaultLoopSize is the size of a loop file when size= is not given: a fifth of the free space of dir, in whole
// GiB, at least 5GiB and at most 30GiB (LXD's rule).
func DefaultLoopSize(dir string) int64 {
	var st unix.Statfs_t
	size := int64(5)
	if unix.Statfs(dir, &st) == nil {
		size = int64(st.Bavail) * st.Bsize / 5 / (1 << 30)
	}

	return min(max(size, 5), 30) << 30
}

func (d *btrfs) Create(p *Pool) error {
	if p.Config["source"] != "" && d.loopFile(p) == "" {
		src := filepath.Clean(p.Config["source"])
		st, err := os.Stat(src)
		if err == nil && !st.IsDir() {
			return errs.Invalid("source %q is neither a directory on a btrfs file system nor a loop file (*.img)", src)
		}

		err = os.MkdirAll(src, 0o711)
		if err != nil {
			return wrapf(err, "creating %s", src)
		}

		if !isBtrfs(src) {
			return errs.Invalid("source %q is not on a btrfs file system", src)
		}

		p.Config["source"] = src
		return nil
	}

	img := p.Config["source"]
	if img == "" {
		img = filepath.Join(p.DisksDir, p.Name+".img")
	}

	err := os.MkdirAll(filepath.Dir(img), 0o700)
	if err != nil {
		return err
	}

	size := DefaultLoopSize(filepath.Dir(img))
	if p.Config["size"] != "" {
		size, err = ParseSize(p.Config["size"])
		if err != nil {
			return err
		}
	}

	f, err := os.OpenFile(img, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return errs.Conflict("loop file %s already exists", img)
	}

	if err != nil {
		return err
	}

	err = f.Truncate(size)
	_ = f.Close()
	if err == nil {
		_, err = run("mkfs.btrfs", "-f", "-q", img)
	}

	if err != nil {
		_ = os.Remove(img)
		return wrapf(err, "formatting %s", img)
	}

	p.Config["source"] = img
	p.Config["size"] = fmt.Sprintf("%dGiB", size>>30)
	if size%(1<<30) != 0 {
		p.Config["size"] = strconv.FormatInt(size, 10) + "B"
	}

	return nil
}

func (d *btrfs) Mount(p *Pool) (string, error) {
	img := d.loopFile(p)
	path := p.MountPath
	if img == "" {
		path = filepath.Clean(p.Config["source"])
		if !isBtrfs(path) {
			return "", fmt.Errorf("pool %q: %s is not on a btrfs file system", p.Name, path)
		}
	} else if !IsMountPoint(path) {
		err := os.MkdirAll(path, 0o711)
		if err != nil {
			return "", err
		}

		opts := "loop"
		if p.Config["btrfs.mount_options"] != "" {
			opts += "," + p.Config["btrfs.mount_options"]
		}

		// mount(8) sets up the loop device to detach itself at the unmount.
		_, err = run("mount", "-t", "btrfs", "-o", opts, img, path)
		if err != nil {
			return "", wrapf(err, "mounting pool %q", p.Name)
		}
	}

	// Quotas are enabled by the first size= (see SetQuota), as LXD does: qgroup accounting slows every snapshot
	// and deletion of the file system.
	return path, nil
}

func (d *btrfs) Unmount(p *Pool) error {
	img := d.loopFile(p)
	if img == "" {
		return nil
	}

	err := UnmountPath(p.MountPath)
	if err != nil {
		return err
	}

	waitLoopReleased(img, 5*time.Second)
	return nil
}

// Update remounts a loop-backed pool with its new btrfs.mount_options.
func (d *btrfs) Update(p *Pool, old map[string]string) error {
	opts := p.Config["btrfs.mount_options"]
	if opts == old["btrfs.mount_options"] || d.loopFile(p) == "" || !IsMountPoint(p.MountPath) {
		return nil
	}

	remount := "remount"
	if opts != "" {
		remount += "," + opts
	}

	_, err := run("mount", "-o", remount, p.MountPath)
	if err != nil {
		return errs.Invalid("applying btrfs.mount_options %q: %v", opts, err)
	}

	return nil
}

func (d *btrfs) Delete(p *Pool) error {
	img := d.loopFile(p)
	if img == "" {
		err := os.Remove(filepath.Clean(p.Config["source"]))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) {
			return err
		}

		return nil
	}

	err := d.Unmount(p)
	if err != nil {
		return err
	}

	err = os.Remove(img)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	err = os.Remove(p.MountPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	return nil
}

func (d *btrfs) CreateVolume(path string) error {
	_, err := run("btrfs", "subvolume", "create", path)
	return err
}

func (d *btrfs) Snapshot(src string, dst string, readOnly bool) (bool, error) {
	if !IsSubvolume(src) || !isBtrfs(filepath.Dir(dst)) {
		return false, nil
	}

	args := []string{"subvolume", "snapshot"}
	if readOnly {
		args = append(args, "-r")
	}

	_, err := run("btrfs", append(args, src, dst)...)
	if err != nil && strings.Contains(err.Error(), "cross-device") {
		return false, nil
	}

	return err == nil, err
}

func (d *btrfs) SetReadOnly(path string) error {
	_, err := run("btrfs", "property", "set", "-ts", path, "ro", "true")
	return err
}

// SetQuota limits the subvolume at path to size bytes (0: no limit). The file system's quotas are enabled by the
// first limit, with a rescan waited for so that the limit counts what is there already.
func (d *btrfs) SetQuota(path string, size int64) error {
	limit := "none"
	if size > 0 {
		limit = strconv.FormatInt(size, 10)
	}

	_, err := run("btrfs", "qgroup", "limit", limit, path)
	if err == nil || quotasEnabled(path) {
		return err
	}

	if size == 0 {
		// No quota to lift where quotas are off.
		return nil
	}

	_, err = run("btrfs", "quota", "enable", path)
	if err != nil {
		return wrapf(err, "enabling btrfs quotas")
	}

	_, err = run("btrfs", "quota", "rescan", "-w", path)
	if err != nil {
		return wrapf(err, "rescanning btrfs quotas")
	}

	_, err = run("btrfs", "qgroup", "limit", limit, path)
	return err
}

// quotasEnabled says whether the btrfs file system holding path has quotas enabled.
func quotasEnabled(path string) bool {
	_, err := run("btrfs", "qgroup", "show", "-f", path)
	return err == nil
}

// isBtrfs reports whether path is on a btrfs file system.
func isBtrfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == btrfsSuperMagic
}

// IsSubvolume reports whether path is the root of a btrfs subvolume.
func IsSubvolume(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Ino == btrfsFirstFreeObjectID && st.Mode&unix.S_IFMT == unix.S_IFDIR &&
		isBtrfs(path)
}

// RemoveTree removes path and everything below it, deleting the btrfs subvolumes in it (read-only ones too,
// which no file removal can empty); a missing path is not an error.
func RemoveTree(path string) error {
	if !isBtrfs(path) {
		return os.RemoveAll(path)
	}

	var subvols []string
	err := filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}

		// A subvolume mounted there (the pool's own top level) is a directory like any other.
		if e.IsDir() && IsSubvolume(p) && !IsMountPoint(p) {
			subvols = append(subvols, p)
			return filepath.SkipDir
		}

		return nil
	})
	if err != nil {
		return err
	}

	for _, sv := range subvols {
		err = deleteSubvolume(sv)
		if err != nil {
			return err
		}
	}

	return os.RemoveAll(path)
}

// deleteSubvolume deletes a subvolume and the subvolumes nested in it.
func deleteSubvolume(path string) error {
	_, err := run("btrfs", "subvolume", "delete", path)
	if err == nil {
		return nil
	}

	// Nested subvolumes keep it from going: make it writable and empty it first.
	_, _ = run("btrfs", "property", "set", "-ts", path, "ro", "false")
	entries, _ := os.ReadDir(path)
	for _, e := range entries {
		rerr := RemoveTree(filepath.Join(path, e.Name()))
		if rerr != nil {
			return rerr
		}
	}

	_, err = run("btrfs", "subvolume", "delete", path)
	return err
}

// run runs a program and returns its output; the error carries its stderr.
func run(name string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}

		return "", fmt.Errorf("%s %s: %s", name, strings.Join(args, " "), msg)
	}

	return string(out), nil
}

// IsMountPoint reports whether path is a mount point, from /proc/self/mountinfo.
func IsMountPoint(path string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}

	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && UnescapeMountPath(fields[4]) == path {
			return true
		}
	}

	return false
}

// UnescapeMountPath undoes the octal escapes of mountinfo (\040 for a space).
func UnescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}

	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
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

// UnmountPath unmounts every mount stacked on path, detaching a busy one.
func UnmountPath(path string) error {
	for range 10 {
		if !IsMountPoint(path) {
			return nil
		}

		err := unix.Unmount(path, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(path, unix.MNT_DETACH)
		}

		if err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmounting %s: %w", path, err)
		}
	}

	return nil
}

// waitLoopReleased waits, at most timeout, until no loop device is backed by img: the kernel detaches a loop device
// set to clear itself asynchronously after its last unmount.
func waitLoopReleased(img string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for loopBacks(img) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// loopBacks says whether a loop device is backed by the file img.
func loopBacks(img string) bool {
	real, err := filepath.EvalSymlinks(img)
	if err != nil {
		real = img
	}

	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}

		backing := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(data)), "(deleted)"))
		if backing == img || backing == real {
			return true
		}
	}

	return false
}
