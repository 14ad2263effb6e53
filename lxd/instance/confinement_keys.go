package instance

import (
	"fmt"
	"strconv"
)

// Hugepage sizes of the limits.hugepages.* keys, as LXD names them.
var HugepageSizes = []string{"64KB", "1MB", "2MB", "1GB"}

// KeyDiskPriority is the share of disk I/O the instance gets under contention, 0 to 10.
const KeyDiskPriority = "limits.disk.priority"

// confinementConfigKeys are the id map, protection and further limits keys, with their checks.
var confinementConfigKeys = map[string]keyCheck{
	KeyIdmapIsolated:    checkBool,
	KeyIdmapSize:        optional(checkUint32),
	KeyIdmapBaseConf:    optional(checkUint32),
	KeyRawIdmap:         checkRawIDMap,
	KeyProtectionDelete: checkBool,
	KeyProtectionShift:  checkBool,
	KeyDiskPriority:     optional(checkDiskPriority),
	KeyRawAppArmor:      checkAny,

	"limits.hugepages.64KB": optional(checkHugepages("64KB")),
	"limits.hugepages.1MB":  optional(checkHugepages("1MB")),
	"limits.hugepages.2MB":  optional(checkHugepages("2MB")),
	"limits.hugepages.1GB":  optional(checkHugepages("1GB")),
}

// checkDiskPriority checks the priority, and that the host has a block I/O weight to give it: as the other limits,
// it is refused when set rather than left to fail a start.
func checkDiskPriority(v string) error {
	_, err := DiskWeight(v)
	if err != nil {
		return err
	}

	if HostCgroups.DiskWeightKey() == "" {
		return fmt.Errorf("the host has no block I/O weight cgroup controller (blkio.weight or io.weight)")
	}

	return nil
}

// DiskWeight turns limits.disk.priority (0 to 10) into the block I/O weight LXD gives it: 100 per step, 10 (the
// smallest weight) for 0.
func DiskWeight(v string) (int64, error) {
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil || n > 10 {
		return 0, fmt.Errorf("%q is not a priority between 0 and 10", v)
	}

	return max(int64(n)*100, 10), nil
}

// checkHugepages returns the check of limits.hugepages.<size>: a size in bytes, on a host with such pages and a
// hugetlb controller.
func checkHugepages(size string) keyCheck {
	return func(v string) error {
		_, err := ParseByteSize(v)
		if err != nil {
			return err
		}

		_, err = HostCgroups.Hugetlb(size)
		return err
	}
}
