package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/revert"
)

// nicDevices returns the nic devices of expanded devices.
func nicDevices(devices map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, dev := range devices {
		if dev["type"] == "nic" {
			out[name] = dev
		}
	}

	return out
}

// nicHWAddr returns the MAC address of a nic: its hwaddr, or its volatile one.
func nicHWAddr(config map[string]string, device string, dev map[string]string) string {
	if dev["hwaddr"] != "" {
		return dev["hwaddr"]
	}

	return config[NICVolatileKey(device, "hwaddr")]
}

// missingHWAddrs returns the volatile hwaddr keys to give the nics of devices that have neither hwaddr nor one
// yet. A physical nic keeps the address of the host's interface.
func missingHWAddrs(config map[string]string, devices map[string]map[string]string) map[string]string {
	out := map[string]string{}
	for device, dev := range nicDevices(devices) {
		if NICType(dev) == NICPhysical || nicHWAddr(config, device, dev) != "" {
			continue
		}

		out[NICVolatileKey(device, "hwaddr")] = NewHWAddr()
	}

	return out
}

// nicNetwork returns the managed network a nic attaches to: its network, or the parent of a bridged nic with a
// static address (allowed only when that parent is a managed network). "" for a nic that needs no network.
func nicNetwork(dev map[string]string) string {
	if dev["network"] != "" {
		return dev["network"]
	}

	if dev["nictype"] == NICBridged && (dev["ipv4.address"] != "" || dev["ipv6.address"] != "") {
		return dev["parent"]
	}

	return ""
}

// unmanagedParent is LXD's refusal of a static address on a bridge that is not a managed network.
func unmanagedParent(device string, dev map[string]string) error {
	key := "ipv4.address"
	if dev[key] == "" {
		key = "ipv6.address"
	}

	return nicInvalid(device, "cannot use manually specified %s when using unmanaged parent bridge", key)
}

// attachNIC attaches a nic to its managed network (nicNetwork) and returns where it attaches; nil for a nic
// that needs no network.
func (m *Manager) attachNIC(ctx context.Context, name string, device string, dev map[string]string, hwaddr string) (*NetworkPort, error) {
	network := nicNetwork(dev)
	if network == "" {
		return nil, nil
	}

	if m.networks == nil {
		if dev["network"] == "" {
			return nil, unmanagedParent(device, dev)
		}

		return nil, nicInvalid(device, "network %q: this server has no managed networks", network)
	}

	// network= names a network of the project the instance's project reaches, which holds none unless it is
	// default (see lxd/network/project.go).
	if dev["network"] != "" && project.InstanceProject(name) != project.Default {
		var p string
		err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			var err error
			p, err = project.FeatureProjectOf(ctx, tx, project.InstanceProject(name), "networks")
			return err
		})
		if err != nil {
			return nil, err
		}

		if p != project.Default {
			return nil, nicInvalid(device, "failed loading device %q: failed to load network %q for project %q: network not found", device, network, p)
		}
	}

	port, err := m.networks.AttachNIC(ctx, NIC{
		Network: network, Instance: name, Device: device, HWAddr: hwaddr,
		IPv4: dev["ipv4.address"], IPv6: dev["ipv6.address"],
	})
	if errors.Is(err, errs.ErrNotFound) {
		if dev["network"] == "" {
			return nil, unmanagedParent(device, dev)
		}

		return nil, nicInvalid(device, "failed loading device %q: failed to load network %q for project \"default\": network not found", device, network)
	}

	if err != nil {
		return nil, fmt.Errorf("device validation failed for %q: %w", device, err)
	}

	return &port, nil
}

// detachNIC removes the DHCP host entry of a nic on a managed network; a failure is only logged, the nic being
// gone either way.
func (m *Manager) detachNIC(ctx context.Context, name string, device string, dev map[string]string) {
	network := nicNetwork(dev)
	if network == "" || m.networks == nil {
		return
	}

	err := m.networks.DetachNIC(ctx, network, name, device)
	if err != nil {
		slog.Warn("failed detaching a nic from its network", "instance", name, "device", device, "network", network, "err", err)
	}
}

// setVolatileTx stores volatile keys of an instance ("" removes one) and reports a failure.
func (m *Manager) setVolatileTx(ctx context.Context, name string, changes map[string]string) error {
	if len(changes) == 0 {
		return nil
	}

	return m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, changes)
	})
}

// createNICs is the nic part of a creation: each nic gets its volatile MAC address and the nics on managed
// networks are attached (their DHCP host entry recorded, their static address checked), undone through r.
func (m *Manager) createNICs(ctx context.Context, r *revert.Reverter, name string, config map[string]string, devices map[string]map[string]string) error {
	hw := missingHWAddrs(config, devices)
	err := m.setVolatileTx(ctx, name, hw)
	if err != nil {
		return err
	}

	merged := maps.Clone(config)
	maps.Copy(merged, hw)
	nics := nicDevices(devices)
	for _, device := range sortedDevices(nics) {
		dev := nics[device]
		port, err := m.attachNIC(ctx, name, device, dev, nicHWAddr(merged, device, dev))
		if err != nil {
			return err
		}

		if port != nil {
			r.Add(func() { m.detachNIC(context.Background(), name, device, dev) })
		}
	}

	return nil
}

// resolveNIC returns a nic device as the driver needs it: its type in nictype, its MAC address, the host side of
// a veth (its host_name, or hostName) and, on a managed network, the network's bridge as parent and its MTU.
func resolveNIC(dev map[string]string, hwaddr string, hostName string, port *NetworkPort) map[string]string {
	out := maps.Clone(dev)
	out["nictype"] = NICType(dev)
	if hwaddr != "" {
		out["hwaddr"] = hwaddr
	}

	if out["nictype"] == NICBridged || out["nictype"] == NICP2P {
		out["host_name"] = hostName
		if dev["host_name"] != "" {
			out["host_name"] = dev["host_name"]
		}
	}

	if port != nil && dev["network"] != "" {
		out["parent"] = port.Bridge
		if port.MTU > 0 {
			out["mtu"] = strconv.Itoa(port.MTU)
		}
	}

	return out
}

// prepareNIC resolves one nic for a start or a hot plug: it attaches it to its managed network and names the
// host side of a veth. It returns the resolved device and the volatile keys to record while it runs.
func (m *Manager) prepareNIC(ctx context.Context, name string, config map[string]string, device string, dev map[string]string) (map[string]string, map[string]string, error) {
	hwaddr := nicHWAddr(config, device, dev)
	port, err := m.attachNIC(ctx, name, device, dev, hwaddr)
	if err != nil {
		return nil, nil, err
	}

	resolved := resolveNIC(dev, hwaddr, NewHostName(), port)
	running := map[string]string{}
	if resolved["host_name"] != "" {
		running[NICVolatileKey(device, "host_name")] = resolved["host_name"]
	}

	return resolved, running, nil
}

// startNICs prepares the nics of an instance about to start: the volatile MAC addresses still missing are
// recorded, the nics on managed networks attached, and the host sides of veth nics named and recorded
// (volatile.<device>.host_name, cleared by stoppedNICs). It returns the devices with their nics resolved.
func (m *Manager) startNICs(ctx context.Context, name string, config map[string]string, devices map[string]map[string]string) (map[string]map[string]string, error) {
	err := checkNICNames(devices)
	if err != nil {
		return nil, err
	}

	hw := missingHWAddrs(config, devices)
	err = m.setVolatileTx(ctx, name, hw)
	if err != nil {
		return nil, err
	}

	merged := maps.Clone(config)
	maps.Copy(merged, hw)
	out := maps.Clone(devices)
	running := map[string]string{}
	nics := nicDevices(devices)
	for _, device := range sortedDevices(nics) {
		resolved, keys, err := m.prepareNIC(ctx, name, merged, device, nics[device])
		if err != nil {
			return nil, err
		}

		out[device] = resolved
		maps.Copy(running, keys)
	}

	err = m.setVolatileTx(ctx, name, running)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// stoppedNICs clears the volatile keys of a running instance's nics (the host-side names of its veths).
func (m *Manager) stoppedNICs(ctx context.Context, name string) {
	inst, err := m.load(ctx, name)
	if err != nil {
		return
	}

	changes := map[string]string{}
	for k := range inst.Config {
		if strings.HasPrefix(k, "volatile.") && strings.HasSuffix(k, ".host_name") {
			changes[k] = ""
		}
	}

	err = m.setVolatileTx(ctx, name, changes)
	if err != nil {
		slog.Error("failed clearing the nic state of a stopped instance", "instance", name, "err", err)
	}
}

// setupNICs applies what the driver does once the container runs (traffic limits); on failure the container is
// stopped, so that a start refused for its nics leaves nothing running.
func (m *Manager) setupNICs(ctx context.Context, name string, devices map[string]map[string]string) error {
	nd, ok := m.driver.(NICDriver)
	if !ok {
		return nil
	}

	err := nd.SetupNICs(name, devices)
	if err != nil {
		killErr := m.driver.Kill(ctx, name)
		if killErr != nil {
			slog.Error("failed stopping an instance whose nics could not be set up", "instance", name, "err", killErr)
		}

		return err
	}

	return nil
}

// deleteNICs detaches the nics of a deleted instance from their managed networks.
func (m *Manager) deleteNICs(ctx context.Context, name string, devices map[string]map[string]string) {
	nics := nicDevices(devices)
	for _, device := range sortedDevices(nics) {
		m.detachNIC(ctx, name, device, nics[device])
	}
}

// nicState fills in what the driver cannot know of a running instance's nics: the host side of each veth.
func nicState(config map[string]string, devices map[string]map[string]string, network map[string]api.InstanceStateNetwork) {
	for device, dev := range nicDevices(devices) {
		iface := dev["name"]
		if iface == "" {
			iface = device
		}

		n, ok := network[iface]
		host := config[NICVolatileKey(device, "host_name")]
		if !ok || host == "" {
			continue
		}

		n.HostName = host
		network[iface] = n
	}
}

// runningNIC returns a nic of a running instance as it was resolved at its start or hot plug, from its volatile
// keys: enough to take it out.
func runningNIC(config map[string]string, device string, dev map[string]string) map[string]string {
	return resolveNIC(dev, nicHWAddr(config, device, dev), config[NICVolatileKey(device, "host_name")], nil)
}

// updateNICs applies a change of an instance's nics, from the old to the new expanded devices: new and changed
// nics get their volatile MAC address and are attached to their managed network (which checks them), and on a
// running instance the removed and changed nics are unplugged and the new and changed ones plugged. It returns the
// volatile keys to change with the instance's record ("" removes one) and the reverter whose Fail undoes what was
// done; on error, it is undone already.
func (m *Manager) updateNICs(ctx context.Context, name string, config map[string]string, oldDevices, newDevices map[string]map[string]string) (map[string]string, *revert.Reverter, error) {
	err := checkNICNames(newDevices)
	if err != nil {
		return nil, nil, err
	}

	r := revert.New()
	defer r.Fail()
	before, after := nicDevices(oldDevices), nicDevices(newDevices)
	changes := map[string]string{}
	nd, hot := m.driver.(NICDriver)
	running := hot && m.driver.Status(name) == api.Running
	if running {
		// A running nic whose limits alone change keeps its interface: the new limits apply to its host side.
		for _, device := range sortedDevices(before) {
			if after[device] == nil || maps.Equal(before[device], after[device]) || !onlyLimits(before[device], after[device]) {
				continue
			}

			old, cur := runningNIC(config, device, before[device]), runningNIC(config, device, after[device])
			err := nd.SetupNICs(name, map[string]map[string]string{device: cur})
			if err != nil {
				m.logHotplug(name, device, nd.SetupNICs(name, map[string]map[string]string{device: old}))
				return nil, nil, fmt.Errorf("device %q: %w", device, err)
			}

			r.Add(func() { m.logHotplug(name, device, nd.SetupNICs(name, map[string]map[string]string{device: old})) })
			before[device] = after[device]
		}
	}

	for _, device := range sortedDevices(before) {
		if maps.Equal(before[device], after[device]) {
			continue
		}

		changes[NICVolatileKey(device, "host_name")] = ""
		if after[device] == nil {
			for k := range config {
				if strings.HasPrefix(k, "volatile."+device+".") {
					changes[k] = ""
				}
			}
		}

		if !running {
			continue
		}

		old := runningNIC(config, device, before[device])
		err := nd.UnplugNIC(name, device, old)
		if err != nil {
			return nil, nil, err
		}

		r.Add(func() { m.logHotplug(name, device, nd.PlugNIC(name, device, old)) })
	}

	merged := maps.Clone(config)
	for _, device := range sortedDevices(after) {
		dev := after[device]
		if maps.Equal(before[device], dev) {
			continue
		}

		hwKey := NICVolatileKey(device, "hwaddr")
		if before[device] == nil || merged[hwKey] == "" {
			maps.Copy(changes, missingHWAddrs(map[string]string{}, map[string]map[string]string{device: dev}))
			maps.Copy(merged, changes)
		}

		resolved, keys, err := m.prepareNIC(ctx, name, merged, device, dev)
		if err != nil {
			return nil, nil, err
		}

		if before[device] == nil || nicNetwork(before[device]) != nicNetwork(dev) {
			r.Add(func() { m.detachNIC(context.Background(), name, device, dev) })
		} else if nicNetwork(dev) != "" {
			// The network replaced the entry: the old one comes back.
			old, oldHW := before[device], nicHWAddr(config, device, before[device])
			r.Add(func() {
				_, err := m.attachNIC(context.Background(), name, device, old, oldHW)
				m.logHotplug(name, device, err)
			})
		}

		if !running {
			continue
		}

		err = nd.PlugNIC(name, device, resolved)
		if err != nil {
			return nil, nil, err
		}

		r.Add(func() { m.logHotplug(name, device, nd.UnplugNIC(name, device, resolved)) })
		maps.Copy(changes, keys)
	}

	undo := r.Clone()
	r.Success()
	return changes, undo, nil
}

// removedNICs detaches from their managed networks the nics an update removed or moved to another network.
func (m *Manager) removedNICs(ctx context.Context, name string, oldDevices, newDevices map[string]map[string]string) {
	before, after := nicDevices(oldDevices), nicDevices(newDevices)
	for _, device := range sortedDevices(before) {
		if after[device] == nil || nicNetwork(after[device]) != nicNetwork(before[device]) {
			m.detachNIC(ctx, name, device, before[device])
		}
	}
}

// checkNICNetworks refuses, before any work starts, the nics that need managed networks when the daemon has none.
func (m *Manager) checkNICNetworks(devices map[string]map[string]string) error {
	if m.networks != nil {
		return nil
	}

	nics := nicDevices(devices)
	for _, device := range sortedDevices(nics) {
		dev := nics[device]
		if nicNetwork(dev) == "" {
			continue
		}

		if dev["network"] == "" {
			return unmanagedParent(device, dev)
		}

		return nicInvalid(device, "network %q: this server has no managed networks", dev["network"])
	}

	return nil
}

// renameNICs moves the DHCP host entries of a renamed instance's nics to its new name; a failure is logged, the
// entry coming back at the next start.
func (m *Manager) renameNICs(ctx context.Context, oldName string, newName string, config map[string]string, devices map[string]map[string]string) {
	nics := nicDevices(devices)
	for _, device := range sortedDevices(nics) {
		dev := nics[device]
		if nicNetwork(dev) == "" || m.networks == nil {
			continue
		}

		m.detachNIC(ctx, oldName, device, dev)
		_, err := m.attachNIC(ctx, newName, device, dev, nicHWAddr(config, device, dev))
		if err != nil {
			slog.Warn("failed attaching a renamed instance's nic to its network", "instance", newName, "device", device, "err", err)
		}
	}
}

// profileNICs applies a profile's nic changes to a running instance using it, as updateNICs does for the
// instance's own devices, and records the nics' volatile keys.
func (m *Manager) profileNICs(ctx context.Context, name string, config map[string]string, oldDevices, newDevices map[string]map[string]string) error {
	changes, undo, err := m.updateNICs(ctx, name, config, oldDevices, newDevices)
	if err != nil {
		return err
	}

	err = m.setVolatileTx(ctx, name, changes)
	if err != nil {
		undo.Fail()
		return err
	}

	m.removedNICs(ctx, name, oldDevices, newDevices)
	return nil
}

// onlyLimits reports whether two versions of a nic differ in their limits.* keys alone.
func onlyLimits(a, b map[string]string) bool {
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if !strings.HasPrefix(k, "limits.") && a[k] != b[k] {
				return false
			}
		}
	}

	return true
}

// checkNICNames refuses two nics giving the container the same interface name.
func checkNICNames(devices map[string]map[string]string) error {
	nics := nicDevices(devices)
	seen := map[string]string{}
	for _, device := range sortedDevices(nics) {
		iface := nics[device]["name"]
		if iface == "" {
			iface = device
		}

		other, ok := seen[iface]
		if ok {
			return errs.Invalid("devices %q and %q both name the interface %q in the instance", other, device, iface)
		}

		seen[iface] = device
	}

	return nil
}
