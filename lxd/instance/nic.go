package instance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// The nic types (nictype) a container's nic may have.
const (
	NICBridged  = "bridged"
	NICP2P      = "p2p"
	NICMacvlan  = "macvlan"
	NICPhysical = "physical"
)

// nicKeys are the keys each kind of nic accepts besides type; "managed" is a nic on a managed network (network=).
var nicKeys = map[string][]string{
	"managed": {"network", "name", "hwaddr", "host_name", "ipv4.address", "ipv6.address",
		"limits.ingress", "limits.egress", "limits.max", "boot.priority"},
	NICBridged: {"nictype", "parent", "name", "hwaddr", "mtu", "host_name", "ipv4.address", "ipv6.address",
		"limits.ingress", "limits.egress", "limits.max", "boot.priority"},
	NICP2P:      {"nictype", "name", "hwaddr", "mtu", "host_name", "limits.ingress", "limits.egress", "limits.max", "boot.priority"},
	NICMacvlan:  {"nictype", "parent", "name", "hwaddr", "mtu", "boot.priority"},
	NICPhysical: {"nictype", "parent", "name", "hwaddr", "mtu", "boot.priority"},
}

// NICVolatileKey returns the volatile key of a nic device.
func NICVolatileKey(device string, key string) string {
	return "volatile." + device + "." + key
}

// NICType returns the type a nic is driven as: a nic on a managed network is a bridged veth on the network's
// bridge.
func NICType(dev map[string]string) string {
	if dev["network"] != "" {
		return NICBridged
	}

	return dev["nictype"]
}

// nicInvalid is a nic validation error, worded as LXD words it.
func nicInvalid(device string, format string, args ...any) error {
	return fmt.Errorf("device validation failed for %q: %s: %w", device, fmt.Sprintf(format, args...), errs.ErrInvalid)
}

// validateNIC checks a nic device against the keys of its kind.
func validateNIC(name string, dev map[string]string) error {
	kind := dev["nictype"]
	if dev["network"] != "" {
		for _, k := range []string{"nictype", "parent", "mtu"} {
			_, ok := dev[k]
			if ok {
				return nicInvalid(name, "cannot use %q property in conjunction with %q property", k, "network")
			}
		}

		kind = "managed"
	}

	allowed, ok := nicKeys[kind]
	if !ok {
		return nicInvalid(name, "failed loading device %q: unsupported device type", name)
	}

	for k := range dev {
		if k != "type" && !contains(allowed, k) {
			return nicInvalid(name, "invalid device option %q", k)
		}
	}

	if contains(allowed, "parent") && dev["parent"] == "" {
		return nicInvalid(name, "invalid value for device option %q: required value", "parent")
	}

	checks := []struct {
		key   string
		check keyCheck
	}{
		{"parent", checkInterfaceName},
		{"name", checkInterfaceName},
		{"host_name", checkInterfaceName},
		{"hwaddr", checkMAC},
		{"mtu", checkMTU},
		{"ipv4.address", checkIPv4},
		{"ipv6.address", checkIPv6},
		{"limits.ingress", checkBitRate},
		{"limits.egress", checkBitRate},
		{"limits.max", checkBitRate},
		{"boot.priority", checkUint32},
	}

	for _, c := range checks {
		v := dev[c.key]
		if v == "" {
			continue
		}

		err := c.check(v)
		if err != nil {
			return nicInvalid(name, "invalid value for device option %q: %v", c.key, err)
		}
	}

	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}

	return false
}

// checkInterfaceName accepts a Linux interface name: at most 15 bytes, none of "/", ":", blanks or control
// characters, not "." or "..".
func checkInterfaceName(v string) error {
	if len(v) > 15 {
		return fmt.Errorf("network interface is too long (maximum 15 characters)")
	}

	if v == "." || v == ".." || strings.ContainsFunc(v, func(c rune) bool { return c <= ' ' || c == '/' || c == ':' || c == 0x7f }) {
		return fmt.Errorf("network interface contains invalid characters")
	}

	return nil
}

func checkMAC(v string) error {
	mac, err := net.ParseMAC(v)
	if err != nil || len(mac) != 6 || strings.Count(v, ":") != 5 {
		return fmt.Errorf("invalid MAC address, must be 6 bytes of hex separated by colons")
	}

	return nil
}

// checkMTU accepts the MTUs LXD accepts on nics: 1280 (IPv6's minimum) to 16384.
func checkMTU(v string) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid MTU %q", v)
	}

	if n < 1280 || n > 16384 {
		return fmt.Errorf("out of MTU range (1280-16384) %q", v)
	}

	return nil
}

func checkIPv4(v string) error {
	ip := net.ParseIP(v)
	if ip == nil || ip.To4() == nil || strings.Contains(v, ":") {
		return fmt.Errorf("not an IPv4 address %q", v)
	}

	return nil
}

func checkIPv6(v string) error {
	ip := net.ParseIP(v)
	if ip == nil || ip.To4() != nil {
		return fmt.Errorf("not an IPv6 address %q", v)
	}

	return nil
}

func checkUint32(v string) error {
	_, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid value for uint32 %q", v)
	}

	return nil
}

func checkBitRate(v string) error {
	_, err := ParseBitRate(v)
	return err
}

// ParseBitRate parses a rate in bits per second as LXD's limits.ingress and limits.egress take it: a number with
// an optional unit, bit, kbit, Mbit, Gbit or Tbit (powers of 1000), such as "100Mbit".
func ParseBitRate(v string) (uint64, error) {
	units := []struct {
		suffix string
		mult   uint64
	}{{"kbit", 1e3}, {"Mbit", 1e6}, {"Gbit", 1e9}, {"Tbit", 1e12}, {"bit", 1}}
	num, mult := v, uint64(1)
	for _, u := range units {
		rest, ok := strings.CutSuffix(v, u.suffix)
		if ok {
			num, mult = rest, u.mult
			break
		}
	}

	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || n == 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid bit rate %q (a number with an optional unit: bit, kbit, Mbit, Gbit, Tbit)", v)
	}

	return n * mult, nil
}

// NewHWAddr returns a random MAC address in the 00:16:3e prefix, as LXD gives nics without hwaddr.
func NewHWAddr() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

// NewHostName returns a random host-side interface name for a veth, "veth" and 8 hex digits, as LXD names them.
func NewHostName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "veth" + hex.EncodeToString(b)
}

// NICDriver is a Driver that does for a container's nics what its start cannot: traffic limits once the host
// sides exist, and nics added to or removed from the running container. devices and dev are as given to Start:
// resolved by the manager (nictype, parent, hwaddr and host_name filled in).
type NICDriver interface {
	// SetupNICs applies the limits.* of the running container's nics.
	SetupNICs(name string, devices map[string]map[string]string) error

	// PlugNIC adds a nic device to the running container.
	PlugNIC(name string, device string, dev map[string]string) error

	// UnplugNIC takes a nic device out of the running container.
	UnplugNIC(name string, device string, dev map[string]string) error
}
