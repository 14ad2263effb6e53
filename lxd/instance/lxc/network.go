package lxc

import (
	"net"
	"os"
	"strconv"
	"strings"

	golxc "github.com/lxc/go-lxc"

	"github.com/lxd-go/lxd/shared/api"
)

// network reports the interfaces of a running container: names and counters from /proc/<pid>/net/dev, addresses
// from liblxc.
func network(c *golxc.Container, pid int) map[string]api.InstanceStateNetwork {
	out := map[string]api.InstanceStateNetwork{}
	if pid <= 0 {
		return out
	}

	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return out
	}

	lines := strings.Split(string(data), "\n")
	for _, line := range lines[min(2, len(lines)):] {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}

		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if len(f) < 10 {
			continue
		}

		n := api.InstanceStateNetwork{Addresses: []api.InstanceStateNetworkAddress{}, Type: "broadcast", State: "up"}
		n.Counters.BytesReceived, _ = strconv.ParseInt(f[0], 10, 64)
		n.Counters.PacketsReceived, _ = strconv.ParseInt(f[1], 10, 64)
		n.Counters.BytesSent, _ = strconv.ParseInt(f[8], 10, 64)
		n.Counters.PacketsSent, _ = strconv.ParseInt(f[9], 10, 64)
		if name == "lo" {
			n.Type = "loopback"
		}

		addrs, err := c.IPAddress(name)
		if err == nil {
			for _, a := range addrs {
				ip := net.ParseIP(a)
				if ip == nil {
					continue
				}

				family, mask := "inet", "32"
				if ip.To4() == nil {
					family, mask = "inet6", "128"
				}

				scope := "global"
				if ip.IsLoopback() {
					scope = "local"
				} else if ip.IsLinkLocalUnicast() {
					scope = "link"
				}

				n.Addresses = append(n.Addresses, api.InstanceStateNetworkAddress{
					Family: family, Address: a, Netmask: mask, Scope: scope,
				})
			}
		}

		out[name] = n
	}

	return out
}
