package resources

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// cpuInfoSocket is what /proc/cpuinfo says about one processor package.
type cpuInfoSocket struct {
	name   string
	vendor string
}

// readCPUInfo maps each physical package ID to its name and vendor as /proc/cpuinfo lists them.
func (r *Reader) readCPUInfo() (map[uint64]cpuInfoSocket, error) {
	f, err := os.Open(r.path("proc", "cpuinfo"))
	if err != nil {
		if os.IsNotExist(err) {
			return map[uint64]cpuInfoSocket{}, nil
		}

		return nil, err
	}

	defer func() { _ = f.Close() }()
	out := map[uint64]cpuInfoSocket{}
	cur := cpuInfoSocket{}
	var socket uint64
	flush := func() {
		if cur.name != "" || cur.vendor != "" {
			_, seen := out[socket]
			if !seen {
				out[socket] = cur
			}
		}

		cur, socket = cpuInfoSocket{}, 0
	}

	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			if strings.TrimSpace(sc.Text()) == "" {
				flush()
			}

			continue
		}

		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "model name", "cpu model", "model":
			if cur.name == "" && key != "model" {
				cur.name = value
			}

		case "vendor_id", "vendor":
			cur.vendor = value
		case "physical id":
			socket, _ = strconv.ParseUint(value, 10, 64)
		}
	}

	flush()
	return out, sc.Err()
}

// cpuThread is one logical CPU as sysfs describes it.
type cpuThread struct {
	id       int64
	socket   uint64
	core     uint64
	die      uint64
	numaNode uint64
	online   bool
	dir      string
}

// readThread reads one cpuN directory.
func readThread(dir string, id int64, online map[int64]bool) cpuThread {
	t := cpuThread{id: id, dir: dir, online: online[id]}
	t.socket, _ = readUint(filepath.Join(dir, "topology", "physical_package_id"))
	t.core, _ = readUint(filepath.Join(dir, "topology", "core_id"))
	t.die, _ = readUint(filepath.Join(dir, "topology", "die_id"))
	names, _ := readDirNames(dir)
	for _, name := range names {
		n, ok := strings.CutPrefix(name, "node")
		if !ok {
			continue
		}

		node, err := strconv.ParseUint(n, 10, 64)
		if err == nil {
			t.numaNode = node
		}
	}

	return t
}

// CPU reads the processors: sockets, their caches and cores, each core's threads.
func (r *Reader) CPU() (*api.ResourcesCPU, error) {
	sysCPU := r.path("sys", "devices", "system", "cpu")
	names, err := readDirNames(sysCPU)
	if err != nil {
		return nil, err
	}

	online, err := parseCPUList(readString(filepath.Join(sysCPU, "online")))
	if err != nil {
		return nil, err
	}

	isolated, err := parseCPUList(readString(filepath.Join(sysCPU, "isolated")))
	if err != nil {
		return nil, err
	}

	info, err := r.readCPUInfo()
	if err != nil {
		return nil, err
	}

	var threads []cpuThread
	for _, name := range names {
		n, ok := strings.CutPrefix(name, "cpu")
		if !ok {
			continue
		}

		id, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			continue
		}

		threads = append(threads, readThread(filepath.Join(sysCPU, name), id, online))
	}

	sort.Slice(threads, func(i, j int) bool { return threads[i].id < threads[j].id })
	out := &api.ResourcesCPU{Architecture: r.Architecture, Sockets: []api.ResourcesCPUSocket{}}
	sockets := map[uint64]*api.ResourcesCPUSocket{}
	cores := map[[2]uint64]*api.ResourcesCPUCore{}
	var socketIDs []uint64
	for _, t := range threads {
		_, ok := sockets[t.socket]
		if !ok {
			s := &api.ResourcesCPUSocket{Socket: t.socket, Name: info[t.socket].name, Vendor: info[t.socket].vendor}
			s.Cache, err = readCaches(filepath.Join(t.dir, "cache"))
			if err != nil {
				return nil, err
			}

			sockets[t.socket] = s
			socketIDs = append(socketIDs, t.socket)
		}

		key := [2]uint64{t.socket, t.core}
		c, ok := cores[key]
		if !ok {
			c = &api.ResourcesCPUCore{Core: t.core, Die: t.die}
			cores[key] = c
		}

		c.Threads = append(c.Threads, api.ResourcesCPUThread{ID: t.id, NUMANode: t.numaNode,
			Thread: uint64(len(c.Threads)), Online: t.online, Isolated: isolated[t.id]})
		freq, err := readUint(filepath.Join(t.dir, "cpufreq", "scaling_cur_freq"))
		if err == nil && freq/1000 > c.Frequency {
			c.Frequency = freq / 1000
		}

		out.Total++
	}

	sort.Slice(socketIDs, func(i, j int) bool { return socketIDs[i] < socketIDs[j] })
	for _, id := range socketIDs {
		s := sockets[id]
		var keys [][2]uint64
		for key := range cores {
			if key[0] == id {
				keys = append(keys, key)
			}
		}

		sort.Slice(keys, func(i, j int) bool { return keys[i][1] < keys[j][1] })
		var sum, count uint64
		for _, key := range keys {
			s.Cores = append(s.Cores, *cores[key])
			if cores[key].Frequency > 0 {
				sum += cores[key].Frequency
				count++
			}
		}

		if count > 0 {
			s.Frequency = sum / count
			r.readFrequencyRange(s, threads)
		}

		out.Sockets = append(out.Sockets, *s)
	}

	return out, nil
}

// readFrequencyRange fills a socket's minimum and turbo frequencies from the cpufreq limits of its first thread.
func (r *Reader) readFrequencyRange(s *api.ResourcesCPUSocket, threads []cpuThread) {
	for _, t := range threads {
		if t.socket != s.Socket {
			continue
		}

		minimum, err := readUint(filepath.Join(t.dir, "cpufreq", "cpuinfo_min_freq"))
		if err == nil {
			s.FrequencyMinimum = minimum / 1000
		}

		maximum, err := readUint(filepath.Join(t.dir, "cpufreq", "cpuinfo_max_freq"))
		if err == nil {
			s.FrequencyTurbo = maximum / 1000
		}

		return
	}
}

// readCaches reads the cache/indexN directories of a CPU.
func readCaches(dir string) ([]api.ResourcesCPUCache, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}

	var out []api.ResourcesCPUCache
	sort.Slice(names, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(names[i], "index"))
		b, _ := strconv.Atoi(strings.TrimPrefix(names[j], "index"))
		return a < b
	})
	for _, name := range names {
		if !strings.HasPrefix(name, "index") {
			continue
		}

		d := filepath.Join(dir, name)
		level, err := readUint(filepath.Join(d, "level"))
		if err != nil {
			continue
		}

		size, err := parseCacheSize(readString(filepath.Join(d, "size")))
		if err != nil {
			return nil, err
		}

		out = append(out, api.ResourcesCPUCache{Level: level, Type: readString(filepath.Join(d, "type")), Size: size})
	}

	return out, nil
}

// parseCacheSize parses a sysfs cache size ("48K", "2048K", "32M") into bytes.
func parseCacheSize(s string) (uint64, error) {
	mult := uint64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1024, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1024*1024, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1024*1024*1024, strings.TrimSuffix(s, "G")
	}

	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad cache size %q: %w", s, err)
	}

	return n * mult, nil
}
