package resources

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// GPU reads the graphics cards: every DRM card of /sys/class/drm with its control and render nodes.
func (r *Reader) GPU() (*api.ResourcesGPU, error) {
	drmDir := r.path("sys", "class", "drm")
	names, err := readDirNames(drmDir)
	if err != nil {
		return nil, err
	}

	out := &api.ResourcesGPU{Cards: []api.ResourcesGPUCard{}}
	for _, name := range names {
		n, ok := strings.CutPrefix(name, "card")
		if !ok {
			continue
		}

		id, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			continue
		}

		devDir, err := resolve(filepath.Join(drmDir, name, "device"))
		if err != nil {
			continue
		}

		card := api.ResourcesGPUCard{
			NUMANode:      deviceNUMANode(devDir),
			VendorID:      readHexID(filepath.Join(devDir, "vendor")),
			ProductID:     readHexID(filepath.Join(devDir, "device")),
			Driver:        linkBase(filepath.Join(devDir, "driver")),
			DriverVersion: r.driverVersion(devDir),
			DRM:           &api.ResourcesGPUCardDRM{ID: id, CardName: name, CardDevice: readString(filepath.Join(drmDir, name, "dev"))},
		}

		_, card.PCIAddress = pciAncestor(devDir)
		if card.PCIAddress == "" {
			card.USBAddress = usbAncestor(devDir)
		} else {
			card.Vendor, card.Product = r.pciNames().lookup(card.VendorID, card.ProductID)
		}

		nodes, _ := readDirNames(filepath.Join(devDir, "drm"))
		for _, node := range nodes {
			dev := readString(filepath.Join(devDir, "drm", node, "dev"))
			switch {
			case strings.HasPrefix(node, "controlD"):
				card.DRM.ControlName, card.DRM.ControlDevice = node, dev
			case strings.HasPrefix(node, "renderD"):
				card.DRM.RenderName, card.DRM.RenderDevice = node, dev
			}
		}

		out.Cards = append(out.Cards, card)
	}

	out.Total = uint64(len(out.Cards))
	return out, nil
}
