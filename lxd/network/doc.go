// Package network manages the daemon's networks: managed bridges (their rows, the bridge interface and its
// addresses, one dnsmasq per network for DHCP and DNS, the nftables table that NATs and forwards their traffic)
// and the host's other interfaces, listed as unmanaged networks. Instances attach their nics through the
// Manager's AttachNIC and DetachNIC (the instance.Networks interface).
//
// The host is only read (interfaces, addresses and routes through ip and sysfs) and configured; nothing here
// sends a packet.
package network
