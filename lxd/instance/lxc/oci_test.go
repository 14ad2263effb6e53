package lxc

import (
	"testing"

	"github.com/lxd-go/lxd/lxd/instance"
)

func TestConfigOCI(t *testing.T) {
	app := map[string]string{"image.type": "oci", "oci.entrypoint": "/bin/sh -c 'sleep 1'", "oci.cwd": "/srv",
		"oci.uid": "1000", "oci.gid": "100", "volatile.oci.stop_signal": "SIGQUIT", "environment.A": "b"}
	got, err := Config(instance.Spec{Name: "app", Rootfs: "/r", Config: app})
	if err != nil {
		t.Fatal(err)
	}

	for _, kv := range [][2]string{{"lxc.execute.cmd", "/bin/sh -c 'sleep 1'"}, {"lxc.init.cwd", "/srv"}, {"lxc.init.uid", "1000"},
		{"lxc.init.gid", "100"}, {"lxc.signal.halt", "SIGQUIT"}, {"lxc.environment", "A=b"}} {
		if !has(got, kv[0], kv[1]) {
			t.Errorf("missing %s = %s in %v", kv[0], kv[1], got)
		}
	}

	if has(got, "lxc.init.cmd", "/sbin/init") {
		t.Error("an application container runs /sbin/init")
	}

	// A command that is an init itself runs as the container's init.
	app["oci.entrypoint"] = "/usr/bin/tini -- /app"
	got, err = Config(instance.Spec{Name: "app", Rootfs: "/r", Config: app})
	if err != nil {
		t.Fatal(err)
	}

	if !has(got, "lxc.init.cmd", "/usr/bin/tini -- /app") {
		t.Errorf("tini not run as init: %v", got)
	}

	for _, kv := range got {
		if kv[0] == "lxc.execute.cmd" {
			t.Errorf("execute mode with an init: %v", got)
		}
	}
}
