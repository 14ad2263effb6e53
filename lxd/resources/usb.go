package resources

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// USB reads the devices of /sys/bus/usb/devices (root hubs included, as the kernel lists them) with their
// interfaces.
func (r *Reader) USB() (*api.ResourcesUSB, error) {
	dir := r.path("sys", "bus", "usb", "devices")
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}

	out := &api.ResourcesUSB{Devices: []api.ResourcesUSBDevice{}}
	for _, name := range names {
		if strings.Contains(name, ":") {
			continue
		}

		devDir, err := resolve(filepath.Join(dir, name))
		if err != nil {
			continue
		}

		bus, err1 := readUint(filepath.Join(devDir, "busnum"))
		addr, err2 := readUint(filepath.Join(devDir, "devnum"))
		if err1 != nil || err2 != nil {
			continue
		}

		dev := api.ResourcesUSBDevice{
			BusAddress:    bus,
			DeviceAddress: addr,
			Interfaces:    []api.ResourcesUSBDeviceInterface{},
			Vendor:        readString(filepath.Join(devDir, "manufacturer")),
			VendorID:      readString(filepath.Join(devDir, "idVendor")),
			Product:       readString(filepath.Join(devDir, "product")),
			ProductID:     readString(filepath.Join(devDir, "idProduct")),
			NUMANode:      deviceNUMANode(devDir),
			Serial:        readString(filepath.Join(devDir, "serial")),
		}

		dev.Speed, _ = strconv.ParseFloat(readString(filepath.Join(devDir, "speed")), 64)
		entries, _ := readDirNames(devDir)
		for _, entry := range entries {
			if !strings.HasPrefix(entry, name+":") {
				continue
			}

			intfDir := filepath.Join(devDir, entry)
			intf := api.ResourcesUSBDeviceInterface{
				Driver:        linkBase(filepath.Join(intfDir, "driver")),
				DriverVersion: r.driverVersion(intfDir),
			}

			intf.ClassID, _ = strconv.ParseUint(readString(filepath.Join(intfDir, "bInterfaceClass")), 16, 64)
			intf.SubClassID, _ = strconv.ParseUint(readString(filepath.Join(intfDir, "bInterfaceSubClass")), 16, 64)
			intf.Number, _ = strconv.ParseUint(readString(filepath.Join(intfDir, "bInterfaceNumber")), 16, 64)
			dev.Interfaces = append(dev.Interfaces, intf)
		}

		out.Devices = append(out.Devices, dev)
	}

	out.Total = uint64(len(out.Devices))
	return out, nil
}
