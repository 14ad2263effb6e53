package drivers

import (
	"strconv"
	"strings"
)

// VolumeUsage returns the referenced bytes of the volume's qgroup, or the sizes of its files when quotas are not
// available.
func (d *btrfs) VolumeUsage(path string) (int64, error) {
	out, err := run("btrfs", "qgroup", "show", "--raw", "-f", path)
	if err == nil {
		for _, line := range strings.Split(out, "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 2 && strings.HasPrefix(fields[0], "0/") {
				n, err := strconv.ParseInt(fields[1], 10, 64)
				if err == nil {
					return n, nil
				}
			}
		}
	}

	return treeUsage(path)
}
