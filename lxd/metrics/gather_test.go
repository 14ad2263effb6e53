package metrics

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// writeTree writes files (path relative to root → content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		err := os.MkdirAll(filepath.Dir(p), 0o755)
		if err != nil {
			t.Fatal(err)
		}

		err = os.WriteFile(p, []byte(content), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
}

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     160       2    0    0    0     0          0         0      160       2    0    0    0     0       0          0
  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
`

const meminfo = "MemTotal:        8000000 kB\nMemFree:         1000 kB\n"

// hybridTree is a cgroup v1/v2 hybrid host (as this project's hosts are): the daemon itself sits in
// /process_api/x of the memory hierarchy, and the container's init (pid 42) in lxc.payload.c1 below it.
func hybridTree(t *testing.T) string {
	root := t.TempDir()
	mem := "sys/fs/cgroup/memory/process_api/x/lxc.payload.c1/"
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo": `22 1 0:20 / / rw - ext4 /dev/sda1 rw
30 22 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
31 22 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 22 0:28 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
33 22 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
34 22 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
40 22 0:40 / /var/lib/lxd\040data rw - xfs /dev/vdb rw
`,
		"proc/meminfo": meminfo,
		"proc/42/cgroup": `12:pids:/lxc.payload.c1
4:memory:/process_api/x/lxc.payload.c1
3:cpu,cpuacct:/lxc.payload.c1
2:blkio:/lxc.payload.c1
0::/lxc.payload.c1
`,
		"proc/42/net/dev": netDev,
		"sys/fs/cgroup/cpu,cpuacct/lxc.payload.c1/cpuacct.usage_all": "cpu user system\n0 1500000000 500000000\n1 250000000 0\n",
		mem + "memory.stat": "cache 100\nrss 200\nactive_anon 1\ninactive_anon 2\nactive_file 3\ninactive_file 4\n" +
			"total_cache 4096\ntotal_rss 8192\ntotal_shmem 16\ntotal_mapped_file 32\ntotal_dirty 64\ntotal_writeback 0\n" +
			"total_swap 128\ntotal_active_anon 1000\ntotal_inactive_anon 2000\ntotal_active_file 3000\n" +
			"total_inactive_file 4000\ntotal_unevictable 5\n",
		mem + "memory.usage_in_bytes": "1048576\n",
		mem + "memory.limit_in_bytes": "9223372036854771712\n",
		"sys/fs/cgroup/blkio/lxc.payload.c1/blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 8192\n" +
			"8:0 Sync 0\n8:0 Total 12288\n253:1 Read 512\n253:1 Write 0\nTotal 12800\n",
		"sys/fs/cgroup/blkio/lxc.payload.c1/blkio.throttle.io_serviced_recursive": "8:0 Read 3\n8:0 Write 7\n" +
			"253:1 Read 1\n253:1 Write 0\nTotal 11\n",
		"sys/dev/block/8:0/uevent":                           "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n",
		"sys/fs/cgroup/pids/lxc.payload.c1/pids.current":     "3\n",
		"sys/fs/cgroup/unified/lxc.payload.c1/cgroup.procs":  "42\n",
		"var/lib/lxd data/containers/c1/rootfs/etc/hostname": "c1\n",
	})

	return root
}

// v2Tree is a host with the unified hierarchy only, the container limited to 512MiB.
func v2Tree(t *testing.T) string {
	root := t.TempDir()
	cg := "sys/fs/cgroup/lxc.payload.c2/"
	writeTree(t, root, map[string]string{
		"proc/self/mountinfo": "22 1 0:20 / / rw - ext4 /dev/sda1 rw\n" +
			"30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
		"proc/meminfo":             meminfo,
		"proc/7/cgroup":            "0::/lxc.payload.c2\n",
		"proc/7/net/dev":           netDev,
		cg + "cpu.stat":            "usage_usec 3000000\nuser_usec 2500000\nsystem_usec 500000\n",
		cg + "memory.stat":         "anon 8192\nfile 4096\nshmem 16\nfile_mapped 32\nfile_dirty 64\nfile_writeback 8\nactive_anon 1000\ninactive_anon 2000\nactive_file 3000\ninactive_file 4000\nunevictable 5\n",
		cg + "memory.current":      "268435456\n",
		cg + "memory.max":          "536870912\n",
		cg + "memory.swap.current": "0\n",
		cg + "io.stat":             "8:0 rbytes=4096 wbytes=8192 rios=3 wios=7 dbytes=0 dios=0\n",
		cg + "pids.current":        "5\n",
		"sys/dev/block/8:0/uevent": "MAJOR=8\nMINOR=0\nDEVNAME=sda\n",
	})

	return root
}

// values indexes a set by name and rendered labels.
func values(s *Set) map[string]float64 {
	out := map[string]float64{}
	for _, smp := range s.Samples() {
		out[smp.Name+formatLabels(smp.Labels)] = smp.Value
	}

	return out
}

func TestGatherHybrid(t *testing.T) {
	root := hybridTree(t)
	rootfs := filepath.Join(root, "var/lib/lxd data/containers/c1/rootfs")
	s, err := Gatherer{Root: root}.Gather(Target{Name: "c1", Project: "default", Pid: 42, Rootfs: rootfs})
	if err != nil {
		t.Fatal(err)
	}

	got := values(s)
	inst := `name="c1",project="default",type="container"`
	want := map[string]float64{
		`lxd_cpu_seconds_total{cpu="0",mode="system",` + inst + `}`:      0.5,
		`lxd_cpu_seconds_total{cpu="0",mode="user",` + inst + `}`:        1.5,
		`lxd_cpu_seconds_total{cpu="1",mode="user",` + inst + `}`:        0.25,
		`lxd_memory_Cached_bytes{` + inst + `}`:                          4096,
		`lxd_memory_RSS_bytes{` + inst + `}`:                             8192,
		`lxd_memory_Active_bytes{` + inst + `}`:                          4000,
		`lxd_memory_Inactive_bytes{` + inst + `}`:                        6000,
		`lxd_memory_Swap_bytes{` + inst + `}`:                            128,
		`lxd_memory_Unevictable_bytes{` + inst + `}`:                     5,
		`lxd_memory_MemTotal_bytes{` + inst + `}`:                        8000000 * 1024,
		`lxd_memory_MemFree_bytes{` + inst + `}`:                         8000000*1024 - 1048576,
		`lxd_memory_MemAvailable_bytes{` + inst + `}`:                    8000000*1024 - 1048576 + 4096,
		`lxd_disk_read_bytes_total{device="sda",` + inst + `}`:           4096,
		`lxd_disk_written_bytes_total{device="sda",` + inst + `}`:        8192,
		`lxd_disk_reads_completed_total{device="sda",` + inst + `}`:      3,
		`lxd_disk_writes_completed_total{device="sda",` + inst + `}`:     7,
		`lxd_disk_read_bytes_total{device="253:1",` + inst + `}`:         512,
		`lxd_network_receive_bytes_total{device="eth0",` + inst + `}`:    5000,
		`lxd_network_receive_drop_total{device="eth0",` + inst + `}`:     2,
		`lxd_network_transmit_packets_total{device="eth0",` + inst + `}`: 30,
		`lxd_network_transmit_errs_total{device="eth0",` + inst + `}`:    3,
		`lxd_network_receive_bytes_total{device="lo",` + inst + `}`:      160,
		`lxd_procs_total{` + inst + `}`:                                  3,
	}

	for k, v := range want {
		g, ok := got[k]
		if !ok || g != v {
			t.Errorf("%s: got %v (present %v), want %v", k, g, ok, v)
		}
	}

	fsKey := `lxd_filesystem_size_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/",` + inst + `}`
	if got[fsKey] <= 0 {
		t.Errorf("got no %s in %v", fsKey, got)
	}
}

func TestGatherV2(t *testing.T) {
	root := v2Tree(t)
	s, err := Gatherer{Root: root}.Gather(Target{Name: "c2", Project: "default", Pid: 7})
	if err != nil {
		t.Fatal(err)
	}

	got := values(s)
	inst := `name="c2",project="default",type="container"`
	want := map[string]float64{
		`lxd_cpu_seconds_total{cpu="0",mode="system",` + inst + `}`:  0.5,
		`lxd_cpu_seconds_total{cpu="0",mode="user",` + inst + `}`:    2.5,
		`lxd_memory_Cached_bytes{` + inst + `}`:                      4096,
		`lxd_memory_RSS_bytes{` + inst + `}`:                         8192,
		`lxd_memory_Writeback_bytes{` + inst + `}`:                   8,
		`lxd_memory_Swap_bytes{` + inst + `}`:                        0,
		`lxd_memory_MemTotal_bytes{` + inst + `}`:                    536870912,
		`lxd_memory_MemFree_bytes{` + inst + `}`:                     268435456,
		`lxd_memory_MemAvailable_bytes{` + inst + `}`:                268435456 + 4096,
		`lxd_disk_read_bytes_total{device="sda",` + inst + `}`:       4096,
		`lxd_disk_writes_completed_total{device="sda",` + inst + `}`: 7,
		`lxd_procs_total{` + inst + `}`:                              5,
	}

	for k, v := range want {
		g, ok := got[k]
		if !ok || g != v {
			t.Errorf("%s: got %v (present %v), want %v", k, g, ok, v)
		}
	}

	for k := range got {
		if strings.HasPrefix(k, "lxd_filesystem_") {
			t.Errorf("got %s without a root file system", k)
		}
	}
}

func TestGatherGoneInstance(t *testing.T) {
	root := v2Tree(t)
	_, err := Gatherer{Root: root}.Gather(Target{Name: "c2", Project: "default", Pid: 8})
	if err == nil {
		t.Fatal("got no error for a pid without /proc entry")
	}
}

func TestLocateCgroupsNestedMountRoot(t *testing.T) {
	// A daemon in a cgroup namespace sees its hierarchy mounted from a non-root directory.
	mounts := parseMountinfo([]byte("31 22 0:27 /daemon /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"34 22 0:30 /daemon /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"))
	cg := locateCgroups("/", []byte("4:memory:/daemon/lxc.payload.c1\n0::/elsewhere\n"), mounts)
	if cg.v1["memory"] != "/sys/fs/cgroup/memory/lxc.payload.c1" || cg.v2 != "" {
		t.Fatalf("got %+v, want memory under the mount and no unified cgroup outside it", cg)
	}
}

func TestWriteText(t *testing.T) {
	s := &Set{}
	base := map[string]string{"name": "c1", "project": "default", "type": "container"}
	s.add("lxd_procs_total", base, 2)
	s.add("lxd_cpu_seconds_total", with(base, "cpu", "1", "mode", "user"), 0.25)
	s.add("lxd_cpu_seconds_total", with(base, "cpu", "0", "mode", "user"), 1234567890123)
	s.add("lxd_network_receive_bytes_total", with(base, "device", `we"ird\`), 1)
	want := `# HELP lxd_cpu_seconds_total The total number of CPU time used in seconds.
# TYPE lxd_cpu_seconds_total counter
lxd_cpu_seconds_total{cpu="0",mode="user",name="c1",project="default",type="container"} 1234567890123
lxd_cpu_seconds_total{cpu="1",mode="user",name="c1",project="default",type="container"} 0.25
# HELP lxd_network_receive_bytes_total The amount of received bytes on a given interface.
# TYPE lxd_network_receive_bytes_total counter
lxd_network_receive_bytes_total{device="we\"ird\\",name="c1",project="default",type="container"} 1
# HELP lxd_procs_total The number of running processes.
# TYPE lxd_procs_total gauge
lxd_procs_total{name="c1",project="default",type="container"} 2
`
	got := s.String()
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// fakeInstances lists instances with fixed states.
type fakeInstances struct {
	list []api.Instance
	pids map[string]int64
}

func (f fakeInstances) List(ctx context.Context) ([]api.Instance, error) {
	return f.list, nil
}

func (f fakeInstances) State(ctx context.Context, name string) (*api.InstanceState, error) {
	return &api.InstanceState{Pid: f.pids[name]}, nil
}

func TestCollectRunningOnly(t *testing.T) {
	root := v2Tree(t)
	insts := fakeInstances{
		list: []api.Instance{
			{Name: "c2", Project: "default", StatusCode: api.Running},
			{Name: "off", Project: "default", StatusCode: api.Stopped},
			{Name: "gone", Project: "default", StatusCode: api.Running},
		},
		pids: map[string]int64{"c2": 7, "off": 7, "gone": 99},
	}

	s, err := Gatherer{Root: root}.Collect(context.Background(), insts, nil)
	if err != nil {
		t.Fatal(err)
	}

	names := map[string]bool{}
	for _, smp := range s.Samples() {
		names[smp.Labels["name"]] = true
	}

	if len(names) != 1 || !names["c2"] {
		t.Fatalf("got samples of %v, want only the running c2", names)
	}
}

func TestSetProject(t *testing.T) {
	s := &Set{}
	s.add("lxd_procs_total", map[string]string{"name": "a", "project": "default", "type": "container"}, 1)
	s.add("lxd_procs_total", map[string]string{"name": "a", "project": "p1", "type": "container"}, 2)
	got := s.Project("p1").Samples()
	if len(got) != 1 || got[0].Value != 2 {
		t.Fatalf("got %+v, want the sample of project p1 only", got)
	}
}
