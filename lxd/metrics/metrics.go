// Package metrics gathers the metrics of running containers (CPU, memory, disk, file system, network and
// process counts) from their cgroups and the /proc of their init, and renders them in the Prometheus text
// exposition format with the names, types and help texts of LXD 5.0.2.
package metrics

import (
	"io"
	"sort"
	"strconv"
	"strings"
)

// family describes one metric: its help text and whether it is a counter or a gauge.
type family struct {
	help    string
	counter bool
}

// families are the instance metrics of LXD 5.0.2, by name. The help texts are LXD's, word for word (including
// its quirks, such as Inactive_anon being described as file-backed), so that dashboards and alerts built for
// LXD match. The *_total metrics are counters except lxd_procs_total, a gauge.
var families = map[string]family{
	"lxd_cpu_seconds_total":              {"The total number of CPU time used in seconds.", true},
	"lxd_disk_read_bytes_total":          {"The total number of bytes read.", true},
	"lxd_disk_reads_completed_total":     {"The total number of completed reads.", true},
	"lxd_disk_written_bytes_total":       {"The total number of bytes written.", true},
	"lxd_disk_writes_completed_total":    {"The total number of completed writes.", true},
	"lxd_filesystem_avail_bytes":         {"The number of available space in bytes.", false},
	"lxd_filesystem_free_bytes":          {"The number of free space in bytes.", false},
	"lxd_filesystem_size_bytes":          {"The size of the filesystem in bytes.", false},
	"lxd_memory_Active_anon_bytes":       {"The amount of anonymous memory on active LRU list.", false},
	"lxd_memory_Active_bytes":            {"The amount of memory on active LRU list.", false},
	"lxd_memory_Active_file_bytes":       {"The amount of file-backed memory on active LRU list.", false},
	"lxd_memory_Cached_bytes":            {"The amount of cached memory.", false},
	"lxd_memory_Dirty_bytes":             {"The amount of memory waiting to get written back to the disk.", false},
	"lxd_memory_Inactive_anon_bytes":     {"The amount of file-backed memory on inactive LRU list.", false},
	"lxd_memory_Inactive_bytes":          {"The amount of memory on inactive LRU list.", false},
	"lxd_memory_Inactive_file_bytes":     {"The amount of file-backed memory on inactive LRU list.", false},
	"lxd_memory_Mapped_bytes":            {"The amount of mapped memory.", false},
	"lxd_memory_MemAvailable_bytes":      {"The amount of available memory.", false},
	"lxd_memory_MemFree_bytes":           {"The amount of free memory.", false},
	"lxd_memory_MemTotal_bytes":          {"The amount of used memory.", false},
	"lxd_memory_RSS_bytes":               {"The amount of anonymous and swap cache memory.", false},
	"lxd_memory_Shmem_bytes":             {"The amount of cached filesystem data that is swap-backed.", false},
	"lxd_memory_Swap_bytes":              {"The amount of used swap memory.", false},
	"lxd_memory_Unevictable_bytes":       {"The amount of unevictable memory.", false},
	"lxd_memory_Writeback_bytes":         {"The amount of memory queued for syncing to disk.", false},
	"lxd_network_receive_bytes_total":    {"The amount of received bytes on a given interface.", true},
	"lxd_network_receive_drop_total":     {"The amount of received dropped bytes on a given interface.", true},
	"lxd_network_receive_errs_total":     {"The amount of received errors on a given interface.", true},
	"lxd_network_receive_packets_total":  {"The amount of received packets on a given interface.", true},
	"lxd_network_transmit_bytes_total":   {"The amount of transmitted bytes on a given interface.", true},
	"lxd_network_transmit_drop_total":    {"The amount of transmitted dropped bytes on a given interface.", true},
	"lxd_network_transmit_errs_total":    {"The amount of transmitted errors on a given interface.", true},
	"lxd_network_transmit_packets_total": {"The amount of transmitted packets on a given interface.", true},
	"lxd_procs_total":                    {"The number of running processes.", false},
}

// Sample is one value of a metric with its labels.
type Sample struct {
	// Name is the metric name, one of LXD's (lxd_memory_MemTotal_bytes).
	Name string

	// Labels are the sample's labels, among them name, project and type of its instance.
	Labels map[string]string

	// Value is the sample's value, in the metric's unit (seconds, bytes or a count).
	Value float64
}

// Set is a collection of samples.
type Set struct {
	samples []Sample
}

// add records a sample of a known metric.
func (s *Set) add(name string, labels map[string]string, value float64) {
	_, ok := families[name]
	if !ok {
		panic("unknown metric " + name)
	}

	s.samples = append(s.samples, Sample{Name: name, Labels: labels, Value: value})
}

// Samples returns the samples gathered, in no particular order.
func (s *Set) Samples() []Sample {
	return s.samples
}

// Project returns the samples of s whose instance is in project.
func (s *Set) Project(project string) *Set {
	out := &Set{}
	for _, smp := range s.samples {
		if smp.Labels["project"] == project {
			out.samples = append(out.samples, smp)
		}
	}

	return out
}

// Merge adds the samples of other to s.
func (s *Set) Merge(other *Set) {
	s.samples = append(s.samples, other.samples...)
}

// WriteText writes the set in the Prometheus text exposition format (version 0.0.4): the metrics sorted by name,
// each with its HELP and TYPE lines, then its samples sorted by their labels, the labels of each sorted by name.
// Metrics without samples are left out.
func (s *Set) WriteText(w io.Writer) error {
	type line struct {
		labels string
		value  float64
	}

	byName := map[string][]line{}
	for _, smp := range s.samples {
		byName[smp.Name] = append(byName[smp.Name], line{labels: formatLabels(smp.Labels), value: smp.Value})
	}

	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}

	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fam := families[name]
		kind := "gauge"
		if fam.counter {
			kind = "counter"
		}

		b.WriteString("# HELP " + name + " " + fam.help + "\n")
		b.WriteString("# TYPE " + name + " " + kind + "\n")
		lines := byName[name]
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].labels < lines[j].labels })
		for _, l := range lines {
			b.WriteString(name + l.labels + " " + formatValue(l.value) + "\n")
		}
	}

	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the set in the Prometheus text exposition format.
func (s *Set) String() string {
	var b strings.Builder
	_ = s.WriteText(&b)
	return b.String()
}

// formatLabels renders labels as {a="1",b="2"}, sorted by name; nothing when there are none.
func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}

	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+`="`+escapeLabel(labels[k])+`"`)
	}

	return "{" + strings.Join(parts, ",") + "}"
}

// labelEscaper escapes a label value as the text format requires: backslash, double quote and line feed.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(v string) string {
	return labelEscaper.Replace(v)
}

// formatValue renders a value without an exponent, so that byte counts stay exact integers.
func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
