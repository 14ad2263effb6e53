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

// cgroupHost is where the host shows its cgroup hierarchies and huge page sizes (instance.CgroupHost).
type cgroupHost struct {
	instance.CgroupHost
}

// hostCgroups is the real host's.
var hostCgroups = cgroupHost{instance.HostCgroups}

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

		key := h.DiskWeightKey()
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

		mode, err := h.Hugetlb(size)
		if err != nil {
			return nil, fmt.Errorf("cannot apply %s: %w", k, err)
		}

		switch mode {
		case instance.HugetlbV1:
			out = append(out, [2]string{"lxc.cgroup.hugetlb." + size + ".limit_in_bytes", strconv.FormatInt(limit, 10)})
		case instance.HugetlbV2:
			out = append(out, [2]string{"lxc.cgroup2.hugetlb." + size + ".max", strconv.FormatInt(limit, 10)})
		default:
			// liblxc ignores cgroup2 limits on a hybrid host: the controller is enabled in the v2 hierarchy
			// and a start-host hook writes the limit into the container's cgroup before its init runs.
			err = h.enableUnified("hugetlb")
			if err != nil {
				return nil, fmt.Errorf("cannot apply %s: %w", k, err)
			}

			hybrid = append(hybrid, [2]string{"hugetlb." + size + ".max", strconv.FormatInt(limit, 10)})
		}
	}

	if len(hybrid) > 0 {
		out = append(out, [2]string{"lxc.hook.start-host", h.hybridHook(hybrid)})
	}

	return out, nil
}

// enableUnified enables a controller for the children of the v2 hierarchy's root on a hybrid host, where nothing
// else does, so that the containers' cgroups there have it.
func (h cgroupHost) enableUnified(controller string) error {
	path := filepath.Join(h.CgroupDir, h.Unified(), "cgroup.subtree_control")
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
	root := filepath.Join(h.CgroupDir, h.Unified())
	script := `set -e; cg=$(sed -n "s/^0:://p" /proc/$LXC_PID/cgroup); [ -n "$cg" ]`
	for _, w := range writes {
		script += fmt.Sprintf(`; echo %s > "%s$cg/%s"`, w[1], root, w[0])
	}

	return "/bin/sh -c '" + script + "'"
}
