package instance

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestValidateNIC(t *testing.T) {
	tests := []struct {
		name string
		dev  map[string]string
		want string // empty when valid, else a part of the error
	}{
		{"bridged", map[string]string{"nictype": "bridged", "parent": "br0", "name": "eth0", "host_name": "vethx1", "mtu": "1400",
			"hwaddr": "00:16:3e:aa:bb:cc", "limits.ingress": "10Mbit", "boot.priority": "1"}, ""},
		{"bridged addresses", map[string]string{"nictype": "bridged", "parent": "br0", "ipv4.address": "10.0.0.2", "ipv6.address": "fd00::2"}, ""},
		{"managed", map[string]string{"network": "lxdbr0", "ipv4.address": "10.0.0.2", "host_name": "v1", "limits.max": "1Gbit"}, ""},
		{"p2p", map[string]string{"nictype": "p2p", "host_name": "p2ptest", "limits.egress": "100kbit"}, ""},
		{"macvlan", map[string]string{"nictype": "macvlan", "parent": "eth0", "mtu": "1500"}, ""},
		{"physical", map[string]string{"nictype": "physical", "parent": "eth1", "name": "eth0", "hwaddr": "00:16:3e:00:00:01"}, ""},

		{"no nictype", map[string]string{}, `failed loading device "n": unsupported device type`},
		{"bad nictype", map[string]string{"nictype": "bogus"}, "unsupported device type"},
		{"bridged without parent", map[string]string{"nictype": "bridged"}, `invalid value for device option "parent": required value`},
		{"macvlan without parent", map[string]string{"nictype": "macvlan"}, `"parent": required value`},
		{"physical without parent", map[string]string{"nictype": "physical"}, `"parent": required value`},
		{"p2p with parent", map[string]string{"nictype": "p2p", "parent": "br0"}, `invalid device option "parent"`},
		{"p2p with address", map[string]string{"nictype": "p2p", "ipv4.address": "10.0.0.2"}, `invalid device option "ipv4.address"`},
		{"macvlan with host_name", map[string]string{"nictype": "macvlan", "parent": "br0", "host_name": "x"}, `invalid device option "host_name"`},
		{"macvlan with limits", map[string]string{"nictype": "macvlan", "parent": "br0", "limits.ingress": "1Mbit"}, `invalid device option "limits.ingress"`},
		{"unknown key", map[string]string{"nictype": "bridged", "parent": "br0", "bogus": "1"}, `invalid device option "bogus"`},
		{"network and nictype", map[string]string{"network": "n1", "nictype": "bridged"}, `cannot use "nictype" property in conjunction with "network" property`},
		{"network and parent", map[string]string{"network": "n1", "parent": "br0"}, `cannot use "parent" property`},
		{"network and mtu", map[string]string{"network": "n1", "mtu": "1400"}, `cannot use "mtu" property`},
		{"bad mtu", map[string]string{"nictype": "p2p", "mtu": "abc"}, `invalid MTU "abc"`},
		{"small mtu", map[string]string{"nictype": "p2p", "mtu": "10"}, `out of MTU range (1280-16384) "10"`},
		{"bad hwaddr", map[string]string{"nictype": "p2p", "hwaddr": "zz"}, "invalid MAC address, must be 6 bytes of hex separated by colons"},
		{"long name", map[string]string{"nictype": "p2p", "name": "verylonginterfacename1"}, "network interface is too long (maximum 15 characters)"},
		{"bad name", map[string]string{"nictype": "p2p", "name": "a/b"}, "network interface contains invalid characters"},
		{"bad parent", map[string]string{"nictype": "bridged", "parent": "../br0"}, "invalid characters"},
		{"bad boot priority", map[string]string{"nictype": "p2p", "boot.priority": "x"}, `invalid value for uint32 "x"`},
		{"bad ipv4", map[string]string{"nictype": "bridged", "parent": "br0", "ipv4.address": "10.0.0.1/24"}, "not an IPv4 address"},
		{"ipv6 in ipv4", map[string]string{"nictype": "bridged", "parent": "br0", "ipv4.address": "fd00::1"}, "not an IPv4 address"},
		{"bad ipv6", map[string]string{"network": "n1", "ipv6.address": "10.0.0.1"}, "not an IPv6 address"},
		{"bad limit", map[string]string{"nictype": "p2p", "limits.ingress": "fast"}, "invalid bit rate"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := map[string]string{"type": "nic"}
			for k, v := range tt.dev {
				dev[k] = v
			}

			err := ValidateDevices(map[string]map[string]string{"n": dev})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}

				return
			}

			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want an invalid-class error containing %q", err, tt.want)
			}

			if !strings.HasPrefix(err.Error(), `device validation failed for "n": `) {
				t.Fatalf("got %v, want it to name the device as LXD does", err)
			}
		})
	}
}

func TestParseBitRate(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"100", 100, true}, {"10bit", 10, true}, {"5kbit", 5000, true}, {"10Mbit", 10_000_000, true},
		{"2Gbit", 2_000_000_000, true}, {"1Tbit", 1_000_000_000_000, true},
		{"", 0, false}, {"0", 0, false}, {"-1Mbit", 0, false}, {"10MB", 0, false}, {"Mbit", 0, false},
	}

	for _, tt := range tests {
		got, err := ParseBitRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Fatalf("ParseBitRate(%q): got %d, %v, want %d (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestNICNames(t *testing.T) {
	mac := regexp.MustCompile(`^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`)
	veth := regexp.MustCompile(`^veth[0-9a-f]{8}$`)
	seen := map[string]bool{}
	for range 20 {
		hw, host := NewHWAddr(), NewHostName()
		if !mac.MatchString(hw) || !veth.MatchString(host) {
			t.Fatalf("got %q and %q, want 00:16:3e:xx:xx:xx and veth<8 hex>", hw, host)
		}

		seen[hw] = true
	}

	if len(seen) < 2 {
		t.Fatalf("got %d distinct addresses in 20, want random ones", len(seen))
	}
}
