package main

import (
	"fmt"
	"maps"
	"strings"

	"github.com/lxd-go/lxd/client"
)

// parseDeviceOverrides reads the -d flags of init and launch: "<device>,<key>=<value>", several keys of one device in
// as many flags.
func parseDeviceOverrides(args []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, entry := range args {
		dev, kv, ok := strings.Cut(entry, ",")
		k, v, hasValue := strings.Cut(kv, "=")
		if !ok || !hasValue || dev == "" || k == "" {
			return nil, fmt.Errorf("bad device override syntax, expecting <device>,<key>=<value>: %s", entry)
		}

		if out[dev] == nil {
			out[dev] = map[string]string{}
		}

		out[dev][k] = v
	}

	return out, nil
}

// instanceDevices returns the devices of a new instance as the stock client builds them: a root disk on the pool of
// -s, an eth0 nic on the network of -n, then the -d overrides, each on a device of the instance or, copied first,
// of its profiles.
func (c *cmdInit) instanceDevices(d client.InstanceServer, profiles []string) (map[string]map[string]string, error) {
	overrides, err := parseDeviceOverrides(c.flagDevice)
	if err != nil {
		return nil, err
	}

	devices := map[string]map[string]string{}
	if c.flagStorage != "" {
		_, _, err := d.GetStoragePool(c.flagStorage)
		if err != nil {
			return nil, fmt.Errorf("failed loading storage pool %q: %w", c.flagStorage, err)
		}

		devices["root"] = map[string]string{"type": "disk", "path": "/", "pool": c.flagStorage}
	}

	if c.flagNetwork != "" {
		network, _, err := d.GetNetwork(c.flagNetwork)
		if err != nil {
			return nil, fmt.Errorf("failed loading network %q: %w", c.flagNetwork, err)
		}

		// A managed network is named as such when the server knows nics on managed networks; otherwise, as for an
		// unmanaged one, the nic is bridged to it (or macvlan on it).
		nic := map[string]string{"type": "nic", "network": network.Name, "name": "eth0"}
		if !network.Managed || !d.HasExtension("instance_nic_network") {
			nic = map[string]string{"type": "nic", "nictype": "macvlan", "parent": network.Name, "name": "eth0"}
			if network.Type == "bridge" {
				nic["nictype"] = "bridged"
			}
		}

		devices["eth0"] = nic
	}

	if len(overrides) == 0 {
		return devices, nil
	}

	profileDevices := map[string]map[string]string{}
	for _, name := range profiles {
		profile, _, err := d.GetProfile(name)
		if err != nil {
			return nil, fmt.Errorf("failed loading profile %q: %w", name, err)
		}

		for dev, config := range profile.Devices {
			profileDevices[dev] = maps.Clone(config)
		}
	}

	for dev, keys := range overrides {
		_, ok := devices[dev]
		if !ok {
			config, ok := profileDevices[dev]
			if !ok {
				return nil, fmt.Errorf("cannot override config for device %q: device not found in profile devices", dev)
			}

			devices[dev] = config
		}

		maps.Copy(devices[dev], keys)
	}

	return devices, nil
}
