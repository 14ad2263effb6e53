package lxc

import (
	"net"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

func TestConfigNICs(t *testing.T) {
	tests := []struct {
		name    string
		dev     map[string]string
		want    [][2]string
		notWant []string
	}{
		{"bridged", map[string]string{"nictype": "bridged", "parent": "lo", "host_name": "veth01234567", "hwaddr": "00:16:3e:00:00:01"},
			[][2]string{{"lxc.net.0.type", "veth"}, {"lxc.net.0.link", "lo"}, {"lxc.net.0.veth.pair", "veth01234567"},
				{"lxc.net.0.flags", "up"}, {"lxc.net.0.name", "eth0"}, {"lxc.net.0.hwaddr", "00:16:3e:00:00:01"}},
			[]string{"lxc.net.0.mtu"}},
		{"managed", map[string]string{"network": "n1", "nictype": "bridged", "parent": "lo", "host_name": "vethaa", "mtu": "1450"},
			[][2]string{{"lxc.net.0.type", "veth"}, {"lxc.net.0.link", "lo"}, {"lxc.net.0.veth.pair", "vethaa"}, {"lxc.net.0.mtu", "1450"}},
			nil},
		{"p2p", map[string]string{"nictype": "p2p", "host_name": "p2p1", "name": "eth5", "mtu": "1400"},
			[][2]string{{"lxc.net.0.type", "veth"}, {"lxc.net.0.veth.pair", "p2p1"}, {"lxc.net.0.name", "eth5"}, {"lxc.net.0.mtu", "1400"}},
			[]string{"lxc.net.0.link"}},
		{"macvlan", map[string]string{"nictype": "macvlan", "parent": "lo", "hwaddr": "00:16:3e:00:00:02"},
			[][2]string{{"lxc.net.0.type", "macvlan"}, {"lxc.net.0.macvlan.mode", "bridge"}, {"lxc.net.0.link", "lo"},
				{"lxc.net.0.hwaddr", "00:16:3e:00:00:02"}},
			[]string{"lxc.net.0.veth.pair"}},
		{"physical", map[string]string{"nictype": "physical", "parent": "lo", "name": "eth0"},
			[][2]string{{"lxc.net.0.type", "phys"}, {"lxc.net.0.link", "lo"}, {"lxc.net.0.name", "eth0"}},
			[]string{"lxc.net.0.hwaddr", "lxc.net.0.veth.pair"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := map[string]string{"type": "nic"}
			for k, v := range tt.dev {
				dev[k] = v
			}

			got, err := Config(instance.Spec{Name: "c1", Devices: map[string]map[string]string{"eth0": dev}})
			if err != nil {
				t.Fatal(err)
			}

			for _, kv := range tt.want {
				if !has(got, kv[0], kv[1]) {
					t.Fatalf("got %v, want %s = %s", got, kv[0], kv[1])
				}
			}

			for _, kv := range got {
				for _, k := range tt.notWant {
					if kv[0] == k {
						t.Fatalf("got %v, want no %s", got, k)
					}
				}
			}
		})
	}
}

func TestConfigPhysicalMACRestored(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("SKIPPED: no loopback interface: %v", err)
	}

	got, err := Config(instance.Spec{Name: "c1", Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "nictype": "physical", "parent": "lo", "hwaddr": "00:16:3e:00:00:09"}}})
	if err != nil {
		t.Fatal(err)
	}

	want := "link set dev lo address " + lo.HardwareAddr.String() + "'"
	found := false
	for _, kv := range got {
		if kv[0] == "lxc.hook.post-stop" && strings.HasPrefix(kv[1], "/bin/sh -c 'exec ") && strings.HasSuffix(kv[1], want) {
			found = true
		}
	}

	if !found || !has(got, "lxc.net.0.hwaddr", "00:16:3e:00:00:09") {
		t.Fatalf("got %v, want the hwaddr set and a post-stop hook ending in %q", got, want)
	}

	got, err = Config(instance.Spec{Name: "c1", Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "nictype": "physical", "parent": "lo"}}})
	if err != nil {
		t.Fatal(err)
	}

	for _, kv := range got {
		if kv[0] == "lxc.hook.post-stop" {
			t.Fatalf("got %v, want no hook for a physical nic keeping its address", got)
		}
	}
}

func TestConfigNICMissingParent(t *testing.T) {
	for _, kind := range []string{"bridged", "macvlan", "physical"} {
		_, err := Config(instance.Spec{Name: "c1", Devices: map[string]map[string]string{
			"eth0": {"type": "nic", "nictype": kind, "parent": "nosuchlink0"}}})
		if err == nil || !strings.Contains(err.Error(), `the parent "nosuchlink0" does not exist`) {
			t.Fatalf("%s: got %v, want the missing parent named", kind, err)
		}
	}
}

func TestParseLinks(t *testing.T) {
	links, err := netnsLinks(os.Getpid())
	if err != nil {
		t.Skipf("SKIPPED: cannot read our network namespace: %v", err)
	}

	lo := links["lo"]
	if lo == nil || lo.kind != "loopback" {
		t.Fatalf("got %+v, want lo as a loopback", lo)
	}

	found := false
	for _, a := range lo.addrs {
		if a.Address == "127.0.0.1" && a.Netmask == "8" && a.Scope == "local" && a.Family == "inet" {
			found = true
		}
	}

	if lo.state == "up" && !found {
		t.Fatalf("got %+v, want 127.0.0.1/8 with scope local", lo.addrs)
	}
}

func TestConfigPhysicalStopHook(t *testing.T) {
	got, err := Config(instance.Spec{Name: "c1", DevicesDir: "/var/lib/lxd/containers/c1/devices"})
	if err != nil {
		t.Fatal(err)
	}

	hooks := 0
	for _, kv := range got {
		if kv[0] != "lxc.hook.stop" {
			continue
		}

		hooks++
		if !strings.HasPrefix(kv[1], "/bin/sh -c '") || !strings.Contains(kv[1], "/var/lib/lxd/containers/c1/nics/*.nic") ||
			!strings.Contains(kv[1], `net:*) ns="${a#net:}"`) || strings.Count(kv[1], "'") != 2 {
			t.Fatalf("got %q, want a hook giving back the nics recorded in the container's nics directory", kv[1])
		}
	}

	if hooks != 1 {
		t.Fatalf("got %d stop hooks in %v, want 1", hooks, got)
	}

	got, err = Config(instance.Spec{Name: "c1", DevicesDir: "/var/lib/it's/c1/devices"})
	if err != nil {
		t.Fatal(err)
	}

	for _, kv := range got {
		if kv[0] == "lxc.hook.stop" {
			t.Fatalf("got %q, want no hook for a directory the shell cannot take quoted", kv[1])
		}
	}
}

func TestNetDevCounters(t *testing.T) {
	data := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0: 1500 10 3 4 0 0 0 1 900 7 5 6 0 0 0 0
 short: 1 2 3
`
	got := netDevCounters(data)
	want := map[string]api.InstanceStateNetworkCounters{
		"lo": {BytesReceived: 120, PacketsReceived: 2, BytesSent: 120, PacketsSent: 2},
		"eth0": {BytesReceived: 1500, PacketsReceived: 10, ErrorsReceived: 3, PacketsDroppedInbound: 4,
			BytesSent: 900, PacketsSent: 7, ErrorsSent: 5, PacketsDroppedOutbound: 6},
	}

	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
