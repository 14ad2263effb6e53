package instance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// fakeNetworks has one managed network, n1 on bridge br-n1 with an MTU of 1450, whose address 10.0.0.99 is taken.
type fakeNetworks struct {
	mu       sync.Mutex
	attached map[string]NIC
	detached []string
}

func (f *fakeNetworks) AttachNIC(ctx context.Context, nic NIC) (NetworkPort, error) {
	if nic.Network != "n1" {
		return NetworkPort{}, errs.NotFound("network %q not found", nic.Network)
	}

	if nic.IPv4 == "10.0.0.99" {
		return NetworkPort{}, errs.Conflict("address 10.0.0.99 is taken")
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.attached[nic.Instance+"/"+nic.Device] = nic
	return NetworkPort{Bridge: "br-n1", MTU: 1450}, nil
}

func (f *fakeNetworks) DetachNIC(ctx context.Context, network string, instance string, device string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.attached, instance+"/"+device)
	f.detached = append(f.detached, network+"/"+instance+"/"+device)
	return nil
}

func (f *fakeNetworks) entry(key string) (NIC, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nic, ok := f.attached[key]
	return nic, ok
}

func TestManagerNICs(t *testing.T) {
	m, drv := testManager(t)
	nets := &fakeNetworks{attached: map[string]NIC{}}
	m.networks = nets
	ctx := context.Background()
	managed := map[string]string{"type": "nic", "network": "n1", "ipv4.address": "10.0.0.5"}
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}, Devices: map[string]map[string]string{"eth0": managed}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	inst, err := m.load(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	hw := inst.Config["volatile.eth0.hwaddr"]
	nic, ok := nets.entry("c1/eth0")
	if !ok || hw == "" || nic.HWAddr != hw || nic.IPv4 != "10.0.0.5" || nic.Network != "n1" {
		t.Fatalf("got entry %+v (%v) and volatile hwaddr %q, want the nic attached at creation with its MAC address", nic, ok, hw)
	}

	err = m.Start(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	drv.mu.Lock()
	dev := drv.specs["c1"].Devices["eth0"]
	drv.mu.Unlock()
	if dev["nictype"] != NICBridged || dev["parent"] != "br-n1" || dev["mtu"] != "1450" || dev["hwaddr"] != hw || !strings.HasPrefix(dev["host_name"], "veth") {
		t.Fatalf("got %v, want the nic resolved on the network's bridge", dev)
	}

	inst, _ = m.load(ctx, "c1")
	if inst.Config["volatile.eth0.host_name"] != dev["host_name"] {
		t.Fatalf("got %v, want volatile.eth0.host_name %q while running", inst.Config, dev["host_name"])
	}

	err = m.Stop(ctx, "c1", 0, true)
	if err != nil {
		t.Fatal(err)
	}

	inst, _ = m.load(ctx, "c1")
	if inst.Config["volatile.eth0.host_name"] != "" || inst.Config["volatile.eth0.hwaddr"] != hw {
		t.Fatalf("got %v, want no host_name after stop and the same hwaddr", inst.Config)
	}

	// A nic added to the stopped instance gets its MAC address; one removed is detached and loses its keys.
	put := api.InstancePut{Profiles: []string{"default"}, Config: inst.Config, Devices: map[string]map[string]string{
		"eth1": {"type": "nic", "nictype": "p2p"}}}
	err = m.Update(ctx, "c1", put)
	if err != nil {
		t.Fatal(err)
	}

	inst, _ = m.load(ctx, "c1")
	if inst.Config["volatile.eth1.hwaddr"] == "" || inst.Config["volatile.eth0.hwaddr"] != "" {
		t.Fatalf("got %v, want volatile keys for eth1 only", inst.Config)
	}

	_, ok = nets.entry("c1/eth0")
	if ok || len(nets.detached) != 1 || nets.detached[0] != "n1/c1/eth0" {
		t.Fatalf("got detached %v, want eth0 detached from n1", nets.detached)
	}

	// A taken address is refused and changes nothing.
	bad := api.InstancePut{Profiles: []string{"default"}, Config: inst.Config, Devices: map[string]map[string]string{
		"eth1": {"type": "nic", "nictype": "p2p"}, "eth2": {"type": "nic", "network": "n1", "ipv4.address": "10.0.0.99"}}}
	err = m.Update(ctx, "c1", bad)
	if !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), `device validation failed for "eth2"`) {
		t.Fatalf("got %v, want the network's conflict for eth2", err)
	}

	after, _ := m.load(ctx, "c1")
	if after.Devices["eth2"] != nil || after.Config["volatile.eth2.hwaddr"] != "" {
		t.Fatalf("got %v %v, want nothing changed", after.Devices, after.Config)
	}

	err = m.Delete(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
}

func TestManagerNICsRefused(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		networks Networks
		dev      map[string]string
		want     string
	}{
		{"no managed networks", nil, map[string]string{"type": "nic", "network": "n1"}, `network "n1": this server has no managed networks`},
		{"unknown network", &fakeNetworks{attached: map[string]NIC{}}, map[string]string{"type": "nic", "network": "nope"},
			`failed to load network "nope" for project "default": network not found`},
		{"address on an unmanaged bridge", nil, map[string]string{"type": "nic", "nictype": "bridged", "parent": "br0", "ipv4.address": "10.0.0.2"},
			"cannot use manually specified ipv4.address when using unmanaged parent bridge"},
		{"address on a bridge that is no network", &fakeNetworks{attached: map[string]NIC{}},
			map[string]string{"type": "nic", "nictype": "bridged", "parent": "br0", "ipv6.address": "fd00::2"},
			"cannot use manually specified ipv6.address when using unmanaged parent bridge"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.networks = tt.networks
			err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}, Devices: map[string]map[string]string{"eth0": tt.dev}}, nil)
			if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an invalid-class error containing %q", err, tt.want)
			}

			err = m.Exists(ctx, "c1")
			if !errors.Is(err, errs.ErrNotFound) {
				t.Fatalf("got %v, want no instance left", err)
			}
		})
	}
}

func TestManagerNICsRenameCopy(t *testing.T) {
	m, _ := testManager(t)
	nets := &fakeNetworks{attached: map[string]NIC{}}
	m.networks = nets
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}, Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "network": "n1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	err = m.Rename(ctx, "c1", "c2")
	if err != nil {
		t.Fatal(err)
	}

	_, old := nets.entry("c1/eth0")
	nic, ok := nets.entry("c2/eth0")
	inst, _ := m.load(ctx, "c2")
	if old || !ok || nic.HWAddr == "" || nic.HWAddr != inst.Config["volatile.eth0.hwaddr"] {
		t.Fatalf("got entries c1 %v, c2 %+v (%v), want the entry moved to c2 with the same MAC address", old, nic, ok)
	}

	err = m.Copy(ctx, CopyArgs{Source: "c2", Name: "c3"})
	if err != nil {
		t.Fatal(err)
	}

	cp, ok := nets.entry("c3/eth0")
	inst, _ = m.load(ctx, "c3")
	if !ok || cp.HWAddr == nic.HWAddr || cp.HWAddr != inst.Config["volatile.eth0.hwaddr"] {
		t.Fatalf("got %+v (%v) for the copy, want its own MAC address attached", cp, ok)
	}
}

func TestManagerNICsUnfinishedCreation(t *testing.T) {
	m, _ := testManager(t)
	nets := &fakeNetworks{attached: map[string]NIC{}}
	m.networks = nets
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}, Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "network": "n1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// A creation cut short: the row and the DHCP host entry exist, the storage does not.
	err = m.pool.DeleteContainer("c1")
	if err != nil {
		t.Fatal(err)
	}

	err = m.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	_, ok := nets.entry("c1/eth0")
	if ok || m.Exists(ctx, "c1") == nil {
		t.Fatalf("got entry %v, detached %v, want the instance and its DHCP host entry removed", ok, nets.detached)
	}
}

func TestManagerNICsUpdateUndone(t *testing.T) {
	m, _ := testManager(t)
	nets := &fakeNetworks{attached: map[string]NIC{}}
	m.networks = nets
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}, Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "network": "n1", "ipv4.address": "10.0.0.5"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	inst, _ := m.load(ctx, "c1")
	put := api.InstancePut{Profiles: []string{"default"}, Config: inst.Config, Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "network": "n1", "ipv4.address": "10.0.0.6"},
		"eth1": {"type": "nic", "network": "n1", "ipv4.address": "10.0.0.99"}}}
	err = m.Update(ctx, "c1", put)
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("got %v, want the conflict of eth1", err)
	}

	nic, ok := nets.entry("c1/eth0")
	_, added := nets.entry("c1/eth1")
	if !ok || nic.IPv4 != "10.0.0.5" || added {
		t.Fatalf("got eth0 %+v (%v), eth1 %v, want eth0's entry back as it was and none for eth1", nic, ok, added)
	}
}

func TestManagerNICsSameName(t *testing.T) {
	m, _ := testManager(t)
	ctx := context.Background()
	err := m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	inst, _ := m.load(ctx, "c1")
	put := api.InstancePut{Profiles: []string{"default"}, Config: inst.Config, Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "nictype": "p2p"}, "net1": {"type": "nic", "nictype": "p2p", "name": "eth0"}}}
	err = m.Update(ctx, "c1", put)
	if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), `devices "eth0" and "net1" both name the interface "eth0"`) {
		t.Fatalf("got %v, want the clash refused", err)
	}
}

func TestManagerNICsProfileStopped(t *testing.T) {
	m, _ := testManager(t)
	nets := &fakeNetworks{attached: map[string]NIC{}}
	m.networks = nets
	ctx := context.Background()
	p1 := db.Profile{Name: "p1", Config: map[string]string{}, Devices: map[string]map[string]string{
		"eth0": {"type": "nic", "network": "n1", "ipv4.address": "10.0.0.8"}}}
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateProfile(ctx, p1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	err = m.Create(ctx, CreateArgs{Name: "c1", Profiles: []string{"default", "p1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	_, ok := nets.entry("c1/eth0")
	if !ok {
		t.Fatal("got no entry for the profile's nic, want it attached at creation")
	}

	// The profile's nic goes while the instance is stopped: it leaves its network.
	err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateProfile(ctx, "p1", db.Profile{Name: "p1", Config: map[string]string{}, Devices: map[string]map[string]string{}})
	})
	if err != nil {
		t.Fatal(err)
	}

	err = m.ProfileUpdated(ctx, Profile{Name: p1.Name, Config: p1.Config, Devices: p1.Devices})
	if err != nil {
		t.Fatal(err)
	}

	_, ok = nets.entry("c1/eth0")
	if ok {
		t.Fatalf("got the entry still there (detached %v), want it gone with the profile's nic", nets.detached)
	}
}
