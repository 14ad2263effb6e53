package api

// Network status values (the status field of a managed network).
const (
	// NetworkStatusPending is a network whose creation has not finished.
	NetworkStatusPending = "Pending"

	// NetworkStatusCreated is a fully created network.
	NetworkStatusCreated = "Created"

	// NetworkStatusErrored is a network whose creation failed.
	NetworkStatusErrored = "Errored"

	// NetworkStatusUnknown is a network whose status is not known.
	NetworkStatusUnknown = "Unknown"

	// NetworkStatusUnavailable is a network that failed to start.
	NetworkStatusUnavailable = "Unavailable"
)

// NetworksPost creates a network.
//
// API extension: network
type NetworksPost struct {
	NetworkPut `yaml:",inline"`

	// Name of the new network.
	// Example: lxdbr1
	Name string `json:"name" yaml:"name"`

	// Type of the network (bridge).
	// Example: bridge
	Type string `json:"type" yaml:"type"`
}

// NetworkPost renames a network.
//
// API extension: network
type NetworkPost struct {
	// Name is the new name.
	// Example: lxdbr1
	Name string `json:"name" yaml:"name"`
}

// NetworkPut is the writable part of a network.
//
// API extension: network
type NetworkPut struct {
	// Config holds the network configuration keys.
	// Example: {"ipv4.address": "10.0.0.1/24", "ipv4.nat": "true", "ipv6.address": "none"}
	Config map[string]string `json:"config" yaml:"config"`

	// Description is free text.
	// Example: My new LXD bridge
	//
	// API extension: entity_description
	Description string `json:"description" yaml:"description"`
}

// Network is a network as the API shows it.
type Network struct {
	NetworkPut `yaml:",inline"`

	// Name of the network.
	// Read only: true
	// Example: lxdbr0
	Name string `json:"name" yaml:"name"`

	// Type of the network (bridge, loopback, physical, ...).
	// Read only: true
	// Example: bridge
	Type string `json:"type" yaml:"type"`

	// UsedBy lists the URLs of the instances and profiles using the network.
	// Read only: true
	// Example: ["/1.0/profiles/default", "/1.0/instances/c1"]
	UsedBy []string `json:"used_by" yaml:"used_by"`

	// Managed tells whether the daemon manages the network.
	// Read only: true
	// Example: true
	//
	// API extension: network
	Managed bool `json:"managed" yaml:"managed"`

	// Status of a managed network (Created, Pending, ...).
	// Read only: true
	// Example: Created
	//
	// API extension: clustering
	Status string `json:"status" yaml:"status"`

	// Locations lists the cluster members the network is defined on.
	// Read only: true
	// Example: ["lxd01"]
	//
	// API extension: clustering
	Locations []string `json:"locations" yaml:"locations"`
}

// Writable returns the writable part of the network.
func (n Network) Writable() NetworkPut {
	return n.NetworkPut
}

// NetworkLease is a DHCP lease or a static allocation.
//
// API extension: network_leases
type NetworkLease struct {
	// Hostname associated with the record.
	// Example: c1
	Hostname string `json:"hostname" yaml:"hostname"`

	// Hwaddr is the MAC address.
	// Example: 00:16:3e:2c:89:d9
	Hwaddr string `json:"hwaddr" yaml:"hwaddr"`

	// Address is the IP address.
	// Example: 10.0.0.98
	Address string `json:"address" yaml:"address"`

	// Type is static or dynamic (or gateway for the network's own address).
	// Example: dynamic
	Type string `json:"type" yaml:"type"`

	// Location is the cluster member the record was found on.
	// Example: lxd01
	//
	// API extension: network_leases_location
	Location string `json:"location" yaml:"location"`
}

// NetworkState is the runtime state of a network interface.
//
// API extension: network_state
type NetworkState struct {
	// Addresses of the interface.
	Addresses []NetworkStateAddress `json:"addresses" yaml:"addresses"`

	// Counters of the interface.
	Counters NetworkStateCounters `json:"counters" yaml:"counters"`

	// Hwaddr is the MAC address.
	// Example: 00:16:3e:5a:83:57
	Hwaddr string `json:"hwaddr" yaml:"hwaddr"`

	// Mtu of the interface.
	// Example: 1500
	Mtu int `json:"mtu" yaml:"mtu"`

	// State is the link state (up or down).
	// Example: up
	State string `json:"state" yaml:"state"`

	// Type is the interface type.
	// Example: broadcast
	Type string `json:"type" yaml:"type"`

	// Bond holds bond information (bond interfaces only).
	//
	// API extension: network_state_bond_bridge
	Bond *NetworkStateBond `json:"bond" yaml:"bond"`

	// Bridge holds bridge information (bridge interfaces only).
	//
	// API extension: network_state_bond_bridge
	Bridge *NetworkStateBridge `json:"bridge" yaml:"bridge"`

	// VLAN holds VLAN information (vlan interfaces only).
	//
	// API extension: network_state_vlan
	VLAN *NetworkStateVLAN `json:"vlan" yaml:"vlan"`

	// OVN holds OVN information (OVN networks only).
	//
	// API extension: network_state_ovn
	OVN *NetworkStateOVN `json:"ovn" yaml:"ovn"`
}

// NetworkStateAddress is one address of a network interface.
type NetworkStateAddress struct {
	// Family is inet or inet6.
	// Example: inet
	Family string `json:"family" yaml:"family"`

	// Address is the IP address.
	// Example: 10.0.0.1
	Address string `json:"address" yaml:"address"`

	// Netmask is the prefix length.
	// Example: 24
	Netmask string `json:"netmask" yaml:"netmask"`

	// Scope is global, link or local.
	// Example: global
	Scope string `json:"scope" yaml:"scope"`
}

// NetworkStateCounters are the traffic counters of a network interface.
type NetworkStateCounters struct {
	// BytesReceived counts received bytes.
	// Example: 250542118
	BytesReceived uint64 `json:"bytes_received" yaml:"bytes_received"`

	// BytesSent counts sent bytes.
	// Example: 17524040140
	BytesSent uint64 `json:"bytes_sent" yaml:"bytes_sent"`

	// PacketsReceived counts received packets.
	// Example: 1182515
	PacketsReceived uint64 `json:"packets_received" yaml:"packets_received"`

	// PacketsSent counts sent packets.
	// Example: 1567934
	PacketsSent uint64 `json:"packets_sent" yaml:"packets_sent"`
}

// NetworkStateBond is the state of a bond interface.
//
// API extension: network_state_bond_bridge
type NetworkStateBond struct {
	// Mode is the bonding mode.
	// Example: 802.3ad
	Mode string `json:"mode" yaml:"mode"`

	// TransmitPolicy is the transmit balancing policy.
	// Example: layer3+4
	TransmitPolicy string `json:"transmit_policy" yaml:"transmit_policy"`

	// UpDelay is the delay on link up (ms).
	// Example: 0
	UpDelay uint64 `json:"up_delay" yaml:"up_delay"`

	// DownDelay is the delay on link down (ms).
	// Example: 0
	DownDelay uint64 `json:"down_delay" yaml:"down_delay"`

	// MIIFrequency is how often the link state is checked (ms).
	// Example: 100
	MIIFrequency uint64 `json:"mii_frequency" yaml:"mii_frequency"`

	// MIIState is the bond link state.
	// Example: up
	MIIState string `json:"mii_state" yaml:"mii_state"`

	// LowerDevices lists the devices in the bond.
	// Example: ["eth0", "eth1"]
	LowerDevices []string `json:"lower_devices" yaml:"lower_devices"`
}

// NetworkStateBridge is the state of a bridge interface.
//
// API extension: network_state_bond_bridge
type NetworkStateBridge struct {
	// ID is the bridge ID.
	// Example: 8000.0a0f7c6edbd9
	ID string `json:"id" yaml:"id"`

	// STP tells whether the spanning tree protocol is on.
	// Example: false
	STP bool `json:"stp" yaml:"stp"`

	// ForwardDelay is the delay on port join (ms).
	// Example: 1500
	ForwardDelay uint64 `json:"forward_delay" yaml:"forward_delay"`

	// VLANDefault is the default VLAN ID.
	// Example: 1
	VLANDefault uint64 `json:"vlan_default" yaml:"vlan_default"`

	// VLANFiltering tells whether VLAN filtering is on.
	// Example: false
	VLANFiltering bool `json:"vlan_filtering" yaml:"vlan_filtering"`

	// UpperDevices lists the devices in the bridge.
	// Example: ["eth0", "eth1"]
	UpperDevices []string `json:"upper_devices" yaml:"upper_devices"`
}

// NetworkStateVLAN is the state of a VLAN interface.
//
// API extension: network_state_vlan
type NetworkStateVLAN struct {
	// LowerDevice is the parent device.
	// Example: eth0
	LowerDevice string `json:"lower_device" yaml:"lower_device"`

	// VID is the VLAN ID.
	// Example: 100
	VID uint64 `json:"vid" yaml:"vid"`
}

// NetworkStateOVN is the state of an OVN network.
//
// API extension: network_state_ovn
type NetworkStateOVN struct {
	// Chassis is the OVN chassis name.
	// Example: lxd01
	Chassis string `json:"chassis" yaml:"chassis"`
}
