package lxc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

// startTimeout bounds how long a start may take.
const startTimeout = 30 * time.Second

// Driver runs containers under one lxcpath.
type Driver struct {
	lxcPath string
}

// New returns a driver keeping liblxc's per-container state under lxcPath (LXD_DIR/containers).
func New(lxcPath string) (*Driver, error) {
	err := os.MkdirAll(lxcPath, 0o711)
	if err != nil {
		return nil, err
	}

	return &Driver{lxcPath: lxcPath}, nil
}

// Available reports whether liblxc can run containers on this host, with the reason when it cannot.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("containers need root")
	}

	_, err := os.Stat("/proc/self/ns/user")
	if err != nil {
		return fmt.Errorf("no user namespaces: %w", err)
	}

	return nil
}

func (d *Driver) container(name string) (*golxc.Container, error) {
	c, err := golxc.NewContainer(name, d.lxcPath)
	if err != nil {
		return nil, fmt.Errorf("liblxc container %q: %w", name, err)
	}

	return c, nil
}

// Start starts a container and waits until it runs.
func (d *Driver) Start(ctx context.Context, spec instance.Spec) error {
	c, err := d.container(spec.Name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	spec.DevicesDir = filepath.Join(d.lxcPath, spec.Name, "devices")
	items, err := Config(spec)
	if err != nil {
		return err
	}

	// The seccomp policy goes after liblxc's common configuration (which sets one of its own) and before raw.lxc.
	seccomp, err := writeSeccompProfile(spec.Config, filepath.Join(d.lxcPath, spec.Name, "seccomp.profile"))
	if err != nil {
		return err
	}

	at := 0
	for i, kv := range items {
		if kv[0] == "lxc.include" {
			at = i + 1
		}
	}

	items = slices.Insert(items, at, seccomp)

	err = c.SetLogFile(spec.LogFile)
	if err != nil {
		return err
	}

	_ = c.SetLogLevel(golxc.INFO)
	for _, kv := range items {
		err = c.SetConfigItem(kv[0], kv[1])
		if err != nil {
			return fmt.Errorf("setting %s=%s: %w", kv[0], kv[1], err)
		}
	}

	err = d.keepHaltSignal(spec.Name, items)
	if err != nil {
		return err
	}

	config := filepath.Join(filepath.Dir(spec.LogFile), "lxc.conf")
	err = c.SaveConfigFile(config)
	if err != nil {
		return fmt.Errorf("saving the configuration of %q: %w", spec.Name, err)
	}

	tail := hooksTail(items, lxcfsRunning())
	if tail != "" {
		err = appendToFile(config, tail)
		if err != nil {
			return fmt.Errorf("saving the configuration of %q: %w", spec.Name, err)
		}
	}

	if seccomp[1] == "" && !strings.Contains(spec.Config["raw.lxc"], "lxc.seccomp.profile") {
		// liblxc leaves an empty setting out of the file it saves, and reading the file back would take the
		// policy of its common configuration again: the file ends by clearing it.
		err = appendToFile(config, "lxc.seccomp.profile =\n")
		if err != nil {
			return fmt.Errorf("saving the configuration of %q: %w", spec.Name, err)
		}
	}

	var logStart int64
	fi, err := os.Stat(spec.LogFile)
	if err == nil {
		logStart = fi.Size()
	}

	err = d.startInHelper(ctx, spec.Name, config)
	if err == nil && !c.Wait(golxc.RUNNING, startTimeout) {
		err = errors.New("the container did not reach RUNNING")
	}

	if err != nil {
		detail := logError(spec.LogFile, logStart)
		if detail != "" {
			err = fmt.Errorf("%w: %s", err, detail)
		}

		// A start cut short (its context cancelled while liblxc's monitor went on, or RUNNING reached late) may
		// have left the container running: nothing of a failed start stays. liblxc made the container's cgroups
		// before it failed, and leaves some behind.
		if c.State() != golxc.STOPPED {
			_ = c.Stop()
		}

		c.Wait(golxc.STOPPED, startTimeout)
		cleanErr := d.removeCgroups(spec.Name)
		if cleanErr != nil {
			slog.Error("failed removing the cgroups of a container that did not start", "instance", spec.Name, "err", cleanErr)
		}

		return fmt.Errorf("%w (see %s)", err, spec.LogFile)
	}

	return nil
}

// logError returns the first error liblxc logged to logFile after offset, without its source location: the
// reason a start failed ("Numerical result out of range - Failed to set \"cpuset.cpus\" to \"5-9\"").
func logError(logFile string, offset int64) string {
	f, err := os.Open(logFile)
	if err != nil {
		return ""
	}

	defer func() { _ = f.Close() }()
	_, err = f.Seek(offset, io.SeekStart)
	if err != nil {
		return ""
	}

	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		// lxc <name> <time> ERROR <module> - <file>:<function>:<line> - <message>
		parts := strings.Split(sc.Text(), " - ")
		fields := strings.Fields(parts[0])
		if len(parts) < 3 || len(fields) < 4 || fields[3] != "ERROR" {
			continue
		}

		return strings.Join(parts[2:], " - ")
	}

	return ""
}

// cgroupTimeout bounds the wait for the processes left in a stopped container's cgroups (liblxc's monitor
// tearing down) to exit.
const cgroupTimeout = 10 * time.Second

// removeCgroups removes what is left of the cgroups liblxc made for the container name, which must be stopped,
// on every hierarchy: lxc.monitor.<name> and lxc.payload.<name>, and the "-<n>" variants liblxc picks when
// those exist already (unless a running container has that name). liblxc leaves the monitor's cgroups behind
// when a start fails and, on a host mixing cgroup v1 and v2, when a container stops. It first waits for the
// processes still in them to exit.
func (d *Driver) removeCgroups(name string) error {
	if d.Status(name) != api.Stopped {
		return fmt.Errorf("the container %q is not stopped", name)
	}

	var dirs []string
	for _, base := range cgroupBases() {
		entries, err := os.ReadDir(base)
		if err != nil {
			continue
		}

		for _, e := range entries {
			owner, ok := cgroupOwner(e.Name(), name)
			if !e.IsDir() || !ok || (owner != name && d.Status(owner) != api.Stopped) {
				continue
			}

			dirs = append(dirs, filepath.Join(base, e.Name()))
		}
	}

	var tree []string
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				tree = append(tree, p)
			}

			return nil
		})
	}

	err := waitCgroupsEmpty(tree, time.Now().Add(cgroupTimeout))
	if err != nil {
		return err
	}

	// Children before their parents.
	slices.SortFunc(tree, func(a string, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	var errList []error
	for _, dir := range tree {
		err := unix.Rmdir(dir)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errList = append(errList, fmt.Errorf("removing %s: %w", dir, err))
		}
	}

	return errors.Join(errList...)
}

// cgroupOwner reports whether entry is a cgroup liblxc names for the container name: lxc.monitor.<name>,
// lxc.payload.<name>, or one of those with a "-<n>" suffix. The suffixed ones could also be those of the
// container "<name>-<n>", returned as their owner.
func cgroupOwner(entry string, name string) (string, bool) {
	for _, prefix := range []string{"lxc.monitor.", "lxc.payload."} {
		rest, ok := strings.CutPrefix(entry, prefix+name)
		if !ok {
			continue
		}

		if rest == "" {
			return name, true
		}

		n, ok := strings.CutPrefix(rest, "-")
		if ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return name + rest, true
		}
	}

	return "", false
}

// cgroupBases returns the directories where liblxc makes a container's cgroups: the root of each cgroup
// hierarchy mounted on the host and, below it, the cgroups of this process and their ancestors.
func cgroupBases() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}

	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		_, after, ok := strings.Cut(line, " - ")
		fields := strings.Fields(line)
		if !ok || len(fields) < 5 {
			continue
		}

		fsType, _, _ := strings.Cut(after, " ")
		if fsType == "cgroup" || fsType == "cgroup2" {
			mounts = append(mounts, fields[4])
		}
	}

	own := []string{"/"}
	data, err = os.ReadFile("/proc/self/cgroup")
	if err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}

			for p := filepath.Clean(parts[2]); p != "/" && p != "."; p = filepath.Dir(p) {
				own = append(own, p)
			}
		}
	}

	var bases []string
	for _, m := range mounts {
		for _, p := range own {
			base := filepath.Join(m, p)
			if !slices.Contains(bases, base) {
				bases = append(bases, base)
			}
		}
	}

	return bases
}

// waitCgroupsEmpty waits until the processes in the cgroups dirs have exited, or until deadline.
func waitCgroupsEmpty(dirs []string, deadline time.Time) error {
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}

		for _, field := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}

			err = waitPidExit(pid, deadline)
			if err != nil {
				return fmt.Errorf("process %d in %s: %w", pid, dir, err)
			}
		}
	}

	return nil
}

// waitPidExit waits until the process pid has exited, or until deadline.
func waitPidExit(pid int, deadline time.Time) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}

	if err != nil {
		return err
	}

	defer func() { _ = unix.Close(fd) }()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("still running")
		}

		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}

		if err != nil {
			return err
		}

		if n > 0 {
			return nil
		}
	}
}

// StartCommand is the hidden subcommand of the daemon's own binary that starts one container: liblxc moves the
// process starting a container into the container's monitor cgroup, and the daemon must not end up there (the
// monitor cgroup could then never be removed). A short-lived helper process starts it instead.
const StartCommand = "forkstart"

// startInHelper starts a container from its saved configuration in a child process running StartCommand.
func (d *Driver) startInHelper(ctx context.Context, name string, config string) error {
	err := runHelper(ctx, []string{StartCommand, name, d.lxcPath, config}, nil)
	if err != nil {
		return fmt.Errorf("starting %q: %w", name, err)
	}

	return nil
}

// ForkStart starts the container name of lxcPath with the configuration file config, as StartCommand does. It
// returns once liblxc's monitor runs the container on its own.
func ForkStart(name string, lxcPath string, config string) error {
	c, err := golxc.NewContainer(name, lxcPath)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	err = c.LoadConfigFile(config)
	if err != nil {
		return fmt.Errorf("loading %s: %w", config, err)
	}

	// An application container runs its command under liblxc's minimal init.
	// liblxc splits lxc.execute.cmd on blanks only: the words are split here, with the shell's quoting.
	execute := c.ConfigItem("lxc.execute.cmd")
	if len(execute) > 0 && execute[0] != "" {
		args, err := instance.ShellSplit(execute[0])
		if err != nil || len(args) == 0 {
			return fmt.Errorf("invalid oci.entrypoint %q: %v", execute[0], err)
		}

		return c.StartExecute(args)
	}

	return c.Start()
}

// Shutdown sends the halt signal to init and waits for the container to stop.
func (d *Driver) Shutdown(ctx context.Context, name string, timeout time.Duration) error {
	c, err := d.container(name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()

	// The configuration of a running container is not read back here: a halt signal of its own (an application
	// container's stop signal) was kept aside at its start.
	sig, err := os.ReadFile(filepath.Join(d.lxcPath, name, haltSignalFile))
	if err == nil && len(sig) > 0 {
		err = c.SetConfigItem("lxc.signal.halt", strings.TrimSpace(string(sig)))
		if err != nil {
			return fmt.Errorf("setting the halt signal: %w", err)
		}
	}

	return halt(c, timeout)
}

// haltSignalFile keeps, next to a container's devices, the halt signal its start configured, if any.
const haltSignalFile = "halt.signal"

// keepHaltSignal records the halt signal of items for Shutdown, or removes an old record.
func (d *Driver) keepHaltSignal(name string, items [][2]string) error {
	p := filepath.Join(d.lxcPath, name, haltSignalFile)
	sig := ""
	for _, kv := range items {
		if kv[0] == "lxc.signal.halt" {
			sig = kv[1]
		}
	}

	if sig != "" {
		err := os.MkdirAll(filepath.Dir(p), 0o700)
		if err != nil {
			return err
		}

		return os.WriteFile(p, []byte(sig+"\n"), 0o600)
	}

	err := os.Remove(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	return nil
}

// Kill stops a container at once.
func (d *Driver) Kill(ctx context.Context, name string) error {
	c, err := d.container(name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	if statusOf(c) == api.Frozen {
		_ = setFrozen(c.InitPid(), false)
	}

	err = c.Stop()
	if err != nil && c.State() != golxc.STOPPED {
		return fmt.Errorf("stopping the instance: %w", err)
	}

	c.Wait(golxc.STOPPED, 30*time.Second)
	return nil
}

// Freeze pauses a container.
func (d *Driver) Freeze(name string) error {
	c, err := d.container(name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	return setFrozen(c.InitPid(), true)
}

// Unfreeze resumes a container.
func (d *Driver) Unfreeze(name string) error {
	c, err := d.container(name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	return setFrozen(c.InitPid(), false)
}

func statusOf(c *golxc.Container) api.StatusCode {
	status, _ := statusPid(c)
	return status
}

// statusPid returns the status of a container and the pid of its init (-1 when stopped), asking its monitor for
// each once.
func statusPid(c *golxc.Container) (api.StatusCode, int) {
	switch c.State() {
	case golxc.STOPPED:
		return api.Stopped, -1
	case golxc.FROZEN, golxc.FREEZING:
		return api.Frozen, c.InitPid()
	}

	pid := c.InitPid()
	if isFrozen(pid) {
		return api.Frozen, pid
	}

	return api.Running, pid
}

// Status returns Running, Frozen or Stopped.
func (d *Driver) Status(name string) api.StatusCode {
	c, err := d.container(name)
	if err != nil {
		return api.Stopped
	}

	defer func() { _ = c.Release() }()
	return statusOf(c)
}

// State reports the runtime state of a container.
func (d *Driver) State(name string) instance.RuntimeState {
	out := instance.RuntimeState{Status: api.Stopped, Processes: -1}
	c, err := d.container(name)
	if err != nil {
		return out
	}

	defer func() { _ = c.Release() }()
	status, pid := statusPid(c)
	out.Status = status
	if out.Status == api.Stopped {
		out.Processes = 0
		return out
	}

	out.Pid = int64(pid)
	mem, err := c.MemoryUsage()
	if err == nil {
		out.Memory.Usage = int64(mem)
	}

	cpu, err := c.CPUTime()
	if err == nil {
		out.CPU.Usage = cpu.Nanoseconds()
	}

	pids := c.CgroupItem("pids.current")
	if len(pids) == 1 {
		n, err := strconv.ParseInt(strings.TrimSpace(pids[0]), 10, 64)
		if err == nil {
			out.Processes = n
		}
	}

	out.Network = network(c, int(out.Pid))
	return out
}

// WaitExit returns a channel closed when the container's init exits.
func (d *Driver) WaitExit(name string) (<-chan struct{}, error) {
	c, err := d.container(name)
	if err != nil {
		return nil, err
	}

	defer func() { _ = c.Release() }()
	f, err := c.InitPidFd()
	if err != nil {
		return nil, fmt.Errorf("pidfd of %q: %w", name, err)
	}

	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer func() { _ = f.Close() }()
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil || !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}()

	return ch, nil
}

// Exec starts a command in a running container and returns its host pid; it is a child of the daemon.
func (d *Driver) Exec(name string, spec instance.ExecSpec) (int, error) {
	c, err := d.container(name)
	if err != nil {
		return -1, err
	}

	defer func() { _ = c.Release() }()
	opts := golxc.AttachOptions{
		Namespaces: -1,
		Arch:       -1,
		Cwd:        spec.Cwd,
		UID:        spec.UID,
		GID:        spec.GID,
		ClearEnv:   true,
		Env:        spec.Env,
		StdinFd:    spec.Stdin.Fd(),
		StdoutFd:   spec.Stdout.Fd(),
		StderrFd:   spec.Stderr.Fd(),
	}

	pid, err := c.RunCommandNoWait(spec.Command, opts)
	if err != nil {
		return -1, fmt.Errorf("running %q: %w", spec.Command[0], err)
	}

	return pid, nil
}

// Cleanup removes liblxc's directory of a container and what is left of its cgroups (a failed start of an
// earlier daemon may have left some).
func (d *Driver) Cleanup(name string) error {
	err := d.removeCgroups(name)
	if err != nil {
		slog.Warn("failed removing the cgroups of a deleted container", "instance", name, "err", err)
	}

	return os.RemoveAll(filepath.Join(d.lxcPath, name))
}

// OpenPty opens a pseudo-terminal on the container's own devpts, so that the command sees a terminal it can name.
func (d *Driver) OpenPty(name string) (*os.File, *os.File, error) {
	c, err := d.container(name)
	if err != nil {
		return nil, nil, err
	}

	defer func() { _ = c.Release() }()
	devpts, err := c.DevptsFd()
	if err != nil {
		return nil, nil, fmt.Errorf("devpts of %q: %w", name, err)
	}

	defer func() { _ = devpts.Close() }()
	fd, err := unix.Openat(int(devpts.Fd()), "ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the container's ptmx: %w", err)
	}

	master := os.NewFile(uintptr(fd), "ptmx")
	err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	if err != nil {
		_ = master.Close()
		return nil, nil, fmt.Errorf("unlocking the pty: %w", err)
	}

	peer, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		_ = master.Close()
		return nil, nil, fmt.Errorf("opening the pty peer: %w", errno)
	}

	return master, os.NewFile(peer, "pts"), nil
}

// Console attaches the terminal given as stdin, stdout and stderr to the running container's console and returns
// when the container stops or that terminal hangs up.
func (d *Driver) Console(name string, tty *os.File) error {
	c, err := d.container(name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	err = c.Console(golxc.ConsoleOptions{
		Tty:             0,
		StdinFd:         tty.Fd(),
		StdoutFd:        tty.Fd(),
		StderrFd:        tty.Fd(),
		EscapeCharacter: -1,
	})
	if err != nil {
		return fmt.Errorf("attaching to the console of %q: %w", name, err)
	}

	return nil
}

// ConsoleLog returns the content of the running container's console ring buffer, also written to its console log
// file; reset empties the ring buffer instead.
func (d *Driver) ConsoleLog(name string, reset bool) ([]byte, error) {
	c, err := d.container(name)
	if err != nil {
		return nil, err
	}

	defer func() { _ = c.Release() }()
	opts := golxc.ConsoleLogOptions{ReadLog: true, WriteToLogFile: true}
	if reset {
		opts = golxc.ConsoleLogOptions{ClearLog: true}
	}

	data, err := c.ConsoleLog(opts)
	if errors.Is(err, unix.ENODATA) {
		return []byte{}, nil
	}

	if err != nil {
		return nil, fmt.Errorf("reading the console of %q: %w", name, err)
	}

	return data, nil
}

// ConsoleSize sets the window size of the running container's console terminal, opened from inside the container's
// root without following any symlink.
func (d *Driver) ConsoleSize(name string, width int, height int) error {
	c, err := d.container(name)
	if err != nil {
		return err
	}

	defer func() { _ = c.Release() }()
	pid := c.InitPid()
	if pid <= 0 {
		return fmt.Errorf("the container %q is not running", name)
	}

	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}

	defer func() { _ = unix.Close(root) }()
	fd, err := unix.Openat2(root, "dev/console", &unix.OpenHow{
		Flags:   unix.O_RDWR | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("opening the console of %q: %w", name, err)
	}

	defer func() { _ = unix.Close(fd) }()
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err != nil {
		return err
	}

	// Unix98 pseudo-terminal slaves have the majors 136 to 143.
	major := unix.Major(st.Rdev)
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || major < 136 || major > 143 {
		return fmt.Errorf("the console of %q is not a terminal", name)
	}

	return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(width), Row: uint16(height)})
}
