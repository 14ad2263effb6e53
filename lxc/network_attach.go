package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// networkNIC is the nic device "lxc network attach" adds for a network. A managed network on a server with the
// instance_nic_network extension is named by the device's network key, so that the nic takes the network's
// settings when it starts; anything else is a macvlan nic on the interface, or a bridged one on a bridge.
func networkNIC(n *api.Network, byNetworkKey bool, iface string) map[string]string {
	device := map[string]string{"type": "nic"}
	if n.Managed && byNetworkKey {
		device["network"] = n.Name
	} else {
		device["nictype"] = "macvlan"
		if n.Type == "bridge" {
			device["nictype"] = "bridged"
		}

		device["parent"] = n.Name
	}

	if iface != "" {
		device["name"] = iface
	}

	return device
}

// attachArgs reads "[<device name>] [<interface name>]": the device is named after the network by default.
func attachArgs(network string, args []string) (string, string) {
	devName, iface := network, ""
	if len(args) > 0 {
		devName = args[0]
	}

	if len(args) > 1 {
		iface = args[1]
	}

	return devName, iface
}

// addDevice adds a device under a name not taken yet.
func addDevice(devices map[string]map[string]string, name string, device map[string]string) (map[string]map[string]string, error) {
	if devices == nil {
		devices = map[string]map[string]string{}
	}

	_, ok := devices[name]
	if ok {
		return nil, fmt.Errorf("device already exists: %s", name)
	}

	devices[name] = device
	return devices, nil
}

// attach adds a nic on the network to an instance of the same remote.
func (c *cmdNetwork) attach(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	n, _, err := d.GetNetwork(name)
	if err != nil {
		return err
	}

	devName, iface := attachArgs(name, args[1:])
	device := networkNIC(n, d.HasExtension("instance_nic_network"), iface)
	inst, etag, err := d.GetInstance(args[0])
	if err != nil {
		return err
	}

	put := inst.Writable()
	put.Devices, err = addDevice(put.Devices, devName, device)
	if err != nil {
		return err
	}

	op, err := d.UpdateInstance(args[0], put, etag)
	if err != nil {
		return err
	}

	return op.Wait()
}

// attachProfile adds a nic on the network to a profile. As in the stock client, the device names the interface
// (nictype and parent) rather than the managed network.
func (c *cmdNetwork) attachProfile(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	n, _, err := d.GetNetwork(name)
	if err != nil {
		return err
	}

	devName, iface := attachArgs(name, args[1:])
	device := networkNIC(n, false, iface)
	p, etag, err := d.GetProfile(args[0])
	if err != nil {
		return err
	}

	put := p.Writable()
	put.Devices, err = addDevice(put.Devices, devName, device)
	if err != nil {
		return err
	}

	return d.UpdateProfile(args[0], put, etag)
}

// nicOnNetwork reports whether a device is a nic connected to the network, by its network or parent key.
func nicOnNetwork(device map[string]string, network string) bool {
	return device["type"] == "nic" && (device["parent"] == network || device["network"] == network)
}

// detachDevice picks the device to remove: the one named, which must be a nic on the network, or else the only
// nic on the network.
func detachDevice(devices map[string]map[string]string, network string, args []string) (string, error) {
	if len(args) > 0 {
		device, ok := devices[args[0]]
		if !ok {
			return "", errors.New("the specified device doesn't exist")
		}

		if !nicOnNetwork(device, network) {
			return "", errors.New("the specified device doesn't match the network")
		}

		return args[0], nil
	}

	found := ""
	for devName, device := range devices {
		if !nicOnNetwork(device, network) {
			continue
		}

		if found != "" {
			return "", errors.New("more than one device matches, specify the device name")
		}

		found = devName
	}

	if found == "" {
		return "", errors.New("no device found for this network")
	}

	return found, nil
}

// detach removes a nic on the network from an instance (its own devices, not those of its profiles).
func (c *cmdNetwork) detach(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	inst, etag, err := d.GetInstance(args[0])
	if err != nil {
		return err
	}

	devName, err := detachDevice(inst.Devices, name, args[1:])
	if err != nil {
		return err
	}

	put := inst.Writable()
	delete(put.Devices, devName)
	op, err := d.UpdateInstance(args[0], put, etag)
	if err != nil {
		return err
	}

	return op.Wait()
}

// detachProfile removes a nic on the network from a profile.
func (c *cmdNetwork) detachProfile(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	p, etag, err := d.GetProfile(args[0])
	if err != nil {
		return err
	}

	devName, err := detachDevice(p.Devices, name, args[1:])
	if err != nil {
		return err
	}

	put := p.Writable()
	delete(put.Devices, devName)
	return d.UpdateProfile(args[0], put, etag)
}
