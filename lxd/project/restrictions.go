package project

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
)

// restrictionDefaults are the values the restricted.* keys take in a project with restricted=true that does not
// set them, as LXD 5.0.2 has them: everything that reaches past the container is blocked, and disks and nics must
// be managed (a storage volume, a managed network).
var restrictionDefaults = map[string]string{
	"restricted.backups":                   "block",
	"restricted.cluster.target":            "block",
	"restricted.containers.lowlevel":       "block",
	"restricted.containers.nesting":        "block",
	"restricted.containers.privilege":      "unprivileged",
	"restricted.virtual-machines.lowlevel": "block",
	"restricted.devices.disk":              "managed",
	"restricted.devices.gpu":               "block",
	"restricted.devices.infiniband":        "block",
	"restricted.devices.nic":               "managed",
	"restricted.devices.pci":               "block",
	"restricted.devices.proxy":             "block",
	"restricted.devices.unix-block":        "block",
	"restricted.devices.unix-char":         "block",
	"restricted.devices.unix-hotplug":      "block",
	"restricted.devices.usb":               "block",
	"restricted.snapshots":                 "block",
}

// blockableDevices names, by device type, the key that blocks it and how LXD words the refusal.
var blockableDevices = map[string][2]string{
	"unix-char":    {"restricted.devices.unix-char", "Unix character devices are forbidden"},
	"unix-block":   {"restricted.devices.unix-block", "Unix block devices are forbidden"},
	"unix-hotplug": {"restricted.devices.unix-hotplug", "Unix hotplug devices are forbidden"},
	"infiniband":   {"restricted.devices.infiniband", "Infiniband devices are forbidden"},
	"gpu":          {"restricted.devices.gpu", "GPU devices are forbidden"},
	"usb":          {"restricted.devices.usb", "USB devices are forbidden"},
	"pci":          {"restricted.devices.pci", "PCI devices are forbidden"},
	"proxy":        {"restricted.devices.proxy", "Proxy devices are forbidden"},
}

// lowLevelKeys are the container keys restricted.containers.lowlevel=block forbids: those that reach below what
// the daemon confines (raw liblxc, AppArmor and seccomp configuration, id maps, kernel modules).
var lowLevelKeys = []string{"boot.host_shutdown_timeout", "linux.kernel_modules", "raw.apparmor", "raw.idmap", "raw.lxc",
	"raw.seccomp", "security.devlxd.images", "security.idmap.base", "security.idmap.size"}

// restriction returns the value of a restricted.* key of a project's configuration: its own, else the default
// when the project is restricted; "allow" when the project is not restricted.
func restriction(config map[string]string, key string) string {
	if !isTrue(config["restricted"]) {
		return "allow"
	}

	v := config[key]
	if v == "" {
		v = restrictionDefaults[key]
	}

	return v
}

// Restricted reports whether a project's restricted.<what> (snapshots, backups) blocks the action.
func Restricted(config map[string]string, what string) bool {
	return restriction(config, "restricted."+what) == "block"
}

// checkEntity checks the configuration and devices of an instance or profile (what names it in messages, as
// `container "c1"` or `profile "default"`) against the restrictions of project name with configuration config.
func checkEntity(name string, config map[string]string, what string, entityConfig map[string]string,
	devices map[string]map[string]string) error {
	if !isTrue(config["restricted"]) {
		return nil
	}

	lowLevel := restriction(config, "restricted.containers.lowlevel") != "block"
	keys := make([]string, 0, len(entityConfig))
	for k := range entityConfig {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	for _, k := range keys {
		v := entityConfig[k]
		if !lowLevel && (slices.Contains(lowLevelKeys, k) || strings.HasPrefix(k, "security.syscalls.intercept.")) {
			return errs.Forbidden("Use of low-level config %q on %s of project %q is forbidden", k, what, name)
		}

		switch k {
		case "security.nesting":
			if isTrue(v) && restriction(config, "restricted.containers.nesting") == "block" {
				return errs.Forbidden("Invalid value %q for config %q on %s of project %q: Container nesting is forbidden", v, k, what, name)
			}

		case "security.privileged":
			if isTrue(v) && restriction(config, "restricted.containers.privilege") != "allow" {
				return errs.Forbidden("Invalid value %q for config %q on %s of project %q: Privileged containers are forbidden", v, k, what, name)
			}

		case "security.idmap.isolated":
			if !isTrue(v) && restriction(config, "restricted.containers.privilege") == "isolated" {
				return errs.Forbidden("Invalid value %q for config %q on %s of project %q: Non-isolated containers are forbidden", v, k, what, name)
			}
		}
	}

	devNames := make([]string, 0, len(devices))
	for d := range devices {
		devNames = append(devNames, d)
	}

	sort.Strings(devNames)
	for _, d := range devNames {
		reason := checkDevice(config, devices[d])
		if reason != "" {
			return errs.Forbidden("Invalid device %q on %s of project %q: %s", d, what, name, reason)
		}
	}

	return nil
}

// checkDevice checks one device against a restricted project's configuration: it returns why the device is
// forbidden, in LXD's words, or "".
func checkDevice(config map[string]string, dev map[string]string) string {
	typ := dev["type"]
	blocked, ok := blockableDevices[typ]
	if ok {
		if restriction(config, blocked[0]) == "block" {
			return blocked[1]
		}

		return ""
	}

	switch typ {
	case "nic":
		switch restriction(config, "restricted.devices.nic") {
		case "block":
			return "Network devices are forbidden"
		case "managed":
			if dev["network"] == "" {
				return "Only managed network devices are allowed"
			}
		}

	case "disk":
		// The root disk is the instance's own storage: always allowed.
		if dev["path"] == "/" {
			return ""
		}

		switch restriction(config, "restricted.devices.disk") {
		case "block":
			return "Disk devices are forbidden"
		case "managed":
			if dev["pool"] == "" {
				return "Attaching disks not backed by a pool is forbidden"
			}
		}
	}

	return ""
}

// checkInstanceRestrictions checks a new or changed instance of key against the restrictions of its project: its
// own configuration and devices (what it sets itself), and the expanded ones (what its profiles give it).
func checkInstanceRestrictions(name string, config map[string]string, key string, expandedConfig map[string]string,
	expandedDevices map[string]map[string]string) error {
	return checkEntity(name, config, fmt.Sprintf("container %q", InstanceName(key)), expandedConfig, expandedDevices)
}

// CheckProfile refuses a profile (by key) whose configuration or devices its project's restrictions forbid, or
// that would take the instances of the project that use it past one of the project's limits. A profile of default
// is also the profile of the instances of the projects without features.profiles: each such project whose
// instances use it must allow it, and stay within its limits, too.
func CheckProfile(ctx context.Context, tx *db.Tx, key string, config map[string]string, devices map[string]map[string]string) error {
	name, _ := SplitProfileKey(key)
	p, err := tx.GetProject(ctx, name)
	if err != nil {
		return err
	}

	err = checkProfileIn(ctx, tx, *p, key, config, devices)
	if err != nil || name != Default {
		return err
	}

	projects, err := tx.GetProjects(ctx)
	if err != nil {
		return err
	}

	insts, err := tx.GetInstances(ctx)
	if err != nil {
		return err
	}

	users := map[string]bool{}
	for _, inst := range insts {
		if slices.Contains(inst.Profiles, key) {
			users[InstanceProject(inst.Name)] = true
		}
	}

	for _, other := range projects {
		if other.Name == Default || Feature(other.Config, "profiles") || !users[other.Name] {
			continue
		}

		err = checkProfileIn(ctx, tx, other, key, config, devices)
		if err != nil {
			return err
		}
	}

	return nil
}

// checkProfileIn checks profile key, as a change would leave it, against the restrictions and limits of project p,
// whose instances use it.
func checkProfileIn(ctx context.Context, tx *db.Tx, p db.Project, key string, config map[string]string, devices map[string]map[string]string) error {
	err := checkEntity(p.Name, p.Config, fmt.Sprintf("profile %q", ProfileName(key)), config, devices)
	if err != nil {
		return err
	}

	return checkUpdatedUsage(ctx, tx, p.Name, p.Config, "", "", nil, nil, &db.Profile{Name: key, Config: config, Devices: devices})
}

// CheckInstanceUpdate refuses a change of instance key whose new expanded configuration or devices its project's
// restrictions forbid, or that would take the project past one of its limits.
func CheckInstanceUpdate(ctx context.Context, tx *db.Tx, key string, config map[string]string, devices map[string]map[string]string) error {
	name, inst := SplitInstanceKey(key)
	p, err := tx.GetProject(ctx, name)
	if err != nil {
		return err
	}

	err = checkInstanceRestrictions(name, p.Config, key, config, devices)
	if err != nil {
		return err
	}

	return checkUpdatedUsage(ctx, tx, name, p.Config, inst, "container", config, devices, nil)
}

// checkProjectRestrictions checks what a project holds against a new configuration with restricted=true, so that
// restrictions never hold while an instance breaks them.
func checkProjectRestrictions(ctx context.Context, tx *db.Tx, name string, config map[string]string) error {
	if !isTrue(config["restricted"]) {
		return nil
	}

	u, err := loadUsage(ctx, tx, name)
	if err != nil {
		return err
	}

	insts := make([]string, 0, len(u.instances))
	for inst := range u.instances {
		insts = append(insts, inst)
	}

	sort.Strings(insts)
	for _, inst := range insts {
		err := checkInstanceRestrictions(name, config, InstanceKey(name, inst), u.instances[inst], u.devices[inst])
		if err != nil {
			return errs.Invalid("Conflict detected when changing the restrictions of project %q: %s", name, err)
		}
	}

	return nil
}
