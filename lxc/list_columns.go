package main

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// listColumn is one column of lxc list.
type listColumn struct {
	header string
	value  func(inst api.InstanceFull) string

	// needsState and needsSnapshots tell whether the column reads the instance's state or snapshots, which only
	// the full listing carries.
	needsState     bool
	needsSnapshots bool
}

// listDateLayout is how lxc list prints dates.
const listDateLayout = "2006/01/02 15:04 MST"

// active tells whether an instance has processes (running or frozen) and a state to read them from.
func active(i api.InstanceFull) bool {
	return i.State != nil && i.StatusCode != api.Stopped && i.StatusCode != api.Error && i.StatusCode != 0
}

// listColumns are the shorthand columns of lxc list, as the stock 5.0.2 client names them.
var listColumns = map[rune]listColumn{
	'4': {header: "IPV4", value: func(i api.InstanceFull) string { return addresses(i, "inet") }, needsState: true},
	'6': {header: "IPV6", value: func(i api.InstanceFull) string { return addresses(i, "inet6") }, needsState: true},
	'a': {header: "ARCHITECTURE", value: func(i api.InstanceFull) string { return i.Architecture }},
	'b': {header: "STORAGE POOL", value: rootPool},
	'c': {header: "CREATED AT", value: func(i api.InstanceFull) string { return i.CreatedAt.UTC().Format(listDateLayout) }},
	'd': {header: "DESCRIPTION", value: func(i api.InstanceFull) string { return i.Description }},
	'D': {header: "DISK USAGE", value: diskUsage, needsState: true},
	'e': {header: "PROJECT", value: func(i api.InstanceFull) string {
		if i.Project == "" {
			return "default"
		}

		return i.Project
	}},
	'l': {header: "LAST USED AT", value: func(i api.InstanceFull) string {
		if i.LastUsedAt.IsZero() || i.LastUsedAt.Year() < 2000 {
			return ""
		}

		return i.LastUsedAt.UTC().Format(listDateLayout)
	}},
	'L': {header: "LOCATION", value: func(i api.InstanceFull) string { return i.Location }},
	'm': {header: "MEMORY USAGE", value: func(i api.InstanceFull) string {
		if i.State == nil || i.State.Memory.Usage <= 0 {
			return ""
		}

		return humanBytes(i.State.Memory.Usage)
	}, needsState: true},
	'M': {header: "MEMORY USAGE%", value: memoryPercent, needsState: true},
	'n': {header: "NAME", value: func(i api.InstanceFull) string { return i.Name }},
	'N': {header: "PROCESSES", value: func(i api.InstanceFull) string {
		if !active(i) {
			return ""
		}

		return strconv.FormatInt(i.State.Processes, 10)
	}, needsState: true},
	'p': {header: "PID", value: func(i api.InstanceFull) string {
		if i.State == nil || i.State.Pid == 0 {
			return ""
		}

		return strconv.FormatInt(i.State.Pid, 10)
	}, needsState: true},
	'P': {header: "PROFILES", value: func(i api.InstanceFull) string { return strings.Join(i.Profiles, "\n") }},
	's': {header: "STATE", value: func(i api.InstanceFull) string { return strings.ToUpper(i.Status) }},
	'S': {header: "SNAPSHOTS", value: func(i api.InstanceFull) string { return strconv.Itoa(len(i.Snapshots)) },
		needsSnapshots: true},
	't': {header: "TYPE", value: func(i api.InstanceFull) string {
		t := strings.ToUpper(i.Type)
		if i.Ephemeral {
			t += " (EPHEMERAL)"
		}

		return t
	}},
	'u': {header: "CPU USAGE", value: func(i api.InstanceFull) string {
		if !active(i) {
			return ""
		}

		return fmt.Sprintf("%ds", i.State.CPU.Usage/1e9)
	}, needsState: true},
	'f': {header: "BASE IMAGE", value: func(i api.InstanceFull) string {
		fp := i.Config["volatile.base_image"]
		return fp[:min(12, len(fp))]
	}},
	'F': {header: "BASE IMAGE", value: func(i api.InstanceFull) string { return i.Config["volatile.base_image"] }},
}

// rootPool returns the storage pool of the instance's root disk.
func rootPool(i api.InstanceFull) string {
	names := make([]string, 0, len(i.ExpandedDevices))
	for name := range i.ExpandedDevices {
		names = append(names, name)
	}

	sort.Strings(names)
	for _, name := range names {
		dev := i.ExpandedDevices[name]
		if dev["type"] == "disk" && dev["path"] == "/" {
			return dev["pool"]
		}
	}

	return ""
}

// diskUsage returns the usage of the root disk.
func diskUsage(i api.InstanceFull) string {
	if i.State == nil {
		return ""
	}

	root, ok := i.State.Disk["root"]
	if !ok {
		return ""
	}

	return humanBytes(root.Usage)
}

// memoryPercent returns the memory usage as a share of limits.memory, when that is a size.
func memoryPercent(i api.InstanceFull) string {
	if i.State == nil || i.State.Memory.Usage <= 0 {
		return ""
	}

	limit, err := parseByteSize(i.ExpandedConfig["limits.memory"])
	if err != nil || limit <= 0 {
		return ""
	}

	return fmt.Sprintf("%.1f%%", float64(i.State.Memory.Usage)/float64(limit)*100)
}

// byteSuffixes are the size suffixes limits take: decimal and binary multiples of bytes.
var byteSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"PiB", 1 << 50}, {"EiB", 1 << 60},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15}, {"EB", 1e18}, {"B", 1},
}

// parseByteSize parses a size such as 64MiB, 1GB or 512 (bytes).
func parseByteSize(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty size")
	}

	mult := int64(1)
	for _, u := range byteSuffixes {
		num, ok := strings.CutSuffix(s, u.suffix)
		if ok {
			s, mult = num, u.mult
			break
		}
	}

	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}

	return n * mult, nil
}

// customColumn builds a column from "[config:|devices:]key[:name][:maxWidth]". ok is false when spec has too many
// parts to be one, and is then read as shorthand characters.
func customColumn(spec string) (col listColumn, ok bool, err error) {
	parts := strings.Split(spec, ":")
	devices := false
	switch parts[0] {
	case "config":
		parts = parts[1:]
	case "devices":
		devices = true
		parts = parts[1:]
	}

	if len(parts) == 0 || len(parts) > 3 {
		return col, false, nil
	}

	key := parts[0]
	if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
		return col, true, fmt.Errorf("invalid config key '%s' in '%s'", key, spec)
	}

	col.header = strings.ToUpper(strings.ReplaceAll(key, ".", " "))
	if len(parts) > 1 {
		col.header = parts[1]
	}

	maxWidth := -1
	if len(parts) > 2 {
		maxWidth, err = strconv.Atoi(parts[2])
		if err != nil {
			return col, true, fmt.Errorf("invalid max width (must be an integer) '%s' in '%s'", parts[2], spec)
		}

		if maxWidth < -1 {
			return col, true, fmt.Errorf("invalid max width (must -1, 0 or a positive integer) '%s' in '%s'", parts[2], spec)
		}

		// 0 is the header's width; with an empty header, as -1, nothing is cut.
		if maxWidth == 0 {
			maxWidth = len([]rune(col.header))
		}
	}

	get := func(i api.InstanceFull) string {
		v, found := i.Config[key]
		if !found {
			v = i.ExpandedConfig[key]
		}

		return v
	}

	if devices {
		dev, devKey, _ := strings.Cut(key, ".")
		get = func(i api.InstanceFull) string { return i.ExpandedDevices[dev][devKey] }
	}

	col.value = func(i api.InstanceFull) string {
		v := get(i)
		r := []rune(v)
		if maxWidth > 0 && len(r) > maxWidth {
			return string(r[:maxWidth])
		}

		return v
	}

	return col, true, nil
}

// parseListColumns reads the --columns value: comma-separated entries, each shorthand characters or one custom
// column. Column L needs a cluster: asked for explicitly elsewhere it is refused, and it is left out of the default.
func parseListColumns(spec string, clustered bool, isDefault bool) ([]listColumn, error) {
	var cols []listColumn
	for _, entry := range strings.Split(spec, ",") {
		if entry == "" {
			return nil, fmt.Errorf("empty column entry (redundant, leading or trailing command) in '%s'", spec)
		}

		if strings.ContainsAny(entry, ".:") {
			col, ok, err := customColumn(entry)
			if err != nil {
				return nil, err
			}

			if ok {
				cols = append(cols, col)
				continue
			}
		}

		for _, r := range entry {
			if r == 'L' && !clustered {
				if isDefault {
					continue
				}

				return nil, errors.New("can't specify column L when not clustered")
			}

			col, ok := listColumns[r]
			if !ok {
				return nil, fmt.Errorf("unknown column shorthand char '%c' in '%s'", r, entry)
			}

			cols = append(cols, col)
		}
	}

	return cols, nil
}
