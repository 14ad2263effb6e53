package instance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// ExecRequest is a command to run in a running instance.
type ExecRequest struct {
	Command []string

	// Env is added to the instance's environment.* keys and the defaults.
	Env map[string]string

	// Cwd defaults to the HOME of the environment, or / when it has none.
	Cwd string
	UID uint32
	GID uint32

	Stdin, Stdout, Stderr *os.File
}

// defaultPath is the PATH of commands run in instances.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecEnvironment returns the environment of a command run as uid, as LXD builds it: the environment.* keys, then
// the request's, then defaults for what neither set: PATH (ending in /snap/bin when the instance has /snap), LANG,
// and for root alone HOME and USER. Other users get no HOME or USER unless they are asked for.
func ExecEnvironment(config map[string]string, req map[string]string, uid uint32, snap bool) map[string]string {
	env := map[string]string{}
	for k, v := range config {
		name, ok := strings.CutPrefix(k, "environment.")
		if ok {
			env[name] = v
		}
	}

	for k, v := range req {
		env[k] = v
	}

	defaults := map[string]string{"PATH": defaultPath, "LANG": "C.UTF-8"}
	if snap {
		defaults["PATH"] += ":/snap/bin"
	}

	if uid == 0 {
		defaults["HOME"] = "/root"
		defaults["USER"] = "root"
	}

	for k, v := range defaults {
		_, ok := env[k]
		if !ok {
			env[k] = v
		}
	}

	return env
}

// ExecCwd returns the working directory of a command: the one asked for, else the HOME of its environment, else /.
func ExecCwd(cwd string, env map[string]string) string {
	if cwd != "" {
		return cwd
	}

	if env["HOME"] != "" {
		return env["HOME"]
	}

	return "/"
}

// ExecEnv returns the environment a command run as uid gets in a running instance (see ExecEnvironment).
func (m *Manager) ExecEnv(ctx context.Context, name string, req map[string]string, uid uint32) (map[string]string, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	return ExecEnvironment(config, req, uid, m.hasSnap(name)), nil
}

// hasSnap reports whether the root filesystem of a running instance has /snap, a directory or a link to one.
func (m *Manager) hasSnap(name string) bool {
	root, err := os.OpenRoot(m.pool.ContainerRootfs(name))
	if err != nil {
		return false
	}

	defer func() { _ = root.Close() }()
	fi, err := root.Stat("snap")
	return err == nil && fi.IsDir()
}

// Exec starts a command in a running instance and returns its host pid and the environment it got. The process is
// a child of the daemon: reap it with WaitExit.
func (m *Manager) Exec(ctx context.Context, name string, req ExecRequest) (int, map[string]string, error) {
	if len(req.Command) == 0 {
		return -1, nil, errs.Invalid("no command given")
	}

	_, err := m.load(ctx, name)
	if err != nil {
		return -1, nil, err
	}

	if m.driver.Status(name) != api.Running {
		return -1, nil, ErrNotRunning
	}

	env, err := m.ExecEnv(ctx, name, req.Env, req.UID)
	if err != nil {
		return -1, nil, err
	}

	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	list := make([]string, 0, len(env))
	for _, k := range keys {
		list = append(list, k+"="+env[k])
	}

	pid, err := m.driver.Exec(name, ExecSpec{
		Command: req.Command,
		Env:     list,
		Cwd:     ExecCwd(req.Cwd, env),
		UID:     int(req.UID),
		GID:     int(req.GID),
		Stdin:   req.Stdin,
		Stdout:  req.Stdout,
		Stderr:  req.Stderr,
	})
	if err != nil {
		return -1, nil, err
	}

	return pid, env, nil
}

// WaitExit reaps a child process and returns its exit status as a shell reports it (128+N after signal N).
func WaitExit(pid int) (int, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}

		if err != nil {
			return -1, fmt.Errorf("waiting for process %d: %w", pid, err)
		}

		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}

		return ws.ExitStatus(), nil
	}
}

// OpenPty opens a new pseudo-terminal pair; the terminal side is owned by uid:gid (the container's root).
func OpenPty(uid int, gid int) (*os.File, *os.File, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}

	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	unlock := 0
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock)))
	if errno != 0 {
		_ = master.Close()
		return nil, nil, fmt.Errorf("unlocking the pty: %w", errno)
	}

	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		_ = master.Close()
		return nil, nil, fmt.Errorf("reading the pty number: %w", err)
	}

	path := fmt.Sprintf("/dev/pts/%d", n)
	tty, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		_ = master.Close()
		return nil, nil, err
	}

	err = tty.Chown(uid, gid)
	if err != nil {
		_ = master.Close()
		_ = tty.Close()
		return nil, nil, err
	}

	return master, tty, nil
}

// SetPtySize sets the window size of a pseudo-terminal.
func SetPtySize(f *os.File, width int, height int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}

	var ioctlErr error
	err = rc.Control(func(fd uintptr) {
		ioctlErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(width), Row: uint16(height)})
	})
	if err != nil {
		return err
	}

	return ioctlErr
}

// OpenPty opens a pseudo-terminal for a command in a running instance: on the instance's own devpts when the driver
// can, otherwise on the host's, owned by the instance's root.
func (m *Manager) OpenPty(ctx context.Context, name string) (*os.File, *os.File, error) {
	master, tty, err := m.driver.OpenPty(name)
	if err == nil {
		return master, tty, nil
	}

	slog.Debug("no pty on the instance's devpts, using the host's", "instance", name, "err", err)
	uid, gid, err := m.RootOwner(ctx, name)
	if err != nil {
		return nil, nil, err
	}

	return OpenPty(uid, gid)
}

// SetPtyOwner gives tty, the terminal of an interactive command in a running instance, to the user the command runs
// as (uid in the instance), in the group of the instance's root, mode 0700, as LXD does: programs that check the
// owner of their terminal work as that user. A uid outside the instance's id map leaves the terminal as it is.
func (m *Manager) SetPtyOwner(ctx context.Context, name string, tty *os.File, uid uint32) error {
	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	hostUID, hostGID := int(uid), 0
	idmap := m.diskIDMap(config)
	if idmap != nil {
		hostUID, hostGID, err = idmap.Shift(int(uid), 0)
		if err != nil {
			return nil
		}
	}

	err = tty.Chown(hostUID, hostGID)
	if err != nil {
		return err
	}

	return tty.Chmod(0o700)
}

// RootOwner returns the host uid and gid of an instance's root user.
func (m *Manager) RootOwner(ctx context.Context, name string) (int, int, error) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return 0, 0, err
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return 0, 0, err
	}

	rootUID, rootGID := m.rootIDs(config)
	return rootUID, rootGID, nil
}

// WithRootfs runs fn on the root filesystem of an instance, opened as an os.Root so no path can lead out of it.
// A stopped instance's root is mounted for the time of the call. idmap is nil for privileged instances.
func (m *Manager) WithRootfs(ctx context.Context, name string, fn func(root *os.Root, idmap *IDMap) error) error {
	unlock := m.lock(name)
	defer unlock()

	inst, err := m.load(ctx, name)
	if err != nil {
		return err
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return err
	}

	running := m.driver.Status(name) != api.Stopped
	rootfs, err := m.pool.Mount(name)
	if err != nil {
		return err
	}

	if !running {
		defer func() { _ = m.pool.Unmount(name) }()
	}

	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()
	return fn(root, m.diskIDMap(config))
}

// LogPath returns the log directory of an instance.
func (m *Manager) LogPath(name string) string {
	return filepath.Join(m.logDir, name)
}

// consoleDriver returns the driver's console access.
func (m *Manager) consoleDriver() (ConsoleDriver, error) {
	d, ok := m.driver.(ConsoleDriver)
	if !ok {
		return nil, errs.Unsupported("the instance driver has no console")
	}

	return d, nil
}

// Console attaches tty, the terminal side of a pty pair, to a running instance's console. It returns when the
// instance stops or the other side of the pair is closed.
func (m *Manager) Console(ctx context.Context, name string, tty *os.File) error {
	d, err := m.consoleDriver()
	if err != nil {
		return err
	}

	_, err = m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Running {
		return ErrNotRunning
	}

	return d.Console(name, tty)
}

// ResizeConsole sets the window size of a running instance's console.
func (m *Manager) ResizeConsole(ctx context.Context, name string, width int, height int) error {
	d, err := m.consoleDriver()
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Running {
		return ErrNotRunning
	}

	return d.ConsoleSize(name, width, height)
}

// ConsoleLog returns the console output of an instance, as kept in its console log file. For a running instance,
// what its console ring buffer holds is moved to that file first.
func (m *Manager) ConsoleLog(ctx context.Context, name string) ([]byte, error) {
	d, err := m.consoleDriver()
	if err != nil {
		return nil, err
	}

	_, err = m.load(ctx, name)
	if err != nil {
		return nil, err
	}

	var recent []byte
	if m.driver.Status(name) != api.Stopped {
		recent, err = d.ConsoleLog(name, false)
		if err != nil {
			return nil, err
		}
	}

	data, err := os.ReadFile(filepath.Join(m.LogPath(name), ConsoleLogFile))
	if errors.Is(err, fs.ErrNotExist) {
		if recent == nil {
			recent = []byte{}
		}

		return recent, nil
	}

	return data, err
}

// ClearConsoleLog empties the console ring buffer of a running instance and its console log file.
func (m *Manager) ClearConsoleLog(ctx context.Context, name string) error {
	d, err := m.consoleDriver()
	if err != nil {
		return err
	}

	_, err = m.load(ctx, name)
	if err != nil {
		return err
	}

	if m.driver.Status(name) != api.Stopped {
		_, err = d.ConsoleLog(name, true)
		if err != nil {
			return err
		}
	}

	err = os.Truncate(filepath.Join(m.LogPath(name), ConsoleLogFile), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	return nil
}
