package network

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// keyCheck validates the value of one configuration key; an empty value means the key is unset.
type keyCheck func(value string) error

// bridgeKeys are the configuration keys of a bridge network with their checks.
var bridgeKeys = map[string]keyCheck{
	"bridge.driver":              oneOf("native"),
	"bridge.external_interfaces": checkInterfaceList,
	"dns.search":                 checkDomainList,
	"ipv4.dhcp.gateway":          checkIPv4,
	"bridge.mode":                oneOf("standard"),
	"bridge.hwaddr":              checkHWAddr,
	"bridge.mtu":                 checkMTU,
	"dns.domain":                 checkDomain,
	"dns.mode":                   oneOf("none", "managed", "dynamic"),
	"ipv4.address":               checkAddress(4),
	"ipv4.dhcp":                  checkBool,
	"ipv4.dhcp.expiry":           checkExpiry,
	"ipv4.dhcp.ranges":           checkRanges(4),
	"ipv4.nat":                   checkBool,
	"ipv4.nat.address":           checkIPv4,
	"ipv4.firewall":              checkBool,
	"ipv6.address":               checkAddress(6),
	"ipv6.dhcp":                  checkBool,
	"ipv6.dhcp.expiry":           checkExpiry,
	"ipv6.dhcp.ranges":           checkRanges(6),
	"ipv6.dhcp.stateful":         checkBool,
	"ipv6.nat":                   checkBool,
	"ipv6.nat.address":           checkIPv6,
	"ipv6.firewall":              checkBool,
	"raw.dnsmasq":                func(string) error { return nil },
}

// fillDefaults sets the keys that LXD fills when a bridge is created: ipv4.address and ipv6.address default to
// auto, and an auto address turns NAT on unless the caller set it.
func fillDefaults(config map[string]string) {
	for _, family := range []string{"ipv4", "ipv6"} {
		addr := family + ".address"
		_, ok := config[addr]
		if !ok {
			config[addr] = "auto"
		}

		_, ok = config[family+".nat"]
		if config[addr] == "auto" && !ok {
			config[family+".nat"] = "true"
		}
	}
}

// validateConfig checks every key of a bridge's configuration: unknown keys and bad values are refused.
func validateConfig(config map[string]string) error {
	for k, v := range config {
		if strings.HasPrefix(k, "user.") {
			continue
		}

		check, ok := bridgeKeys[k]
		if !ok {
			return errs.Invalid("invalid network configuration key %q", k)
		}

		if v == "" {
			continue
		}

		err := check(v)
		if err != nil {
			return errs.Invalid("invalid value %q for network configuration key %q: %v", v, k, err)
		}
	}

	if gw := config["ipv4.dhcp.gateway"]; gw != "" {
		_, subnet, ok := parseCIDRKey(config["ipv4.address"])
		if !ok || !subnet.Contains(net.ParseIP(gw)) {
			return errs.Invalid("ipv4.dhcp.gateway %q is not within the network's IPv4 subnet", gw)
		}
	}

	for _, family := range []int{4, 6} {
		p := fmt.Sprintf("ipv%d.", family)
		if config[p+"dhcp.ranges"] == "" {
			continue
		}

		_, subnet, ok := parseCIDRKey(config[p+"address"])
		if !ok {
			return errs.Invalid("%sdhcp.ranges needs %saddress to be a subnet", p, p)
		}

		for _, r := range splitList(config[p+"dhcp.ranges"]) {
			from, to, _ := strings.Cut(r, "-")
			if !subnet.Contains(net.ParseIP(from)) || !subnet.Contains(net.ParseIP(to)) {
				return errs.Invalid("DHCP range %q is outside the network's subnet %s", r, subnet)
			}
		}
	}

	return nil
}

// parseCIDRKey parses an address key's value: a gateway address with its prefix; auto and none give ok false.
func parseCIDRKey(value string) (net.IP, *net.IPNet, bool) {
	if value == "" || value == "auto" || value == "none" {
		return nil, nil, false
	}

	ip, subnet, err := net.ParseCIDR(value)
	if err != nil {
		return nil, nil, false
	}

	return ip, subnet, true
}

// splitList splits a comma separated value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s != "" {
			out = append(out, s)
		}
	}

	return out
}

// isTrue tells whether a boolean key is on; unset is def.
func isTrue(config map[string]string, key string, def bool) bool {
	v, ok := config[key]
	if !ok || v == "" {
		return def
	}

	b, _ := strconv.ParseBool(v)
	return b
}

func oneOf(values ...string) keyCheck {
	return func(v string) error {
		for _, want := range values {
			if v == want {
				return nil
			}
		}

		return fmt.Errorf("must be one of %s", strings.Join(values, ", "))
	}
}

func checkBool(v string) error {
	_, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("not a boolean")
	}

	return nil
}

func checkHWAddr(v string) error {
	mac, err := net.ParseMAC(v)
	if err != nil || len(mac) != 6 {
		return fmt.Errorf("not an ethernet address")
	}

	if mac[0]&1 == 1 {
		return fmt.Errorf("a multicast address")
	}

	return nil
}

func checkMTU(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1280 || n > 16384 {
		return fmt.Errorf("not an MTU between 1280 and 16384")
	}

	return nil
}

var domainLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

func checkDomain(v string) error {
	for _, l := range strings.Split(v, ".") {
		if !domainLabel.MatchString(l) {
			return fmt.Errorf("not a DNS domain")
		}
	}

	return nil
}

// checkDomainList validates a comma separated list of DNS domains.
func checkDomainList(v string) error {
	for _, d := range splitList(v) {
		err := checkDomain(d)
		if err != nil {
			return err
		}
	}

	return nil
}

// checkInterfaceList validates a comma separated list of interface names.
func checkInterfaceList(v string) error {
	for _, name := range splitList(v) {
		if len(name) > 15 || !validName.MatchString(name) {
			return fmt.Errorf("%q is not an interface name", name)
		}
	}

	return nil
}

func checkIPv4(v string) error {
	ip := net.ParseIP(v)
	if ip == nil || ip.To4() == nil {
		return fmt.Errorf("not an IPv4 address")
	}

	return nil
}

func checkIPv6(v string) error {
	ip := net.ParseIP(v)
	if ip == nil || ip.To4() != nil {
		return fmt.Errorf("not an IPv6 address")
	}

	return nil
}

func checkExpiry(v string) error {
	if v == "infinite" {
		return nil
	}

	if len(v) < 2 || !strings.ContainsAny(v[len(v)-1:], "smhd") {
		return fmt.Errorf("not a duration such as 1h or infinite")
	}

	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n <= 0 {
		return fmt.Errorf("not a duration such as 1h or infinite")
	}

	return nil
}

// checkAddress validates an ipv4.address or ipv6.address value: auto, none or a host address with its prefix
// (not the subnet's own address, not its broadcast address, a prefix that leaves room for hosts).
func checkAddress(family int) keyCheck {
	return func(v string) error {
		if v == "auto" || v == "none" {
			return nil
		}

		ip, subnet, err := net.ParseCIDR(v)
		if err != nil {
			return fmt.Errorf("not an address with its prefix length (CIDR)")
		}

		if (ip.To4() != nil) != (family == 4) {
			return fmt.Errorf("not an IPv%d address", family)
		}

		ones, _ := subnet.Mask.Size()
		if family == 4 && ones > 30 || family == 6 && ones > 126 {
			return fmt.Errorf("the subnet is too small")
		}

		if ip.Equal(subnet.IP) {
			return fmt.Errorf("the subnet's own address is not a host address")
		}

		if family == 4 && ip.Equal(lastIP(subnet)) {
			return fmt.Errorf("the broadcast address is not a host address")
		}

		if ip.IsLoopback() || ip.IsMulticast() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			return fmt.Errorf("not a usable unicast address")
		}

		return nil
	}
}

// checkRanges validates a DHCP range list (FIRST-LAST,...).
func checkRanges(family int) keyCheck {
	return func(v string) error {
		for _, r := range splitList(v) {
			from, to, ok := strings.Cut(r, "-")
			a, b := net.ParseIP(strings.TrimSpace(from)), net.ParseIP(strings.TrimSpace(to))
			if !ok || a == nil || b == nil || (a.To4() != nil) != (family == 4) || (b.To4() != nil) != (family == 4) {
				return fmt.Errorf("not a list of IPv%d ranges FIRST-LAST", family)
			}

			if compareIP(a, b) > 0 {
				return fmt.Errorf("range %q ends before it starts", r)
			}
		}

		return nil
	}
}

// compareIP orders two addresses of the same family.
func compareIP(a, b net.IP) int {
	a16, b16 := a.To16(), b.To16()
	for i := range a16 {
		if a16[i] != b16[i] {
			if a16[i] < b16[i] {
				return -1
			}

			return 1
		}
	}

	return 0
}

// lastIP is the last address of a subnet (its broadcast address for IPv4).
func lastIP(subnet *net.IPNet) net.IP {
	ip := make(net.IP, len(subnet.IP))
	for i := range subnet.IP {
		ip[i] = subnet.IP[i] | ^subnet.Mask[i]
	}

	return ip
}

// nthIP is the address n after the subnet's own address (n < 0 counts back from its last address).
func nthIP(subnet *net.IPNet, n int) net.IP {
	base := subnet.IP
	if n < 0 {
		base = lastIP(subnet)
	}

	ip := make(net.IP, len(base))
	copy(ip, base)
	carry := n
	for i := len(ip) - 1; i >= 0 && carry != 0; i-- {
		v := int(ip[i]) + carry
		carry = 0
		for v > 255 {
			v -= 256
			carry++
		}

		for v < 0 {
			v += 256
			carry--
		}

		ip[i] = byte(v)
	}

	return ip
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidName checks a network name: a usable interface name of at most 15 characters.
func ValidName(name string) error {
	if name == "" {
		return errs.Invalid("the network name cannot be empty")
	}

	if len(name) > 15 {
		return errs.Invalid("network name %q is longer than 15 characters", name)
	}

	if !validName.MatchString(name) || name == "." || name == ".." {
		return errs.Invalid("network name %q may only hold letters, digits, '_', '-' and '.' (and start with a letter or digit)", name)
	}

	return nil
}
