package lxc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
)

// AttachDisk bind mounts the host source of a disk device at its path in a running container. The mount is made
// on the host (a detached copy of the source, read-only when the device says so) and moved into the container's
// mount namespace; the target is created if missing, through the container's own root, so no symlink in the
// container can lead the daemon out of it.
func (d *Driver) AttachDisk(name string, dev map[string]string) error {
	pid, err := d.initPid(name)
	if err != nil {
		return err
	}

	source := dev["source"]
	info, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("the source %q: %w", source, err)
	}

	rel, err := containerPath(dev["path"])
	if err != nil {
		return err
	}

	err = createTarget(pid, rel, info.IsDir())
	if err != nil {
		return fmt.Errorf("creating %s in the container: %w", dev["path"], err)
	}

	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if info.IsDir() {
		flags |= unix.AT_RECURSIVE
	}

	fd, err := unix.OpenTree(unix.AT_FDCWD, source, flags)
	if err != nil {
		return fmt.Errorf("cloning the mount of %q: %w", source, err)
	}

	tree := os.NewFile(uintptr(fd), "detached mount")
	defer func() { _ = tree.Close() }()
	if instance.IsTrue(dev["readonly"]) {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
		if err != nil {
			return fmt.Errorf("making the mount of %q read-only: %w", source, err)
		}
	}

	return runHelper(context.Background(), []string{MountCommand, strconv.Itoa(pid), "/" + rel}, tree)
}

// DetachDisk unmounts what a disk device mounted at path in a running container.
func (d *Driver) DetachDisk(name string, devPath string) error {
	pid, err := d.initPid(name)
	if err != nil {
		return err
	}

	rel, err := containerPath(devPath)
	if err != nil {
		return err
	}

	return runHelper(context.Background(), []string{UnmountCommand, strconv.Itoa(pid), "/" + rel}, nil)
}

// The hidden subcommands of the daemon's binary that change a running container's mounts. Joining a container's
// mount namespace is done in a short-lived process: a thread of the daemon that joined it could not be relied on
// to go away (the main thread, for one, is never ended), and whatever ran on it later would see the container's
// mounts instead of the host's.
const (
	// MountCommand moves the detached mount passed as file descriptor 3 to a path in a container.
	MountCommand = "forkmount"

	// UnmountCommand unmounts a path in a container.
	UnmountCommand = "forkumount"
)

// ForkMount moves the detached mount fd to target in the mount namespace of the process pid. It is meant for a
// process of its own (MountCommand), which it leaves in that namespace.
func ForkMount(pid int, target string, fd int) error {
	return inMountNamespace(pid, func() error {
		return unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
	})
}

// ForkUnmount unmounts target in the mount namespace of the process pid; nothing mounted there is not an error.
// It is meant for a process of its own (UnmountCommand).
func ForkUnmount(pid int, target string) error {
	return inMountNamespace(pid, func() error {
		err := unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}

		return err
	})
}

// runHelper runs the daemon's binary with a hidden subcommand; extra, if not nil, is its file descriptor 3. The
// error carries what the helper printed.
func runHelper(ctx context.Context, args []string, extra *os.File) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}

	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if extra != nil {
		cmd.ExtraFiles = []*os.File{extra}
	}

	out, err := cmd.CombinedOutput()
	if err != nil {
		detail := strings.TrimPrefix(strings.TrimSpace(string(out)), "Error: ")
		if detail == "" {
			detail = err.Error()
		}

		return errors.New(detail)
	}

	return nil
}

// initPid returns the pid of a running container's init.
func (d *Driver) initPid(name string) (int, error) {
	c, err := d.container(name)
	if err != nil {
		return 0, err
	}

	defer func() { _ = c.Release() }()
	pid := c.InitPid()
	if pid <= 0 {
		return 0, instance.ErrNotRunning
	}

	return pid, nil
}

// containerPath checks a device path (absolute, without "..") and returns it relative to the container's root.
func containerPath(p string) (string, error) {
	if !path.IsAbs(p) || strings.Contains("/"+p+"/", "/../") {
		return "", fmt.Errorf("invalid path %q", p)
	}

	rel := strings.TrimPrefix(path.Clean(p), "/")
	if rel == "" {
		return "", fmt.Errorf("invalid path %q", p)
	}

	return rel, nil
}

// createTarget creates the mount point rel (a directory, or an empty file) in the root of the container whose init
// is pid, if missing, through an os.Root on that root. What it creates belongs to the owner of that root, the
// container's root user.
func createTarget(pid int, rel string, dir bool) error {
	root, err := os.OpenRoot("/proc/" + strconv.Itoa(pid) + "/root")
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()
	_, err = root.Lstat(rel)
	if err == nil {
		return nil
	}

	top, err := root.Stat(".")
	if err != nil {
		return err
	}

	st, ok := top.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("no owner for the container's root")
	}

	uid, gid := int(st.Uid), int(st.Gid)
	parts := strings.Split(rel, "/")
	for i := range parts {
		cur := strings.Join(parts[:i+1], "/")
		_, err = root.Lstat(cur)
		if err == nil {
			continue
		}

		if i < len(parts)-1 || dir {
			err = root.Mkdir(cur, 0o755)
		} else {
			var f *os.File
			f, err = root.OpenFile(cur, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err == nil {
				err = f.Close()
			}
		}

		if err != nil {
			return err
		}

		err = root.Lchown(cur, uid, gid)
		if err != nil {
			return err
		}
	}

	return nil
}

// inMountNamespace runs fn on an OS thread that joined the mount namespace of pid (with that namespace's root as
// its root and working directory). Only a helper process, which exits right after, may call it.
func inMountNamespace(pid int, fn func() error) error {
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		return err
	}

	defer func() { _ = ns.Close() }()
	result := make(chan error, 1)
	go func() {
		// Without UnlockOSThread, the thread exits with this goroutine instead of going back to the scheduler.
		runtime.LockOSThread()
		err := unix.Unshare(unix.CLONE_FS)
		if err != nil {
			result <- fmt.Errorf("unsharing the file system attributes: %w", err)
			return
		}

		err = unix.Setns(int(ns.Fd()), unix.CLONE_NEWNS)
		if err != nil {
			result <- fmt.Errorf("joining the mount namespace of %d: %w", pid, err)
			return
		}

		result <- fn()
	}()

	return <-result
}
