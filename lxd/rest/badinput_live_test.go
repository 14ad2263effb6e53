package rest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance/lxc"
	"github.com/lxd-go/lxd/shared/api"
)

// busyboxRoot fills root with a minimal system around the host's static busybox, whose init sleeps.
func busyboxRoot(t *testing.T, root string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("SKIPPED: no /bin/busybox to build a test container: %v", err)
	}

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

	for _, link := range []string{"bin/sh", "sbin/init", "bin/sleep", "bin/cat"} {
		err = os.Symlink("/bin/busybox", filepath.Join(root, link))
		if err != nil {
			t.Fatal(err)
		}
	}

	err = os.WriteFile(filepath.Join(root, "etc", "inittab"), []byte("::respawn:/bin/sleep 2147483647\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
}

// TestBadInputLiveInstance sends the corpus to the endpoints of an instance while it runs in a real container
// (exec, console, files, state, logs, snapshots of a running instance); it is started again whenever a request
// stopped it.
func TestBadInputLiveInstance(t *testing.T) {
	err := lxc.Available()
	if err != nil {
		t.Skipf("SKIPPED: containers cannot run here: %v", err)
	}

	d, err := lxc.New(filepath.Join(t.TempDir(), "containers"))
	if err != nil {
		t.Fatal(err)
	}

	name := fmt.Sprintf("badinput%d", os.Getpid())
	c := newCorpusEnv(t, name, d)
	t.Cleanup(func() { _ = d.Kill(context.Background(), name) })
	busyboxRoot(t, filepath.Join(c.e.Dir, "pool", "containers", name, "rootfs"))

	state := "/1.0/instances/" + name + "/state"
	running := func() {
		var st api.InstanceState
		c.e.expect(t, http.StatusOK, http.MethodGet, state, nil).metadata(t, &st)
		switch st.Status {
		case "Running":
		case "Frozen":
			c.mustSend(t, http.MethodPut, state, `{"action": "unfreeze"}`)
		default:
			c.mustSend(t, http.MethodPut, state, `{"action": "start"}`)
		}
	}

	running()
	c.run(t, func(path string) bool {
		return strings.HasPrefix(path, "instances/{name}") || strings.HasPrefix(path, "containers/{name}")
	}, running)

	c.mustSend(t, http.MethodPut, state, `{"action": "stop", "force": true}`)
	c.mustSend(t, http.MethodDelete, "/1.0/instances/"+name, "")
}
