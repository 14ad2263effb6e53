package resources

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// ethtoolModes names the link mode bits of ETHTOOL_GSET's supported mask, in bit order.
var ethtoolModes = []struct {
	bit  uint
	name string
}{
	{0, "10baseT/Half"}, {1, "10baseT/Full"}, {2, "100baseT/Half"}, {3, "100baseT/Full"},
	{4, "1000baseT/Half"}, {5, "1000baseT/Full"}, {12, "10000baseT/Full"}, {15, "2500baseX/Full"},
	{17, "1000baseKX/Full"}, {18, "10000baseKX4/Full"}, {19, "10000baseKR/Full"}, {20, "10000baseR_FEC"},
	{21, "20000baseMLD2/Full"}, {22, "20000baseKR2/Full"}, {23, "40000baseKR4/Full"}, {24, "40000baseCR4/Full"},
	{25, "40000baseSR4/Full"}, {26, "40000baseLR4/Full"}, {27, "56000baseKR4/Full"}, {28, "56000baseCR4/Full"},
	{29, "56000baseSR4/Full"}, {30, "56000baseLR4/Full"},
}

// ethtoolPorts names the connector bits of ETHTOOL_GSET's supported mask.
var ethtoolPorts = []struct {
	bit  uint
	name string
}{
	{7, "twisted pair"}, {8, "aui"}, {9, "media-independent"}, {10, "fibre"}, {11, "bnc"}, {16, "backplane"},
}

// portTypeName names the PORT_* value of the connector in use.
func portTypeName(port uint8) string {
	switch port {
	case 0x00:
		return "twisted pair"
	case 0x01:
		return "aui"
	case 0x02:
		return "bnc"
	case 0x03:
		return "media-independent"
	case 0x04:
		return "fibre"
	case 0x05:
		return "direct attach"
	case 0xef:
		return "none"
	case 0xff:
		return "other"
	}

	return ""
}

// Network reads the network cards: every interface of /sys/class/net backed by a device, grouped by that device.
// Purely virtual interfaces (loopback, bridges, veth, tunnels) have no device and are not cards.
func (r *Reader) Network() (*api.ResourcesNetwork, error) {
	classDir := r.path("sys", "class", "net")
	names, err := readDirNames(classDir)
	if err != nil {
		return nil, err
	}

	out := &api.ResourcesNetwork{Cards: []api.ResourcesNetworkCard{}}
	index := map[string]int{}
	for _, name := range names {
		ifDir := filepath.Join(classDir, name)
		devDir, err := resolve(filepath.Join(ifDir, "device"))
		if err != nil {
			continue
		}

		i, ok := index[devDir]
		if !ok {
			out.Cards = append(out.Cards, r.networkCard(devDir))
			i = len(out.Cards) - 1
			index[devDir] = i
		}

		card := &out.Cards[i]
		port := r.networkPort(ifDir, name)
		if port.Port == 0 && len(card.Ports) > 0 {
			port.Port = uint64(len(card.Ports))
		}

		if r.Ethtool != nil {
			info, err := r.Ethtool(name)
			if err == nil {
				applyEthtool(&port, info)
				if card.FirmwareVersion == "" {
					card.FirmwareVersion = info.FirmwareVersion
				}
			}
		}

		card.Ports = append(card.Ports, port)
	}

	// A network controller whose interfaces this network namespace does not see is still a card, without ports
	// and described from the PCI device itself, as LXD lists it.
	err = r.addPCINetworkCards(out, index)
	if err != nil {
		return nil, err
	}

	out.Total = uint64(len(out.Cards))
	return out, nil
}

// addPCINetworkCards adds the PCI network controllers (class 0x02) that no interface of /sys/class/net led to.
func (r *Reader) addPCINetworkCards(out *api.ResourcesNetwork, index map[string]int) error {
	seen := map[string]bool{}
	for devDir := range index {
		pciDir, _ := pciAncestor(devDir)
		if pciDir != "" {
			seen[pciDir] = true
		}
	}

	dir := r.path("sys", "bus", "pci", "devices")
	names, err := readDirNames(dir)
	if err != nil {
		return err
	}

	for _, name := range names {
		devDir, err := resolve(filepath.Join(dir, name))
		if err != nil || seen[devDir] || !strings.HasPrefix(readString(filepath.Join(devDir, "class")), "0x02") {
			continue
		}

		out.Cards = append(out.Cards, r.networkCard(devDir))
	}

	return nil
}

// networkCard describes the device behind one or more interfaces.
func (r *Reader) networkCard(devDir string) api.ResourcesNetworkCard {
	card := api.ResourcesNetworkCard{
		NUMANode:      deviceNUMANode(devDir),
		VendorID:      readHexID(filepath.Join(devDir, "vendor")),
		ProductID:     readHexID(filepath.Join(devDir, "device")),
		Driver:        linkBase(filepath.Join(devDir, "driver")),
		DriverVersion: r.driverVersion(devDir),
	}

	_, card.PCIAddress = pciAncestor(devDir)
	if card.PCIAddress == "" {
		card.USBAddress = usbAncestor(devDir)
	} else {
		card.Vendor, card.Product = r.pciNames().lookup(card.VendorID, card.ProductID)
	}

	if card.VendorID == "" && card.USBAddress != "" {
		card.VendorID = readString(filepath.Join(filepath.Dir(devDir), "idVendor"))
		card.ProductID = readString(filepath.Join(filepath.Dir(devDir), "idProduct"))
	}

	return card
}

// networkPort describes one interface of a card from sysfs.
func (r *Reader) networkPort(ifDir string, name string) api.ResourcesNetworkCardPort {
	port := api.ResourcesNetworkCardPort{ID: name, Address: readString(filepath.Join(ifDir, "address"))}
	port.Port, _ = readUint(filepath.Join(ifDir, "dev_port"))
	typ, _ := strconv.Atoi(readString(filepath.Join(ifDir, "type")))
	switch typ {
	case 32:
		port.Protocol = "infiniband"
	default:
		port.Protocol = "ethernet"
	}

	port.LinkDetected = readString(filepath.Join(ifDir, "carrier")) == "1"
	return port
}

// applyEthtool adds the link settings the kernel reported for a port.
func applyEthtool(port *api.ResourcesNetworkCardPort, info *EthtoolInfo) {
	if !info.HasSettings {
		return
	}

	for _, m := range ethtoolModes {
		if info.Supported&(1<<m.bit) != 0 {
			port.SupportedModes = append(port.SupportedModes, m.name)
		}
	}

	for _, p := range ethtoolPorts {
		if info.Supported&(1<<p.bit) != 0 {
			port.SupportedPorts = append(port.SupportedPorts, p.name)
		}
	}

	port.PortType = portTypeName(info.Port)
	switch info.Transceiver {
	case 0:
		port.TransceiverType = "internal"
	case 1:
		port.TransceiverType = "external"
	}

	port.AutoNegotiation = info.Autoneg
	if port.LinkDetected && info.Speed > 0 {
		port.LinkSpeed = info.Speed
		port.LinkDuplex = info.Duplex
	}
}
