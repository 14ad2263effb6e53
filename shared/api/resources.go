package api

// Resources is the hardware of the server as GET /1.0/resources reports it.
type Resources struct {
	// CPU information.
	// Example: {"architecture": "x86_64", "sockets": [], "total": 2}
	CPU ResourcesCPU `json:"cpu" yaml:"cpu"`

	// Memory information.
	// Example: {"total": 25769803776, "used": 1661603840}
	Memory ResourcesMemory `json:"memory" yaml:"memory"`

	// GPU devices.
	// Example: {"cards": [], "total": 0}
	GPU ResourcesGPU `json:"gpu" yaml:"gpu"`

	// Network devices.
	// Example: {"cards": [], "total": 0}
	Network ResourcesNetwork `json:"network" yaml:"network"`

	// Storage devices.
	// Example: {"disks": [], "total": 0}
	Storage ResourcesStorage `json:"storage" yaml:"storage"`

	// USB devices.
	// Example: {"devices": [], "total": 0}
	// API extension: resources_usb_pci
	USB ResourcesUSB `json:"usb" yaml:"usb"`

	// PCI devices.
	// Example: {"devices": [], "total": 0}
	// API extension: resources_usb_pci
	PCI ResourcesPCI `json:"pci" yaml:"pci"`

	// System information.
	// Example: {"type": "physical", "uuid": "7fa1c0cc-2271-11b2-a85c-aab32a05d71a"}
	// API extension: resources_system
	System ResourcesSystem `json:"system" yaml:"system"`
}

// ResourcesCPU lists the processors of the server.
type ResourcesCPU struct {
	// Architecture name.
	// Example: x86_64
	Architecture string `json:"architecture" yaml:"architecture"`

	// Sockets lists the processor packages.
	// Example: [{"socket": 0, "cores": []}]
	Sockets []ResourcesCPUSocket `json:"sockets" yaml:"sockets"`

	// Total is the number of CPU threads, online or not.
	// Example: 2
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesCPUSocket is one processor package.
type ResourcesCPUSocket struct {
	// Name is the product name.
	// Example: Intel(R) Xeon(R) Processor
	Name string `json:"name,omitempty" yaml:"name,omitempty"`

	// Vendor is the vendor identifier.
	// Example: GenuineIntel
	Vendor string `json:"vendor,omitempty" yaml:"vendor,omitempty"`

	// Socket is the package number.
	// Example: 0
	Socket uint64 `json:"socket" yaml:"socket"`

	// Cache lists the caches of the package.
	// Example: [{"level": 1, "type": "Data", "size": 49152}]
	Cache []ResourcesCPUCache `json:"cache,omitempty" yaml:"cache,omitempty"`

	// Cores lists the cores of the package.
	// Example: [{"core": 0, "die": 0, "threads": []}]
	Cores []ResourcesCPUCore `json:"cores" yaml:"cores"`

	// Frequency is the current average frequency in MHz.
	// Example: 1400
	Frequency uint64 `json:"frequency,omitempty" yaml:"frequency,omitempty"`

	// FrequencyMinimum is the minimum frequency in MHz.
	// Example: 400
	FrequencyMinimum uint64 `json:"frequency_minimum,omitempty" yaml:"frequency_minimum,omitempty"`

	// FrequencyTurbo is the maximum frequency in MHz.
	// Example: 3500
	FrequencyTurbo uint64 `json:"frequency_turbo,omitempty" yaml:"frequency_turbo,omitempty"`
}

// ResourcesCPUCache is one processor cache.
type ResourcesCPUCache struct {
	// Level of the cache.
	// Example: 1
	Level uint64 `json:"level" yaml:"level"`

	// Type of the cache (Data, Instruction or Unified).
	// Example: Data
	Type string `json:"type" yaml:"type"`

	// Size of the cache in bytes.
	// Example: 49152
	Size uint64 `json:"size" yaml:"size"`
}

// ResourcesCPUCore is one processor core.
type ResourcesCPUCore struct {
	// Core is the core number within its package.
	// Example: 0
	Core uint64 `json:"core" yaml:"core"`

	// Die is the die number within its package.
	// Example: 0
	// API extension: resources_cpu_core_die
	Die uint64 `json:"die" yaml:"die"`

	// Threads lists the hardware threads of the core.
	// Example: [{"id": 0, "thread": 0, "online": true, "numa_node": 0}]
	Threads []ResourcesCPUThread `json:"threads" yaml:"threads"`

	// Frequency is the current frequency of the core in MHz.
	// Example: 3500
	Frequency uint64 `json:"frequency,omitempty" yaml:"frequency,omitempty"`
}

// ResourcesCPUThread is one hardware thread.
type ResourcesCPUThread struct {
	// ID is the kernel's CPU number.
	// Example: 1
	ID int64 `json:"id" yaml:"id"`

	// NUMANode is the NUMA node of the thread.
	// Example: 0
	// API extension: resources_cpu_threads_numa
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// Thread is the thread number within its core.
	// Example: 0
	Thread uint64 `json:"thread" yaml:"thread"`

	// Online tells whether the thread is online.
	// Example: true
	Online bool `json:"online" yaml:"online"`

	// Isolated tells whether the thread is isolated from the scheduler.
	// Example: false
	// API extension: resources_cpu_isolated
	Isolated bool `json:"isolated" yaml:"isolated"`
}

// ResourcesMemory is the memory of the server.
type ResourcesMemory struct {
	// Nodes lists the NUMA nodes.
	// Example: [{"numa_node": 0, "total": 25769803776, "used": 7588597760}]
	// API extension: resources_numa
	Nodes []ResourcesMemoryNode `json:"nodes,omitempty" yaml:"nodes,omitempty"`

	// HugepagesTotal is the memory set aside as huge pages, in bytes.
	// Example: 0
	HugepagesTotal uint64 `json:"hugepages_total" yaml:"hugepages_total"`

	// HugepagesUsed is the huge page memory in use, in bytes.
	// Example: 0
	HugepagesUsed uint64 `json:"hugepages_used" yaml:"hugepages_used"`

	// HugepagesSize is the size of one huge page in bytes.
	// Example: 2097152
	HugepagesSize uint64 `json:"hugepages_size" yaml:"hugepages_size"`

	// Used is the memory in use in bytes.
	// Example: 1661603840
	Used uint64 `json:"used" yaml:"used"`

	// Total is the memory in bytes.
	// Example: 25769803776
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesMemoryNode is the memory of one NUMA node.
type ResourcesMemoryNode struct {
	// NUMANode is the node number.
	// Example: 0
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// HugepagesUsed is the huge page memory in use on the node, in bytes.
	// Example: 0
	HugepagesUsed uint64 `json:"hugepages_used" yaml:"hugepages_used"`

	// HugepagesTotal is the huge page memory of the node, in bytes.
	// Example: 0
	HugepagesTotal uint64 `json:"hugepages_total" yaml:"hugepages_total"`

	// Used is the memory in use on the node, in bytes.
	// Example: 7588597760
	Used uint64 `json:"used" yaml:"used"`

	// Total is the memory of the node in bytes.
	// Example: 25769803776
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesGPU lists the GPUs of the server.
type ResourcesGPU struct {
	// Cards lists the GPUs.
	// Example: []
	Cards []ResourcesGPUCard `json:"cards" yaml:"cards"`

	// Total is the number of GPUs.
	// Example: 0
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesGPUCard is one GPU.
type ResourcesGPUCard struct {
	// DRM describes the card's DRM devices.
	// Example: {"id": 0, "card_name": "card0", "card_device": "226:0"}
	DRM *ResourcesGPUCardDRM `json:"drm,omitempty" yaml:"drm,omitempty"`

	// NUMANode is the NUMA node of the card.
	// Example: 0
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// PCIAddress is the PCI address of the card.
	// Example: 0000:00:02.0
	PCIAddress string `json:"pci_address,omitempty" yaml:"pci_address,omitempty"`

	// Vendor is the vendor name.
	// Example: Intel Corporation
	Vendor string `json:"vendor,omitempty" yaml:"vendor,omitempty"`

	// VendorID is the PCI vendor ID.
	// Example: 8086
	VendorID string `json:"vendor_id,omitempty" yaml:"vendor_id,omitempty"`

	// Product is the product name.
	// Example: HD Graphics 620
	Product string `json:"product,omitempty" yaml:"product,omitempty"`

	// ProductID is the PCI product ID.
	// Example: 5916
	ProductID string `json:"product_id,omitempty" yaml:"product_id,omitempty"`

	// Driver is the kernel driver in use.
	// Example: i915
	Driver string `json:"driver,omitempty" yaml:"driver,omitempty"`

	// DriverVersion is the version of the driver.
	// Example: 6.18.44
	DriverVersion string `json:"driver_version,omitempty" yaml:"driver_version,omitempty"`

	// USBAddress is the USB address of a USB card.
	// Example: 2:7
	// API extension: resources_network_usb
	USBAddress string `json:"usb_address,omitempty" yaml:"usb_address,omitempty"`
}

// ResourcesGPUCardDRM is the DRM side of a GPU.
type ResourcesGPUCardDRM struct {
	// ID is the DRM card number.
	// Example: 0
	ID uint64 `json:"id" yaml:"id"`

	// CardName is the card device name.
	// Example: card0
	CardName string `json:"card_name" yaml:"card_name"`

	// CardDevice is the card device number.
	// Example: 226:0
	CardDevice string `json:"card_device" yaml:"card_device"`

	// ControlName is the control device name.
	// Example: controlD64
	ControlName string `json:"control_name,omitempty" yaml:"control_name,omitempty"`

	// ControlDevice is the control device number.
	// Example: 226:64
	ControlDevice string `json:"control_device,omitempty" yaml:"control_device,omitempty"`

	// RenderName is the render device name.
	// Example: renderD128
	RenderName string `json:"render_name,omitempty" yaml:"render_name,omitempty"`

	// RenderDevice is the render device number.
	// Example: 226:128
	RenderDevice string `json:"render_device,omitempty" yaml:"render_device,omitempty"`
}

// ResourcesNetwork lists the network cards of the server.
type ResourcesNetwork struct {
	// Cards lists the network cards.
	// Example: [{"driver": "virtio_net", "pci_address": "0000:00:03.0"}]
	Cards []ResourcesNetworkCard `json:"cards" yaml:"cards"`

	// Total is the number of network cards.
	// Example: 1
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesNetworkCard is one network card.
type ResourcesNetworkCard struct {
	// Ports lists the ports of the card.
	// Example: [{"id": "eth0", "port": 0, "protocol": "ethernet"}]
	Ports []ResourcesNetworkCardPort `json:"ports,omitempty" yaml:"ports,omitempty"`

	// NUMANode is the NUMA node of the card.
	// Example: 0
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// PCIAddress is the PCI address of the card.
	// Example: 0000:00:03.0
	PCIAddress string `json:"pci_address,omitempty" yaml:"pci_address,omitempty"`

	// Vendor is the vendor name.
	// Example: Intel Corporation
	Vendor string `json:"vendor,omitempty" yaml:"vendor,omitempty"`

	// VendorID is the vendor ID.
	// Example: 1af4
	VendorID string `json:"vendor_id,omitempty" yaml:"vendor_id,omitempty"`

	// Product is the product name.
	// Example: Ethernet Connection I219-LM
	Product string `json:"product,omitempty" yaml:"product,omitempty"`

	// ProductID is the product ID.
	// Example: 0001
	ProductID string `json:"product_id,omitempty" yaml:"product_id,omitempty"`

	// Driver is the kernel driver in use.
	// Example: virtio_net
	Driver string `json:"driver,omitempty" yaml:"driver,omitempty"`

	// DriverVersion is the version of the driver.
	// Example: 6.18.44
	DriverVersion string `json:"driver_version,omitempty" yaml:"driver_version,omitempty"`

	// FirmwareVersion is the version of the card's firmware.
	// Example: 0.8-3
	// API extension: resources_network_firmware
	FirmwareVersion string `json:"firmware_version,omitempty" yaml:"firmware_version,omitempty"`

	// USBAddress is the USB address of a USB card.
	// Example: 2:7
	// API extension: resources_network_usb
	USBAddress string `json:"usb_address,omitempty" yaml:"usb_address,omitempty"`
}

// ResourcesNetworkCardPort is one port of a network card.
type ResourcesNetworkCardPort struct {
	// ID is the interface name.
	// Example: eth0
	ID string `json:"id" yaml:"id"`

	// Address is the MAC address.
	// Example: 02:fc:00:00:00:01
	Address string `json:"address,omitempty" yaml:"address,omitempty"`

	// Port is the port number on the card.
	// Example: 0
	Port uint64 `json:"port" yaml:"port"`

	// Protocol is the link protocol (ethernet or infiniband).
	// Example: ethernet
	Protocol string `json:"protocol" yaml:"protocol"`

	// SupportedModes lists the link modes the port supports.
	// Example: ["10baseT/Half", "1000baseT/Full"]
	SupportedModes []string `json:"supported_modes,omitempty" yaml:"supported_modes,omitempty"`

	// SupportedPorts lists the connector types the port supports.
	// Example: ["twisted pair"]
	SupportedPorts []string `json:"supported_ports,omitempty" yaml:"supported_ports,omitempty"`

	// PortType is the connector in use.
	// Example: twisted pair
	PortType string `json:"port_type,omitempty" yaml:"port_type,omitempty"`

	// TransceiverType is the transceiver in use.
	// Example: internal
	TransceiverType string `json:"transceiver_type,omitempty" yaml:"transceiver_type,omitempty"`

	// AutoNegotiation tells whether the link speed is negotiated.
	// Example: true
	AutoNegotiation bool `json:"auto_negotiation" yaml:"auto_negotiation"`

	// LinkDetected tells whether the port has a link.
	// Example: true
	LinkDetected bool `json:"link_detected" yaml:"link_detected"`

	// LinkSpeed is the link speed in Mbit/s.
	// Example: 10000
	LinkSpeed uint64 `json:"link_speed,omitempty" yaml:"link_speed,omitempty"`

	// LinkDuplex is the duplex mode of the link.
	// Example: full
	LinkDuplex string `json:"link_duplex,omitempty" yaml:"link_duplex,omitempty"`
}

// ResourcesStorage lists the disks of the server.
type ResourcesStorage struct {
	// Disks lists the disks.
	// Example: [{"id": "vda", "device": "254:0", "type": "virtio"}]
	Disks []ResourcesStorageDisk `json:"disks" yaml:"disks"`

	// Total is the number of disks.
	// Example: 1
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesStorageDisk is one disk.
type ResourcesStorageDisk struct {
	// ID is the block device name.
	// Example: vda
	ID string `json:"id" yaml:"id"`

	// Device is the device number (major:minor).
	// Example: 254:0
	Device string `json:"device" yaml:"device"`

	// Model is the disk model.
	// Example: Crucial CT1000MX500SSD1
	Model string `json:"model,omitempty" yaml:"model,omitempty"`

	// Type is the kind of disk (nvme, sata, scsi, virtio, usb, mmc, cdrom).
	// Example: virtio
	Type string `json:"type,omitempty" yaml:"type,omitempty"`

	// ReadOnly tells whether the disk is read-only.
	// Example: false
	ReadOnly bool `json:"read_only" yaml:"read_only"`

	// Size is the size of the disk in bytes.
	// Example: 274877906944
	Size uint64 `json:"size" yaml:"size"`

	// Removable tells whether the medium is removable.
	// Example: false
	Removable bool `json:"removable" yaml:"removable"`

	// WWN is the world wide name of the disk.
	// Example: eui.0000000001000000e4d25cafae2e4c00
	WWN string `json:"wwn,omitempty" yaml:"wwn,omitempty"`

	// NUMANode is the NUMA node of the disk.
	// Example: 0
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// DevicePath is the disk's name under /dev/disk/by-path.
	// Example: pci-0000:00:02.0
	// API extension: resources_disk_sata
	DevicePath string `json:"device_path,omitempty" yaml:"device_path,omitempty"`

	// BlockSize is the physical block size in bytes.
	// Example: 512
	// API extension: resources_disk_sata
	BlockSize uint64 `json:"block_size" yaml:"block_size"`

	// FirmwareVersion is the version of the disk's firmware.
	// Example: 1.0
	// API extension: resources_disk_sata
	FirmwareVersion string `json:"firmware_version,omitempty" yaml:"firmware_version,omitempty"`

	// RPM is the rotation speed (0 for solid state, 1 when spinning at an unknown speed).
	// Example: 0
	// API extension: resources_disk_sata
	RPM uint64 `json:"rpm" yaml:"rpm"`

	// Serial is the serial number of the disk.
	// Example: 1902E1B6C8A5
	// API extension: resources_disk_sata
	Serial string `json:"serial,omitempty" yaml:"serial,omitempty"`

	// DeviceID is the disk's name under /dev/disk/by-id.
	// Example: nvme-eui.0000000001000000e4d25cafae2e4c00
	// API extension: resources_disk_id
	DeviceID string `json:"device_id" yaml:"device_id"`

	// Partitions lists the partitions of the disk.
	// Example: [{"id": "vda1", "partition": 1}]
	Partitions []ResourcesStorageDiskPartition `json:"partitions" yaml:"partitions"`

	// PCIAddress is the PCI address of the disk's controller.
	// Example: 0000:00:02.0
	// API extension: resources_disk_address
	PCIAddress string `json:"pci_address,omitempty" yaml:"pci_address,omitempty"`

	// USBAddress is the USB address of a USB disk.
	// Example: 3:5
	// API extension: resources_disk_address
	USBAddress string `json:"usb_address,omitempty" yaml:"usb_address,omitempty"`
}

// ResourcesStorageDiskPartition is one partition of a disk.
type ResourcesStorageDiskPartition struct {
	// ID is the block device name of the partition.
	// Example: vda1
	ID string `json:"id" yaml:"id"`

	// Device is the device number (major:minor).
	// Example: 254:1
	Device string `json:"device" yaml:"device"`

	// ReadOnly tells whether the partition is read-only.
	// Example: false
	ReadOnly bool `json:"read_only" yaml:"read_only"`

	// Size is the size of the partition in bytes.
	// Example: 1073741824
	Size uint64 `json:"size" yaml:"size"`

	// Partition is the partition number.
	// Example: 1
	Partition uint64 `json:"partition" yaml:"partition"`
}

// ResourcesUSB lists the USB devices of the server.
type ResourcesUSB struct {
	// Devices lists the USB devices.
	// Example: []
	Devices []ResourcesUSBDevice `json:"devices" yaml:"devices"`

	// Total is the number of USB devices.
	// Example: 0
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesUSBDevice is one USB device.
type ResourcesUSBDevice struct {
	// BusAddress is the bus number.
	// Example: 1
	BusAddress uint64 `json:"bus_address" yaml:"bus_address"`

	// DeviceAddress is the device number on its bus.
	// Example: 3
	DeviceAddress uint64 `json:"device_address" yaml:"device_address"`

	// Interfaces lists the interfaces of the device.
	// Example: [{"number": 0, "class": "Human Interface Device"}]
	Interfaces []ResourcesUSBDeviceInterface `json:"interfaces" yaml:"interfaces"`

	// Vendor is the vendor name.
	// Example: Logitech, Inc.
	Vendor string `json:"vendor" yaml:"vendor"`

	// VendorID is the vendor ID.
	// Example: 046d
	VendorID string `json:"vendor_id" yaml:"vendor_id"`

	// Product is the product name.
	// Example: USB Receiver
	Product string `json:"product" yaml:"product"`

	// ProductID is the product ID.
	// Example: c52b
	ProductID string `json:"product_id" yaml:"product_id"`

	// Speed is the transfer speed in Mbit/s.
	// Example: 12
	Speed float64 `json:"speed" yaml:"speed"`

	// NUMANode is the NUMA node of the device.
	// Example: 0
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// Serial is the serial number of the device.
	// Example: 0001
	Serial string `json:"serial" yaml:"serial"`
}

// ResourcesUSBDeviceInterface is one interface of a USB device.
type ResourcesUSBDeviceInterface struct {
	// Class is the interface class name.
	// Example: Human Interface Device
	Class string `json:"class" yaml:"class"`

	// ClassID is the interface class ID.
	// Example: 3
	ClassID uint64 `json:"class_id" yaml:"class_id"`

	// Driver is the kernel driver bound to the interface.
	// Example: usbhid
	Driver string `json:"driver" yaml:"driver"`

	// DriverVersion is the version of the driver.
	// Example: 6.18.44
	DriverVersion string `json:"driver_version" yaml:"driver_version"`

	// Number is the interface number.
	// Example: 0
	Number uint64 `json:"number" yaml:"number"`

	// SubClass is the interface subclass name.
	// Example: Boot Interface Subclass
	SubClass string `json:"subclass" yaml:"subclass"`

	// SubClassID is the interface subclass ID.
	// Example: 1
	SubClassID uint64 `json:"subclass_id" yaml:"subclass_id"`
}

// ResourcesPCI lists the PCI devices of the server.
type ResourcesPCI struct {
	// Devices lists the PCI devices.
	// Example: [{"pci_address": "0000:00:00.0", "vendor_id": "8086"}]
	Devices []ResourcesPCIDevice `json:"devices" yaml:"devices"`

	// Total is the number of PCI devices.
	// Example: 6
	Total uint64 `json:"total" yaml:"total"`
}

// ResourcesPCIDevice is one PCI device.
type ResourcesPCIDevice struct {
	// Driver is the kernel driver in use.
	// Example: virtio-pci
	Driver string `json:"driver" yaml:"driver"`

	// DriverVersion is the version of the driver.
	// Example: 6.18.44
	DriverVersion string `json:"driver_version" yaml:"driver_version"`

	// NUMANode is the NUMA node of the device.
	// Example: 0
	NUMANode uint64 `json:"numa_node" yaml:"numa_node"`

	// PCIAddress is the PCI address of the device.
	// Example: 0000:00:03.0
	PCIAddress string `json:"pci_address" yaml:"pci_address"`

	// Vendor is the vendor name.
	// Example: Red Hat, Inc.
	Vendor string `json:"vendor" yaml:"vendor"`

	// VendorID is the vendor ID.
	// Example: 1af4
	VendorID string `json:"vendor_id" yaml:"vendor_id"`

	// Product is the product name.
	// Example: Virtio network device
	Product string `json:"product" yaml:"product"`

	// ProductID is the product ID.
	// Example: 1041
	ProductID string `json:"product_id" yaml:"product_id"`

	// IOMMUGroup is the IOMMU group of the device.
	// Example: 0
	// API extension: resources_pci_iommu
	IOMMUGroup uint64 `json:"iommu_group" yaml:"iommu_group"`

	// VPD is the vital product data of the device.
	// Example: {"product_name": "HP Ethernet 1Gb 4-port 331i Adapter"}
	// API extension: resources_pci_vpd
	VPD ResourcesPCIVPD `json:"vpd" yaml:"vpd"`
}

// ResourcesPCIVPD is the vital product data of a PCI device.
type ResourcesPCIVPD struct {
	// ProductName is the product name in the VPD.
	// Example: HP Ethernet 1Gb 4-port 331i Adapter
	ProductName string `json:"product_name,omitempty" yaml:"product_name,omitempty"`

	// Entries holds the VPD keys and values.
	// Example: {"EC": "A-5545", "MN": "103C"}
	Entries map[string]string `json:"entries,omitempty" yaml:"entries,omitempty"`
}

// ResourcesSystem describes the machine.
type ResourcesSystem struct {
	// UUID is the system UUID.
	// Example: 7fa1c0cc-2271-11b2-a85c-aab32a05d71a
	UUID string `json:"uuid" yaml:"uuid"`

	// Vendor is the system vendor.
	// Example: LENOVO
	Vendor string `json:"vendor" yaml:"vendor"`

	// Product is the system model.
	// Example: 20HRCTO1WW
	Product string `json:"product" yaml:"product"`

	// Family is the system family.
	// Example: ThinkPad X1 Carbon 5th
	Family string `json:"family" yaml:"family"`

	// Version is the system version.
	// Example: ThinkPad X1 Carbon 5th
	Version string `json:"version" yaml:"version"`

	// Sku is the system SKU.
	// Example: LENOVO_MT_20HR_BU_Think_FM_ThinkPad X1 Carbon 5th
	Sku string `json:"sku" yaml:"sku"`

	// Serial is the system serial number.
	// Example: PY3DD4X9
	Serial string `json:"serial" yaml:"serial"`

	// Type is the kind of system (physical, virtual-machine, container or unknown).
	// Example: physical
	Type string `json:"type" yaml:"type"`

	// Firmware describes the firmware.
	// Example: {"vendor": "Lenovo", "date": "10/14/2022", "version": "N1MET70W (1.55 )"}
	Firmware *ResourcesSystemFirmware `json:"firmware" yaml:"firmware"`

	// Chassis describes the chassis.
	// Example: {"vendor": "LENOVO", "type": "Notebook"}
	Chassis *ResourcesSystemChassis `json:"chassis" yaml:"chassis"`

	// Motherboard describes the motherboard.
	// Example: {"vendor": "LENOVO", "product": "20HRCTO1WW"}
	Motherboard *ResourcesSystemMotherboard `json:"motherboard" yaml:"motherboard"`
}

// ResourcesSystemFirmware describes the system firmware.
type ResourcesSystemFirmware struct {
	// Vendor is the firmware vendor.
	// Example: Lenovo
	Vendor string `json:"vendor" yaml:"vendor"`

	// Date is the firmware release date.
	// Example: 10/14/2022
	Date string `json:"date" yaml:"date"`

	// Version is the firmware version.
	// Example: N1MET70W (1.55 )
	Version string `json:"version" yaml:"version"`
}

// ResourcesSystemChassis describes the system chassis.
type ResourcesSystemChassis struct {
	// Vendor is the chassis vendor.
	// Example: Lenovo
	Vendor string `json:"vendor" yaml:"vendor"`

	// Type is the chassis type.
	// Example: Notebook
	Type string `json:"type" yaml:"type"`

	// Serial is the chassis serial number.
	// Example: PY3DD4X9
	Serial string `json:"serial" yaml:"serial"`

	// Version is the chassis version.
	// Example: None
	Version string `json:"version" yaml:"version"`
}

// ResourcesSystemMotherboard describes the motherboard.
type ResourcesSystemMotherboard struct {
	// Vendor is the motherboard vendor.
	// Example: Lenovo
	Vendor string `json:"vendor" yaml:"vendor"`

	// Product is the motherboard model.
	// Example: 20HRCTO1WW
	Product string `json:"product" yaml:"product"`

	// Serial is the motherboard serial number.
	// Example: L3CF4FX003A
	Serial string `json:"serial" yaml:"serial"`

	// Version is the motherboard version.
	// Example: None
	Version string `json:"version" yaml:"version"`
}
