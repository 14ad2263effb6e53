package resources

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// fakeEthtool answers for eno1 (a 1Gbit/s twisted pair port) and fails for anything else, as the ioctl does for
// drivers without ethtool support.
func fakeEthtool(iface string) (*EthtoolInfo, error) {
	if iface != "eno1" {
		return nil, errors.New("operation not supported")
	}

	return &EthtoolInfo{HasSettings: true, Supported: 1<<0 | 1<<5 | 1<<7, Speed: 1000, Duplex: "full", Port: 0,
		Transceiver: 0, Autoneg: true, FirmwareVersion: "1.63"}, nil
}

// fullFixture is a host with every kind of device.
func fullFixture(t *testing.T) *Reader {
	f := newFixture(t)
	f.cpu()
	f.memory()
	f.devices()
	return &Reader{Root: f.root, Architecture: "x86_64", Ethtool: fakeEthtool}
}

// sameJSON fails the test when got and want do not encode the same.
func sameJSON(t *testing.T, got any, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if string(g) != string(w) {
		t.Fatalf("got:\n%s\nwant:\n%s", g, w)
	}
}

func TestCPU(t *testing.T) {
	got, err := fullFixture(t).CPU()
	if err != nil {
		t.Fatal(err)
	}

	want := &api.ResourcesCPU{Architecture: "x86_64", Total: 4, Sockets: []api.ResourcesCPUSocket{
		{Name: "Test CPU A", Vendor: "GenuineIntel", Socket: 0, Frequency: 2500, FrequencyMinimum: 800, FrequencyTurbo: 3500,
			Cache: []api.ResourcesCPUCache{{Level: 1, Type: "Data", Size: 49152}, {Level: 1, Type: "Instruction", Size: 32768},
				{Level: 2, Type: "Unified", Size: 1310720}, {Level: 3, Type: "Unified", Size: 31457280}},
			Cores: []api.ResourcesCPUCore{
				{Core: 0, Frequency: 2000, Threads: []api.ResourcesCPUThread{{ID: 0, Thread: 0, Online: true},
					{ID: 2, Thread: 1, Online: true, Isolated: true}}},
				{Core: 1, Frequency: 3000, Threads: []api.ResourcesCPUThread{{ID: 1, Thread: 0, Online: true}}},
			}},
		{Name: "Test CPU B", Vendor: "AuthenticAMD", Socket: 1, Cores: []api.ResourcesCPUCore{
			{Core: 5, Threads: []api.ResourcesCPUThread{{ID: 3, NUMANode: 1, Thread: 0, Online: false}}}}},
	}}
	sameJSON(t, got, want)
}

func TestMemory(t *testing.T) {
	got, err := fullFixture(t).Memory()
	if err != nil {
		t.Fatal(err)
	}

	const block = 128 << 20
	want := &api.ResourcesMemory{
		Total: 64 * block, Used: 64*block - (4000000+100000+900000)*1024,
		HugepagesSize: 2 << 20, HugepagesTotal: 10 * 2 << 20, HugepagesUsed: 6 * 2 << 20,
		Nodes: []api.ResourcesMemoryNode{
			{NUMANode: 0, Total: 32 * block, Used: 1000000 * 1024, HugepagesTotal: 6 * 2 << 20, HugepagesUsed: 4 * 2 << 20},
			{NUMANode: 1, Total: 2000000 * 1024, Used: 500000 * 1024},
		},
	}
	sameJSON(t, got, want)
}

func TestMemoryWithoutHotplugBlocks(t *testing.T) {
	f := newFixture(t)
	f.file("proc/meminfo", "MemTotal:  1000 kB\nMemFree:  100 kB\nBuffers:  50 kB\nCached:  50 kB\n")
	got, err := (&Reader{Root: f.root}).Memory()
	if err != nil {
		t.Fatal(err)
	}

	sameJSON(t, got, &api.ResourcesMemory{Total: 1000 * 1024, Used: 800 * 1024})
	_, err = (&Reader{Root: t.TempDir()}).Memory()
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v without /proc/meminfo, want a not-exist error", err)
	}
}

func TestNetwork(t *testing.T) {
	got, err := fullFixture(t).Network()
	if err != nil {
		t.Fatal(err)
	}

	want := &api.ResourcesNetwork{Total: 1, Cards: []api.ResourcesNetworkCard{{
		NUMANode: 1, PCIAddress: "0000:00:03.0", VendorID: "8086", ProductID: "1521", Driver: "igb",
		Vendor: "Intel Corporation", Product: "I350 Gigabit Network Connection",
		DriverVersion: "5.6.0-k", FirmwareVersion: "1.63",
		Ports: []api.ResourcesNetworkCardPort{
			{ID: "eno1", Address: "00:25:90:aa:bb:01", Port: 0, Protocol: "ethernet",
				SupportedModes: []string{"10baseT/Half", "1000baseT/Full"}, SupportedPorts: []string{"twisted pair"},
				PortType: "twisted pair", TransceiverType: "internal", AutoNegotiation: true, LinkDetected: true,
				LinkSpeed: 1000, LinkDuplex: "full"},
			{ID: "eno2", Address: "00:25:90:aa:bb:02", Port: 1, Protocol: "ethernet"},
		},
	}}}
	sameJSON(t, got, want)
}

// TestNetworkCardWithoutInterfaces checks that a network controller whose interfaces live in another network
// namespace is still listed, without ports, as LXD lists it.
func TestNetworkCardWithoutInterfaces(t *testing.T) {
	r := fullFixture(t)
	for _, name := range []string{"eno1", "eno2"} {
		err := os.Remove(filepath.Join(r.Root, "sys/class/net", name))
		if err != nil {
			t.Fatal(err)
		}
	}

	got, err := r.Network()
	if err != nil {
		t.Fatal(err)
	}

	want := &api.ResourcesNetwork{Total: 1, Cards: []api.ResourcesNetworkCard{{
		NUMANode: 1, PCIAddress: "0000:00:03.0", VendorID: "8086", ProductID: "1521", Driver: "igb",
		Vendor: "Intel Corporation", Product: "I350 Gigabit Network Connection", DriverVersion: "5.6.0-k",
	}}}
	sameJSON(t, got, want)
}

func TestStorage(t *testing.T) {
	got, err := fullFixture(t).Storage()
	if err != nil {
		t.Fatal(err)
	}

	want := &api.ResourcesStorage{Total: 1, Disks: []api.ResourcesStorageDisk{{
		ID: "nvme0n1", Device: "259:0", Model: "Test NVMe", Type: "nvme", Size: 1 << 30, WWN: "eui.0025385b71b0e8a4",
		DevicePath: "pci-0000:00:04.0-nvme-1", BlockSize: 512, FirmwareVersion: "1B2QEXM7", Serial: "SN123",
		DeviceID: "nvme-Test_SN123", PCIAddress: "0000:00:04.0",
		Partitions: []api.ResourcesStorageDiskPartition{{ID: "nvme0n1p1", Device: "259:1", ReadOnly: true, Size: 1 << 20,
			Partition: 1}},
	}}}
	sameJSON(t, got, want)
}

func TestGPUUSBPCI(t *testing.T) {
	r := fullFixture(t)
	gpu, err := r.GPU()
	if err != nil {
		t.Fatal(err)
	}

	sameJSON(t, gpu, &api.ResourcesGPU{Total: 1, Cards: []api.ResourcesGPUCard{{
		PCIAddress: "0000:00:02.0", VendorID: "8086", ProductID: "1912", Driver: "i915", DriverVersion: "6.1.0-test",
		Vendor: "Intel Corporation", Product: "HD Graphics 530",
		DRM: &api.ResourcesGPUCardDRM{ID: 0, CardName: "card0", CardDevice: "226:0", RenderName: "renderD128",
			RenderDevice: "226:128"},
	}}})

	usb, err := r.USB()
	if err != nil {
		t.Fatal(err)
	}

	sameJSON(t, usb, &api.ResourcesUSB{Total: 1, Devices: []api.ResourcesUSBDevice{{
		BusAddress: 1, DeviceAddress: 3, Vendor: "Logitech", VendorID: "046d", Product: "USB Receiver", ProductID: "c52b",
		Speed: 12, Interfaces: []api.ResourcesUSBDeviceInterface{{ClassID: 3, SubClassID: 1, Number: 0, Driver: "usbhid",
			DriverVersion: "6.1.0-test"}},
	}}})

	pci, err := r.PCI()
	if err != nil {
		t.Fatal(err)
	}

	sameJSON(t, pci, &api.ResourcesPCI{Total: 3, Devices: []api.ResourcesPCIDevice{
		{PCIAddress: "0000:00:02.0", VendorID: "8086", ProductID: "1912", Driver: "i915", DriverVersion: "6.1.0-test",
			Vendor: "Intel Corporation", Product: "HD Graphics 530"},
		{PCIAddress: "0000:00:03.0", VendorID: "8086", ProductID: "1521", Driver: "igb", DriverVersion: "5.6.0-k",
			NUMANode: 1, IOMMUGroup: 7, Vendor: "Intel Corporation", Product: "I350 Gigabit Network Connection"},
		{PCIAddress: "0000:00:04.0", VendorID: "144d", ProductID: "a808", Vendor: "Samsung Electronics Co Ltd"},
	}})
}

func TestSystem(t *testing.T) {
	got := fullFixture(t).System()
	sameJSON(t, got, &api.ResourcesSystem{UUID: "4c4c4544-0044", Vendor: "Dell Inc.", Product: "PowerEdge R640",
		Type:        "virtual-machine",
		Firmware:    &api.ResourcesSystemFirmware{Vendor: "Dell Inc.", Date: "07/22/2022", Version: "2.15.1"},
		Chassis:     &api.ResourcesSystemChassis{Vendor: "Dell Inc.", Type: "Rack Mount Chassis"},
		Motherboard: &api.ResourcesSystemMotherboard{Vendor: "Dell Inc.", Product: "0W23H8"},
	})

	tests := []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{"docker", func(f *fixture) { f.file(".dockerenv", "") }, "container"},
		{"systemd container", func(f *fixture) { f.file("run/systemd/container", "lxc\n") }, "container"},
		{"pid 1 environment", func(f *fixture) { f.file("proc/1/environ", "PATH=/bin\x00container=lxc\x00") }, "container"},
		{"xen", func(f *fixture) { f.file("sys/hypervisor/type", "xen\n") }, "virtual-machine"},
		{"physical", func(f *fixture) { f.file("proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme\n") }, "physical"},
		{"nothing readable", func(f *fixture) {}, "unknown"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			got := (&Reader{Root: f.root}).System()
			if got.Type != tt.want || got.Firmware != nil || got.Chassis != nil || got.Motherboard != nil {
				t.Fatalf("got %+v, want type %q and no DMI sections", got, tt.want)
			}
		})
	}
}

func TestGetEmptyRoot(t *testing.T) {
	f := newFixture(t)
	f.file("proc/meminfo", "MemTotal:  1000 kB\nMemFree:  1000 kB\n")
	got, err := (&Reader{Root: f.root, Architecture: "aarch64"}).Get()
	if err != nil {
		t.Fatal(err)
	}

	raw, _ := json.Marshal(got)
	want := `{"cpu":{"architecture":"aarch64","sockets":[],"total":0},"memory":{"hugepages_total":0,"hugepages_used":0,` +
		`"hugepages_size":0,"used":0,"total":1024000},"gpu":{"cards":[],"total":0},"network":{"cards":[],"total":0},` +
		`"storage":{"disks":[],"total":0},"usb":{"devices":[],"total":0},"pci":{"devices":[],"total":0},` +
		`"system":{"uuid":"","vendor":"","product":"","family":"","version":"","sku":"","serial":"","type":"unknown",` +
		`"firmware":null,"chassis":null,"motherboard":null}}`
	if string(raw) != want {
		t.Fatalf("got %s\nwant %s", raw, want)
	}
}

func TestParsers(t *testing.T) {
	list, err := parseCPUList("0-2,5,7-8\n")
	if err != nil || !reflect.DeepEqual(list, map[int64]bool{0: true, 1: true, 2: true, 5: true, 7: true, 8: true}) {
		t.Fatalf("parseCPUList: got %v, %v", list, err)
	}

	for _, bad := range []string{"a", "1-b", "1,,2"} {
		_, err = parseCPUList(bad)
		if err == nil {
			t.Errorf("parseCPUList(%q) accepted", bad)
		}
	}

	sizes := map[string]uint64{"48K": 49152, "32M": 32 << 20, "1G": 1 << 30, "512": 512}
	for in, want := range sizes {
		got, err := parseCacheSize(in)
		if err != nil || got != want {
			t.Errorf("parseCacheSize(%q): got %d, %v, want %d", in, got, err, want)
		}
	}

	_, err = parseCacheSize("12X")
	if err == nil {
		t.Error("parseCacheSize accepted 12X")
	}
}

// TestHost reads the machine the test runs on and checks what the kernel reports elsewhere.
func TestHost(t *testing.T) {
	res, err := Host().Get()
	if err != nil {
		t.Fatal(err)
	}

	cpus, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*")
	if res.CPU.Total != uint64(len(cpus)) || res.CPU.Total < uint64(runtime.NumCPU()) {
		t.Fatalf("got %d cpu threads, sysfs lists %d and the runtime sees %d", res.CPU.Total, len(cpus), runtime.NumCPU())
	}

	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}

	fields := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0])
	memTotal, _ := strconv.ParseUint(fields[1], 10, 64)
	if res.Memory.Total < memTotal*1024 || res.Memory.Used > res.Memory.Total {
		t.Fatalf("got memory total %d used %d, MemTotal is %d kB", res.Memory.Total, res.Memory.Used, memTotal)
	}
}
