package lxc

import (
	"context"
	"io"
	"os"
	"path/filepath"
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

	if d.Status(name) != api.Frozen {
		t.Fatalf("got status %v after freeze, want Frozen", d.Status(name))
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
