package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// serverResources prints the server's hardware as the stock client's "lxc info --resources" does.
func serverResources(w io.Writer, d client.InstanceServer) error {
	if !d.HasExtension("resources_v2") {
		return fmt.Errorf("the server doesn't implement the newer v2 resources API")
	}

	res, err := d.GetServerResources()
	if err != nil {
		return err
	}

	renderResources(w, res)
	return nil
}

// byteSizeIEC formats a byte count in binary units with the given decimals ("512.00MiB", "48KiB"); counts below
// 1KiB print as plain bytes ("0B").
func byteSizeIEC(n int64, precision int) string {
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}

	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v /= 1024
		if v < 1024 {
			return fmt.Sprintf("%.*f%s", precision, v, unit)
		}
	}

	return fmt.Sprintf("%.*fEiB", precision, v/1024)
}

// renderResources lays out the CPU, memory, GPU, network and disk sections; the stock 5.0.2 client shows neither the
// USB and PCI devices nor the system section.
func renderResources(w io.Writer, res *api.Resources) {
	switch sockets := res.CPU.Sockets; {
	case len(sockets) == 1:
		fmt.Fprintf(w, "CPU (%s):\n", res.CPU.Architecture)
		renderCPUSocket(w, sockets[0], "  ")
	case len(sockets) > 1:
		fmt.Fprintf(w, "CPUs (%s):\n", res.CPU.Architecture)
		for _, s := range sockets {
			fmt.Fprintf(w, "  Socket %d:\n", s.Socket)
			renderCPUSocket(w, s, "    ")
		}
	}

	renderMemory(w, res.Memory)
	renderDevices(w, res.GPU.Cards, "GPU", "GPUs", "Card", renderGPU)
	renderDevices(w, res.Network.Cards, "NIC", "NICs", "Card", renderNIC)
	renderDevices(w, res.Storage.Disks, "Disk", "Disks", "Disk", renderDisk)
}

// renderDevices prints a section of devices as the stock client does: one device under the singular title, several
// numbered under the plural one, nothing when there is none.
func renderDevices[T any](w io.Writer, items []T, one string, many string, item string, render func(io.Writer, T, string)) {
	switch {
	case len(items) == 1:
		fmt.Fprintf(w, "\n%s:\n", one)
		render(w, items[0], "  ")
	case len(items) > 1:
		fmt.Fprintf(w, "\n%s:\n", many)
		for i, it := range items {
			fmt.Fprintf(w, "  %s %d:\n", item, i)
			render(w, it, "    ")
		}
	}
}

// renderCPUSocket prints one socket: identity, caches, cores with their threads, then its frequency.
func renderCPUSocket(w io.Writer, s api.ResourcesCPUSocket, p string) {
	if s.Vendor != "" {
		fmt.Fprintf(w, "%sVendor: %s\n", p, s.Vendor)
	}

	if s.Name != "" {
		fmt.Fprintf(w, "%sName: %s\n", p, s.Name)
	}

	if s.Cache != nil {
		fmt.Fprintf(w, "%sCaches:\n", p)
		for _, c := range s.Cache {
			fmt.Fprintf(w, "%s  - Level %d (type: %s): %s\n", p, c.Level, c.Type, byteSizeIEC(int64(c.Size), 0))
		}
	}

	fmt.Fprintf(w, "%sCores:\n", p)
	for _, core := range s.Cores {
		fmt.Fprintf(w, "%s  - Core %d\n%s    Frequency: %dMhz\n%s    Threads:\n", p, core.Core, p, core.Frequency, p)
		for _, t := range core.Threads {
			fmt.Fprintf(w, "%s      - %d (id: %d, online: %t, NUMA node: %d)\n", p, t.Thread, t.ID, t.Online, t.NUMANode)
		}
	}

	if s.Frequency == 0 {
		return
	}

	if s.FrequencyTurbo > 0 && s.FrequencyMinimum > 0 {
		fmt.Fprintf(w, "%sFrequency: %dMhz (min: %dMhz, max: %dMhz)\n", p, s.Frequency, s.FrequencyMinimum, s.FrequencyTurbo)
		return
	}

	fmt.Fprintf(w, "%sFrequency: %dMhz\n", p, s.Frequency)
}

// renderUsage prints the free, used and total lines of an amount of memory.
func renderUsage(w io.Writer, p string, used uint64, total uint64) {
	fmt.Fprintf(w, "%sFree: %s\n%sUsed: %s\n%sTotal: %s\n", p, byteSizeIEC(int64(total-used), 2), p,
		byteSizeIEC(int64(used), 2), p, byteSizeIEC(int64(total), 2))
}

// renderMemory prints the memory section: huge pages when there are any, NUMA nodes when there are several.
func renderMemory(w io.Writer, m api.ResourcesMemory) {
	fmt.Fprintf(w, "\nMemory:\n")
	if m.HugepagesTotal > 0 {
		fmt.Fprintf(w, "  Hugepages:\n")
		renderUsage(w, "    ", m.HugepagesUsed, m.HugepagesTotal)
	}

	if len(m.Nodes) > 1 {
		fmt.Fprintf(w, "  NUMA nodes:\n")
		for _, n := range m.Nodes {
			fmt.Fprintf(w, "    Node %d:\n", n.NUMANode)
			if n.HugepagesTotal > 0 {
				fmt.Fprintf(w, "      Hugepages:\n")
				renderUsage(w, "        ", n.HugepagesUsed, n.HugepagesTotal)
			}

			renderUsage(w, "      ", n.Used, n.Total)
		}
	}

	renderUsage(w, "  ", m.Used, m.Total)
}

// renderDevice prints the lines GPUs and network cards share: NUMA node, vendor, product, PCI address, driver.
func renderDevice(w io.Writer, p string, numa uint64, vendor, vendorID, product, productID, pci, driver, version string) {
	fmt.Fprintf(w, "%sNUMA node: %d\n", p, numa)
	if vendor != "" {
		fmt.Fprintf(w, "%sVendor: %s (%s)\n", p, vendor, vendorID)
	}

	if product != "" {
		fmt.Fprintf(w, "%sProduct: %s (%s)\n", p, product, productID)
	}

	if pci != "" {
		fmt.Fprintf(w, "%sPCI address: %s\n", p, pci)
	}

	if driver != "" {
		fmt.Fprintf(w, "%sDriver: %s (%s)\n", p, driver, version)
	}
}

// renderGPU prints one GPU.
func renderGPU(w io.Writer, g api.ResourcesGPUCard, p string) {
	renderDevice(w, p, g.NUMANode, g.Vendor, g.VendorID, g.Product, g.ProductID, g.PCIAddress, g.Driver, g.DriverVersion)
	if g.DRM == nil {
		return
	}

	fmt.Fprintf(w, "%sDRM:\n%s  ID: %d\n", p, p, g.DRM.ID)
	if g.DRM.CardName != "" {
		fmt.Fprintf(w, "%s  Card: %s (%s)\n", p, g.DRM.CardName, g.DRM.CardDevice)
	}

	if g.DRM.ControlName != "" {
		fmt.Fprintf(w, "%s  Control: %s (%s)\n", p, g.DRM.ControlName, g.DRM.ControlDevice)
	}

	if g.DRM.RenderName != "" {
		fmt.Fprintf(w, "%s  Render: %s (%s)\n", p, g.DRM.RenderName, g.DRM.RenderDevice)
	}
}

// renderNIC prints one network card and its ports.
func renderNIC(w io.Writer, n api.ResourcesNetworkCard, p string) {
	renderDevice(w, p, n.NUMANode, n.Vendor, n.VendorID, n.Product, n.ProductID, n.PCIAddress, n.Driver, n.DriverVersion)
	if len(n.Ports) == 0 {
		return
	}

	fmt.Fprintf(w, "%sPorts:\n", p)
	q := p + "    "
	for _, port := range n.Ports {
		fmt.Fprintf(w, "%s  - Port %d (%s)\n%sID: %s\n", p, port.Port, port.Protocol, q, port.ID)
		if port.Address != "" {
			fmt.Fprintf(w, "%sAddress: %s\n", q, port.Address)
		}

		if port.SupportedModes != nil {
			fmt.Fprintf(w, "%sSupported modes: %s\n", q, strings.Join(port.SupportedModes, ", "))
		}

		if port.SupportedPorts != nil {
			fmt.Fprintf(w, "%sSupported ports: %s\n", q, strings.Join(port.SupportedPorts, ", "))
		}

		if port.PortType != "" {
			fmt.Fprintf(w, "%sPort type: %s\n", q, port.PortType)
		}

		if port.TransceiverType != "" {
			fmt.Fprintf(w, "%sTransceiver type: %s\n", q, port.TransceiverType)
		}

		fmt.Fprintf(w, "%sAuto negotiation: %t\n%sLink detected: %t\n", q, port.AutoNegotiation, q, port.LinkDetected)
		if port.LinkSpeed > 0 {
			fmt.Fprintf(w, "%sLink speed: %dMbit/s (%s duplex)\n", q, port.LinkSpeed, port.LinkDuplex)
		}
	}
}

// renderDisk prints one disk and its partitions.
func renderDisk(w io.Writer, d api.ResourcesStorageDisk, p string) {
	fmt.Fprintf(w, "%sNUMA node: %d\n%sID: %s\n%sDevice: %s\n", p, d.NUMANode, p, d.ID, p, d.Device)
	if d.Model != "" {
		fmt.Fprintf(w, "%sModel: %s\n", p, d.Model)
	}

	if d.Type != "" {
		fmt.Fprintf(w, "%sType: %s\n", p, d.Type)
	}

	fmt.Fprintf(w, "%sSize: %s\n", p, byteSizeIEC(int64(d.Size), 2))
	if d.WWN != "" {
		fmt.Fprintf(w, "%sWWN: %s\n", p, d.WWN)
	}

	fmt.Fprintf(w, "%sRead-Only: %t\n%sRemovable: %t\n", p, d.ReadOnly, p, d.Removable)
	if len(d.Partitions) == 0 {
		return
	}

	fmt.Fprintf(w, "%sPartitions:\n", p)
	for _, part := range d.Partitions {
		fmt.Fprintf(w, "%s  - Partition %d\n%s    ID: %s\n%s    Device: %s\n%s    Read-Only: %t\n%s    Size: %s\n", p,
			part.Partition, p, part.ID, p, part.Device, p, part.ReadOnly, p, byteSizeIEC(int64(part.Size), 2))
	}
}
