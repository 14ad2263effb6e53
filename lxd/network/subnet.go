package network

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// overlaps tells whether two subnets share an address.
func overlaps(a, b *net.IPNet) bool {
	return a.Contains(b.IP) || b.Contains(a.IP)
}

// pickIPv4Subnet chooses a free 10.X.Y.0/24 that overlaps none of used, as LXD's ipv4.address=auto does. The
// gateway (the subnet's first host address) is returned with the subnet's prefix.
func pickIPv4Subnet(used []*net.IPNet, rnd *rand.Rand) (string, error) {
	for range 1000 {
		cand := &net.IPNet{IP: net.IPv4(10, byte(rnd.IntN(256)), byte(rnd.IntN(256)), 0).To4(), Mask: net.CIDRMask(24, 32)}
		if !overlapsAny(cand, used) {
			return fmt.Sprintf("%s/24", nthIP(cand, 1)), nil
		}
	}

	return "", errs.Invalid("no free IPv4 subnet was found for ipv4.address=auto")
}

// pickIPv6Subnet chooses a random unique local fd42:XXXX:XXXX:XXXX::/64 that overlaps none of used, as LXD's
// ipv6.address=auto does, and returns its ::1 address with the prefix.
func pickIPv6Subnet(used []*net.IPNet, rnd *rand.Rand) (string, error) {
	for range 1000 {
		ip := make(net.IP, net.IPv6len)
		ip[0], ip[1] = 0xfd, 0x42
		for i := 2; i < 8; i++ {
			ip[i] = byte(rnd.IntN(256))
		}

		cand := &net.IPNet{IP: ip, Mask: net.CIDRMask(64, 128)}
		if !overlapsAny(cand, used) {
			return fmt.Sprintf("%s/64", nthIP(cand, 1)), nil
		}
	}

	return "", errs.Invalid("no free IPv6 subnet was found for ipv6.address=auto")
}

func overlapsAny(cand *net.IPNet, used []*net.IPNet) bool {
	for _, u := range used {
		if overlaps(cand, u) {
			return true
		}
	}

	return false
}

// hostPrefix is a subnet the host already uses (an address's subnet or a route's destination), and the interface
// it is on.
type hostPrefix struct {
	Subnet *net.IPNet
	Dev    string
}

// ipAddrJSON is the part of "ip -j addr" that is read.
type ipAddrJSON struct {
	IfName   string `json:"ifname"`
	AddrInfo []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
		Scope     string `json:"scope"`
	} `json:"addr_info"`
}

// ipRouteJSON is the part of "ip -j route" that is read.
type ipRouteJSON struct {
	Dst  string `json:"dst"`
	Dev  string `json:"dev"`
	Type string `json:"type"`
}

// parseHostPrefixes turns the output of "ip -j addr" and "ip -j route show table all" into the host's subnets;
// loopback, link-local, multicast and default routes are left out.
func parseHostPrefixes(addrJSON []byte, routeJSON []byte) ([]hostPrefix, error) {
	var out []hostPrefix
	var links []ipAddrJSON
	err := json.Unmarshal(addrJSON, &links)
	if err != nil {
		return nil, fmt.Errorf("parsing the host's addresses: %w", err)
	}

	for _, l := range links {
		for _, a := range l.AddrInfo {
			_, subnet, err := net.ParseCIDR(fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
			if err == nil && usable(subnet) {
				out = append(out, hostPrefix{Subnet: subnet, Dev: l.IfName})
			}
		}
	}

	var routes []ipRouteJSON
	if len(strings.TrimSpace(string(routeJSON))) > 0 {
		err = json.Unmarshal(routeJSON, &routes)
		if err != nil {
			return nil, fmt.Errorf("parsing the host's routes: %w", err)
		}
	}

	for _, r := range routes {
		if r.Dst == "" || r.Dst == "default" || r.Type == "local" || r.Type == "broadcast" || r.Type == "multicast" {
			continue
		}

		dst := r.Dst
		if !strings.Contains(dst, "/") {
			if strings.Contains(dst, ":") {
				dst += "/128"
			} else {
				dst += "/32"
			}
		}

		_, subnet, err := net.ParseCIDR(dst)
		if err == nil && usable(subnet) {
			out = append(out, hostPrefix{Subnet: subnet, Dev: r.Dev})
		}
	}

	return out, nil
}

// usable tells whether a host subnet matters for overlap checks.
func usable(subnet *net.IPNet) bool {
	ip := subnet.IP
	return !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsMulticast() && !ip.IsInterfaceLocalMulticast()
}

// readHostPrefixes reads the host's addresses and routes (a netlink read through ip; nothing is sent).
func readHostPrefixes(ctx context.Context) ([]hostPrefix, error) {
	addrs, err := runIP(ctx, "-j", "addr", "show")
	if err != nil {
		return nil, err
	}

	routes4, err := runIP(ctx, "-j", "-4", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}

	routes6, err := runIP(ctx, "-j", "-6", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}

	p4, err := parseHostPrefixes(addrs, routes4)
	if err != nil {
		return nil, err
	}

	p6, err := parseHostPrefixes([]byte("[]"), routes6)
	if err != nil {
		return nil, err
	}

	return append(p4, p6...), nil
}
