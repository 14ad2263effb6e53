package instance

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
)

// ValidName checks an instance name against the hostname rules LXD applies: 1 to 63 characters, letters, digits
// and dashes, not starting with a digit or a dash, not ending with a dash.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("instance name must not be empty: %w", errs.ErrInvalid)
	}

	if len(name) > 63 {
		return fmt.Errorf("instance name %q is longer than 63 characters: %w", name, errs.ErrInvalid)
	}

	for i, c := range name {
		ok := c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("instance name %q may only contain letters, digits and dashes: %w", name, errs.ErrInvalid)
		}

		if i == 0 && (c == '-' || (c >= '0' && c <= '9')) {
			return fmt.Errorf("instance name %q must start with a letter: %w", name, errs.ErrInvalid)
		}
	}

	if strings.HasSuffix(name, "-") {
		return fmt.Errorf("instance name %q must not end with a dash: %w", name, errs.ErrInvalid)
	}

	return nil
}

// ValidProfileName checks a profile name: not empty, at most 63 bytes, no slash, backslash, white space or other
// control character, not "." or "..".
func ValidProfileName(name string) error {
	bad := strings.ContainsFunc(name, func(c rune) bool { return c < 0x20 || c == 0x7f || c == ' ' || c == '/' || c == '\\' })
	if name == "" || name == "." || name == ".." || bad || len(name) > 63 {
		return fmt.Errorf("invalid profile name %q: %w", name, errs.ErrInvalid)
	}

	return nil
}

// keyCheck validates one configuration value.
type keyCheck func(value string) error

func checkBool(v string) error {
	switch strings.ToLower(v) {
	case "true", "false", "1", "0", "yes", "no", "on", "off":
		return nil
	}

	return fmt.Errorf("%q is not a boolean", v)
}

// checkInt accepts a signed 64-bit integer, as LXD's boot.* keys do.
func checkInt(v string) error {
	_, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}

	return nil
}

// optional accepts the empty value (the key unset) besides what check accepts.
func optional(check keyCheck) keyCheck {
	return func(v string) error {
		if v == "" {
			return nil
		}

		return check(v)
	}
}

func checkUint(v string) error {
	_, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a positive integer", v)
	}

	return nil
}

// MinMemory is the smallest limits.memory. liblxc's setup of a container, its start hooks and a small init are
// charged to the container's memory cgroup and take about 1MiB; a limit near that kills init as it starts.
const MinMemory = 16 << 20

// MinProcesses is the smallest limits.processes. liblxc runs its start hooks (lxcfs's mount hook is a shell
// script starting commands) inside the container's pids cgroup, and a start with fewer than 3 processes fails.
const MinProcesses = 10

// MaxProcesses is the largest limits.processes: the kernel refuses a pids.max above PID_MAX_LIMIT.
const MaxProcesses = 4 << 20

// HostCPUs returns the host's online CPUs, in order.
func HostCPUs() []int {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err == nil {
		ranges, err := parseCPUList(strings.TrimSpace(string(data)))
		if err == nil {
			var cpus []int
			for _, r := range ranges {
				for c := r[0]; c <= r[1]; c++ {
					cpus = append(cpus, c)
				}
			}

			return cpus
		}
	}

	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}

	return cpus
}

// formatCPUList writes CPU numbers in order as a list of ranges ("0-3,6").
func formatCPUList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}

		if i == j {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, strconv.Itoa(cpus[i])+"-"+strconv.Itoa(cpus[j]))
		}

		i = j + 1
	}

	return strings.Join(parts, ",")
}

// parseCPUList parses a CPU set ("0-1,3") into its ranges.
func parseCPUList(v string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}

		a, errA := strconv.ParseUint(lo, 10, 32)
		b, errB := strconv.ParseUint(hi, 10, 32)
		if errA != nil || errB != nil || b < a {
			return nil, fmt.Errorf("%q is neither a CPU count nor a CPU set such as \"0-1,3\"", v)
		}

		out = append(out, [2]int{int(a), int(b)})
	}

	return out, nil
}

// CPUSet turns limits.cpu into the cpuset of the host's CPUs it names. A count N is the host's first N online
// CPUs, all of them when N is larger than their number (as LXD does); a set must only name online CPUs.
func CPUSet(v string) (string, error) {
	host := HostCPUs()
	n, err := strconv.ParseUint(v, 10, 32)
	if err == nil {
		if n == 0 {
			return "", fmt.Errorf("%q is not a CPU count of at least 1", v)
		}

		return formatCPUList(host[:min(int(n), len(host))]), nil
	}

	ranges, err := parseCPUList(v)
	if err != nil {
		return "", err
	}

	// The walk stops at the first CPU the host lacks: a huge range costs no more than the host's CPUs.
	for _, r := range ranges {
		for c := r[0]; c <= r[1]; c++ {
			if !slices.Contains(host, c) {
				return "", fmt.Errorf("%q names CPU %d, which the host does not have (its CPUs are %s)", v, c, formatCPUList(host))
			}
		}
	}

	return v, nil
}

// checkCPU accepts a CPU count ("2") or a set of the host's CPUs ("0-1,3").
func checkCPU(v string) error {
	_, err := CPUSet(v)
	return err
}

// MemoryLimit turns limits.memory into bytes: a size with an optional unit ("256MiB", "1GB", "512") or a
// percentage of the host's memory ("50%"). Limits below MinMemory are refused.
func MemoryLimit(v string) (int64, error) {
	var limit int64
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || n == 0 || n > 100 {
			return 0, fmt.Errorf("%q is not a percentage between 1%% and 100%%", v)
		}

		var info unix.Sysinfo_t
		err = unix.Sysinfo(&info)
		if err != nil {
			return 0, fmt.Errorf("reading the host's memory: %w", err)
		}

		limit = int64(info.Totalram) * int64(info.Unit) / 100 * int64(n)
		if limit < MinMemory {
			return 0, fmt.Errorf("%q of the host's memory is %d bytes, below the minimum of 16MiB", v, limit)
		}

		return limit, nil
	}

	limit, err := ParseByteSize(v)
	if err != nil {
		return 0, err
	}

	if limit < MinMemory {
		return 0, fmt.Errorf("%q is below the minimum of 16MiB", v)
	}

	return limit, nil
}

func checkMemory(v string) error {
	_, err := MemoryLimit(v)
	return err
}

// maxCFSQuota is the largest CFS quota the kernel takes (2^44 microseconds, about 203 days).
const maxCFSQuota = time.Duration(1<<44) * time.Microsecond

// CPUShares turns limits.cpu.allowance and limits.cpu.priority into the CPU weight (cpu.shares, 2 to 1024) and
// the CFS quota and period, as LXD does: the priority (0 to 10, 10 when unset) takes 10 - priority off the 1024
// shares; an allowance in percent ("50%") scales the shares (a soft limit, felt under contention only); one in
// time ("25ms/100ms") is a hard quota of CPU time per period. shares is 0 when neither key is set, and quota and
// period are 0 without a time allowance.
func CPUShares(allowance string, priority string) (shares int64, quota time.Duration, period time.Duration, err error) {
	shares = 1024
	if priority != "" {
		p, err := strconv.ParseUint(priority, 10, 8)
		if err != nil || p > 10 {
			return 0, 0, 0, fmt.Errorf("%q is not a priority between 0 and 10", priority)
		}

		shares -= 10 - int64(p)
	}

	if allowance == "" {
		if priority == "" {
			shares = 0
		}

		return shares, 0, 0, nil
	}

	if pct, ok := strings.CutSuffix(allowance, "%"); ok {
		n, err := strconv.ParseUint(pct, 10, 8)
		if err != nil || n == 0 || n > 100 {
			return 0, 0, 0, fmt.Errorf("%q is not a percentage between 1%% and 100%%", allowance)
		}

		return max(shares*int64(n)/100, 2), 0, 0, nil
	}

	q, p, ok := strings.Cut(allowance, "/")
	quota, errQ := time.ParseDuration(q)
	period, errP := time.ParseDuration(p)
	if !ok || errQ != nil || errP != nil {
		return 0, 0, 0, fmt.Errorf("%q is neither a percentage (\"50%%\") nor a time per period (\"25ms/100ms\")", allowance)
	}

	if period < time.Millisecond || period > time.Second {
		return 0, 0, 0, fmt.Errorf("%q: the period must be between 1ms and 1s", allowance)
	}

	if quota < time.Millisecond || quota > maxCFSQuota {
		return 0, 0, 0, fmt.Errorf("%q: the CPU time must be between 1ms and %s", allowance, maxCFSQuota)
	}

	return shares, quota, period, nil
}

func checkCPUAllowance(v string) error {
	_, _, _, err := CPUShares(v, "")
	return err
}

func checkCPUPriority(v string) error {
	_, _, _, err := CPUShares("", v)
	return err
}

// checkMemoryEnforce accepts "hard" (the limit is a ceiling) or "soft" (memory beyond it is reclaimed first when
// the host runs short).
func checkMemoryEnforce(v string) error {
	if v != "hard" && v != "soft" {
		return fmt.Errorf("%q is neither \"hard\" nor \"soft\"", v)
	}

	return nil
}

// checkProcesses accepts a number of processes between MinProcesses and MaxProcesses.
func checkProcesses(v string) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < MinProcesses || n > MaxProcesses {
		return fmt.Errorf("%q is not a number of processes between %d and %d", v, MinProcesses, MaxProcesses)
	}

	return nil
}

// ParseByteSize parses a size such as "512", "256MiB", "1GB" or "2G" into bytes.
func ParseByteSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1000}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"TB", 1000 * 1000 * 1000 * 1000},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	}

	num, mult := v, int64(1)
	for _, u := range units {
		rest, ok := strings.CutSuffix(v, u.suffix)
		if ok {
			num, mult = rest, u.mult
			break
		}
	}

	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a valid size", v)
	}

	return n * mult, nil
}

func checkAny(string) error { return nil }

// configKeys are the instance configuration keys a user may set, with their checks.
var configKeys = map[string]keyCheck{
	"limits.cpu":            checkCPU,
	"limits.cpu.allowance":  checkCPUAllowance,
	"limits.cpu.priority":   checkCPUPriority,
	"limits.memory":         checkMemory,
	"limits.memory.enforce": checkMemoryEnforce,
	"limits.memory.swap":    checkBool,
	"limits.processes":      checkProcesses,
	"security.privileged":   checkBool,
	"security.nesting":      checkBool,
	"raw.lxc":               checkRawLXC,

	// What the daemon does with the instance when it starts and stops (boot.go); empty is unset, as in LXD.
	KeyBootAutostart:           optional(checkBool),
	KeyBootAutostartDelay:      optional(checkInt),
	KeyBootAutostartPriority:   optional(checkInt),
	KeyBootStopPriority:        optional(checkInt),
	KeyBootHostShutdownTimeout: optional(checkInt),

	// What an evacuation of the instance's cluster member does with it (evacuate.go).
	KeyClusterEvacuate: optional(checkEvacuate),
}

// RawLXC parses raw.lxc: one "key = value" liblxc setting a line; blank lines and lines starting with # are
// skipped.
func RawLXC(v string) ([][2]string, error) {
	var out [][2]string
	for i, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}

		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || !strings.HasPrefix(key, "lxc.") {
			return nil, fmt.Errorf("line %d: %q is not a \"lxc.<key> = <value>\" setting", i+1, line)
		}

		err := rawLXCKeyAllowed(key)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}

		out = append(out, [2]string{key, value})
	}

	return out, nil
}

// rawLXCKeyAllowed refuses the liblxc keys the daemon owns: the log, the root filesystem, the user namespace
// map and the container's name, as well as ephemeral containers.
func rawLXCKeyAllowed(key string) error {
	for _, owned := range []string{"lxc.log.", "lxc.logfile", "lxc.syslog", "lxc.rootfs.", "lxc.idmap", "lxc.uts.name",
		"lxc.ephemeral", "lxc.console.logfile", "lxc.console.path"} {
		if key == strings.TrimSuffix(owned, ".") || strings.HasPrefix(key, owned) {
			return fmt.Errorf("setting %s is not allowed", key)
		}
	}

	return nil
}

func checkRawLXC(v string) error {
	_, err := RawLXC(v)
	return err
}

// keyPrefixes are the free-form key namespaces.
var keyPrefixes = []string{"environment.", "user.", "image."}

// ValidateConfig checks configuration keys and values. Unknown keys are refused. volatile.* keys are internal: a
// user may only keep the ones the instance already has (internal is true when the daemon itself writes them).
func ValidateConfig(config map[string]string, profile bool, internal bool) error {
	for k, v := range config {
		check, ok := configKeys[k]
		if !ok {
			check, ok = syscallConfigKeys[k]
		}

		if !ok {
			check, ok = confinementConfigKeys[k]
		}

		if !ok {
			for _, p := range keyPrefixes {
				if strings.HasPrefix(k, p) && len(k) > len(p) {
					check, ok = checkAny, true
					break
				}
			}
		}

		if !ok && strings.HasPrefix(k, "volatile.") {
			if profile {
				return fmt.Errorf("volatile keys cannot be set on a profile (%q): %w", k, errs.ErrInvalid)
			}

			if !internal {
				return fmt.Errorf("volatile key %q is internal and cannot be set: %w", k, errs.ErrInvalid)
			}

			check, ok = checkAny, true
		}

		if !ok {
			return fmt.Errorf("unknown configuration key %q: %w", k, errs.ErrInvalid)
		}

		err := check(v)
		if err != nil {
			return fmt.Errorf("invalid value for %q: %w: %w", k, err, errs.ErrInvalid)
		}
	}

	return CheckSyscallKeys(config)
}

// ValidateDevices checks device definitions: each has a type; disk devices need a path (a root disk "/" also a
// pool), nic devices are checked by validateNIC, unix-char and unix-block devices a host device. Other device
// types are refused.
func ValidateDevices(devices map[string]map[string]string) error {
	roots := 0
	for name, dev := range devices {
		if name == "" || strings.ContainsAny(name, "/ ") {
			return fmt.Errorf("invalid device name %q: %w", name, errs.ErrInvalid)
		}

		switch dev["type"] {
		case "disk":
			for k := range dev {
				if k != "type" && k != "path" && k != "pool" && k != "source" && k != "size" && k != "readonly" {
					return fmt.Errorf("device %q: unknown disk key %q: %w", name, k, errs.ErrInvalid)
				}
			}

			if dev["path"] == "" {
				return fmt.Errorf("device %q: a disk needs a path: %w", name, errs.ErrInvalid)
			}

			if dev["path"] == "/" {
				roots++
				if dev["pool"] == "" {
					return fmt.Errorf("device %q: the root disk needs a pool: %w", name, errs.ErrInvalid)
				}

				if dev["source"] != "" {
					return fmt.Errorf("device %q: the root disk cannot have a source: %w", name, errs.ErrInvalid)
				}
			} else {
				err := validateBindDisk(name, dev)
				if err != nil {
					return err
				}
			}

		case "nic":
			err := validateNIC(name, dev)
			if err != nil {
				return err
			}

		case "unix-char", "unix-block":
			err := validateUnixDevice(name, dev)
			if err != nil {
				return err
			}

		case "none":
		case "":
			return fmt.Errorf("device %q has no type: %w", name, errs.ErrInvalid)
		default:
			return fmt.Errorf("device %q: unsupported device type %q: %w", name, dev["type"], errs.ErrInvalid)
		}
	}

	if roots > 1 {
		return fmt.Errorf("more than one root disk: %w", errs.ErrInvalid)
	}

	return nil
}

// validateBindDisk checks a disk device mounting a host path: an absolute source and an absolute path in the
// container without "..".
func validateBindDisk(name string, dev map[string]string) error {
	if isVolumeDisk(dev) {
		return validateVolumeDisk(name, dev)
	}

	source, path := dev["source"], dev["path"]
	if source == "" {
		return fmt.Errorf("device %q: a disk needs a source: %w", name, errs.ErrInvalid)
	}

	if !strings.HasPrefix(source, "/") {
		return fmt.Errorf("device %q: the source %q must be an absolute host path (storage volumes are not supported): %w", name, source, errs.ErrInvalid)
	}

	if dev["pool"] != "" {
		return fmt.Errorf("device %q: a disk with a host source cannot have a pool: %w", name, errs.ErrInvalid)
	}

	if !strings.HasPrefix(path, "/") || slices.Contains(strings.Split(path, "/"), "..") {
		return fmt.Errorf("device %q: the path %q must be absolute and without \"..\": %w", name, path, errs.ErrInvalid)
	}

	if dev["size"] != "" {
		return fmt.Errorf("device %q: a disk with a host source cannot have a size: %w", name, errs.ErrInvalid)
	}

	v, ok := dev["readonly"]
	if ok {
		err := checkBool(v)
		if err != nil {
			return fmt.Errorf("device %q: readonly: %w: %w", name, err, errs.ErrInvalid)
		}
	}

	return nil
}

// validateUnixDevice checks a unix-char or unix-block device: a host device (source, or path) and where it shows in
// the container (path, or source), both absolute without ".."; optional uid, gid (container ids), mode (octal) and
// required (boolean). Devices the host does not have cannot be made from numbers: major and minor are refused.
func validateUnixDevice(name string, dev map[string]string) error {
	for k := range dev {
		switch k {
		case "type", "source", "path", "uid", "gid", "mode", "required":
		default:
			return fmt.Errorf("device %q: unknown %s key %q: %w", name, dev["type"], k, errs.ErrInvalid)
		}
	}

	if dev["source"] == "" && dev["path"] == "" {
		return fmt.Errorf("device %q: a %s device needs a source or a path: %w", name, dev["type"], errs.ErrInvalid)
	}

	for _, k := range []string{"source", "path"} {
		v, ok := dev[k]
		if ok && (!strings.HasPrefix(v, "/") || slices.Contains(strings.Split(v, "/"), "..")) {
			return fmt.Errorf("device %q: the %s %q must be absolute and without \"..\": %w", name, k, v, errs.ErrInvalid)
		}
	}

	for k, check := range map[string]keyCheck{"uid": checkUint, "gid": checkUint, "required": checkBool, "mode": checkMode} {
		v, ok := dev[k]
		if ok {
			err := check(v)
			if err != nil {
				return fmt.Errorf("device %q: %s: %w: %w", name, k, err, errs.ErrInvalid)
			}
		}
	}

	return nil
}

// checkMode accepts an octal file mode of permission bits.
func checkMode(v string) error {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return fmt.Errorf("%q is not an octal mode", v)
	}

	return nil
}

// Profile is the part of a profile that expands into an instance.
type Profile struct {
	Name    string
	Config  map[string]string
	Devices map[string]map[string]string
}

// Expand applies profiles in order, then the instance's own configuration and devices on top.
func Expand(profiles []Profile, config map[string]string, devices map[string]map[string]string) (map[string]string, map[string]map[string]string) {
	outConfig := map[string]string{}
	outDevices := map[string]map[string]string{}
	for _, p := range profiles {
		maps.Copy(outConfig, p.Config)
		for name, dev := range p.Devices {
			outDevices[name] = maps.Clone(dev)
		}
	}

	maps.Copy(outConfig, config)
	for name, dev := range devices {
		outDevices[name] = maps.Clone(dev)
	}

	for name, dev := range outDevices {
		if dev["type"] == "none" {
			delete(outDevices, name)
		}
	}

	return outConfig, outDevices
}

// IsTrue reports whether a boolean configuration value is set.
func IsTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	}

	return false
}

// RootDisk returns the root disk device of expanded devices.
func RootDisk(devices map[string]map[string]string) (string, map[string]string, bool) {
	for name, dev := range devices {
		if dev["type"] == "disk" && dev["path"] == "/" {
			return name, dev, true
		}
	}

	return "", nil, false
}
