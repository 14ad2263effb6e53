package lxc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance"
)

// fakeCgroups lays out a cgroup directory with the given files (path: content) and huge pages of 2MB.
func fakeCgroups(t *testing.T, files map[string]string) cgroupHost {
	t.Helper()
	root := t.TempDir()
	h := cgroupHost{instance.CgroupHost{CgroupDir: filepath.Join(root, "cgroup"), HugepagesDir: filepath.Join(root, "hugepages")}}
	err := os.MkdirAll(filepath.Join(h.HugepagesDir, "hugepages-2048kB"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	for name, content := range files {
		p := filepath.Join(h.CgroupDir, name)
		err = os.MkdirAll(filepath.Dir(p), 0o755)
		if err == nil {
			err = os.WriteFile(p, []byte(content), 0o644)
		}

		if err != nil {
			t.Fatal(err)
		}
	}

	return h
}

func TestConfinementLimits(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		config  map[string]string
		want    string
		wantErr string
	}{
		{"v1 blkio weight", map[string]string{"blkio/blkio.weight": ""}, map[string]string{"limits.disk.priority": "5"},
			"lxc.cgroup.blkio.weight=500", ""},
		{"v1 bfq weight", map[string]string{"blkio/blkio.bfq.weight": ""}, map[string]string{"limits.disk.priority": "0"},
			"lxc.cgroup.blkio.bfq.weight=10", ""},
		{"v2 io", map[string]string{"cgroup.controllers": "cpu io memory"}, map[string]string{"limits.disk.priority": "10"},
			"lxc.cgroup2.io.weight=1000", ""},
		{"hybrid with io in v2 only", map[string]string{"blkio/blkio.throttle.io_serviced": "", "unified/cgroup.controllers": "io"},
			map[string]string{"limits.disk.priority": "3"}, "lxc.cgroup2.io.weight=300", ""},
		{"no weight", map[string]string{"blkio/blkio.throttle.io_serviced": "", "unified/cgroup.controllers": "hugetlb"},
			map[string]string{"limits.disk.priority": "3"}, "", "no block I/O weight"},
		{"v1 hugetlb", map[string]string{"hugetlb/tasks": ""}, map[string]string{"limits.hugepages.2MB": "64MiB"},
			"lxc.cgroup.hugetlb.2MB.limit_in_bytes=67108864", ""},
		{"v2 hugetlb", map[string]string{"cgroup.controllers": "hugetlb"}, map[string]string{"limits.hugepages.2MB": "4MiB"},
			"lxc.cgroup2.hugetlb.2MB.max=4194304", ""},
		{"no such page size", map[string]string{"cgroup.controllers": "hugetlb"}, map[string]string{"limits.hugepages.64KB": "4MiB"},
			"", "no 64KB huge pages"},
		{"no hugetlb", map[string]string{"cgroup.controllers": "cpu"}, map[string]string{"limits.hugepages.2MB": "4MiB"},
			"", "no hugetlb cgroup controller"},
		{"nothing asked", map[string]string{}, map[string]string{}, "", ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeCgroups(t, tt.files)
			got, err := h.confinementLimits(tt.config)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			var kv []string
			for _, p := range got {
				kv = append(kv, p[0]+"="+p[1])
			}

			if strings.Join(kv, " ") != tt.want {
				t.Fatalf("got %q, want %q", strings.Join(kv, " "), tt.want)
			}
		})
	}
}

func TestConfinementLimitsHybridHugetlb(t *testing.T) {
	h := fakeCgroups(t, map[string]string{"memory/tasks": "", "unified/cgroup.controllers": "hugetlb",
		"unified/cgroup.subtree_control": ""})
	got, err := h.confinementLimits(map[string]string{"limits.hugepages.2MB": "8MiB"})
	if err != nil {
		t.Fatal(err)
	}

	if len(got) != 1 || got[0][0] != "lxc.hook.start-host" || !strings.Contains(got[0][1], `echo 8388608 > "`+h.CgroupDir+`/unified$cg/hugetlb.2MB.max"`) {
		t.Fatalf("got %q, want a start-host hook writing hugetlb.2MB.max", got)
	}

	enabled, err := os.ReadFile(filepath.Join(h.CgroupDir, "unified", "cgroup.subtree_control"))
	if err != nil || string(enabled) != "+hugetlb" {
		t.Fatalf("subtree_control is %q, %v; want the controller enabled", enabled, err)
	}
}
