package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/project"
	"github.com/lxd-go/lxd/shared/api"
)

// The manager is what instances attach their nics through.
var _ instance.Networks = (*Manager)(nil)

// hostEntryName is the file of a nic's DHCP host entry in the network's hosts directory.
func hostEntryName(inst string, device string) string {
	return inst + "." + device
}

// hostEntry is a parsed dhcp-hostsfile line.
type hostEntry struct {
	File     string
	HWAddr   string
	IPv4     string
	IPv6     string
	Hostname string
}

// readHostEntries reads every nic entry of a network's hosts directory.
func readHostEntries(dir string) ([]hostEntry, error) {
	files, err := os.ReadDir(filepath.Join(dir, dnsmasqHosts))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	var out []hostEntry
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, dnsmasqHosts, f.Name()))
		if err != nil {
			continue
		}

		e := hostEntry{File: f.Name()}
		for i, p := range strings.Split(strings.TrimSpace(string(b)), ",") {
			switch {
			case i == 0:
				e.HWAddr = p
			case strings.HasPrefix(p, "["):
				e.IPv6 = strings.Trim(p, "[]")
			case net.ParseIP(p) != nil:
				e.IPv4 = p
			default:
				e.Hostname = p
			}
		}

		out = append(out, e)
	}

	return out, nil
}

// AttachNIC checks a nic against its managed network and records its DHCP host entry, so that dnsmasq gives it
// its static addresses and its instance's name in DNS.
func (m *Manager) AttachNIC(ctx context.Context, nic instance.NIC) (instance.NetworkPort, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	var n *db.Network
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		n, err = tx.GetNetwork(ctx, nic.Network)
		return err
	})
	if err != nil {
		return instance.NetworkPort{}, err
	}

	_, err = net.ParseMAC(nic.HWAddr)
	if err != nil {
		return instance.NetworkPort{}, errs.Invalid("invalid MAC address %q", nic.HWAddr)
	}

	dir := m.netDir(n.Name)
	entries, err := readHostEntries(dir)
	if err != nil {
		return instance.NetworkPort{}, err
	}

	file := hostEntryName(nic.Instance, nic.Device)
	for _, spec := range []struct {
		family int
		value  string
	}{{4, nic.IPv4}, {6, nic.IPv6}} {
		if spec.value == "" {
			continue
		}

		err = checkStatic(n.Config, spec.family, spec.value)
		if err != nil {
			return instance.NetworkPort{}, err
		}

		for _, e := range entries {
			other := e.IPv4
			if spec.family == 6 {
				other = e.IPv6
			}

			if e.File != file && other != "" && net.ParseIP(other).Equal(net.ParseIP(spec.value)) {
				return instance.NetworkPort{}, errs.Conflict("IP address %q is already in use by another nic on network %q", spec.value, n.Name)
			}
		}
	}

	err = os.MkdirAll(filepath.Join(dir, dnsmasqHosts), 0o755)
	if err != nil {
		return instance.NetworkPort{}, err
	}

	entry := dnsmasqHostEntry(n.Config, strings.ToLower(nic.HWAddr), nic.IPv4, nic.IPv6, project.DNSName(nic.Instance))
	err = writeFile(filepath.Join(dir, dnsmasqHosts, file), []byte(entry), 0o644)
	if err != nil {
		return instance.NetworkPort{}, fmt.Errorf("writing the DHCP host entry of %s/%s: %w", nic.Instance, nic.Device, err)
	}

	reloadDnsmasq(dir)
	mtu, _ := strconv.Atoi(n.Config["bridge.mtu"])
	return instance.NetworkPort{Bridge: n.Name, MTU: mtu}, nil
}

// checkStaticEntries checks that the static addresses of the network's nics still fit a new configuration.
func (m *Manager) checkStaticEntries(name string, config map[string]string) error {
	entries, err := readHostEntries(m.netDir(name))
	if err != nil {
		return err
	}

	for _, e := range entries {
		for _, spec := range []struct {
			family int
			value  string
		}{{4, e.IPv4}, {6, e.IPv6}} {
			if spec.value == "" {
				continue
			}

			err = checkStatic(config, spec.family, spec.value)
			if err != nil {
				return errs.Invalid("the static address of nic %s would not fit: %v", e.File, err)
			}
		}
	}

	return nil
}

// checkStatic checks a nic's static address against the network's subnet of that family.
func checkStatic(config map[string]string, family int, value string) error {
	key := fmt.Sprintf("ipv%d.address", family)
	ip := net.ParseIP(value)
	if ip == nil || (ip.To4() != nil) != (family == 4) {
		return errs.Invalid("invalid IPv%d address %q", family, value)
	}

	gw, subnet, ok := parseCIDRKey(config[key])
	if !ok {
		return errs.Invalid("IPv%d address %q given but the network has no IPv%d subnet", family, value, family)
	}

	if !subnet.Contains(ip) {
		return errs.Invalid("IP address %q is not within the network's subnet %s", value, subnet)
	}

	if ip.Equal(gw) {
		return errs.Invalid("IP address %q is the network's own address", value)
	}

	if ip.Equal(subnet.IP) || family == 4 && ip.Equal(lastIP(subnet)) {
		return errs.Invalid("IP address %q is not a host address of subnet %s", value, subnet)
	}

	return nil
}

// DetachNIC removes a nic's DHCP host entry; an unknown network or entry is not an error.
func (m *Manager) DetachNIC(ctx context.Context, network string, inst string, device string) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	dir := m.netDir(network)
	err := os.Remove(filepath.Join(dir, dnsmasqHosts, hostEntryName(inst, device)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	if err == nil {
		reloadDnsmasq(dir)
	}

	return nil
}

// Leases lists a managed network's addresses: its own (gateway), the static entries of its nics and dnsmasq's
// dynamic leases.
func (m *Manager) Leases(ctx context.Context, name string) ([]api.NetworkLease, error) {
	var n *db.Network
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		n, err = tx.GetNetwork(ctx, name)
		return err
	})
	if err != nil {
		return nil, notFound(err)
	}

	out := []api.NetworkLease{}
	for _, key := range []string{"ipv4.address", "ipv6.address"} {
		gw, _, ok := parseCIDRKey(n.Config[key])
		if ok {
			out = append(out, api.NetworkLease{Hostname: name + ".gw", Address: gw.String(), Type: "gateway"})
		}
	}

	dir := m.netDir(name)
	entries, err := readHostEntries(dir)
	if err != nil {
		return nil, err
	}

	static := map[string]bool{}
	sort.Slice(entries, func(i, j int) bool { return entries[i].File < entries[j].File })
	for _, e := range entries {
		host := e.Hostname
		if host == "" {
			host, _, _ = strings.Cut(e.File, ".")
		}

		for _, addr := range []string{e.IPv4, e.IPv6} {
			if addr != "" {
				static[addr] = true
				out = append(out, api.NetworkLease{Hostname: host, Hwaddr: e.HWAddr, Address: addr, Type: "static", Location: "none"})
			}
		}

		// With stateless DHCPv6 the nic's address is its EUI-64 one, known without a lease.
		_, subnet6, has6 := parseCIDRKey(n.Config["ipv6.address"])
		if e.IPv6 == "" && has6 && !isTrue(n.Config, "ipv6.dhcp.stateful", false) {
			addr := eui64(subnet6, e.HWAddr)
			if addr != nil {
				static[addr.String()] = true
				out = append(out, api.NetworkLease{Hostname: host, Hwaddr: e.HWAddr, Address: addr.String(), Type: "dynamic", Location: "none"})
			}
		}
	}

	leases, err := readLeases(filepath.Join(dir, dnsmasqLeases))
	if err != nil {
		return nil, err
	}

	for _, l := range leases {
		if static[l.Address] {
			continue
		}

		out = append(out, api.NetworkLease{Hostname: l.Hostname, Hwaddr: l.HWAddr, Address: l.Address, Type: "dynamic", Location: "none"})
	}

	return out, nil
}

// eui64 is the SLAAC address of a MAC address in a /64.
func eui64(subnet *net.IPNet, hwaddr string) net.IP {
	mac, err := net.ParseMAC(hwaddr)
	if err != nil || len(mac) != 6 {
		return nil
	}

	ip := make(net.IP, net.IPv6len)
	copy(ip, subnet.IP.To16())
	ip[8], ip[9], ip[10] = mac[0]^0x02, mac[1], mac[2]
	ip[11], ip[12] = 0xff, 0xfe
	ip[13], ip[14], ip[15] = mac[3], mac[4], mac[5]
	return ip
}
