package project

import (
	"errors"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestRestrictions(t *testing.T) {
	restricted := map[string]string{"restricted": "true"}
	cases := []struct {
		project map[string]string
		config  map[string]string
		devices map[string]map[string]string
		want    string
	}{
		// Not restricted: anything goes.
		{nil, map[string]string{"security.privileged": "true", "raw.lxc": "x"}, map[string]map[string]string{"d": {"type": "unix-char"}}, ""},
		// The defaults of a restricted project.
		{restricted, map[string]string{"security.privileged": "true"}, nil, "Privileged containers are forbidden"},
		{restricted, map[string]string{"security.nesting": "true"}, nil, "Container nesting is forbidden"},
		{restricted, map[string]string{"raw.lxc": "lxc.init.cmd=/bin/sh"}, nil, `low-level config "raw.lxc"`},
		{restricted, map[string]string{"security.idmap.size": "100000"}, nil, `low-level config "security.idmap.size"`},
		{restricted, map[string]string{"limits.memory": "1GiB", "security.privileged": "false"}, nil, ""},
		{restricted, nil, map[string]map[string]string{"d": {"type": "unix-char", "path": "/dev/kmsg"}}, "Unix character devices are forbidden"},
		{restricted, nil, map[string]map[string]string{"d": {"type": "proxy"}}, "Proxy devices are forbidden"},
		{restricted, nil, map[string]map[string]string{"eth0": {"type": "nic", "nictype": "bridged", "parent": "br0"}}, "Only managed network devices are allowed"},
		{restricted, nil, map[string]map[string]string{"eth0": {"type": "nic", "network": "lxdbr0"}}, ""},
		{restricted, nil, map[string]map[string]string{"d": {"type": "disk", "source": "/etc", "path": "/mnt"}}, "Attaching disks not backed by a pool is forbidden"},
		{restricted, nil, map[string]map[string]string{"d": {"type": "disk", "pool": "default", "source": "vol", "path": "/mnt"}}, ""},
		{restricted, nil, map[string]map[string]string{"root": {"type": "disk", "pool": "default", "path": "/"}}, ""},
		// What the project allows explicitly.
		{map[string]string{"restricted": "true", "restricted.containers.privilege": "allow"}, map[string]string{"security.privileged": "true"}, nil, ""},
		{map[string]string{"restricted": "true", "restricted.containers.privilege": "isolated"}, map[string]string{"security.idmap.isolated": "false"}, nil, "Non-isolated containers are forbidden"},
		{map[string]string{"restricted": "true", "restricted.containers.lowlevel": "allow"}, map[string]string{"raw.lxc": "x"}, nil, ""},
		{map[string]string{"restricted": "true", "restricted.devices.unix-char": "allow"}, nil, map[string]map[string]string{"d": {"type": "unix-char"}}, ""},
		{map[string]string{"restricted": "true", "restricted.devices.nic": "block"}, nil, map[string]map[string]string{"eth0": {"type": "nic", "network": "lxdbr0"}}, "Network devices are forbidden"},
		{map[string]string{"restricted": "true", "restricted.devices.disk": "block"}, nil, map[string]map[string]string{"d": {"type": "disk", "pool": "default", "source": "vol", "path": "/mnt"}}, "Disk devices are forbidden"},
		{map[string]string{"restricted": "true", "restricted.devices.disk": "allow"}, nil, map[string]map[string]string{"d": {"type": "disk", "source": "/etc", "path": "/mnt"}}, ""},
	}

	for i, c := range cases {
		err := checkInstanceRestrictions("p1", c.project, "p1_c1", c.config, c.devices)
		if c.want == "" {
			if err != nil {
				t.Errorf("case %d: got %v, want it allowed", i, err)
			}

			continue
		}

		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("case %d: got %v, want a refusal with %q", i, err, c.want)
		}
	}

	if !Restricted(restricted, "snapshots") || !Restricted(restricted, "backups") || Restricted(nil, "snapshots") ||
		Restricted(map[string]string{"restricted": "true", "restricted.snapshots": "allow"}, "snapshots") {
		t.Fatal("restricted.snapshots and restricted.backups block by default in a restricted project only")
	}
}
