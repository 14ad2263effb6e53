package resources

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// chassisTypes names the SMBIOS chassis type codes (DMTF DSP0134, 7.4.1).
var chassisTypes = map[int]string{
	1: "Other", 2: "Unknown", 3: "Desktop", 4: "Low Profile Desktop", 5: "Pizza Box", 6: "Mini Tower", 7: "Tower",
	8: "Portable", 9: "Laptop", 10: "Notebook", 11: "Hand Held", 12: "Docking Station", 13: "All in One",
	14: "Sub Notebook", 15: "Space-saving", 16: "Lunch Box", 17: "Main Server Chassis", 18: "Expansion Chassis",
	19: "SubChassis", 20: "Bus Expansion Chassis", 21: "Peripheral Chassis", 22: "RAID Chassis",
	23: "Rack Mount Chassis", 24: "Sealed-case PC", 25: "Multi-system chassis", 26: "Compact PCI",
	27: "Advanced TCA", 28: "Blade", 29: "Blade Enclosure", 30: "Tablet", 31: "Convertible", 32: "Detachable",
	33: "IoT Gateway", 34: "Embedded PC", 35: "Mini PC", 36: "Stick PC",
}

// System reads the DMI description of the machine (fields the kernel keeps root-only read as empty for others)
// and what kind of machine it is.
func (r *Reader) System() *api.ResourcesSystem {
	dmi := r.path("sys", "class", "dmi", "id")
	read := func(name string) string { return readString(filepath.Join(dmi, name)) }
	out := &api.ResourcesSystem{
		UUID:    read("product_uuid"),
		Vendor:  read("sys_vendor"),
		Product: read("product_name"),
		Family:  read("product_family"),
		Version: read("product_version"),
		Sku:     read("product_sku"),
		Serial:  read("product_serial"),
		Type:    r.systemType(),
	}

	if !exists(dmi) {
		return out
	}

	out.Firmware = &api.ResourcesSystemFirmware{Vendor: read("bios_vendor"), Date: read("bios_date"),
		Version: read("bios_version")}
	out.Chassis = &api.ResourcesSystemChassis{Vendor: read("chassis_vendor"), Serial: read("chassis_serial"),
		Version: read("chassis_version")}
	code, err := strconv.Atoi(read("chassis_type"))
	if err == nil {
		out.Chassis.Type = chassisTypes[code]
	}

	out.Motherboard = &api.ResourcesSystemMotherboard{Vendor: read("board_vendor"), Product: read("board_name"),
		Serial: read("board_serial"), Version: read("board_version")}
	return out
}

// systemType tells whether the host is a container, a virtual machine or a physical machine, from the markers
// container managers leave (systemd's /run/systemd/container, docker's /.dockerenv, podman's /run/.containerenv,
// the container= variable of PID 1) and the CPU's hypervisor flag.
func (r *Reader) systemType() string {
	if readString(r.path("run", "systemd", "container")) != "" || exists(r.path(".dockerenv")) ||
		exists(r.path("run", ".containerenv")) {
		return "container"
	}

	environ, err := os.ReadFile(r.path("proc", "1", "environ"))
	if err == nil {
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if bytes.HasPrefix(kv, []byte("container=")) {
				return "container"
			}
		}
	}

	if readString(r.path("sys", "hypervisor", "type")) != "" {
		return "virtual-machine"
	}

	f, err := os.Open(r.path("proc", "cpuinfo"))
	if err != nil {
		return "unknown"
	}

	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}

		for _, flag := range strings.Fields(value) {
			if flag == "hypervisor" {
				return "virtual-machine"
			}
		}

		return "physical"
	}

	return "unknown"
}
