package instance

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"c1", true},
		{"web-01", true},
		{"A", true},
		{"", false},
		{"1abc", false},
		{"-abc", false},
		{"abc-", false},
		{"a_b", false},
		{"a.b", false},
		{"a b", false},
		{"a/b", false},
		{"ü", false},
		{string(make([]byte, 64)), false},
		{"a23456789012345678901234567890123456789012345678901234567890123", true},
		{"a234567890123456789012345678901234567890123456789012345678901234", false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}

			if err != nil && !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want an ErrInvalid", err)
			}
		})
	}
}

func TestValidateConfig(t *testing.T) {
	tests := []struct {
		name     string
		config   map[string]string
		profile  bool
		internal bool
		ok       bool
	}{
		{"empty", nil, false, false, true},
		{"cpu count", map[string]string{"limits.cpu": "2"}, false, false, true},
		{"cpu set", map[string]string{"limits.cpu": "0-0"}, false, false, true},
		{"cpu count above the host's", map[string]string{"limits.cpu": "4096"}, false, false, true},
		{"cpu set beyond the host's", map[string]string{"limits.cpu": "0-9999999"}, false, false, false},
		{"cpu set past the last", map[string]string{"limits.cpu": "4095-4095"}, false, false, true},
		{"cpu reversed range", map[string]string{"limits.cpu": "1-0"}, false, false, false},
		{"cpu empty part", map[string]string{"limits.cpu": "0,,1"}, false, false, false},
		{"cpu negative", map[string]string{"limits.cpu": "-1"}, false, false, false},
		{"cpu zero", map[string]string{"limits.cpu": "0"}, false, false, false},
		{"cpu junk", map[string]string{"limits.cpu": "two"}, false, false, false},
		{"memory unit", map[string]string{"limits.memory": "256MiB"}, false, false, true},
		{"memory bytes", map[string]string{"limits.memory": "16777216"}, false, false, true},
		{"memory below the floor", map[string]string{"limits.memory": "1048576"}, false, false, false},
		{"memory one byte", map[string]string{"limits.memory": "1B"}, false, false, false},
		{"memory zero", map[string]string{"limits.memory": "0"}, false, false, false},
		{"memory negative", map[string]string{"limits.memory": "-1GiB"}, false, false, false},
		{"memory huge", map[string]string{"limits.memory": "99999999999TiB"}, false, false, false},
		{"memory percent", map[string]string{"limits.memory": "50%"}, false, false, true},
		{"memory bad percent", map[string]string{"limits.memory": "150%"}, false, false, false},
		{"memory junk", map[string]string{"limits.memory": "lots"}, false, false, false},
		{"processes", map[string]string{"limits.processes": "100"}, false, false, true},
		{"processes negative", map[string]string{"limits.processes": "-1"}, false, false, false},
		{"processes zero", map[string]string{"limits.processes": "0"}, false, false, false},
		{"cpu allowance percent", map[string]string{"limits.cpu.allowance": "50%"}, false, false, true},
		{"cpu allowance time", map[string]string{"limits.cpu.allowance": "25ms/100ms"}, false, false, true},
		{"cpu allowance above the period", map[string]string{"limits.cpu.allowance": "200ms/100ms"}, false, false, true},
		{"cpu allowance zero", map[string]string{"limits.cpu.allowance": "0%"}, false, false, false},
		{"cpu allowance over 100%", map[string]string{"limits.cpu.allowance": "101%"}, false, false, false},
		{"cpu allowance short quota", map[string]string{"limits.cpu.allowance": "500us/100ms"}, false, false, false},
		{"cpu allowance long period", map[string]string{"limits.cpu.allowance": "25ms/2s"}, false, false, false},
		{"cpu allowance negative", map[string]string{"limits.cpu.allowance": "-25ms/100ms"}, false, false, false},
		{"cpu allowance junk", map[string]string{"limits.cpu.allowance": "lots"}, false, false, false},
		{"cpu priority", map[string]string{"limits.cpu.priority": "0"}, false, false, true},
		{"cpu priority above 10", map[string]string{"limits.cpu.priority": "11"}, false, false, false},
		{"cpu priority negative", map[string]string{"limits.cpu.priority": "-1"}, false, false, false},
		{"memory enforce", map[string]string{"limits.memory.enforce": "soft"}, false, false, true},
		{"memory enforce junk", map[string]string{"limits.memory.enforce": "firm"}, false, false, false},
		{"memory swap", map[string]string{"limits.memory.swap": "false"}, false, false, true},
		{"memory swap junk", map[string]string{"limits.memory.swap": "sometimes"}, false, false, false},
		{"processes below the floor", map[string]string{"limits.processes": "2"}, false, false, false},
		{"processes at the kernel's limit", map[string]string{"limits.processes": "4194304"}, false, false, true},
		{"processes above the kernel's limit", map[string]string{"limits.processes": "4194305"}, false, false, false},
		{"environment", map[string]string{"environment.FOO": "bar baz"}, false, false, true},
		{"environment empty name", map[string]string{"environment.": "x"}, false, false, false},
		{"user", map[string]string{"user.anything": "x"}, false, false, true},
		{"image", map[string]string{"image.os": "busybox"}, false, false, true},
		{"bool", map[string]string{"boot.autostart": "true", "security.privileged": "0", "security.nesting": "no"}, false, false, true},
		{"bad bool", map[string]string{"security.privileged": "maybe"}, false, false, false},
		{"unknown", map[string]string{"limits.bogus": "1"}, false, false, false},
		{"raw lxc", map[string]string{"raw.lxc": "# comment\nlxc.environment = A=1\n\nlxc.hook.pre-start=/bin/true\n"}, false, false, true},
		{"raw lxc on a profile", map[string]string{"raw.lxc": "lxc.environment=A=1"}, true, false, true},
		{"raw lxc without =", map[string]string{"raw.lxc": "lxc.environment"}, false, false, false},
		{"raw lxc not lxc", map[string]string{"raw.lxc": "foo = 1"}, false, false, false},
		{"raw lxc log", map[string]string{"raw.lxc": "lxc.log.file = /tmp/x"}, false, false, false},
		{"raw lxc rootfs", map[string]string{"raw.lxc": "lxc.rootfs.path = dir:/"}, false, false, false},
		{"raw lxc idmap", map[string]string{"raw.lxc": "lxc.idmap = u 0 0 1"}, false, false, false},
		{"raw lxc name", map[string]string{"raw.lxc": "lxc.uts.name = x"}, false, false, false},
		{"volatile by user", map[string]string{"volatile.uuid": "x"}, false, false, false},
		{"volatile internal", map[string]string{"volatile.uuid": "x"}, false, true, true},
		{"volatile on profile", map[string]string{"volatile.uuid": "x"}, true, true, false},
	}

	host := HostCPUs()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.config["limits.cpu"] == "4095-4095" && len(host) < 4096 {
				tt.ok = false
			}

			err := ValidateConfig(tt.config, tt.profile, tt.internal)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateConfig(%v) = %v, want ok=%v", tt.config, err, tt.ok)
			}

			if err == nil {
				return
			}

			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want an ErrInvalid", err)
			}

			for k, v := range tt.config {
				_, known := configKeys[k]
				if known && strings.HasPrefix(k, "limits.") && (!strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), v)) {
					t.Fatalf("got %q, want the key %s and the value %q named", err, k, v)
				}
			}
		})
	}
}

func TestCPUSet(t *testing.T) {
	host := HostCPUs()
	all := formatCPUList(host)
	tests := []struct {
		in   string
		want string
	}{
		{"1", strconv.Itoa(host[0])},
		{strconv.Itoa(len(host)), all},
		{strconv.Itoa(len(host) + 5), all},
		{all, all},
	}

	for _, tt := range tests {
		got, err := CPUSet(tt.in)
		if err != nil || got != tt.want {
			t.Fatalf("CPUSet(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}

	beyond := strconv.Itoa(host[len(host)-1] + 1)
	_, err := CPUSet("0," + beyond)
	if err == nil || !strings.Contains(err.Error(), "CPU "+beyond) || !strings.Contains(err.Error(), all) {
		t.Fatalf("got %v, want CPU %s refused, naming the host's CPUs %s", err, beyond, all)
	}
}

func TestCPUShares(t *testing.T) {
	tests := []struct {
		allowance, priority string
		shares              int64
		quota, period       time.Duration
	}{
		{"", "", 0, 0, 0},
		{"", "10", 1024, 0, 0},
		{"", "0", 1014, 0, 0},
		{"50%", "", 512, 0, 0},
		{"50%", "0", 507, 0, 0},
		{"1%", "", 10, 0, 0},
		{"25ms/100ms", "", 1024, 25 * time.Millisecond, 100 * time.Millisecond},
		{"1.5s/1s", "5", 1019, 1500 * time.Millisecond, time.Second},
	}

	for _, tt := range tests {
		shares, quota, period, err := CPUShares(tt.allowance, tt.priority)
		if err != nil || shares != tt.shares || quota != tt.quota || period != tt.period {
			t.Fatalf("CPUShares(%q, %q) = %d, %v, %v, %v; want %d, %v, %v", tt.allowance, tt.priority, shares, quota, period,
				err, tt.shares, tt.quota, tt.period)
		}
	}
}

func TestFormatCPUList(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{0, 2, 3, 5}, "0,2-3,5"},
	}

	for _, tt := range tests {
		got := formatCPUList(tt.in)
		if got != tt.want {
			t.Fatalf("formatCPUList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidateDevices(t *testing.T) {
	root := map[string]string{"type": "disk", "path": "/", "pool": "default"}
	tests := []struct {
		name    string
		devices map[string]map[string]string
		ok      bool
	}{
		{"root", map[string]map[string]string{"root": root}, true},
		{"root without pool", map[string]map[string]string{"root": {"type": "disk", "path": "/"}}, false},
		{"two roots", map[string]map[string]string{"a": root, "b": root}, false},
		{"bind disk", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "/srv"}}, true},
		{"disk without source", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt"}}, false},
		{"bind disk readonly", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "/srv", "readonly": "true"}}, true},
		{"bind disk bad readonly", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "/srv", "readonly": "maybe"}}, false},
		{"relative source", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "vol1"}}, false},
		{"relative path", map[string]map[string]string{"d": {"type": "disk", "path": "mnt", "source": "/srv"}}, false},
		{"dotdot path", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt/../etc", "source": "/srv"}}, false},
		{"bind disk with pool", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "/srv", "pool": "default"}}, false},
		{"bind disk with size", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "/srv", "size": "1GiB"}}, false},
		{"bind disk unknown key", map[string]map[string]string{"d": {"type": "disk", "path": "/mnt", "source": "/srv", "shift": "true"}}, false},
		{"bridged nic", map[string]map[string]string{"eth0": {"type": "nic", "nictype": "bridged", "parent": "br0"}}, true},
		{"nic with options", map[string]map[string]string{"n": {"type": "nic", "nictype": "bridged", "parent": "br0", "name": "eth1", "hwaddr": "00:16:3e:aa:bb:cc", "mtu": "1400"}}, true},
		{"nic bad mac", map[string]map[string]string{"n": {"type": "nic", "nictype": "bridged", "parent": "br0", "hwaddr": "zz"}}, false},
		{"nic bad mtu", map[string]map[string]string{"n": {"type": "nic", "nictype": "bridged", "parent": "br0", "mtu": "9"}}, false},
		{"nic long name", map[string]map[string]string{"n": {"type": "nic", "nictype": "bridged", "parent": "br0", "name": "a234567890123456"}}, false},
		{"nic bad parent", map[string]map[string]string{"n": {"type": "nic", "nictype": "bridged", "parent": "../br0"}}, false},
		{"nic without parent", map[string]map[string]string{"n": {"type": "nic", "nictype": "bridged"}}, false},
		{"macvlan nic", map[string]map[string]string{"eth0": {"type": "nic", "nictype": "macvlan", "parent": "eth0"}}, true},
		{"no type", map[string]map[string]string{"x": {"path": "/"}}, false},
		{"unknown type", map[string]map[string]string{"x": {"type": "gpu"}}, false},
		{"unix-char", map[string]map[string]string{"t": {"type": "unix-char", "source": "/dev/net/tun", "path": "/dev/net/tun", "mode": "0666", "uid": "0", "gid": "5", "required": "false"}}, true},
		{"unix-block by path", map[string]map[string]string{"l": {"type": "unix-block", "path": "/dev/loop0"}}, true},
		{"unix-char without paths", map[string]map[string]string{"t": {"type": "unix-char"}}, false},
		{"unix-char relative", map[string]map[string]string{"t": {"type": "unix-char", "path": "dev/x"}}, false},
		{"unix-char dot-dot", map[string]map[string]string{"t": {"type": "unix-char", "path": "/dev/../etc/x"}}, false},
		{"unix-char bad mode", map[string]map[string]string{"t": {"type": "unix-char", "path": "/dev/x", "mode": "999"}}, false},
		{"unix-char major", map[string]map[string]string{"t": {"type": "unix-char", "path": "/dev/x", "major": "10"}}, false},
		{"none", map[string]map[string]string{"root": {"type": "none"}}, true},
		{"unknown disk key", map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default", "x": "1"}}, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateDevices(tt.devices)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateDevices(%v) = %v, want ok=%v", tt.devices, err, tt.ok)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	profiles := []Profile{
		{Name: "default", Config: map[string]string{"limits.cpu": "1", "user.a": "p1"},
			Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}},
		{Name: "second", Config: map[string]string{"user.a": "p2"},
			Devices: map[string]map[string]string{"data": {"type": "disk", "path": "/d", "source": "/s"}}},
	}

	config, devices := Expand(profiles, map[string]string{"limits.cpu": "2"},
		map[string]map[string]string{"data": {"type": "none"}})
	if config["limits.cpu"] != "2" || config["user.a"] != "p2" {
		t.Fatalf("got config %v, want instance keys over later profiles over earlier ones", config)
	}

	_, hasData := devices["data"]
	if hasData || devices["root"]["pool"] != "default" {
		t.Fatalf("got devices %v, want root kept and data masked by a none device", devices)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true},
		{"1KiB", 1024, true},
		{"256MiB", 256 << 20, true},
		{"2G", 2 << 30, true},
		{"1GB", 1000 * 1000 * 1000, true},
		{"0", 0, false},
		{"-5MiB", 0, false},
		{"MiB", 0, false},
		{"1.5GiB", 0, false},
	}

	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseByteSize(%q) = %d, %v, want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestValidProfileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"web_servers.v2", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a\\b", false},
		{"a b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{string(make([]byte, 64)), false},
	}

	for _, tt := range tests {
		err := ValidProfileName(tt.name)
		if (err == nil) != tt.ok {
			t.Fatalf("ValidProfileName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}

		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("got %v, want an ErrInvalid", err)
		}
	}
}
