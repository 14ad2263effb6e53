package lxc

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
)

// has reports whether the configuration holds key=value.
func has(items [][2]string, key string, value string) bool {
	return slices.Contains(items, [2]string{key, value})
}

func TestConfig(t *testing.T) {
	idmap := &instance.IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}
	tests := []struct {
		name    string
		spec    instance.Spec
		want    [][2]string
		notWant [][2]string
	}{
		{"unprivileged", instance.Spec{Name: "c1", Rootfs: "/p/c1/rootfs", IDMap: idmap},
			[][2]string{{"lxc.uts.name", "c1"}, {"lxc.rootfs.path", "dir:/p/c1/rootfs"},
				{"lxc.idmap", "u 0 1000000 65536"}, {"lxc.idmap", "g 0 1000000 65536"}, {"lxc.net.0.type", "empty"}},
			nil},
		{"privileged", instance.Spec{Name: "c2", Rootfs: "/r"}, [][2]string{{"lxc.init.cmd", "/sbin/init"}},
			[][2]string{{"lxc.idmap", "u 0 1000000 65536"}}},
		{"environment", instance.Spec{Name: "c3", Config: map[string]string{"environment.FOO": "bar baz"}},
			[][2]string{{"lxc.environment", "FOO=bar baz"}}, nil},
		{"bridged nic", instance.Spec{Name: "c4", Devices: map[string]map[string]string{
			"eth0": {"type": "nic", "nictype": "bridged", "parent": "lo", "hwaddr": "00:16:3e:00:00:01", "mtu": "1400"}}},
			[][2]string{{"lxc.net.0.type", "veth"}, {"lxc.net.0.link", "lo"}, {"lxc.net.0.flags", "up"}, {"lxc.net.0.mtu", "1400"}, {"lxc.net.0.name", "eth0"},
				{"lxc.net.0.hwaddr", "00:16:3e:00:00:01"}},
			[][2]string{{"lxc.net.0.type", "empty"}}},
		{"named nics in device order", instance.Spec{Name: "c5", Devices: map[string]map[string]string{
			"b": {"type": "nic", "nictype": "bridged", "parent": "lo"},
			"a": {"type": "nic", "nictype": "bridged", "parent": "lo", "name": "eth9"}}},
			[][2]string{{"lxc.net.0.name", "eth9"}, {"lxc.net.1.name", "b"}},
			[][2]string{{"lxc.net.0.type", "empty"}}},
		{"raw.lxc", instance.Spec{Name: "c6", Config: map[string]string{"raw.lxc": "lxc.environment = RAW=1\nlxc.apparmor.allow_nesting=1"}},
			[][2]string{{"lxc.environment", "RAW=1"}, {"lxc.apparmor.allow_nesting", "1"}}, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Config(tt.spec)
			if err != nil {
				t.Fatal(err)
			}

			for _, kv := range tt.want {
				if !has(got, kv[0], kv[1]) {
					t.Fatalf("got %v, want %s = %s", got, kv[0], kv[1])
				}
			}

			for _, kv := range tt.notWant {
				if has(got, kv[0], kv[1]) {
					t.Fatalf("got %v, want no %s = %s", got, kv[0], kv[1])
				}
			}
		})
	}
}

func TestConfigUnixDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: making device nodes needs root")
	}

	rootfs := t.TempDir()
	idmap := &instance.IDMap{HostUID: 1000000, HostGID: 1000000, Size: 65536}
	spec := instance.Spec{Name: "c1", Rootfs: rootfs, IDMap: idmap, DevicesDir: filepath.Join(t.TempDir(), "devices"),
		Devices: map[string]map[string]string{
			"null": {"type": "unix-char", "source": "/dev/null", "path": "/dev/mynull", "mode": "0640", "gid": "5"},
			"gone": {"type": "unix-char", "path": "/dev/nothing-here", "required": "false"},
		}}
	got, err := Config(spec)
	if err != nil {
		t.Fatal(err)
	}

	node := filepath.Join(spec.DevicesDir, "null")
	if !has(got, "lxc.mount.entry", node+" dev/mynull none bind,create=file 0 0") {
		t.Fatalf("got %v, want the node bound at dev/mynull", got)
	}

	if !has(got, "lxc.cgroup.devices.allow", "c 1:3 rwm") && !has(got, "lxc.cgroup2.devices.allow", "c 1:3 rwm") {
		t.Fatalf("got %v, want the device allowed", got)
	}

	var st unix.Stat_t
	err = unix.Stat(node, &st)
	if err != nil {
		t.Fatal(err)
	}

	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o640 || st.Uid != 1000000 || st.Gid != 1000005 {
		t.Fatalf("got node mode %o rdev %d owner %d:%d, want a 1:3 character device, 0640, 1000000:1000005", st.Mode, st.Rdev, st.Uid, st.Gid)
	}

	_, err = os.Lstat(filepath.Join(spec.DevicesDir, "gone"))
	if err == nil {
		t.Fatal("a node was made for a missing device that is not required")
	}

	spec.Devices = map[string]map[string]string{"blk": {"type": "unix-block", "path": "/dev/null"}}
	_, err = Config(spec)
	if err == nil || !strings.Contains(err.Error(), "not a unix-block device") {
		t.Fatalf("got %v, want a refusal of a character device as a block device", err)
	}

	spec.Devices = map[string]map[string]string{"gone": {"type": "unix-char", "path": "/dev/nothing-here"}}
	_, err = Config(spec)
	if err == nil {
		t.Fatal("got no error for a missing required device")
	}
}

func TestConfigRawLXCComesLast(t *testing.T) {
	got, err := Config(instance.Spec{Name: "c1", Config: map[string]string{"raw.lxc": "lxc.init.cmd = /bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}

	if got[len(got)-1] != [2]string{"lxc.init.cmd", "/bin/sh"} {
		t.Fatalf("got %v, want raw.lxc's setting last, to win over the daemon's", got)
	}

	_, err = Config(instance.Spec{Name: "c1", Config: map[string]string{"raw.lxc": "lxc.rootfs.path = dir:/"}})
	if err == nil {
		t.Fatal("got no error for a raw.lxc setting the root filesystem")
	}
}

func TestConfigLimits(t *testing.T) {
	v2 := cgroup2()
	prefix := "lxc.cgroup."
	if v2 {
		prefix = "lxc.cgroup2."
	}

	pick := func(v1Key string, v2Key string) string {
		if v2 {
			return prefix + v2Key
		}

		return prefix + v1Key
	}

	_, memswErr := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	swapOff := [][2]string{{pick("memory.swappiness", "memory.swap.max"), "0"}}
	if !v2 && memswErr == nil {
		swapOff = append(swapOff, [2]string{prefix + "memory.memsw.limit_in_bytes", "268435456"})
	}

	tests := []struct {
		name    string
		config  map[string]string
		want    [][2]string
		notWant []string
	}{
		{"memory, processes, cpu", map[string]string{"limits.memory": "256MiB", "limits.processes": "100", "limits.cpu": "1"},
			[][2]string{{pick("memory.limit_in_bytes", "memory.max"), "268435456"}, {prefix + "pids.max", "100"},
				{prefix + "cpuset.cpus", strconv.Itoa(instance.HostCPUs()[0])}},
			[]string{pick("cpu.shares", "cpu.weight"), pick("memory.swappiness", "memory.swap.max")}},
		{"soft memory", map[string]string{"limits.memory": "256MiB", "limits.memory.enforce": "soft"},
			[][2]string{{pick("memory.soft_limit_in_bytes", "memory.high"), "268435456"}},
			[]string{pick("memory.limit_in_bytes", "memory.max")}},
		{"no swap", map[string]string{"limits.memory": "256MiB", "limits.memory.swap": "false"}, swapOff, nil},
		{"swap", map[string]string{"limits.memory": "256MiB", "limits.memory.swap": "true"}, nil,
			[]string{pick("memory.swappiness", "memory.swap.max")}},
		{"cpu percent and priority", map[string]string{"limits.cpu.allowance": "50%", "limits.cpu.priority": "0"},
			[][2]string{{pick("cpu.shares", "cpu.weight"), map[bool]string{false: "507", true: "49"}[v2]}},
			[]string{pick("cpu.cfs_quota_us", "cpu.max")}},
		{"cpu time", map[string]string{"limits.cpu.allowance": "25ms/100ms"},
			[][2]string{{pick("cpu.shares", "cpu.weight"), map[bool]string{false: "1024", true: "100"}[v2]}}, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Config(instance.Spec{Name: "c1", Config: tt.config})
			if err != nil {
				t.Fatal(err)
			}

			for _, kv := range tt.want {
				if !has(got, kv[0], kv[1]) {
					t.Fatalf("got %v, want %s = %s", got, kv[0], kv[1])
				}
			}

			for _, kv := range got {
				if slices.Contains(tt.notWant, kv[0]) {
					t.Fatalf("got %v, want no %s", got, kv[0])
				}
			}
		})
	}

	got, err := Config(instance.Spec{Name: "c1", Config: map[string]string{"limits.cpu.allowance": "25ms/100ms"}})
	if err != nil {
		t.Fatal(err)
	}

	quota := [][2]string{{prefix + "cpu.cfs_period_us", "100000"}, {prefix + "cpu.cfs_quota_us", "25000"}}
	if v2 {
		quota = [][2]string{{prefix + "cpu.max", "25000 100000"}}
	}

	for _, kv := range quota {
		if !has(got, kv[0], kv[1]) {
			t.Fatalf("got %v, want %s = %s", got, kv[0], kv[1])
		}
	}

	for _, config := range []map[string]string{{"limits.memory": "lots"}, {"limits.memory": "1B"},
		{"limits.cpu": "0-9999999"}, {"limits.processes": "0"}, {"limits.processes": "4194305"},
		{"limits.cpu.allowance": "0%"}, {"limits.cpu.priority": "11"}} {
		_, err = Config(instance.Spec{Name: "c1", Config: config})
		if err == nil {
			t.Fatalf("got no error for %v", config)
		}

		for k := range config {
			if !strings.Contains(err.Error(), k) {
				t.Fatalf("got %q, want the key %s named", err, k)
			}
		}
	}
}

func TestConfigMounts(t *testing.T) {
	host := t.TempDir()
	dir := filepath.Join(host, "data dir")
	file := filepath.Join(host, "file")
	rootfs := filepath.Join(host, "rootfs")
	for _, d := range []string{dir, filepath.Join(rootfs, "usr", "lib"), filepath.Join(rootfs, "etc")} {
		err := os.MkdirAll(d, 0o755)
		if err != nil {
			t.Fatal(err)
		}
	}

	err := os.WriteFile(file, []byte("x"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	for link, dest := range map[string]string{"lib": "usr/lib", "escape": "/etc/../../../..", "abs": "/usr", "hostish": host} {
		err = os.Symlink(dest, filepath.Join(rootfs, link))
		if err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		dev  map[string]string
		want string
	}{
		{"dir", map[string]string{"source": dir, "path": "/mnt/data"},
			strings.ReplaceAll(dir, " ", "\\040") + " mnt/data none bind,create=dir 0 0"},
		{"file readonly", map[string]string{"source": file, "path": "/etc/f", "readonly": "true"},
			file + " etc/f none bind,create=file,ro 0 0"},
		{"relative symlink", map[string]string{"source": dir, "path": "/lib/x"}, "usr/lib/x"},
		{"absolute symlink", map[string]string{"source": dir, "path": "/abs/lib"}, "usr/lib"},
		{"escaping symlink", map[string]string{"source": dir, "path": "/escape/x"}, " x none"},
		{"host path symlink", map[string]string{"source": dir, "path": "/hostish/data"}, " " + strings.TrimPrefix(host, "/") + "/data none"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := map[string]string{"type": "disk"}
			for k, v := range tt.dev {
				dev[k] = v
			}

			got, err := Config(instance.Spec{Name: "c1", Rootfs: rootfs, Devices: map[string]map[string]string{"d": dev}})
			if err != nil {
				t.Fatal(err)
			}

			found := false
			for _, kv := range got {
				if kv[0] == "lxc.mount.entry" && strings.Contains(kv[1], tt.want) {
					found = true
				}
			}

			if !found {
				t.Fatalf("got %v, want a mount entry containing %q", got, tt.want)
			}
		})
	}
}

func TestConfigMountErrors(t *testing.T) {
	rootfs := t.TempDir()
	err := os.WriteFile(filepath.Join(rootfs, "file"), nil, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = os.Symlink("loop", filepath.Join(rootfs, "loop"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		dev  map[string]string
		want string
	}{
		{"missing source", map[string]string{"source": "/nonexistent/src", "path": "/mnt"}, `device "d": the source "/nonexistent/src" does not exist`},
		{"under a file", map[string]string{"source": rootfs, "path": "/file/x"}, "not a directory"},
		{"symlink loop", map[string]string{"source": rootfs, "path": "/loop/x"}, "too many levels"},
		{"rootfs itself", map[string]string{"source": rootfs, "path": "/"}, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := map[string]string{"type": "disk"}
			for k, v := range tt.dev {
				dev[k] = v
			}

			got, err := Config(instance.Spec{Name: "c1", Rootfs: rootfs, Devices: map[string]map[string]string{"d": dev}})
			if tt.want == "" {
				if err != nil || slices.ContainsFunc(got, func(kv [2]string) bool { return kv[0] == "lxc.mount.entry" }) {
					t.Fatalf("got %v, %v, want the root disk left to the pool", got, err)
				}

				return
			}

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigMissingParent(t *testing.T) {
	_, err := Config(instance.Spec{Name: "c1", Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "nictype": "bridged", "parent": "nosuchbr0"}}})
	if err == nil || !strings.Contains(err.Error(), `device "eth0": the parent "nosuchbr0" does not exist`) {
		t.Fatalf("got %v, want an error naming the device and its parent", err)
	}
}

// TestStartMountThroughSymlink starts a real container whose mount target crosses a symlink to a host path: liblxc
// 5.0.2 would create the target's directories through it on the host (create=dir follows symlinks), so the target
// must reach liblxc already resolved inside the rootfs.
func TestStartMountThroughSymlink(t *testing.T) {
	err := Available()
	if err != nil {
		t.Skipf("SKIPPED: containers cannot run here: %v", err)
	}

	rootfs := busyboxRootfs(t)
	outside := t.TempDir()
	err = os.Symlink(outside, filepath.Join(rootfs, "mnt"))
	if err != nil {
		t.Fatal(err)
	}

	source := t.TempDir()
	err = os.WriteFile(filepath.Join(source, "file"), []byte("shared\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	d, err := New(filepath.Join(t.TempDir(), "containers"))
	if err != nil {
		t.Fatal(err)
	}

	name := "drvsymlink"
	ctx := context.Background()
	err = d.Start(ctx, instance.Spec{Name: name, Rootfs: rootfs, LogFile: filepath.Join(t.TempDir(), "lxc.log"),
		Devices: map[string]map[string]string{"data": {"type": "disk", "source": source, "path": "/mnt/data"}}})
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = d.Kill(ctx, name) }()
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}

	if len(entries) != 0 {
		t.Fatalf("the mount target was created on the host: %v", entries)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}

	pid, err := d.Exec(name, instance.ExecSpec{Command: []string{"/bin/cat", "/mnt/data/file"}, Env: []string{"PATH=/bin"},
		Cwd: "/", Stdin: outR, Stdout: outW, Stderr: outW})
	_ = outW.Close()
	if err != nil {
		t.Fatal(err)
	}

	out, _ := io.ReadAll(outR)
	code, err := instance.WaitExit(pid)
	if err != nil || code != 0 || string(out) != "shared\n" {
		t.Fatalf("got %q, status %d, %v; want the host file through the symlink resolved in the rootfs", out, code, err)
	}
}
