package resources

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fixture builds a fake host root in a temporary directory: files (path → content) and symlinks (path → target,
// relative targets as sysfs has them).
type fixture struct {
	t    *testing.T
	root string
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, root: t.TempDir()}
}

// file writes one file below the root.
func (f *fixture) file(path string, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, path)
	err := os.MkdirAll(filepath.Dir(p), 0o755)
	if err != nil {
		f.t.Fatal(err)
	}

	err = os.WriteFile(p, []byte(content), 0o644)
	if err != nil {
		f.t.Fatal(err)
	}
}

// files writes several files in one directory.
func (f *fixture) files(dir string, files map[string]string) {
	f.t.Helper()
	for name, content := range files {
		f.file(filepath.Join(dir, name), content)
	}
}

// link creates a symlink below the root.
func (f *fixture) link(path string, target string) {
	f.t.Helper()
	p := filepath.Join(f.root, path)
	err := os.MkdirAll(filepath.Dir(p), 0o755)
	if err != nil {
		f.t.Fatal(err)
	}

	err = os.Symlink(target, p)
	if err != nil {
		f.t.Fatal(err)
	}
}

// dir creates a directory below the root.
func (f *fixture) dir(path string) {
	f.t.Helper()
	err := os.MkdirAll(filepath.Join(f.root, path), 0o755)
	if err != nil {
		f.t.Fatal(err)
	}
}

const fixtureCPUInfo = `processor	: 0
vendor_id	: GenuineIntel
model name	: Test CPU A
physical id	: 0
cpu MHz		: 2599.998
flags		: fpu vme hypervisor

processor	: 3
vendor_id	: AuthenticAMD
model name	: Test CPU B
physical id	: 1
flags		: fpu vme hypervisor
`

// cpuFixture lays out four CPUs: socket 0 has core 0 (cpu0, cpu2) and core 1 (cpu1); socket 1 has core 5 (cpu3,
// offline, on NUMA node 1). cpu2 is isolated; cpu0 and cpu1 have cpufreq.
func (f *fixture) cpu() {
	sys := "sys/devices/system/cpu"
	f.files(sys, map[string]string{"online": "0-2\n", "isolated": "2\n", "possible": "0-3\n"})
	topo := []struct{ socket, core, node int }{{0, 0, 0}, {0, 1, 0}, {0, 0, 0}, {1, 5, 1}}
	for id, tp := range topo {
		d := filepath.Join(sys, "cpu"+strconv.Itoa(id))
		f.files(filepath.Join(d, "topology"), map[string]string{"physical_package_id": strconv.Itoa(tp.socket) + "\n",
			"core_id": strconv.Itoa(tp.core) + "\n", "die_id": "0\n"})
		f.link(filepath.Join(d, "node"+strconv.Itoa(tp.node)), "../../node/node"+strconv.Itoa(tp.node))
	}

	f.files(sys+"/cpu0/cpufreq", map[string]string{"scaling_cur_freq": "2000000\n", "cpuinfo_min_freq": "800000\n",
		"cpuinfo_max_freq": "3500000\n"})
	f.files(sys+"/cpu1/cpufreq", map[string]string{"scaling_cur_freq": "3000000\n", "cpuinfo_min_freq": "800000\n",
		"cpuinfo_max_freq": "3500000\n"})
	caches := []struct{ level, typ, size string }{{"1", "Data", "48K"}, {"1", "Instruction", "32K"},
		{"2", "Unified", "1280K"}, {"3", "Unified", "30M"}}
	for i, c := range caches {
		f.files(sys+"/cpu0/cache/index"+strconv.Itoa(i), map[string]string{"level": c.level + "\n", "type": c.typ + "\n",
			"size": c.size + "\n"})
	}

	f.file("proc/cpuinfo", fixtureCPUInfo)
}

// memory lays out 8GiB of 128MiB blocks (64 online, one offline), node0 holding blocks 0-31 and node1 listing none.
func (f *fixture) memory() {
	f.file("proc/meminfo", "MemTotal:        8000000 kB\nMemFree:         4000000 kB\nMemAvailable:    5000000 kB\n"+
		"Buffers:          100000 kB\nCached:           900000 kB\nHugePages_Total:      10\nHugePages_Free:        4\n"+
		"Hugepagesize:       2048 kB\n")
	mem := "sys/devices/system/memory"
	f.file(mem+"/block_size_bytes", "8000000\n")
	for i := 0; i <= 64; i++ {
		online := "1\n"
		if i == 64 {
			online = "0\n"
		}

		f.file(mem+"/memory"+strconv.Itoa(i)+"/online", online)
		if i < 32 {
			f.link("sys/devices/system/node/node0/memory"+strconv.Itoa(i), "../../memory/memory"+strconv.Itoa(i))
		}
	}

	f.file("sys/devices/system/node/node0/meminfo", "Node 0 MemTotal:  4000000 kB\nNode 0 MemFree:   3000000 kB\n"+
		"Node 0 MemUsed:   1000000 kB\n")
	f.files("sys/devices/system/node/node0/hugepages/hugepages-2048kB", map[string]string{"nr_hugepages": "6\n",
		"free_hugepages": "2\n"})
	f.file("sys/devices/system/node/node1/meminfo", "Node 1 MemTotal:  2000000 kB\nNode 1 MemUsed:    500000 kB\n")
}

// devices lays out a NIC with two ports, a virtual interface, an NVMe disk with a partition, a loop device, a GPU,
// a USB mouse, the PCI devices and DMI.
func (f *fixture) devices() {
	f.file("proc/sys/kernel/osrelease", "6.1.0-test\n")
	pci := "sys/devices/pci0000:00"
	f.files(pci+"/0000:00:03.0", map[string]string{"vendor": "0x8086\n", "device": "0x1521\n", "numa_node": "1\n",
		"class": "0x020000\n"})
	f.link(pci+"/0000:00:03.0/driver", "../../../bus/pci/drivers/igb")
	f.link("sys/bus/pci/drivers/igb/module", "../../../../module/igb")
	f.file("sys/module/igb/version", "5.6.0-k\n")
	f.link(pci+"/0000:00:03.0/iommu_group", "../../../kernel/iommu_groups/7")
	for i, name := range []string{"eno1", "eno2"} {
		d := pci + "/0000:00:03.0/net/" + name
		f.files(d, map[string]string{"address": "00:25:90:aa:bb:0" + strconv.Itoa(i+1) + "\n",
			"dev_port": strconv.Itoa(i) + "\n", "type": "1\n", "carrier": strconv.Itoa(1-i) + "\n"})
		f.link(d+"/device", "../../../0000:00:03.0")
		f.link("sys/class/net/"+name, "../../devices/pci0000:00/0000:00:03.0/net/"+name)
	}

	f.files("sys/devices/virtual/net/lo", map[string]string{"address": "00:00:00:00:00:00\n", "type": "772\n"})
	f.link("sys/class/net/lo", "../../devices/virtual/net/lo")

	nvme := pci + "/0000:00:04.0/nvme/nvme0"
	f.files(pci+"/0000:00:04.0", map[string]string{"vendor": "0x144d\n", "device": "0xa808\n", "numa_node": "-1\n"})
	f.files(nvme, map[string]string{"model": "Test NVMe   \n", "wwid": "eui.0025385b71b0e8a4\n"})
	f.files(nvme+"/nvme0n1", map[string]string{"dev": "259:0\n", "size": "2097152\n", "ro": "0\n", "removable": "0\n",
		"queue/rotational": "0\n", "queue/physical_block_size": "512\n"})
	f.link(nvme+"/nvme0n1/device", "../../nvme0")
	f.files(nvme+"/nvme0n1/nvme0n1p1", map[string]string{"dev": "259:1\n", "size": "2048\n", "ro": "1\n", "partition": "1\n"})
	f.link("sys/block/nvme0n1", "../devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1")
	f.files("sys/devices/virtual/block/loop0", map[string]string{"dev": "7:0\n", "size": "0\n"})
	f.link("sys/block/loop0", "../devices/virtual/block/loop0")
	f.file("run/udev/data/b259:0", "S:disk/by-id/nvme-Test_SN123\nE:ID_SERIAL_SHORT=SN123\nE:ID_REVISION=1B2QEXM7\n")
	f.link("dev/disk/by-id/nvme-Test_SN123", "../../nvme0n1")
	f.link("dev/disk/by-path/pci-0000:00:04.0-nvme-1", "../../nvme0n1")
	f.link("dev/disk/by-id/nvme-Test_SN123-part1", "../../nvme0n1p1")

	gpu := pci + "/0000:00:02.0"
	f.files(gpu, map[string]string{"vendor": "0x8086\n", "device": "0x1912\n"})
	f.link(gpu+"/driver", "../../../bus/pci/drivers/i915")
	f.dir("sys/bus/pci/drivers/i915")
	f.file(gpu+"/drm/card0/dev", "226:0\n")
	f.link(gpu+"/drm/card0/device", "../../../0000:00:02.0")
	f.file(gpu+"/drm/renderD128/dev", "226:128\n")
	f.link("sys/class/drm/card0", "../../devices/pci0000:00/0000:00:02.0/drm/card0")
	f.link("sys/class/drm/renderD128", "../../devices/pci0000:00/0000:00:02.0/drm/renderD128")
	f.link("sys/class/drm/card0-HDMI-A-1", "../../devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1")

	usb := pci + "/0000:00:14.0/usb1/1-1"
	f.files(usb, map[string]string{"busnum": "1\n", "devnum": "3\n", "idVendor": "046d\n", "idProduct": "c52b\n",
		"manufacturer": "Logitech\n", "product": "USB Receiver\n", "speed": "12\n"})
	f.files(usb+"/1-1:1.0", map[string]string{"bInterfaceClass": "03\n", "bInterfaceSubClass": "01\n",
		"bInterfaceNumber": "00\n"})
	f.link(usb+"/1-1:1.0/driver", "../../../../../../bus/usb/drivers/usbhid")
	f.dir("sys/bus/usb/drivers/usbhid")
	f.link("sys/bus/usb/devices/1-1", "../../../devices/pci0000:00/0000:00:14.0/usb1/1-1")
	f.link("sys/bus/usb/devices/1-1:1.0", "../../../devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0")
	for _, addr := range []string{"0000:00:02.0", "0000:00:03.0", "0000:00:04.0"} {
		f.link("sys/bus/pci/devices/"+addr, "../../../devices/pci0000:00/"+addr)
	}

	f.file("usr/share/hwdata/pci.ids", "# pci.ids excerpt\n8086  Intel Corporation\n"+
		"\t1521  I350 Gigabit Network Connection\n\t\t8086 0001  Ethernet Server Adapter I350-T4\n"+
		"\t1912  HD Graphics 530\n144d  Samsung Electronics Co Ltd\nC 02  Network controller\n\t00  Ethernet controller\n")
	f.files("sys/class/dmi/id", map[string]string{"sys_vendor": "Dell Inc.\n", "product_name": "PowerEdge R640\n",
		"product_uuid": "4c4c4544-0044\n", "chassis_type": "23\n", "chassis_vendor": "Dell Inc.\n",
		"board_vendor": "Dell Inc.\n", "board_name": "0W23H8\n", "bios_vendor": "Dell Inc.\n", "bios_date": "07/22/2022\n",
		"bios_version": "2.15.1\n"})
}
