package main

import (
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxc/config"
)

func TestRemoteAddOCI(t *testing.T) {
	dir := t.TempDir()

	// Saved without contacting the registry (nothing listens on port 1), as a public image server.
	mustRun(t, dir, "", "remote", "add", "reg", "https://127.0.0.1:1/", "--protocol=oci")
	mustRun(t, dir, "", "remote", "add", "hub", "docker.io", "--protocol", "oci")
	conf := loadConf(t, dir)
	if conf.Remotes["reg"] != (config.Remote{Addr: "https://127.0.0.1:1", Protocol: "oci", Public: true}) ||
		conf.Remotes["hub"] != (config.Remote{Addr: "https://docker.io", Protocol: "oci", Public: true}) {
		t.Fatalf("got %+v", conf.Remotes)
	}

	out := mustRun(t, dir, "", "remote", "list")
	if !strings.Contains(out, "| reg             | https://127.0.0.1:1                      | oci           | none        | YES    |") {
		t.Fatalf("remote list: %s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"remote", "add", "bad", "ftp://127.0.0.1", "--protocol=oci"}, "an https URL with a host is needed"},
		{[]string{"remote", "add", "bad", "https://127.0.0.1/v2", "--protocol=oci"}, "a registry URL has no path"},
		{[]string{"image", "list", "reg:"}, "can't list images from OCI registry"},
		{[]string{"image", "delete", "reg:abc"}, "remote reg is a oci image server, not an instance server"},
	} {
		run := runCmd
		if tc.args[0] == "image" {
			run = runImageCmd
		}

		_, err := run(t, dir, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
