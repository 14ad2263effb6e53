package project

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/osarch"
)

// Features are the configuration keys that decide which objects a project holds on its own.
var Features = []string{"features.images", "features.profiles", "features.storage.volumes", "features.networks"}

// featureDefaults are the features a new project gets unless its creation sets them, as LXD sets them.
var featureDefaults = []string{"features.images", "features.profiles", "features.storage.volumes"}

// ValidateName checks a project name as LXD does.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errs.Invalid("no name provided")
	case strings.Contains(name, "/"):
		return errs.Invalid("project names may not contain slashes")
	case strings.Contains(name, " "):
		return errs.Invalid("project names may not contain spaces")
	case strings.Contains(name, "_"):
		return errs.Invalid("project names may not contain underscores")
	case strings.ContainsAny(name, `'"`):
		return errs.Invalid("project names may not contain quotes")
	case name == "*":
		return errs.Invalid("reserved project name")
	case name == "." || name == "..":
		return errs.Invalid("invalid project name %q", name)
	}

	return nil
}

type check func(value string) error

func checkBool(v string) error {
	switch strings.ToLower(v) {
	case "true", "false", "1", "0", "yes", "no", "on", "off":
		return nil
	}

	return fmt.Errorf("invalid value for a boolean %q", v)
}

func checkUint32(v string) error {
	_, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid value for an integer %q", v)
	}

	return nil
}

func checkInt64(v string) error {
	_, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid value for an integer %q", v)
	}

	return nil
}

func checkSize(v string) error {
	_, err := parseSize(v)
	return err
}

// sizeUnits are the suffixes of sizes LXD reads, longest first within each family.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"PiB", 1 << 50}, {"EiB", 1 << 60},
	{"kB", 1000}, {"KB", 1000}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15}, {"EB", 1e18}, {"B", 1},
}

// parseSize reads a size in bytes: a number with an optional unit ("512", "2GiB", "1GB").
func parseSize(v string) (int64, error) {
	num, mult := v, int64(1)
	for _, u := range sizeUnits {
		rest, ok := strings.CutSuffix(v, u.suffix)
		if ok {
			num, mult = rest, u.mult
			break
		}
	}

	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q", v)
	}

	return n * mult, nil
}

func oneOf(values ...string) check {
	return func(v string) error {
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}

		return fmt.Errorf("invalid value %q (not one of %s)", v, strings.Join(values, ", "))
	}
}

func checkArchitecture(v string) error {
	_, err := osarch.Canonical(v)
	if err != nil {
		return fmt.Errorf("invalid architecture %q", v)
	}

	return nil
}

func checkAny(string) error { return nil }

var (
	allowBlock        = oneOf("allow", "block")
	allowBlockManaged = oneOf("allow", "block", "managed")
	compression       = oneOf("none", "bzip2", "gzip", "lzma", "xz", "zstd")
)

// configKeys are the project configuration keys LXD 5.0.2 knows, with their checks. An empty value is always
// accepted: it unsets the key.
var configKeys = map[string]check{
	"features.images":                      checkBool,
	"features.profiles":                    checkBool,
	"features.storage.volumes":             checkBool,
	"features.networks":                    checkBool,
	"backups.compression_algorithm":        compression,
	"images.compression_algorithm":         compression,
	"images.auto_update_cached":            checkBool,
	"images.auto_update_interval":          checkInt64,
	"images.default_architecture":          checkArchitecture,
	"images.remote_cache_expiry":           checkInt64,
	"limits.instances":                     checkUint32,
	"limits.containers":                    checkUint32,
	"limits.virtual-machines":              checkUint32,
	"limits.cpu":                           checkUint32,
	"limits.memory":                        checkSize,
	"limits.processes":                     checkUint32,
	"limits.disk":                          checkSize,
	"limits.networks":                      checkUint32,
	"restricted":                           checkBool,
	"restricted.backups":                   allowBlock,
	"restricted.snapshots":                 allowBlock,
	"restricted.cluster.groups":            checkAny,
	"restricted.cluster.target":            allowBlock,
	"restricted.containers.nesting":        allowBlock,
	"restricted.containers.lowlevel":       allowBlock,
	"restricted.containers.privilege":      oneOf("allow", "unprivileged", "isolated"),
	"restricted.virtual-machines.lowlevel": allowBlock,
	"restricted.devices.unix-char":         allowBlock,
	"restricted.devices.unix-block":        allowBlock,
	"restricted.devices.unix-hotplug":      allowBlock,
	"restricted.devices.infiniband":        allowBlock,
	"restricted.devices.gpu":               allowBlock,
	"restricted.devices.usb":               allowBlock,
	"restricted.devices.pci":               allowBlock,
	"restricted.devices.proxy":             allowBlock,
	"restricted.devices.nic":               allowBlockManaged,
	"restricted.devices.disk":              allowBlockManaged,
	"restricted.networks.uplinks":          checkAny,
	"restricted.networks.subnets":          checkAny,
	"restricted.networks.zones":            checkAny,
}

// ValidateConfig checks every key of a project configuration: user.* keys are free, unknown keys and bad values
// are refused.
func ValidateConfig(config map[string]string) error {
	for key, value := range config {
		if strings.HasPrefix(key, "user.") {
			continue
		}

		chk, ok := configKeys[key]
		if !ok {
			return errs.Invalid("invalid project configuration key %q", key)
		}

		if value == "" {
			continue
		}

		err := chk(value)
		if err != nil {
			return errs.Invalid("invalid project configuration key %q value: %v", key, err)
		}
	}

	return nil
}

// changedKeys lists the keys whose value differs between two configurations.
func changedKeys(old map[string]string, next map[string]string) []string {
	var out []string
	for k, v := range old {
		if next[k] != v {
			out = append(out, k)
		}
	}

	for k := range next {
		_, ok := old[k]
		if !ok {
			out = append(out, k)
		}
	}

	return out
}

// isTrue reads a boolean key as LXD does.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	}

	return false
}

// Feature reports whether a project's configuration turns a feature (features.<name>) on.
func Feature(config map[string]string, name string) bool {
	return isTrue(config["features."+name])
}
