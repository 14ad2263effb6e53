package resources

import (
	"path/filepath"
	"strconv"

	"github.com/lxd-go/lxd/shared/api"
)

// PCI reads the devices of /sys/bus/pci/devices.
func (r *Reader) PCI() (*api.ResourcesPCI, error) {
	dir := r.path("sys", "bus", "pci", "devices")
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}

	out := &api.ResourcesPCI{Devices: []api.ResourcesPCIDevice{}}
	for _, name := range names {
		devDir, err := resolve(filepath.Join(dir, name))
		if err != nil {
			continue
		}

		dev := api.ResourcesPCIDevice{
			Driver:        linkBase(filepath.Join(devDir, "driver")),
			DriverVersion: r.driverVersion(devDir),
			NUMANode:      readNUMANode(devDir),
			PCIAddress:    name,
			VendorID:      readHexID(filepath.Join(devDir, "vendor")),
			ProductID:     readHexID(filepath.Join(devDir, "device")),
		}

		dev.Vendor, dev.Product = r.pciNames().lookup(dev.VendorID, dev.ProductID)
		group := linkBase(filepath.Join(devDir, "iommu_group"))
		if group != "" {
			dev.IOMMUGroup, _ = strconv.ParseUint(group, 10, 64)
		}

		out.Devices = append(out.Devices, dev)
	}

	out.Total = uint64(len(out.Devices))
	return out, nil
}
