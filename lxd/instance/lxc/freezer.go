package lxc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// freezer returns the file freezing the cgroup of process pid: cgroup.freeze on the unified hierarchy (cgroup2
// only, or the hybrid layout's /sys/fs/cgroup/unified), else the v1 freezer's freezer.state. liblxc's own freeze
// fails on hybrid hosts, so the driver writes it itself.
func freezer(pid int) (string, bool, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", false, err
	}

	defer func() { _ = f.Close() }()
	var unified, v1 string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}

		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
		}

		for _, c := range strings.Split(parts[1], ",") {
			if c == "freezer" {
				v1 = parts[2]
			}
		}
	}

	for _, mnt := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		_, err = os.Stat(filepath.Join(mnt, "cgroup.controllers"))
		if err == nil && unified != "" {
			return filepath.Join(mnt, unified, "cgroup.freeze"), true, nil
		}
	}

	if v1 != "" {
		return filepath.Join("/sys/fs/cgroup/freezer", v1, "freezer.state"), false, nil
	}

	return "", false, fmt.Errorf("no freezer cgroup for process %d", pid)
}

// setFrozen freezes or thaws the cgroup of pid and waits until the kernel reports it done.
func setFrozen(pid int, frozen bool) error {
	path, v2, err := freezer(pid)
	if err != nil {
		return err
	}

	value := map[bool]map[bool]string{true: {true: "1", false: "0"}, false: {true: "FROZEN", false: "THAWED"}}[v2][frozen]
	err = os.WriteFile(path, []byte(value), 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}

	for range 100 {
		if isFrozen(pid) == frozen {
			return nil
		}

		time.Sleep(20 * time.Millisecond)
	}

	return fmt.Errorf("the freezer did not settle (%s)", path)
}

// isFrozen reports whether the cgroup of pid is frozen.
func isFrozen(pid int) bool {
	path, v2, err := freezer(pid)
	if err != nil {
		return false
	}

	if v2 {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "cgroup.events"))
		return err == nil && strings.Contains(string(data), "frozen 1")
	}

	data, err := os.ReadFile(path)
	return err == nil && strings.TrimSpace(string(data)) == "FROZEN"
}
