package instance

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CgroupHost is where a host shows its cgroup hierarchies and its huge page sizes.
type CgroupHost struct {
	CgroupDir    string
	HugepagesDir string
}

// HostCgroups is the real host's.
var HostCgroups = CgroupHost{CgroupDir: "/sys/fs/cgroup", HugepagesDir: "/sys/kernel/mm/hugepages"}

// hugepageKB is the size in KiB of the huge pages of each limits.hugepages.* suffix.
var hugepageKB = map[string]int{"64KB": 64, "1MB": 1024, "2MB": 2048, "1GB": 1024 * 1024}

// exists reports whether a path under the cgroup directory exists.
func (h CgroupHost) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(h.CgroupDir, rel))
	return err == nil
}

// Unified returns the directory of the cgroup v2 hierarchy relative to the cgroup directory ("." on a v2 host,
// "unified" on a hybrid one), or "" when there is none.
func (h CgroupHost) Unified() string {
	for _, dir := range []string{".", "unified"} {
		if h.exists(filepath.Join(dir, "cgroup.controllers")) {
			return dir
		}
	}

	return ""
}

// V2Controller reports whether the cgroup v2 hierarchy offers a controller.
func (h CgroupHost) V2Controller(name string) bool {
	dir := h.Unified()
	if dir == "" {
		return false
	}

	data, err := os.ReadFile(filepath.Join(h.CgroupDir, dir, "cgroup.controllers"))
	return err == nil && slices.Contains(strings.Fields(string(data)), name)
}

// DiskWeightKey returns the liblxc key of the block I/O weight: io.weight on a v2 host (or a hybrid one whose v1
// blkio has no weight), blkio.weight or blkio.bfq.weight under v1; "" when the host has none.
func (h CgroupHost) DiskWeightKey() string {
	if h.Unified() == "." {
		if h.V2Controller("io") {
			return "lxc.cgroup2.io.weight"
		}

		return ""
	}

	for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if h.exists(filepath.Join("blkio", f)) {
			return "lxc.cgroup." + f
		}
	}

	if h.V2Controller("io") {
		return "lxc.cgroup2.io.weight"
	}

	return ""
}

// Hugetlb modes: where the hugetlb controller of a host is.
const (
	HugetlbV1     = "v1"
	HugetlbV2     = "v2"
	HugetlbHybrid = "hybrid"
)

// Hugetlb returns where the host's hugetlb controller is for pages of size (a limits.hugepages.* suffix):
// HugetlbV1, HugetlbV2, or HugetlbHybrid (the v2 hierarchy of a hybrid host, which liblxc does not set); an error
// when the host has no such pages or no controller.
func (h CgroupHost) Hugetlb(size string) (string, error) {
	kb, ok := hugepageKB[size]
	if !ok {
		return "", fmt.Errorf("%q is not a huge page size (%s)", size, strings.Join(HugepageSizes, ", "))
	}

	_, err := os.Stat(filepath.Join(h.HugepagesDir, fmt.Sprintf("hugepages-%dkB", kb)))
	if err != nil {
		return "", fmt.Errorf("the host has no %s huge pages", size)
	}

	switch {
	case h.exists("hugetlb"):
		return HugetlbV1, nil
	case h.Unified() == "." && h.V2Controller("hugetlb"):
		return HugetlbV2, nil
	case h.V2Controller("hugetlb"):
		return HugetlbHybrid, nil
	}

	return "", fmt.Errorf("the host has no hugetlb cgroup controller")
}
