package resources

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// readMeminfo parses a meminfo file (/proc/meminfo, or a node's meminfo whose lines start "Node N") into bytes
// (kB values) or counts (the HugePages_ lines).
func readMeminfo(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}

	defer func() { _ = f.Close() }()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}

		fields := strings.Fields(key)
		key = fields[len(fields)-1]
		parts := strings.Fields(value)
		if len(parts) == 0 {
			continue
		}

		n, err := strconv.ParseUint(parts[0], 10, 64)
		if err != nil {
			continue
		}

		if len(parts) > 1 && parts[1] == "kB" {
			n *= 1024
		}

		out[key] = n
	}

	return out, sc.Err()
}

// blockMemory adds up the online memory blocks listed in dir (the memory-hotplug view of installed memory, which
// unlike MemTotal includes what the kernel reserved for itself). It returns 0 when dir lists no blocks.
func (r *Reader) blockMemory(dir string) uint64 {
	size, err := strconv.ParseUint(readString(r.path("sys", "devices", "system", "memory", "block_size_bytes")), 16, 64)
	if err != nil {
		return 0
	}

	names, _ := readDirNames(dir)
	var total uint64
	for _, name := range names {
		if !strings.HasPrefix(name, "memory") || name == "memory_failure" {
			continue
		}

		_, err := strconv.Atoi(strings.TrimPrefix(name, "memory"))
		if err != nil {
			continue
		}

		if readString(filepath.Join(dir, name, "online")) == "1" {
			total += size
		}
	}

	return total
}

// Memory reads the memory totals, huge pages and NUMA nodes.
func (r *Reader) Memory() (*api.ResourcesMemory, error) {
	info, err := readMeminfo(r.path("proc", "meminfo"))
	if err != nil {
		return nil, err
	}

	out := &api.ResourcesMemory{}
	out.Total = r.blockMemory(r.path("sys", "devices", "system", "memory"))
	if out.Total == 0 {
		out.Total = info["MemTotal"]
	}

	free := info["MemFree"] + info["Buffers"] + info["Cached"]
	if free <= out.Total {
		out.Used = out.Total - free
	}

	out.HugepagesSize = info["Hugepagesize"]
	out.HugepagesTotal = info["HugePages_Total"] * out.HugepagesSize
	out.HugepagesUsed = (info["HugePages_Total"] - min(info["HugePages_Free"], info["HugePages_Total"])) * out.HugepagesSize
	nodes, err := r.memoryNodes(out.HugepagesSize)
	if err != nil {
		return nil, err
	}

	out.Nodes = nodes
	return out, nil
}

// memoryNodes reads /sys/devices/system/node/nodeN.
func (r *Reader) memoryNodes(hugepageSize uint64) ([]api.ResourcesMemoryNode, error) {
	dir := r.path("sys", "devices", "system", "node")
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}

	var out []api.ResourcesMemoryNode
	for _, name := range names {
		id, err := strconv.ParseUint(strings.TrimPrefix(name, "node"), 10, 64)
		if err != nil || !strings.HasPrefix(name, "node") {
			continue
		}

		nodeDir := filepath.Join(dir, name)
		info, err := readMeminfo(filepath.Join(nodeDir, "meminfo"))
		if err != nil {
			return nil, err
		}

		node := api.ResourcesMemoryNode{NUMANode: id, Used: info["MemUsed"]}
		node.Total = r.blockMemory(nodeDir)
		if node.Total == 0 {
			node.Total = info["MemTotal"]
		}

		if hugepageSize > 0 {
			pages := filepath.Join(nodeDir, "hugepages", "hugepages-"+strconv.FormatUint(hugepageSize/1024, 10)+"kB")
			total, err1 := readUint(filepath.Join(pages, "nr_hugepages"))
			free, err2 := readUint(filepath.Join(pages, "free_hugepages"))
			if err1 == nil && err2 == nil && free <= total {
				node.HugepagesTotal = total * hugepageSize
				node.HugepagesUsed = (total - free) * hugepageSize
			}
		}

		out = append(out, node)
	}

	sort.Slice(out, func(i, j int) bool { return out[i].NUMANode < out[j].NUMANode })
	return out, nil
}
