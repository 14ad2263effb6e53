package instance

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/lxd-go/lxd/lxd/errs"
)

// instanceTypeSize matches the size form of an instance type: cN-mM, N CPUs (0 for no limit) and M GiB of memory.
var instanceTypeSize = regexp.MustCompile(`^c([0-9]+)-m([0-9]+(?:\.[0-9]+)?)$`)

// InstanceTypeLimits returns the limits an instance type stands for, as LXD reads the size form cN-mM:
// limits.cpu=N (left out for 0) and limits.memory=M×1024 MB. The named types of public clouds need the catalogue
// LXD downloads, which this server does not: they are refused as unknown.
func InstanceTypeLimits(name string) (map[string]string, error) {
	m := instanceTypeSize.FindStringSubmatch(name)
	if m == nil {
		return nil, errs.Invalid("provided instance type doesn't exist: %s", name)
	}

	cpus, err := strconv.Atoi(m[1])
	if err != nil {
		return nil, errs.Invalid("provided instance type doesn't exist: %s", name)
	}

	gib, err := strconv.ParseFloat(m[2], 64)
	if err != nil || gib <= 0 {
		return nil, errs.Invalid("provided instance type doesn't exist: %s", name)
	}

	limits := map[string]string{"limits.memory": fmt.Sprintf("%dMB", int64(gib*1024))}
	if cpus > 0 {
		limits["limits.cpu"] = strconv.Itoa(cpus)
	}

	return limits, nil
}

// ApplyInstanceType sets the limits of an instance type in config, leaving the keys config already has.
func ApplyInstanceType(config map[string]string, name string) (map[string]string, error) {
	limits, err := InstanceTypeLimits(name)
	if err != nil {
		return nil, err
	}

	out := map[string]string{}
	for k, v := range config {
		out[k] = v
	}

	for k, v := range limits {
		if out[k] == "" {
			out[k] = v
		}
	}

	return out, nil
}
