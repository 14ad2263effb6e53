package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
)

// Target is a running container whose metrics are gathered.
type Target struct {
	// Name and Project identify the instance; they become the name and project labels.
	Name    string
	Project string

	// Pid is the host pid of the container's init.
	Pid int

	// Rootfs is the host path of the container's root file system; "" leaves out the file system metrics.
	Rootfs string
}

// Gatherer reads the metrics of containers from the host's /proc and cgroup file systems.
type Gatherer struct {
	// Root is the host's root directory: "/" on a host, a fixture tree in tests. /proc, /sys and every mount
	// point named in <Root>/proc/self/mountinfo are read below it.
	Root string
}

// Gather reads the metrics of one running container. A metric whose source is missing (a controller the host
// does not mount, a kernel without swap accounting) is left out; the error is set only when the container's
// init is gone or its cgroups cannot be found.
func (g Gatherer) Gather(t Target) (*Set, error) {
	root := g.Root
	if root == "" {
		root = "/"
	}

	procDir := filepath.Join(root, "proc", strconv.Itoa(t.Pid))
	procCgroup, err := os.ReadFile(filepath.Join(procDir, "cgroup"))
	if err != nil {
		return nil, fmt.Errorf("reading the cgroups of instance %q (pid %d): %w", t.Name, t.Pid, err)
	}

	mountinfo, err := os.ReadFile(filepath.Join(root, "proc", "self", "mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("reading the host mounts: %w", err)
	}

	mounts := parseMountinfo(mountinfo)
	cg := locateCgroups(root, procCgroup, mounts)
	if len(cg.v1) == 0 && cg.v2 == "" {
		return nil, fmt.Errorf("no cgroup of instance %q (pid %d) is mounted on the host", t.Name, t.Pid)
	}

	base := map[string]string{"name": t.Name, "project": t.Project, "type": string(api.InstanceTypeContainer)}
	s := &Set{}
	collectors := []struct {
		what string
		fn   func() error
	}{
		{"cpu", func() error { return collectCPU(s, base, cg) }},
		{"memory", func() error { return collectMemory(s, base, cg, filepath.Join(root, "proc", "meminfo")) }},
		{"disk", func() error { return collectDisk(s, base, cg, filepath.Join(root, "sys")) }},
		{"network", func() error { return collectNetwork(s, base, filepath.Join(procDir, "net", "dev")) }},
		{"processes", func() error { return collectProcs(s, base, cg) }},
		{"filesystem", func() error { return collectFilesystem(s, base, root, t.Rootfs, mounts) }},
	}

	for _, c := range collectors {
		err := c.fn()
		if err != nil {
			slog.Debug("failed gathering instance metrics", "instance", t.Name, "metrics", c.what, "err", err)
		}
	}

	return s, nil
}

// with returns base plus the extra labels.
func with(base map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}

	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}

	return out
}

// collectCPU reads the CPU time spent in user and system mode: per CPU from cpuacct.usage_all (v1, nanoseconds);
// cgroup v2 has no per-CPU split, so its cpu.stat totals (microseconds) are reported as CPU 0.
func collectCPU(s *Set, base map[string]string, cg cgroups) error {
	p := cg.file("cpuacct", "cpuacct.usage_all", "cpu.stat")
	if p == "" {
		return errors.New("no cpuacct.usage_all or cpu.stat")
	}

	if cg.isV2(p) {
		kv, err := readKeyValues(p)
		if err != nil {
			return err
		}

		s.add("lxd_cpu_seconds_total", with(base, "cpu", "0", "mode", "system"), float64(kv["system_usec"])/1e6)
		s.add("lxd_cpu_seconds_total", with(base, "cpu", "0", "mode", "user"), float64(kv["user_usec"])/1e6)
		return nil
	}

	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}

	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] == "cpu" {
			continue
		}

		user, err1 := strconv.ParseUint(fields[1], 10, 64)
		system, err2 := strconv.ParseUint(fields[2], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("parsing %s: bad line %q", p, line)
		}

		s.add("lxd_cpu_seconds_total", with(base, "cpu", fields[0], "mode", "system"), float64(system)/1e9)
		s.add("lxd_cpu_seconds_total", with(base, "cpu", fields[0], "mode", "user"), float64(user)/1e9)
	}

	return nil
}

// memoryStatKeys maps LXD's memory metrics to the keys of memory.stat: cgroup v1 (its hierarchical total_ form
// is preferred, as it counts the container's nested cgroups) and cgroup v2 (always hierarchical).
var memoryStatKeys = []struct{ metric, v1, v2 string }{
	{"lxd_memory_Active_anon_bytes", "active_anon", "active_anon"},
	{"lxd_memory_Active_file_bytes", "active_file", "active_file"},
	{"lxd_memory_Inactive_anon_bytes", "inactive_anon", "inactive_anon"},
	{"lxd_memory_Inactive_file_bytes", "inactive_file", "inactive_file"},
	{"lxd_memory_Cached_bytes", "cache", "file"},
	{"lxd_memory_Dirty_bytes", "dirty", "file_dirty"},
	{"lxd_memory_Mapped_bytes", "mapped_file", "file_mapped"},
	{"lxd_memory_RSS_bytes", "rss", "anon"},
	{"lxd_memory_Shmem_bytes", "shmem", "shmem"},
	{"lxd_memory_Unevictable_bytes", "unevictable", "unevictable"},
	{"lxd_memory_Writeback_bytes", "writeback", "file_writeback"},
}

// collectMemory reads memory.stat, the usage, the limit and the swap usage. MemTotal is the limit (the host's
// memory when there is none or it is larger), MemFree what the usage leaves of it, and MemAvailable MemFree plus
// the page cache, which the kernel reclaims before it runs out.
func collectMemory(s *Set, base map[string]string, cg cgroups, meminfo string) error {
	p := cg.file("memory", "memory.stat", "memory.stat")
	if p == "" {
		return errors.New("no memory.stat")
	}

	v2 := cg.isV2(p)
	stat, err := readKeyValues(p)
	if err != nil {
		return err
	}

	statValue := func(v1Key, v2Key string) (uint64, bool) {
		if v2 {
			n, ok := stat[v2Key]
			return n, ok
		}

		n, ok := stat["total_"+v1Key]
		if ok {
			return n, true
		}

		n, ok = stat[v1Key]
		return n, ok
	}

	for _, k := range memoryStatKeys {
		n, ok := statValue(k.v1, k.v2)
		if ok {
			s.add(k.metric, base, float64(n))
		}
	}

	activeAnon, ok1 := statValue("active_anon", "active_anon")
	activeFile, ok2 := statValue("active_file", "active_file")
	if ok1 && ok2 {
		s.add("lxd_memory_Active_bytes", base, float64(activeAnon+activeFile))
	}

	inactiveAnon, ok1 := statValue("inactive_anon", "inactive_anon")
	inactiveFile, ok2 := statValue("inactive_file", "inactive_file")
	if ok1 && ok2 {
		s.add("lxd_memory_Inactive_bytes", base, float64(inactiveAnon+inactiveFile))
	}

	dir := filepath.Dir(p)
	usageFile, limitFile := "memory.usage_in_bytes", "memory.limit_in_bytes"
	if v2 {
		usageFile, limitFile = "memory.current", "memory.max"
	}

	collectSwap(s, base, dir, v2, stat)
	usage, _, err := readUint(filepath.Join(dir, usageFile))
	if err != nil {
		return err
	}

	host, err := readKeyValues(meminfo)
	if err != nil {
		return err
	}

	total := host["MemTotal"]
	limit, limited, err := readUint(filepath.Join(dir, limitFile))
	if err == nil && limited && (total == 0 || limit < total) {
		total = limit
	}

	if total == 0 {
		return errors.New("no memory limit and no MemTotal in the host's meminfo")
	}

	free := uint64(0)
	if usage < total {
		free = total - usage
	}

	cached, _ := statValue("cache", "file")
	available := min(free+cached, total)
	s.add("lxd_memory_MemTotal_bytes", base, float64(total))
	s.add("lxd_memory_MemFree_bytes", base, float64(free))
	s.add("lxd_memory_MemAvailable_bytes", base, float64(available))
	return nil
}

// collectSwap reads the swap used: memory.swap.current (v2), or the swap line of memory.stat (v1, with swap
// accounting on). Without either it is left out.
func collectSwap(s *Set, base map[string]string, dir string, v2 bool, stat map[string]uint64) {
	if v2 {
		n, ok, err := readUint(filepath.Join(dir, "memory.swap.current"))
		if err == nil && ok {
			s.add("lxd_memory_Swap_bytes", base, float64(n))
		}

		return
	}

	n, ok := stat["total_swap"]
	if !ok {
		n, ok = stat["swap"]
	}

	if ok {
		s.add("lxd_memory_Swap_bytes", base, float64(n))
	}
}

// diskStats are the I/O counters of one block device.
type diskStats struct {
	readBytes, writtenBytes, reads, writes uint64
}

// collectDisk reads the I/O of each block device: blkio.throttle.io_service_bytes_recursive and
// io_serviced_recursive (v1), or io.stat (v2). Devices are named as the kernel names them (sda), from
// /sys/dev/block/<major>:<minor>/uevent.
func collectDisk(s *Set, base map[string]string, cg cgroups, sysDir string) error {
	p := cg.file("blkio", "blkio.throttle.io_service_bytes_recursive", "io.stat")
	if p == "" {
		return errors.New("no blkio.throttle.io_service_bytes_recursive or io.stat")
	}

	stats := map[string]*diskStats{}
	get := func(dev string) *diskStats {
		d := stats[dev]
		if d == nil {
			d = &diskStats{}
			stats[dev] = d
		}

		return d
	}

	if cg.isV2(p) {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}

		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}

			d := get(fields[0])
			for _, f := range fields[1:] {
				key, val, _ := strings.Cut(f, "=")
				n, err := strconv.ParseUint(val, 10, 64)
				if err != nil {
					continue
				}

				switch key {
				case "rbytes":
					d.readBytes = n
				case "wbytes":
					d.writtenBytes = n
				case "rios":
					d.reads = n
				case "wios":
					d.writes = n
				}
			}
		}
	} else {
		err := readBlkio(p, func(dev string, op string, n uint64) {
			switch op {
			case "Read":
				get(dev).readBytes = n
			case "Write":
				get(dev).writtenBytes = n
			}
		})
		if err != nil {
			return err
		}

		err = readBlkio(filepath.Join(filepath.Dir(p), "blkio.throttle.io_serviced_recursive"), func(dev string, op string, n uint64) {
			switch op {
			case "Read":
				get(dev).reads = n
			case "Write":
				get(dev).writes = n
			}
		})
		if err != nil {
			return err
		}
	}

	for dev, d := range stats {
		labels := with(base, "device", blockDeviceName(sysDir, dev))
		s.add("lxd_disk_read_bytes_total", labels, float64(d.readBytes))
		s.add("lxd_disk_written_bytes_total", labels, float64(d.writtenBytes))
		s.add("lxd_disk_reads_completed_total", labels, float64(d.reads))
		s.add("lxd_disk_writes_completed_total", labels, float64(d.writes))
	}

	return nil
}

// readBlkio reads a v1 blkio file of "<major>:<minor> <Op> <n>" lines.
func readBlkio(path string, fn func(dev string, op string, n uint64)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}

	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}

		n, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil {
			return fmt.Errorf("parsing %s: bad line %q", path, line)
		}

		fn(fields[0], fields[1], n)
	}

	return nil
}

// blockDeviceName returns the kernel name of block device "<major>:<minor>", or the numbers when it is unknown.
func blockDeviceName(sysDir string, dev string) string {
	data, err := os.ReadFile(filepath.Join(sysDir, "dev", "block", dev, "uevent"))
	if err != nil {
		return dev
	}

	for _, line := range strings.Split(string(data), "\n") {
		name, ok := strings.CutPrefix(line, "DEVNAME=")
		if ok && name != "" {
			return name
		}
	}

	return dev
}

// collectNetwork reads the counters of every interface of the container's network namespace from the
// /proc/<pid>/net/dev of its init.
func collectNetwork(s *Set, base map[string]string, netDev string) error {
	data, err := os.ReadFile(netDev)
	if err != nil {
		return err
	}

	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}

		fields := strings.Fields(rest)
		if len(fields) < 16 {
			continue
		}

		var v [16]uint64
		for i := range v {
			v[i], err = strconv.ParseUint(fields[i], 10, 64)
			if err != nil {
				return fmt.Errorf("parsing %s: bad line %q", netDev, sc.Text())
			}
		}

		labels := with(base, "device", strings.TrimSpace(name))
		s.add("lxd_network_receive_bytes_total", labels, float64(v[0]))
		s.add("lxd_network_receive_packets_total", labels, float64(v[1]))
		s.add("lxd_network_receive_errs_total", labels, float64(v[2]))
		s.add("lxd_network_receive_drop_total", labels, float64(v[3]))
		s.add("lxd_network_transmit_bytes_total", labels, float64(v[8]))
		s.add("lxd_network_transmit_packets_total", labels, float64(v[9]))
		s.add("lxd_network_transmit_errs_total", labels, float64(v[10]))
		s.add("lxd_network_transmit_drop_total", labels, float64(v[11]))
	}

	return nil
}

// collectProcs reads the number of processes in the container's cgroup (pids.current).
func collectProcs(s *Set, base map[string]string, cg cgroups) error {
	p := cg.file("pids", "pids.current", "pids.current")
	if p == "" {
		return errors.New("no pids.current")
	}

	n, _, err := readUint(p)
	if err != nil {
		return err
	}

	s.add("lxd_procs_total", base, float64(n))
	return nil
}

// collectFilesystem reports the size and free space of the file system holding the container's root, mounted
// at "/" in the container; device and fstype are those of the host mount the root lives on.
func collectFilesystem(s *Set, base map[string]string, root string, rootfs string, mounts []mount) error {
	if rootfs == "" {
		return nil
	}

	var st unix.Statfs_t
	err := unix.Statfs(rootfs, &st)
	if err != nil {
		return fmt.Errorf("statfs %s: %w", rootfs, err)
	}

	device, fstype := "", ""
	best := -1
	for _, m := range mounts {
		mp := filepath.Join(root, m.mountpoint)
		if (rootfs == mp || strings.HasPrefix(rootfs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= best {
			best = len(mp)
			device, fstype = m.source, m.fstype
		}
	}

	labels := with(base, "device", device, "fstype", fstype, "mountpoint", "/")
	bsize := uint64(st.Bsize)
	s.add("lxd_filesystem_size_bytes", labels, float64(st.Blocks*bsize))
	s.add("lxd_filesystem_free_bytes", labels, float64(st.Bfree*bsize))
	s.add("lxd_filesystem_avail_bytes", labels, float64(st.Bavail*bsize))
	return nil
}

// Instances is what the metrics need of the instance manager.
type Instances interface {
	// List returns every instance.
	List(ctx context.Context) ([]api.Instance, error)

	// State returns the runtime state of an instance, with the pid of its init.
	State(ctx context.Context, name string) (*api.InstanceState, error)
}

// Collect gathers the metrics of every running instance. rootfs returns the host path of an instance's root
// file system. An instance that stops while it is read is left out.
func (g Gatherer) Collect(ctx context.Context, insts Instances, rootfs func(name string) string) (*Set, error) {
	list, err := insts.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing instances: %w", err)
	}

	out := &Set{}
	for _, inst := range list {
		if inst.StatusCode != api.Running && inst.StatusCode != api.Frozen {
			continue
		}

		key := project.InstanceKey(inst.Project, inst.Name)
		st, err := insts.State(ctx, key)
		if err != nil || st.Pid <= 0 {
			continue
		}

		t := Target{Name: inst.Name, Project: inst.Project, Pid: int(st.Pid)}
		if rootfs != nil {
			t.Rootfs = rootfs(key)
		}

		set, err := g.Gather(t)
		if err != nil {
			slog.Debug("failed gathering instance metrics", "instance", inst.Name, "err", err)
			continue
		}

		out.Merge(set)
	}

	return out, nil
}
