package lxc

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

// busyboxRootfs builds a minimal root filesystem around the host's static busybox.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("SKIPPED: no /bin/busybox to build a test container: %v", err)
	}

	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "root"} {
		err = os.MkdirAll(filepath.Join(root, d), 0o755)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	for _, link := range []string{"bin/sh", "sbin/init", "bin/sleep", "bin/echo", "bin/cat"} {
		err = os.Symlink("/bin/busybox", filepath.Join(root, link))
		if err != nil {
			t.Fatal(err)
		}
	}

	inittab := "::respawn:/bin/sleep 2147483647\n"
	err = os.WriteFile(filepath.Join(root, "etc", "inittab"), []byte(inittab), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	return root
}

// TestStartExecStop runs a real privileged container: start, exec, freeze, stop.
func TestStartExecStop(t *testing.T) {
	err := Available()
	if err != nil {
		t.Skipf("SKIPPED: containers cannot run here: %v", err)
	}

	rootfs := busyboxRootfs(t)
	d, err := New(filepath.Join(t.TempDir(), "containers"))
	if err != nil {
		t.Fatal(err)
	}

	name := "drvtest"
	logDir := t.TempDir()
	ctx := context.Background()
	err = d.Start(ctx, instance.Spec{Name: name, Rootfs: rootfs, LogFile: filepath.Join(logDir, "lxc.log")})
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = d.Kill(ctx, name) }()
	if d.Status(name) != api.Running {
		t.Fatalf("got status %v, want Running", d.Status(name))
	}

	exited, err := d.WaitExit(name)
	if err != nil {
		t.Fatal(err)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}

	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = devNull.Close() }()
	pid, err := d.Exec(name, instance.ExecSpec{Command: []string{"/bin/sh", "-c", "echo $GREETING; exit 7"},
		Env: []string{"GREETING=hi", "PATH=/bin"}, Cwd: "/", Stdin: devNull, Stdout: outW, Stderr: outW})
	_ = outW.Close()
	if err != nil {
		t.Fatal(err)
	}

	out, _ := io.ReadAll(outR)
	code, err := instance.WaitExit(pid)
	if err != nil || code != 7 || string(out) != "hi\n" {
		t.Fatalf("got %q, status %d, %v; want \"hi\\n\" and 7", out, code, err)
	}

	err = d.Freeze(name)
	if err != nil {
		t.Fatal(err)
	}

	// The status goes through liblxc's monitor, which a loaded machine may answer late: it must read Frozen within
	// two seconds.
	status := d.Status(name)
	for i := 0; i < 100 && status != api.Frozen; i++ {
		time.Sleep(20 * time.Millisecond)
		status = d.Status(name)
	}

	if status != api.Frozen {
		t.Fatalf("got status %v after freeze, want Frozen", status)
	}

	err = d.Unfreeze(name)
	if err != nil {
		t.Fatal(err)
	}

	err = d.Kill(ctx, name)
	if err != nil {
		t.Fatal(err)
	}

	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the exit of init was not seen")
	}

	if d.Status(name) != api.Stopped {
		t.Fatalf("got status %v after stop, want Stopped", d.Status(name))
	}

	err = d.Cleanup(name)
	if err != nil {
		t.Fatal(err)
	}
}

// cgroupsNamed returns the cgroups on the host whose name holds name.
func cgroupsNamed(t *testing.T, name string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir("/sys/fs/cgroup", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}

		if e.IsDir() && strings.Contains(e.Name(), name) {
			found = append(found, p)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	return found
}

// TestStartLeavesNoCgroup checks that no cgroup named for a container remains after a start that fails once
// liblxc made its cgroups, nor after a container that started is stopped.
func TestStartLeavesNoCgroup(t *testing.T) {
	err := Available()
	if err != nil {
		t.Skipf("SKIPPED: containers cannot run here: %v", err)
	}

	// A cgroup file liblxc only finds missing when it sets the container's limits, after making its cgroups.
	bogus := "lxc.cgroup.memory.bogus = 1"
	if cgroup2() {
		bogus = "lxc.cgroup2.memory.bogus = 1"
	}

	rootfs := busyboxRootfs(t)
	d, err := New(filepath.Join(t.TempDir(), "containers"))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	name := fmt.Sprintf("cgtest%d", os.Getpid())
	logFile := filepath.Join(t.TempDir(), "lxc.log")
	for i := range 2 {
		err = d.Start(ctx, instance.Spec{Name: name, Rootfs: rootfs, LogFile: logFile,
			Config: map[string]string{"raw.lxc": bogus}})
		if err == nil {
			_ = d.Kill(ctx, name)
			t.Fatal("got a start with a bogus cgroup setting")
		}

		if !strings.Contains(err.Error(), "memory.bogus") {
			t.Fatalf("got %q, want liblxc's reason naming memory.bogus", err)
		}

		left := cgroupsNamed(t, name)
		if len(left) > 0 {
			t.Fatalf("attempt %d: got the cgroups %v left after a failed start, want none", i+1, left)
		}
	}

	err = d.Start(ctx, instance.Spec{Name: name, Rootfs: rootfs, LogFile: logFile})
	if err != nil {
		t.Fatal(err)
	}

	if len(cgroupsNamed(t, name)) == 0 {
		t.Fatal("got no cgroup named for a running container")
	}

	err = d.Kill(ctx, name)
	if err != nil {
		t.Fatal(err)
	}

	left := cgroupsNamed(t, name)
	if len(left) > 0 {
		t.Fatalf("got the cgroups %v left after a stop, want none", left)
	}

	err = d.Cleanup(name)
	if err != nil {
		t.Fatal(err)
	}
}

func TestCgroupOwner(t *testing.T) {
	tests := []struct {
		entry string
		owner string
		ok    bool
	}{
		{"lxc.monitor.c1", "c1", true},
		{"lxc.payload.c1", "c1", true},
		{"lxc.payload.c1-3", "c1-3", true},
		{"lxc.monitor.c1-12", "c1-12", true},
		{"lxc.payload.c10", "", false},
		{"lxc.payload.c1-", "", false},
		{"lxc.payload.c1-x", "", false},
		{"lxc.pivot", "", false},
		{"c1", "", false},
	}

	for _, tt := range tests {
		owner, ok := cgroupOwner(tt.entry, "c1")
		if owner != tt.owner || ok != tt.ok {
			t.Fatalf("cgroupOwner(%q, \"c1\") = %q, %v; want %q, %v", tt.entry, owner, ok, tt.owner, tt.ok)
		}
	}
}

// TestStartWithLimits starts containers with every limit and reads back what the kernel holds for them.
func TestStartWithLimits(t *testing.T) {
	err := Available()
	if err != nil {
		t.Skipf("SKIPPED: containers cannot run here: %v", err)
	}

	v2 := cgroup2()
	pick := func(v1Key string, v2Key string) string {
		if v2 {
			return v2Key
		}

		return v1Key
	}

	_, memswErr := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	tests := []struct {
		config map[string]string
		want   map[string]string
	}{
		{map[string]string{"limits.cpu": "1", "limits.memory": "64MiB", "limits.memory.swap": "false",
			"limits.processes": "50", "limits.cpu.allowance": "25ms/100ms", "limits.cpu.priority": "5"},
			map[string]string{pick("memory.limit_in_bytes", "memory.max"): "67108864", "pids.max": "50",
				pick("cpu.shares", "cpu.weight"): pick("1019", "99"), "cpuset.cpus": strconv.Itoa(instance.HostCPUs()[0]),
				pick("cpu.cfs_quota_us", "cpu.max"):          pick("25000", "25000 100000"),
				pick("memory.swappiness", "memory.swap.max"): "0"}},
		{map[string]string{"limits.memory": "64MiB", "limits.memory.enforce": "soft", "limits.cpu.allowance": "50%"},
			map[string]string{pick("memory.soft_limit_in_bytes", "memory.high"): "67108864",
				pick("cpu.shares", "cpu.weight"): pick("512", "50")}},
	}

	if !v2 && memswErr == nil {
		tests[0].want["memory.memsw.limit_in_bytes"] = "67108864"
	}

	rootfs := busyboxRootfs(t)
	d, err := New(filepath.Join(t.TempDir(), "containers"))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	name := fmt.Sprintf("limtest%d", os.Getpid())
	for _, tt := range tests {
		err = d.Start(ctx, instance.Spec{Name: name, Rootfs: rootfs, LogFile: filepath.Join(t.TempDir(), "lxc.log"),
			Config: tt.config})
		if err != nil {
			t.Fatalf("%v: %v", tt.config, err)
		}

		c, err := d.container(name)
		if err != nil {
			t.Fatal(err)
		}

		for key, want := range tt.want {
			got := c.CgroupItem(key)
			if len(got) != 1 || strings.TrimSpace(got[0]) != want {
				t.Errorf("%v: got %s = %q, want %q", tt.config, key, got, want)
			}
		}

		_ = c.Release()
		err = d.Kill(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
	}

	err = d.Cleanup(name)
	if err != nil {
		t.Fatal(err)
	}

	left := cgroupsNamed(t, name)
	if len(left) > 0 {
		t.Fatalf("got the cgroups %v left, want none", left)
	}
}
