package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// loadTestJSON decodes a file of testdata into v.
func loadTestJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}

	err = json.Unmarshal(raw, v)
	if err != nil {
		t.Fatal(err)
	}
}

// assertGolden compares got with a file of testdata.
func assertGolden(t *testing.T, golden string, got string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", golden))
	if err != nil {
		t.Fatal(err)
	}

	if got != string(want) {
		t.Fatalf("%s: got:\n%s\nwant:\n%s", golden, got, want)
	}
}

// TestNetworkListStockGolden renders testdata/networks.json (GET /1.0/networks?recursion=1 of the stock daemon,
// with managed and unmanaged bridges, the loopback and veth interfaces) as the stock client printed it.
func TestNetworkListStockGolden(t *testing.T) {
	var networks []api.Network
	loadTestJSON(t, "networks.json", &networks)
	for _, format := range []string{formatTable, formatCompact, formatCSV, formatJSON, formatYAML} {
		t.Run(format, func(t *testing.T) {
			header, rows := networkTable(networks)
			var out bytes.Buffer
			err := renderList(&out, format, header, rows, networks)
			if err != nil {
				t.Fatal(err)
			}

			assertGolden(t, "stock-network-list."+format, out.String())
		})
	}
}

func TestNetworkShowStockGolden(t *testing.T) {
	var networks []api.Network
	loadTestJSON(t, "networks.json", &networks)
	for _, name := range []string{"br0", "br10", "lo"} {
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(networks, func(n api.Network) bool { return n.Name == name })
			if i < 0 {
				t.Fatalf("no %s in networks.json", name)
			}

			out, err := networkShowYAML(&networks[i])
			if err != nil {
				t.Fatal(err)
			}

			assertGolden(t, "stock-network-show-"+name+".yaml", string(out))
		})
	}
}

// TestNetworkInfoStockGolden renders testdata/network-state.json (the state of a managed bridge with traffic and a
// port, of an unmanaged bridge that is down and of the loopback) as the stock client printed it.
func TestNetworkInfoStockGolden(t *testing.T) {
	states := map[string]api.NetworkState{}
	loadTestJSON(t, "network-state.json", &states)
	for _, name := range []string{"br2", "ubr0", "lo"} {
		t.Run(name, func(t *testing.T) {
			st := states[name]
			var out bytes.Buffer
			renderNetworkState(&out, name, &st)
			assertGolden(t, "stock-network-info-"+name+".txt", out.String())
		})
	}
}

// TestNetworkInfoSections checks the bond, VLAN and OVN sections, which the test host cannot produce for the stock
// daemon, in the stock client's layout.
func TestNetworkInfoSections(t *testing.T) {
	st := &api.NetworkState{
		Hwaddr: "00:16:3e:00:00:01", Mtu: 9000, State: "up", Type: "broadcast",
		Counters: api.NetworkStateCounters{BytesReceived: 999, BytesSent: 2500000000, PacketsReceived: 3, PacketsSent: 4},
		Bond: &api.NetworkStateBond{Mode: "802.3ad", TransmitPolicy: "layer3+4", UpDelay: 1, DownDelay: 2,
			MIIFrequency: 100, MIIState: "up", LowerDevices: []string{"eth0", "eth1"}},
		VLAN: &api.NetworkStateVLAN{LowerDevice: "bond0", VID: 100},
		OVN:  &api.NetworkStateOVN{Chassis: "m1"},
	}

	want := `Name: bond0.100
MAC address: 00:16:3e:00:00:01
MTU: 9000
State: up
Type: broadcast

Network usage:
  Bytes received: 999B
  Bytes sent: 2.50GB
  Packets received: 3
  Packets sent: 4

Bond:
  Mode: 802.3ad
  Transmit policy: layer3+4
  Up delay: 1
  Down delay: 2
  MII Frequency: 100
  MII state: up
  Lower devices: eth0, eth1

VLAN:
  Lower device: bond0
  VLAN ID: 100

OVN:
  Chassis: m1
`
	var out bytes.Buffer
	renderNetworkState(&out, "bond0.100", st)
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNetworkListLeasesStockGolden(t *testing.T) {
	var leases []api.NetworkLease
	loadTestJSON(t, "network-leases.json", &leases)
	for _, format := range []string{formatTable, formatCompact, formatCSV, formatJSON, formatYAML} {
		t.Run(format, func(t *testing.T) {
			header, rows := leaseTable(leases, false)
			var out bytes.Buffer
			err := renderList(&out, format, header, rows, leases)
			if err != nil {
				t.Fatal(err)
			}

			assertGolden(t, "stock-network-list-leases."+format, out.String())
		})
	}

	header, rows := leaseTable(leases, true)
	if header[len(header)-1] != "LOCATION" || rows[len(rows)-1][4] != "none" {
		t.Fatalf("got %v %v, want a LOCATION column on a cluster", header, rows)
	}
}

func TestNetworkNIC(t *testing.T) {
	managed := &api.Network{Name: "br0", Type: "bridge", Managed: true}
	bridge := &api.Network{Name: "ubr0", Type: "bridge"}
	physical := &api.Network{Name: "eth0", Type: "physical"}
	tests := []struct {
		n     *api.Network
		byKey bool
		iface string
		want  map[string]string
	}{
		{managed, true, "", map[string]string{"type": "nic", "network": "br0"}},
		{managed, true, "eth1", map[string]string{"type": "nic", "network": "br0", "name": "eth1"}},
		{managed, false, "", map[string]string{"type": "nic", "nictype": "bridged", "parent": "br0"}},
		{bridge, true, "", map[string]string{"type": "nic", "nictype": "bridged", "parent": "ubr0"}},
		{physical, true, "e", map[string]string{"type": "nic", "nictype": "macvlan", "parent": "eth0", "name": "e"}},
	}

	for _, tt := range tests {
		got := networkNIC(tt.n, tt.byKey, tt.iface)
		if !mapsEqual(got, tt.want) {
			t.Errorf("networkNIC(%s, %v, %q): got %v, want %v", tt.n.Name, tt.byKey, tt.iface, got, tt.want)
		}
	}
}

func mapsEqual(a map[string]string, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}

	for k, v := range a {
		w, ok := b[k]
		if !ok || w != v {
			return false
		}
	}

	return true
}

func TestDetachDevice(t *testing.T) {
	devices := map[string]map[string]string{
		"eth0": {"type": "nic", "network": "br0"},
		"eth1": {"type": "nic", "nictype": "bridged", "parent": "ubr0"},
		"eth2": {"type": "nic", "nictype": "bridged", "parent": "br1"},
		"eth3": {"type": "nic", "network": "br1"},
		"root": {"type": "disk", "path": "/", "pool": "default"},
	}

	tests := []struct {
		network string
		args    []string
		want    string
		errText string
	}{
		{"br0", nil, "eth0", ""},
		{"ubr0", nil, "eth1", ""},
		{"br0", []string{"eth0"}, "eth0", ""},
		{"br1", nil, "", "more than one device matches, specify the device name"},
		{"br1", []string{"eth3"}, "eth3", ""},
		{"br2", nil, "", "no device found for this network"},
		{"br0", []string{"eth1"}, "", "the specified device doesn't match the network"},
		{"br0", []string{"root"}, "", "the specified device doesn't match the network"},
		{"br0", []string{"nope"}, "", "the specified device doesn't exist"},
	}

	for _, tt := range tests {
		got, err := detachDevice(devices, tt.network, tt.args)
		if tt.errText != "" {
			if err == nil || err.Error() != tt.errText {
				t.Errorf("detachDevice(%s, %v): got %q, %v, want error %q", tt.network, tt.args, got, err, tt.errText)
			}

			continue
		}

		if err != nil || got != tt.want {
			t.Errorf("detachDevice(%s, %v): got %q, %v, want %q", tt.network, tt.args, got, err, tt.want)
		}
	}
}

func TestNetworkTableSkipsLoopback(t *testing.T) {
	networks := []api.Network{
		{Name: "lo", Type: "loopback"}, {Name: "veth1", Type: "unknown"},
		{Name: "eth0", Type: "physical", UsedBy: []string{"/1.0/instances/c1"}},
		{Name: "br0", Type: "bridge", Managed: true, Status: "Created", NetworkPut: api.NetworkPut{Description: "d",
			Config: map[string]string{"ipv4.address": "10.0.0.1/24", "ipv6.address": "none"}}},
	}

	_, rows := networkTable(networks)
	got := make([]string, 0, len(rows))
	for _, r := range rows {
		got = append(got, strings.Join(r, ","))
	}

	want := []string{"br0,bridge,YES,10.0.0.1/24,none,d,0,CREATED", "eth0,physical,NO,,,,1,"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
