package lxc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/instance"
)

// cgroupHost is where the host shows its cgroup hierarchies and its huge page sizes.
type cgroupHost struct {
	cgroupDir    string
	hugepagesDir string
}

// hostCgroups is the real host's.
var hostCgroups = cgroupHost{cgroupDir: "/sys/fs/cgroup", hugepagesDir: "/sys/kernel/mm/hugepages"}

// exists reports whether a path under the cgroup directory exists.
func (h cgroupHost) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(h.cgroupDir, rel))
	return err == nil
}

// unified returns the directory of the cgroup v2 hierarchy relative to the cgroup directory ("." on a v2 host,
// "unified" on a hybrid one), or "" when there is none.
func (h cgroupHost) unified() string {
	for _, dir := range []string{".", "unified"} {
		if h.exists(filepath.Join(dir, "cgroup.controllers")) {
			return dir
		}
	}

	return ""
}

// v2Controller reports whether the cgroup v2 hierarchy offers a controller.
func (h cgroupHost) v2Controller(name string) bool {
	dir := h.unified()
	if dir == "" {
		return false
	}

	data, err := os.ReadFile(filepath.Join(h.cgroupDir, dir, "cgroup.controllers"))
	return err == nil && slices.Contains(strings.Fields(string(data)), name)
}

// hugepageKB is the size in KiB of the huge pages of each limits.hugepages.* suffix.
var hugepageKB = map[string]int{"64KB": 64, "1MB": 1024, "2MB": 2048, "1GB": 1024 * 1024}

// confinementLimits returns the liblxc cgroup settings (whole keys: on a hybrid host each controller is in the
// hierarchy that has it) of limits.disk.priority and limits.hugepages.*, or an error naming the key when the host
// cannot apply it: no block I/O weight, no hugetlb controller, or no huge pages of that size.
func (h cgroupHost) confinementLimits(config map[string]string) ([][2]string, error) {
	var out, hybrid [][2]string
	v := config[instance.KeyDiskPriority]
	if v != "" {
		weight, err := instance.DiskWeight(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", instance.KeyDiskPriority, err)
		}

		key := h.diskWeightKey()
		if key == "" {
			return nil, fmt.Errorf("cannot apply %s: the host has no block I/O weight cgroup controller (blkio.weight or io.weight)",
				instance.KeyDiskPriority)
		}

		out = append(out, [2]string{key, strconv.FormatInt(weight, 10)})
	}

	for _, size := range instance.HugepageSizes {
		k := "limits.hugepages." + size
		v := config[k]
		if v == "" {
			continue
		}

		limit, err := instance.ParseByteSize(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", k, err)
		}

		_, err = os.Stat(filepath.Join(h.hugepagesDir, fmt.Sprintf("hugepages-%dkB", hugepageKB[size])))
		if err != nil {
			return nil, fmt.Errorf("cannot apply %s: the host has no %s huge pages", k, size)
		}

		switch {
		case h.exists("hugetlb"):
			out = append(out, [2]string{"lxc.cgroup.hugetlb." + size + ".limit_in_bytes", strconv.FormatInt(limit, 10)})
		case h.unified() == "." && h.v2Controller("hugetlb"):
			out = append(out, [2]string{"lxc.cgroup2.hugetlb." + size + ".max", strconv.FormatInt(limit, 10)})
		case h.v2Controller("hugetlb"):
			// liblxc ignores cgroup2 limits on a hybrid host: the controller is enabled in the v2 hierarchy
			// and a start-host hook writes the limit into the container's cgroup before its init runs.
			err = h.enableUnified("hugetlb")
			if err != nil {
				return nil, fmt.Errorf("cannot apply %s: %w", k, err)
			}

			hybrid = append(hybrid, [2]string{"hugetlb." + size + ".max", strconv.FormatInt(limit, 10)})
		default:
			return nil, fmt.Errorf("cannot apply %s: the host has no hugetlb cgroup controller", k)
		}
	}

	if len(hybrid) > 0 {
		out = append(out, [2]string{"lxc.hook.start-host", h.hybridHook(hybrid)})
	}

	return out, nil
}

// diskWeightKey returns the liblxc key of the block I/O weight: io.weight on a v2 host (or a hybrid one whose v1
// blkio has no weight), blkio.weight or blkio.bfq.weight under v1; "" when the host has none.
func (h cgroupHost) diskWeightKey() string {
	if h.unified() == "." {
		if h.v2Controller("io") {
			return "lxc.cgroup2.io.weight"
		}

		return ""
	}

	for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if h.exists(filepath.Join("blkio", f)) {
			return "lxc.cgroup." + f
		}
	}

	if h.v2Controller("io") {
		return "lxc.cgroup2.io.weight"
	}

	return ""
}

// enableUnified enables a controller for the children of the v2 hierarchy's root on a hybrid host, where nothing
// else does, so that the containers' cgroups there have it.
func (h cgroupHost) enableUnified(controller string) error {
	path := filepath.Join(h.cgroupDir, h.unified(), "cgroup.subtree_control")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}

	if slices.Contains(strings.Fields(string(data)), controller) {
		return nil
	}

	err = os.WriteFile(path, []byte("+"+controller), 0o644)
	if err != nil {
		return fmt.Errorf("enabling the %s controller in %s: %w", controller, path, err)
	}

	return nil
}

// hybridHook returns the lxc.hook.start-host writing each file=value into the container's cgroup of the v2
// hierarchy of a hybrid host. liblxc runs it with sh -c once the container's process is in its cgroups, with
// LXC_PID set, and a failing hook fails the start.
func (h cgroupHost) hybridHook(writes [][2]string) string {
	root := filepath.Join(h.cgroupDir, h.unified())
	script := `set -e; cg=$(sed -n "s/^0:://p" /proc/$LXC_PID/cgroup); [ -n "$cg" ]`
	for _, w := range writes {
		script += fmt.Sprintf(`; echo %s > "%s$cg/%s"`, w[1], root, w[0])
	}

	return "/bin/sh -c '" + script + "'"
}
