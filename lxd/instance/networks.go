package instance

import "context"

// NIC is a nic device of an instance on a managed network (network=NAME), as the network sees it.
type NIC struct {
	// Network is the managed network's name (the device's network key).
	Network string

	// Instance and Device name the instance and its nic device.
	Instance string
	Device   string

	// HWAddr is the nic's MAC address (the device's hwaddr or its volatile.<device>.hwaddr).
	HWAddr string

	// IPv4 and IPv6 are the device's ipv4.address and ipv6.address: static DHCP leases, empty for dynamic ones.
	IPv4 string
	IPv6 string
}

// NetworkPort is where a nic on a managed network attaches on the host.
type NetworkPort struct {
	// Bridge is the host bridge that the nic's host-side interface joins.
	Bridge string

	// MTU is the network's MTU (bridge.mtu), 0 when the network leaves it to the bridge.
	MTU int
}

// Networks is what instances need of the managed networks; the daemon wires the network manager in.
type Networks interface {
	// AttachNIC checks the nic against its network (errs.ErrNotFound for no such network, errs.ErrInvalid for a
	// static address outside the network's subnet, errs.ErrConflict for one another nic holds), records its DHCP
	// host entry (hardware address, the instance name as host name, static addresses) and returns where it
	// attaches. Attaching the same nic again replaces its entry.
	AttachNIC(ctx context.Context, nic NIC) (NetworkPort, error)

	// DetachNIC removes the DHCP host entry of a nic; an unknown network or entry is not an error.
	DetachNIC(ctx context.Context, network string, instance string, device string) error
}
