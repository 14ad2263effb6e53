package resources

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// readUdevProperties reads the E: lines of a device's udev database entry (/run/udev/data/b<major>:<minor>).
func (r *Reader) readUdevProperties(device string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(r.path("run", "udev", "data", "b"+device))
	if err != nil {
		return out
	}

	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kv, ok := strings.CutPrefix(sc.Text(), "E:")
		if !ok {
			continue
		}

		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = v
		}
	}

	return out
}

// diskLink returns the name of the first link in /dev/disk/<kind> pointing at the block device name.
func (r *Reader) diskLink(kind string, name string) string {
	dir := r.path("dev", "disk", kind)
	links, _ := readDirNames(dir)
	for _, link := range links {
		target, err := os.Readlink(filepath.Join(dir, link))
		if err == nil && filepath.Base(target) == name {
			return link
		}
	}

	return ""
}

// diskType tells what kind of disk a device is from where it sits in the device tree.
func diskType(name string, devDir string) string {
	switch {
	case readString(filepath.Join(devDir, "type")) == "5":
		return "cdrom"
	case strings.HasPrefix(name, "nvme") || strings.Contains(devDir, "/nvme/"):
		return "nvme"
	case strings.Contains(devDir, "/virtio"):
		return "virtio"
	case strings.Contains(devDir, "/usb"):
		return "usb"
	case strings.Contains(devDir, "/mmc"):
		return "mmc"
	case strings.Contains(devDir, "/ata"):
		return "sata"
	case strings.Contains(devDir, "/host") && strings.Contains(devDir, "/target"):
		return "scsi"
	}

	return ""
}

// Storage reads the disks: every block device of /sys/block backed by a device, with its partitions. Virtual block
// devices (loop, zram, device-mapper) have no device and are left out.
func (r *Reader) Storage() (*api.ResourcesStorage, error) {
	blockDir := r.path("sys", "block")
	names, err := readDirNames(blockDir)
	if err != nil {
		return nil, err
	}

	out := &api.ResourcesStorage{Disks: []api.ResourcesStorageDisk{}}
	for _, name := range names {
		dir := filepath.Join(blockDir, name)
		devDir, err := resolve(filepath.Join(dir, "device"))
		if err != nil {
			continue
		}

		disk, err := r.disk(dir, devDir, name)
		if err != nil {
			return nil, err
		}

		out.Disks = append(out.Disks, disk)
	}

	out.Total = uint64(len(out.Disks))
	return out, nil
}

// disk describes one block device.
func (r *Reader) disk(dir string, devDir string, name string) (api.ResourcesStorageDisk, error) {
	disk := api.ResourcesStorageDisk{
		ID:         name,
		Device:     readString(filepath.Join(dir, "dev")),
		Model:      readString(filepath.Join(devDir, "model")),
		Type:       diskType(name, devDir),
		ReadOnly:   readString(filepath.Join(dir, "ro")) == "1",
		Removable:  readString(filepath.Join(dir, "removable")) == "1",
		WWN:        readString(filepath.Join(devDir, "wwid")),
		NUMANode:   deviceNUMANode(devDir),
		DevicePath: r.diskLink("by-path", name),
		DeviceID:   r.diskLink("by-id", name),
		Partitions: []api.ResourcesStorageDiskPartition{},
	}

	sectors, err := readUint(filepath.Join(dir, "size"))
	if err == nil {
		disk.Size = sectors * 512
	}

	disk.BlockSize, _ = readUint(filepath.Join(dir, "queue", "physical_block_size"))
	_, disk.PCIAddress = pciAncestor(devDir)
	if disk.PCIAddress == "" {
		disk.USBAddress = usbAncestor(devDir)
	}

	udev := r.readUdevProperties(disk.Device)
	disk.Serial = udev["ID_SERIAL_SHORT"]
	disk.FirmwareVersion = udev["ID_REVISION"]
	if disk.WWN == "" {
		disk.WWN = udev["ID_WWN"]
	}

	if disk.Model == "" {
		disk.Model = strings.ReplaceAll(udev["ID_MODEL"], "_", " ")
	}

	if readString(filepath.Join(dir, "queue", "rotational")) == "1" {
		disk.RPM = 1
		rpm, err := strconv.ParseUint(udev["ID_ATA_ROTATION_RATE_RPM"], 10, 64)
		if err == nil && rpm > 0 {
			disk.RPM = rpm
		}
	}

	entries, err := readDirNames(dir)
	if err != nil {
		return disk, err
	}

	for _, entry := range entries {
		partDir := filepath.Join(dir, entry)
		number, err := readUint(filepath.Join(partDir, "partition"))
		if err != nil {
			continue
		}

		part := api.ResourcesStorageDiskPartition{ID: entry, Partition: number,
			Device: readString(filepath.Join(partDir, "dev")), ReadOnly: readString(filepath.Join(partDir, "ro")) == "1"}
		sectors, err := readUint(filepath.Join(partDir, "size"))
		if err == nil {
			part.Size = sectors * 512
		}

		disk.Partitions = append(disk.Partitions, part)
	}

	return disk, nil
}
