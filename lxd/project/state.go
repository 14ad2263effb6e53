package project

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// Resources are the resources api.ProjectState reports, each limited by the key limits.<resource>.
var Resources = []string{"containers", "cpu", "disk", "instances", "memory", "networks", "processes", "virtual-machines"}

// aggregateKeys are the limits summed over the instances' own limits: every instance must set the key (itself or
// through a profile) before the project may limit it, as LXD requires.
var aggregateKeys = map[string]bool{"limits.cpu": true, "limits.memory": true, "limits.processes": true}

// State returns the limits and usage of a project's resources; -1 is no limit.
func (m *Manager) State(ctx context.Context, name string) (*api.ProjectState, error) {
	out := &api.ProjectState{Resources: map[string]api.ProjectStateResource{}}
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		p, err := tx.GetProject(ctx, name)
		if err != nil {
			return err
		}

		u, err := loadUsage(ctx, tx, name)
		if err != nil {
			return err
		}

		for _, res := range Resources {
			limit := int64(-1)
			v := p.Config["limits."+res]
			if v != "" {
				limit, err = parseLimit(res, v)
				if err != nil {
					return err
				}
			}

			out.Resources[res] = api.ProjectStateResource{Limit: limit, Usage: u.total[res]}
		}

		return nil
	})
	if err != nil {
		return nil, err
	}

	return out, nil
}

// parseLimit reads the value of limits.<res> in the unit State reports (bytes for memory and disk).
func parseLimit(res string, v string) (int64, error) {
	if res == "memory" || res == "disk" {
		return parseSize(v)
	}

	return strconv.ParseInt(v, 10, 64)
}

// usage is what a project's instances use.
type usage struct {
	// total maps a resource of Resources to its usage.
	total map[string]int64

	// volumes maps each custom volume of the project ("<pool>/<name>") to its size ("" for none).
	volumes map[string]string

	// instances maps an instance to its expanded configuration (profiles, then its own keys), devices to its
	// expanded devices.
	instances map[string]map[string]string
	devices   map[string]map[string]map[string]string
}

// loadUsage counts what a project uses: its instances by type, its networks, the sums of the instances' CPU,
// memory, process and root disk limits, and its custom volumes with their sizes (counted in disk).
func loadUsage(ctx context.Context, tx *db.Tx, name string) (*usage, error) {
	return loadUsageWith(ctx, tx, name, "", nil)
}

// loadUsageWith is loadUsage as a change would leave it: without the instance named skip (of the project), which
// the caller adds with its new configuration, and with profile (when not nil) in place of the profile of its key.
func loadUsageWith(ctx context.Context, tx *db.Tx, name string, skip string, profile *db.Profile) (*usage, error) {
	u := &usage{total: map[string]int64{}, volumes: map[string]string{}, instances: map[string]map[string]string{},
		devices: map[string]map[string]map[string]string{}}
	for _, res := range Resources {
		u.total[res] = 0
	}

	// The custom volumes the project holds (it holds some with features.storage.volumes, or as default).
	vols, err := tx.InProject(name).GetStorageVolumes(ctx, "")
	if err != nil {
		return nil, err
	}

	for _, v := range vols {
		u.volumes[v.Pool+"/"+v.Name] = v.Config["size"]
		size, err := parseSize(v.Config["size"])
		if err == nil {
			u.total["disk"] += size
		}
	}

	c, err := tx.GetProjectContent(ctx, name)
	if err != nil {
		return nil, err
	}

	u.total["networks"] = int64(len(c.Networks))
	insts, err := tx.GetInstances(ctx)
	if err != nil {
		return nil, err
	}

	profiles, err := tx.GetProfiles(ctx)
	if err != nil {
		return nil, err
	}

	// Instances name their profiles by key: the keys of every project are looked up alike.
	byName := map[string]db.Profile{}
	for _, p := range profiles {
		byName[p.Name] = p
	}

	if profile != nil {
		byName[profile.Name] = *profile
	}

	for _, inst := range insts {
		if InstanceProject(inst.Name) != name || (skip != "" && InstanceName(inst.Name) == skip) {
			continue
		}

		config := map[string]string{}
		devices := map[string]map[string]string{}
		for _, pn := range inst.Profiles {
			for k, v := range byName[pn].Config {
				config[k] = v
			}

			for d, dev := range byName[pn].Devices {
				devices[d] = dev
			}
		}

		for k, v := range inst.Config {
			config[k] = v
		}

		for d, dev := range inst.Devices {
			devices[d] = dev
		}

		u.add(InstanceName(inst.Name), inst.Type, config, devices)
	}

	return u, nil
}

// add counts an instance of type typ with its expanded configuration and devices.
func (u *usage) add(name string, typ string, config map[string]string, devices map[string]map[string]string) {
	u.instances[name] = config
	u.devices[name] = devices
	u.total["instances"]++
	if typ == "virtual-machine" {
		u.total["virtual-machines"]++
	} else {
		u.total["containers"]++
	}

	u.total["cpu"] += countCPUs(config["limits.cpu"])
	mem, err := parseSize(config["limits.memory"])
	if err == nil {
		u.total["memory"] += mem
	}

	procs, err := strconv.ParseInt(config["limits.processes"], 10, 64)
	if err == nil {
		u.total["processes"] += procs
	}

	for _, dev := range devices {
		if dev["type"] == "disk" && dev["path"] == "/" {
			size, err := parseSize(dev["size"])
			if err == nil {
				u.total["disk"] += size
			}
		}
	}
}

// CheckNewInstance refuses a new instance (of key) that would take its project past one of its limits: the number of instances and containers, and the sums of CPU, memory, processes
// and root disk sizes, which every instance of a project that limits them must set, as LXD requires. config and
// devices are the instance's expanded configuration and devices.
func CheckNewInstance(ctx context.Context, tx *db.Tx, key string, config map[string]string, devices map[string]map[string]string) error {
	name, inst := SplitInstanceKey(key)
	p, err := tx.GetProject(ctx, name)
	if err != nil {
		return err
	}

	err = checkInstanceRestrictions(name, p.Config, key, config, devices)
	if err != nil {
		return err
	}

	if !limited(p.Config) {
		return nil
	}

	u, err := loadUsage(ctx, tx, name)
	if err != nil {
		return err
	}

	u.add(inst, "container", config, devices)
	return checkUsage(name, p.Config, u)
}

// limited tells whether a project's configuration sets any limit on its resources.
func limited(config map[string]string) bool {
	for _, res := range Resources {
		if config["limits."+res] != "" {
			return true
		}
	}

	return false
}

// checkUsage refuses the usage u of project name (as a change would leave it) when it goes past one of the limits of
// config, or when an instance does not set a key the project limits in sum, as LXD requires.
func checkUsage(name string, config map[string]string, u *usage) error {
	for _, res := range Resources {
		key := "limits." + res
		v := config[key]
		if v == "" {
			continue
		}

		limit, err := parseLimit(res, v)
		if err != nil {
			continue
		}

		if aggregateKeys[key] {
			for _, inst := range slices.Sorted(maps.Keys(u.instances)) {
				if u.instances[inst][key] == "" {
					return errs.Invalid("instance %q in project %q has no %q config, either directly or via a profile", inst, name, key)
				}
			}
		}

		if key == "limits.disk" {
			err := u.checkSizes(name)
			if err != nil {
				return err
			}
		}

		if u.total[res] > limit {
			if res == "containers" || res == "instances" {
				return errs.Invalid("Reached maximum number of instances of type %q in project %q", "container", name)
			}

			return errs.Invalid("%q of project %q would be exceeded: %s needed, the limit is %s", key, name,
				describeUsage(res, u.total[res]), v)
		}
	}

	return nil
}

// checkSizes refuses usage whose disk space cannot be summed, as LXD does for a project with limits.disk: an
// instance without a root disk with a size, or a custom volume without a size.
func (u *usage) checkSizes(name string) error {
	for _, inst := range slices.Sorted(maps.Keys(u.devices)) {
		sized := false
		for _, dev := range u.devices[inst] {
			sized = sized || (dev["type"] == "disk" && dev["path"] == "/" && dev["size"] != "")
		}

		if !sized {
			return errs.Invalid("instance %q in project %q has no \"size\" config set on the root device, either directly or via a profile", inst, name)
		}
	}

	for _, vol := range slices.Sorted(maps.Keys(u.volumes)) {
		if u.volumes[vol] == "" {
			return errs.Invalid("custom volume %q in project %q has no \"size\" config set", vol, name)
		}
	}

	return nil
}

// CheckVolumes refuses the custom volumes of project name as a change left them in tx (a new volume, or a new size)
// when they take the project past limits.disk, or one of them has no size while the project limits disk space.
func CheckVolumes(ctx context.Context, tx *db.Tx, name string) error {
	p, err := tx.GetProject(ctx, name)
	if err != nil {
		return err
	}

	if p.Config["limits.disk"] == "" {
		return nil
	}

	u, err := loadUsage(ctx, tx, name)
	if err != nil {
		return err
	}

	return checkUsage(name, p.Config, u)
}

// checkUpdatedUsage refuses a change of an instance (inst, with its new expanded configuration and devices; "" for
// none) or of a profile (nil for none) that would take project name past one of its limits.
func checkUpdatedUsage(ctx context.Context, tx *db.Tx, name string, projectConfig map[string]string, inst string, typ string,
	config map[string]string, devices map[string]map[string]string, profile *db.Profile) error {
	if !limited(projectConfig) {
		return nil
	}

	u, err := loadUsageWith(ctx, tx, name, inst, profile)
	if err != nil {
		return err
	}

	if inst != "" {
		u.add(inst, typ, config, devices)
	}

	return checkUsage(name, projectConfig, u)
}

// countCPUs reads limits.cpu: a count ("2") or a set of CPUs ("0-3,6").
func countCPUs(v string) int64 {
	if v == "" {
		return 0
	}

	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		return n
	}

	var count int64
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			count++
			continue
		}

		a, errA := strconv.ParseInt(lo, 10, 64)
		b, errB := strconv.ParseInt(hi, 10, 64)
		if errA == nil && errB == nil && b >= a {
			count += b - a + 1
		}
	}

	return count
}

// checkLimits refuses a change that sets a limit below what the project already uses, or an aggregate limit
// while an instance of the project does not set the key.
func checkLimits(ctx context.Context, tx *db.Tx, name string, config map[string]string, changed []string) error {
	var u *usage
	for _, key := range changed {
		res, ok := strings.CutPrefix(key, "limits.")
		if !ok || config[key] == "" {
			continue
		}

		limit, err := parseLimit(res, config[key])
		if err != nil {
			// Every limits.* key was validated already: a value that does not parse limits nothing State reports.
			continue
		}

		if u == nil {
			u, err = loadUsage(ctx, tx, name)
			if err != nil {
				return err
			}
		}

		if aggregateKeys[key] {
			for inst, conf := range u.instances {
				if conf[key] == "" {
					return errs.Invalid("invalid value %q for limit %q: instance %q in project %q has no %q config, either directly or via a profile",
						config[key], key, inst, name, key)
				}
			}
		}

		used, known := u.total[res]
		if known && used > limit {
			return errs.Invalid("%q is too low: project %q uses %s", key, name, describeUsage(res, used))
		}
	}

	return nil
}

// describeUsage words the usage of a resource for messages.
func describeUsage(res string, n int64) string {
	switch res {
	case "memory", "disk":
		return fmt.Sprintf("%d bytes of %s", n, res)
	case "cpu":
		return fmt.Sprintf("%d CPUs", n)
	}

	return fmt.Sprintf("%d %s", n, res)
}
