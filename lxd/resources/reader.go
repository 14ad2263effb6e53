package resources

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/osarch"
)

// Reader reads the hardware description below Root, a directory holding sys/, proc/ and dev/ (the host's "/" in
// production, a fixture tree in tests).
type Reader struct {
	// Root is the directory the sysfs, procfs and /dev paths are taken from.
	Root string

	// Architecture is the architecture name reported for the processors.
	Architecture string

	// Ethtool queries a network interface's link settings and driver details. Nil leaves those fields out.
	Ethtool func(iface string) (*EthtoolInfo, error)

	pciOnce sync.Once
	pciIDs  *idNames
}

// Get reads every section of the hardware description.
func (r *Reader) Get() (*api.Resources, error) {
	res := &api.Resources{}
	cpu, err := r.CPU()
	if err != nil {
		return nil, fmt.Errorf("reading cpu: %w", err)
	}

	mem, err := r.Memory()
	if err != nil {
		return nil, fmt.Errorf("reading memory: %w", err)
	}

	gpu, err := r.GPU()
	if err != nil {
		return nil, fmt.Errorf("reading gpus: %w", err)
	}

	network, err := r.Network()
	if err != nil {
		return nil, fmt.Errorf("reading network cards: %w", err)
	}

	storage, err := r.Storage()
	if err != nil {
		return nil, fmt.Errorf("reading disks: %w", err)
	}

	usb, err := r.USB()
	if err != nil {
		return nil, fmt.Errorf("reading usb devices: %w", err)
	}

	pci, err := r.PCI()
	if err != nil {
		return nil, fmt.Errorf("reading pci devices: %w", err)
	}

	res.CPU, res.Memory, res.GPU, res.Network = *cpu, *mem, *gpu, *network
	res.Storage, res.USB, res.PCI, res.System = *storage, *usb, *pci, *r.System()
	return res, nil
}

// path joins Root and a host path.
func (r *Reader) path(elem ...string) string {
	return filepath.Join(append([]string{r.Root}, elem...)...)
}

// readString returns the trimmed content of a file, or "" when it cannot be read.
func readString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}

	return strings.TrimSpace(string(b))
}

// readUint parses a file holding one unsigned integer.
func readUint(path string) (uint64, error) {
	return strconv.ParseUint(readString(path), 10, 64)
}

// readNUMANode reads a device's numa_node file; a missing file or -1 (no NUMA) is node 0.
func readNUMANode(dir string) uint64 {
	n, err := strconv.ParseInt(readString(filepath.Join(dir, "numa_node")), 10, 64)
	if err != nil || n < 0 {
		return 0
	}

	return uint64(n)
}

// readHexID reads a vendor or device ID file ("0x1af4") as four hex digits ("1af4").
func readHexID(path string) string {
	return strings.TrimPrefix(readString(path), "0x")
}

// exists reports whether a path exists.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// linkBase returns the last element of a symlink's target, or "" when it is not a symlink.
func linkBase(path string) string {
	target, err := os.Readlink(path)
	if err != nil {
		return ""
	}

	return filepath.Base(target)
}

// readDirNames lists a directory; a missing directory is empty.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}

	return names, nil
}

var pciAddressRe = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$`)

// pciAncestor returns the sysfs directory and address of the nearest PCI device at or above dir.
func pciAncestor(dir string) (string, string) {
	for d := dir; d != "/" && d != "." && strings.Contains(d, "/devices/"); d = filepath.Dir(d) {
		if pciAddressRe.MatchString(filepath.Base(d)) {
			return d, filepath.Base(d)
		}
	}

	return "", ""
}

// usbAncestor returns the "bus:device" address of the nearest USB device at or above dir.
func usbAncestor(dir string) string {
	for d := dir; d != "/" && d != "." && strings.Contains(d, "/devices/"); d = filepath.Dir(d) {
		bus, err1 := readUint(filepath.Join(d, "busnum"))
		dev, err2 := readUint(filepath.Join(d, "devnum"))
		if err1 == nil && err2 == nil {
			return fmt.Sprintf("%d:%d", bus, dev)
		}
	}

	return ""
}

// deviceNUMANode reads the NUMA node of a device, from the device itself or else from its PCI parent.
func deviceNUMANode(dir string) uint64 {
	if exists(filepath.Join(dir, "numa_node")) {
		return readNUMANode(dir)
	}

	pciDir, _ := pciAncestor(dir)
	if pciDir != "" {
		return readNUMANode(pciDir)
	}

	return 0
}

// driverVersion returns the version of a device's driver: the module's version when it has one, else the kernel
// release (drivers built into the kernel or without a version of their own carry the kernel's).
func (r *Reader) driverVersion(devDir string) string {
	driverDir := filepath.Join(devDir, "driver")
	if !exists(driverDir) {
		return ""
	}

	module := linkBase(filepath.Join(driverDir, "module"))
	if module != "" {
		v := readString(r.path("sys", "module", module, "version"))
		if v != "" {
			return v
		}
	}

	return readString(r.path("proc", "sys", "kernel", "osrelease"))
}

// resolve returns the target of a sysfs symlink as a path below Root.
func resolve(path string) (string, error) {
	return filepath.EvalSymlinks(path)
}

// parseCPUList parses a kernel CPU list ("0-3,8,10-11").
func parseCPUList(s string) (map[int64]bool, error) {
	out := map[int64]bool{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}

	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.ParseInt(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad cpu list %q: %w", s, err)
		}

		last := first
		if isRange {
			last, err = strconv.ParseInt(hi, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad cpu list %q: %w", s, err)
			}
		}

		for i := first; i <= last; i++ {
			out[i] = true
		}
	}

	return out, nil
}

// Host returns the reader of the machine the daemon runs on.
func Host() *Reader {
	return &Reader{Root: "/", Architecture: osarch.Host(), Ethtool: HostEthtool}
}
