package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mount is one line of a mountinfo file.
type mount struct {
	root       string
	mountpoint string
	fstype     string
	source     string
	superOpts  []string
}

// parseMountinfo reads the mounts of a mountinfo file (proc(5)).
func parseMountinfo(data []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}

		if sep < 5 || len(fields) < sep+4 {
			continue
		}

		out = append(out, mount{
			root:       unescapeMount(fields[3]),
			mountpoint: unescapeMount(fields[4]),
			fstype:     fields[sep+1],
			source:     unescapeMount(fields[sep+2]),
			superOpts:  strings.Split(fields[sep+3], ","),
		})
	}

	return out
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}

	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}

		b.WriteByte(s[i])
	}

	return b.String()
}

// cgroups are the directories of one process's cgroups: v1 by controller, and the unified (v2) one.
type cgroups struct {
	v1 map[string]string
	v2 string
}

// locateCgroups finds the cgroup directories of a process from its /proc/<pid>/cgroup and the host's mounts:
// on a v1 or hybrid host each controller has its own hierarchy, on a v2 host everything is in the unified one.
// root is prefixed to every mount point (tests use a fixture tree).
func locateCgroups(root string, procCgroup []byte, mounts []mount) cgroups {
	out := cgroups{v1: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}

		path := parts[2]
		if parts[0] == "0" && parts[1] == "" {
			for _, m := range mounts {
				if m.fstype == "cgroup2" {
					dir, ok := hierarchyDir(root, m, path)
					if ok {
						out.v2 = dir
						break
					}
				}
			}

			continue
		}

		for _, ctrl := range strings.Split(parts[1], ",") {
			for _, m := range mounts {
				if m.fstype != "cgroup" || !hasOpt(m.superOpts, ctrl) {
					continue
				}

				dir, ok := hierarchyDir(root, m, path)
				if ok {
					out.v1[ctrl] = dir
					break
				}
			}
		}
	}

	return out
}

// hierarchyDir returns the directory of cgroup path in the hierarchy mounted by m, when m shows it.
func hierarchyDir(root string, m mount, path string) (string, bool) {
	rel, err := filepath.Rel(m.root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}

	return filepath.Join(root, m.mountpoint, rel), true
}

func hasOpt(opts []string, want string) bool {
	for _, o := range opts {
		if o == want {
			return true
		}
	}

	return false
}

// file returns the path of a cgroup file: in the v1 hierarchy of controller when there is one, else in the
// unified hierarchy; "" when neither exists.
func (c cgroups) file(controller string, v1Name string, v2Name string) string {
	dir, ok := c.v1[controller]
	if ok && v1Name != "" {
		p := filepath.Join(dir, v1Name)
		_, err := os.Stat(p)
		if err == nil {
			return p
		}
	}

	if c.v2 != "" && v2Name != "" {
		p := filepath.Join(c.v2, v2Name)
		_, err := os.Stat(p)
		if err == nil {
			return p
		}
	}

	return ""
}

// isV2 reports whether path is in the unified hierarchy.
func (c cgroups) isV2(path string) bool {
	return c.v2 != "" && filepath.Dir(path) == c.v2
}

// readUint reads a file holding one unsigned number; "max" reads as ok false.
func readUint(path string) (uint64, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false, err
	}

	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, false, nil
	}

	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parsing %s: %w", path, err)
	}

	return n, true, nil
}

// readKeyValues reads a file of "key value" lines (memory.stat, cpu.stat, /proc/meminfo with its kB suffix).
func readKeyValues(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	out := map[string]uint64{}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}

		n, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}

		if len(fields) == 3 && fields[2] == "kB" {
			n *= 1024
		}

		out[strings.TrimSuffix(fields[0], ":")] = n
	}

	return out, nil
}
