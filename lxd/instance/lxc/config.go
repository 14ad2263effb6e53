package lxc

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
)

// cgroup2 reports whether the host uses the unified cgroup hierarchy only.
func cgroup2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// Config returns the liblxc configuration of a container, as ordered key/value pairs.
func Config(spec instance.Spec) ([][2]string, error) {
	out := [][2]string{}
	add := func(k, v string) { out = append(out, [2]string{k, v}) }

	for _, inc := range []string{"/usr/share/lxc/config/common.conf"} {
		_, err := os.Stat(inc)
		if err == nil {
			add("lxc.include", inc)
		}
	}

	if spec.IDMap != nil {
		_, err := os.Stat("/usr/share/lxc/config/userns.conf")
		if err == nil {
			add("lxc.include", "/usr/share/lxc/config/userns.conf")
		}
	}

	hostname := spec.Hostname
	if hostname == "" {
		hostname = spec.Name
	}

	add("lxc.uts.name", hostname)
	add("lxc.rootfs.path", "dir:"+spec.Rootfs)
	add("lxc.autodev", "1")
	add("lxc.pty.max", "1024")
	add("lxc.tty.max", "0")
	if instance.IsOCI(spec.Config) && spec.Config[instance.KeyOCIEntrypoint] != "" {
		ociInit(spec.Config, add)
	} else {
		add("lxc.init.cmd", "/sbin/init")
	}

	if spec.LogFile != "" {
		add("lxc.console.buffer.size", "auto")
		add("lxc.console.size", "auto")
		add("lxc.console.logfile", filepath.Join(filepath.Dir(spec.LogFile), instance.ConsoleLogFile))
	}

	if spec.AppArmorProfile != "" {
		add("lxc.apparmor.profile", spec.AppArmorProfile)
	} else {
		add("lxc.apparmor.profile", "unconfined")
	}

	if instance.IsTrue(spec.Config["security.nesting"]) {
		add("lxc.mount.auto", "proc:rw sys:rw cgroup:rw:force")
	} else {
		add("lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed")
	}

	if spec.IDMap != nil {
		for _, m := range spec.IDMap.LXC() {
			add("lxc.idmap", m)
		}
	}

	prefix, pidsKey := "lxc.cgroup.", "pids.max"
	if cgroup2() {
		prefix = "lxc.cgroup2."
	}

	// The limits were checked when set; the host may have changed since (fewer CPUs online, less memory), so
	// they are checked again here and a start fails with the key rather than in liblxc.
	memory, err := memoryLimits(spec.Config)
	if err != nil {
		return nil, err
	}

	for _, kv := range memory {
		add(prefix+kv[0], kv[1])
	}

	cpu, err := cpuLimits(spec.Config)
	if err != nil {
		return nil, err
	}

	for _, kv := range cpu {
		add(prefix+kv[0], kv[1])
	}

	extra, err := hostCgroups.confinementLimits(spec.Config)
	if err != nil {
		return nil, err
	}

	for _, kv := range extra {
		add(kv[0], kv[1])
	}

	if v := spec.Config["limits.processes"]; v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < instance.MinProcesses || n > instance.MaxProcesses {
			return nil, fmt.Errorf("invalid value for %q: %q is not a number of processes between %d and %d",
				"limits.processes", v, instance.MinProcesses, instance.MaxProcesses)
		}

		add(prefix+pidsKey, strconv.FormatUint(n, 10))
	}

	if v := spec.Config["limits.cpu"]; v != "" {
		cpus, err := instance.CPUSet(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", "limits.cpu", err)
		}

		add(prefix+"cpuset.cpus", cpus)
	}

	for k, v := range spec.Config {
		env, ok := strings.CutPrefix(k, "environment.")
		if ok {
			add("lxc.environment", env+"="+v)
		}
	}

	names := slices.Sorted(maps.Keys(spec.Devices))
	for _, name := range names {
		dev := spec.Devices[name]
		if dev["type"] != "disk" || dev["path"] == "/" {
			continue
		}

		entry, err := mountEntry(spec.Rootfs, name, dev)
		if err != nil {
			return nil, err
		}

		add("lxc.mount.entry", entry)
	}

	for _, name := range names {
		dev := spec.Devices[name]
		if dev["type"] != "unix-char" && dev["type"] != "unix-block" {
			continue
		}

		entry, allow, err := unixDevice(spec, name, dev)
		if err != nil {
			return nil, err
		}

		if entry == "" {
			continue
		}

		add("lxc.mount.entry", entry)
		add(prefix+"devices.allow", allow)
	}

	nics := 0
	for _, name := range names {
		dev := spec.Devices[name]
		if dev["type"] != "nic" {
			continue
		}

		items, err := nicConfig(fmt.Sprintf("lxc.net.%d.", nics), name, dev)
		if err != nil {
			return nil, err
		}

		nics++
		out = append(out, items...)
	}

	if nics == 0 {
		add("lxc.net.0.type", "empty")
	}

	// Physical nics hot-plugged while it runs go back to the host when it stops.
	if spec.DevicesDir != "" && !strings.ContainsAny(spec.DevicesDir, "'\"$`\\ \t\n") {
		add("lxc.hook.stop", physicalStopHook(filepath.Join(filepath.Dir(spec.DevicesDir), "nics")))
	}

	// raw.lxc comes last, so that its settings win.
	raw, err := instance.RawLXC(spec.Config["raw.lxc"])
	if err != nil {
		return nil, fmt.Errorf("raw.lxc: %w", err)
	}

	out = append(out, raw...)

	return out, nil
}

// unixDevice makes the device node of a unix-char or unix-block device in spec.DevicesDir, with the host device's
// numbers and the owner and mode the device asks for (in the container's ids), and returns the lxc.mount.entry
// binding it at its path and the cgroup rule letting the container use it. A missing host device is an error
// unless the device says required: false, when it is skipped (empty entry).
func unixDevice(spec instance.Spec, name string, dev map[string]string) (string, string, error) {
	source := dev["source"]
	if source == "" {
		source = dev["path"]
	}

	target := dev["path"]
	if target == "" {
		target = source
	}

	var st unix.Stat_t
	err := unix.Stat(source, &st)
	if err != nil {
		if errors.Is(err, unix.ENOENT) && dev["required"] != "" && !instance.IsTrue(dev["required"]) {
			return "", "", nil
		}

		return "", "", fmt.Errorf("device %q: the host device %q: %w", name, source, err)
	}

	kind, mode := "c", uint32(unix.S_IFCHR)
	if dev["type"] == "unix-block" {
		kind, mode = "b", unix.S_IFBLK
	}

	if st.Mode&unix.S_IFMT != mode {
		return "", "", fmt.Errorf("device %q: %q is not a %s device", name, source, dev["type"])
	}

	perm := uint64(0o660)
	if dev["mode"] != "" {
		perm, err = strconv.ParseUint(dev["mode"], 8, 32)
		if err != nil || perm > 0o777 {
			return "", "", fmt.Errorf("device %q: invalid mode %q", name, dev["mode"])
		}
	}

	uid, gid := 0, 0
	for key, id := range map[string]*int{"uid": &uid, "gid": &gid} {
		if dev[key] != "" {
			*id, err = strconv.Atoi(dev[key])
			if err != nil || *id < 0 {
				return "", "", fmt.Errorf("device %q: invalid %s %q", name, key, dev[key])
			}
		}
	}

	if spec.IDMap != nil {
		uid, gid, err = spec.IDMap.Shift(uid, gid)
		if err != nil {
			return "", "", fmt.Errorf("device %q: %w", name, err)
		}
	}

	rel, err := resolveInRoot(spec.Rootfs, target)
	if err != nil {
		return "", "", fmt.Errorf("device %q: path %q: %w", name, target, err)
	}

	if spec.DevicesDir == "" {
		return "", "", fmt.Errorf("device %q: no place for device nodes", name)
	}

	err = os.MkdirAll(spec.DevicesDir, 0o711)
	if err != nil {
		return "", "", err
	}

	node := filepath.Join(spec.DevicesDir, name)
	_ = os.Remove(node)
	err = unix.Mknod(node, mode|uint32(perm), int(st.Rdev))
	if err != nil {
		return "", "", fmt.Errorf("device %q: making its node: %w", name, err)
	}

	err = unix.Chmod(node, uint32(perm))
	if err == nil {
		err = unix.Lchown(node, uid, gid)
	}

	if err != nil {
		return "", "", fmt.Errorf("device %q: %w", name, err)
	}

	entry := fstabEscape(node) + " " + fstabEscape(rel) + " none bind,create=file 0 0"
	allow := fmt.Sprintf("%s %d:%d rwm", kind, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	return entry, allow, nil
}

// mountEntry returns the lxc.mount.entry bind mounting a disk device's host source at its path. The target is
// resolved inside the rootfs (symlinks there cannot lead out of it) and given to liblxc relative to the rootfs.
func mountEntry(rootfs string, name string, dev map[string]string) (string, error) {
	source := dev["source"]
	fi, err := os.Stat(source)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("device %q: the source %q does not exist on the host", name, source)
	}

	if err != nil {
		return "", fmt.Errorf("device %q: source %q: %w", name, source, err)
	}

	target, err := resolveInRoot(rootfs, dev["path"])
	if err != nil {
		return "", fmt.Errorf("device %q: path %q: %w", name, dev["path"], err)
	}

	opts := "bind,create=dir"
	if !fi.IsDir() {
		opts = "bind,create=file"
	}

	if instance.IsTrue(dev["readonly"]) {
		opts += ",ro"
	}

	return fstabEscape(source) + " " + fstabEscape(target) + " none " + opts + " 0 0", nil
}

// maxSymlinks bounds the symlinks followed while resolving one path, as the kernel does.
const maxSymlinks = 40

// resolveInRoot resolves path as if root were "/": symlinks met on the way are followed inside root, absolute
// ones from root and ".." never climbs above it. Components that do not exist yet are kept as they are. It
// returns the result relative to root.
func resolveInRoot(root string, path string) (string, error) {
	rest := strings.Split(path, "/")
	done := []string{}
	links := 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}

			continue
		}

		cur := filepath.Join(root, filepath.Join(done...), part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			done = append(done, part)
			continue
		}

		if err != nil {
			return "", err
		}

		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(rest) > 0 && !fi.IsDir() {
				return "", fmt.Errorf("%q is not a directory", "/"+filepath.Join(append(done, part)...))
			}

			done = append(done, part)
			continue
		}

		links++
		if links > maxSymlinks {
			return "", errors.New("too many levels of symbolic links")
		}

		dest, err := os.Readlink(cur)
		if err != nil {
			return "", err
		}

		if strings.HasPrefix(dest, "/") {
			done = done[:0]
		}

		rest = append(strings.Split(dest, "/"), rest...)
	}

	if len(done) == 0 {
		return "", errors.New("resolves to the root of the container")
	}

	return filepath.Join(done...), nil
}

// fstabEscape escapes the characters an fstab field cannot hold.
func fstabEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c == ' ' || c == '\t' || c == '\n' || c == '\\' {
			fmt.Fprintf(&b, "\\%03o", c)
			continue
		}

		b.WriteByte(c)
	}

	return b.String()
}

// memoryLimits returns the cgroup settings (without the lxc.cgroup prefix) of limits.memory,
// limits.memory.enforce and limits.memory.swap: a hard limit, or with enforce "soft" a limit the kernel reclaims
// down to when the host runs short; swap "false" keeps the container's memory out of swap.
func memoryLimits(config map[string]string) ([][2]string, error) {
	var out [][2]string
	v2 := cgroup2()
	hard := int64(0)
	if v := config["limits.memory"]; v != "" {
		limit, err := instance.MemoryLimit(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", "limits.memory", err)
		}

		key, softKey := "memory.limit_in_bytes", "memory.soft_limit_in_bytes"
		if v2 {
			key, softKey = "memory.max", "memory.high"
		}

		if config["limits.memory.enforce"] == "soft" {
			key = softKey
		} else {
			hard = limit
		}

		out = append(out, [2]string{key, strconv.FormatInt(limit, 10)})
	}

	v := config["limits.memory.swap"]
	if v == "" || instance.IsTrue(v) {
		return out, nil
	}

	if v2 {
		return append(out, [2]string{"memory.swap.max", "0"}), nil
	}

	out = append(out, [2]string{"memory.swappiness", "0"})

	// Memory and swap together capped at the memory limit, where the host accounts for swap.
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	if hard > 0 && err == nil {
		out = append(out, [2]string{"memory.memsw.limit_in_bytes", strconv.FormatInt(hard, 10)})
	}

	return out, nil
}

// cpuLimits returns the cgroup settings (without the lxc.cgroup prefix) of limits.cpu.allowance and
// limits.cpu.priority: the CPU weight and the CFS quota per period.
func cpuLimits(config map[string]string) ([][2]string, error) {
	allowance, priority := config["limits.cpu.allowance"], config["limits.cpu.priority"]
	_, _, _, err := instance.CPUShares(allowance, "")
	if err != nil {
		return nil, fmt.Errorf("invalid value for %q: %w", "limits.cpu.allowance", err)
	}

	shares, quota, period, err := instance.CPUShares(allowance, priority)
	if err != nil {
		return nil, fmt.Errorf("invalid value for %q: %w", "limits.cpu.priority", err)
	}

	var out [][2]string
	v2 := cgroup2()
	if shares > 0 && v2 {
		// cgroup v2's weight is 100 where cgroup v1's shares are 1024.
		out = append(out, [2]string{"cpu.weight", strconv.FormatInt(min(max(shares*100/1024, 1), 10000), 10)})
	} else if shares > 0 {
		out = append(out, [2]string{"cpu.shares", strconv.FormatInt(shares, 10)})
	}

	if quota == 0 {
		return out, nil
	}

	if v2 {
		return append(out, [2]string{"cpu.max", fmt.Sprintf("%d %d", quota.Microseconds(), period.Microseconds())}), nil
	}

	return append(out, [2]string{"cpu.cfs_period_us", strconv.FormatInt(period.Microseconds(), 10)},
		[2]string{"cpu.cfs_quota_us", strconv.FormatInt(quota.Microseconds(), 10)}), nil
}

// initNames are the commands that are an init themselves: an application container running one needs no other.
var initNames = map[string]bool{"init": true, "systemd": true, "tini": true, "dumb-init": true, "catatonit": true, "s6-svscan": true}

// ociInit configures how an application container runs its command: under liblxc's minimal init (execute mode,
// lxc.execute.cmd), which forwards signals to it and reaps zombies, unless the command is an init itself (then it is
// lxc.init.cmd); as the image's user, in its working directory, stopped with its stop signal.
func ociInit(config map[string]string, add func(k, v string)) {
	cmd := config[instance.KeyOCIEntrypoint]
	first, _, _ := strings.Cut(strings.TrimSpace(cmd), " ")
	if initNames[filepath.Base(strings.Trim(first, `'"`))] {
		add("lxc.init.cmd", cmd)
	} else {
		add("lxc.execute.cmd", cmd)
	}

	cwd := config[instance.KeyOCICwd]
	if cwd == "" {
		cwd = "/"
	}

	add("lxc.init.cwd", cwd)
	if v := config[instance.KeyOCIUID]; v != "" {
		add("lxc.init.uid", v)
	}

	if v := config[instance.KeyOCIGID]; v != "" {
		add("lxc.init.gid", v)
	}

	signal := config[instance.KeyOCIStopSignal]
	if signal == "" {
		signal = "SIGTERM"
	}

	add("lxc.signal.halt", signal)
}
