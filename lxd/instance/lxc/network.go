package lxc

import (
	"encoding/binary"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/shared/api"
)

// network reports the interfaces of a running container: names and counters from /proc/<pid>/net/dev; state, MTU,
// MAC address and addresses with their prefix length from the container's network namespace (through liblxc, without
// prefix lengths, when the namespace cannot be read).
func network(c *golxc.Container, pid int) map[string]api.InstanceStateNetwork {
	out := map[string]api.InstanceStateNetwork{}
	if pid <= 0 {
		return out
	}

	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return out
	}

	links, linksErr := netnsLinks(pid)
	for name, counters := range netDevCounters(string(data)) {
		n := api.InstanceStateNetwork{Addresses: []api.InstanceStateNetworkAddress{}, Type: "broadcast", State: "up"}
		n.Counters = counters
		if name == "lo" {
			n.Type = "loopback"
		}

		link, found := links[name]
		if linksErr == nil && found {
			n.Type, n.State, n.Mtu, n.Hwaddr = link.kind, link.state, link.mtu, link.hwaddr
			n.Addresses = append(n.Addresses, link.addrs...)
			out[name] = n
			continue
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

				n.Addresses = append(n.Addresses, api.InstanceStateNetworkAddress{
					Family: family, Address: a, Netmask: mask, Scope: ipScope(ip),
				})
			}
		}

		out[name] = n
	}

	return out
}

// ipScope names the scope of an address as LXD does.
func ipScope(ip net.IP) string {
	if ip.IsLoopback() {
		return "local"
	}

	if ip.IsLinkLocalUnicast() {
		return "link"
	}

	return "global"
}

// link is what the container's network namespace says of one interface.
type link struct {
	kind   string
	state  string
	mtu    int
	hwaddr string
	addrs  []api.InstanceStateNetworkAddress
}

// netnsLinks reads the interfaces and addresses of the network namespace of the process pid over rtnetlink.
func netnsLinks(pid int) (map[string]*link, error) {
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return nil, err
	}

	defer func() { _ = ns.Close() }()
	type dump struct {
		links, addrs []byte
		err          error
	}

	result := make(chan dump, 1)
	go func() {
		// A thread that cannot go back to the daemon's namespace is left locked: it exits with this goroutine.
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			result <- dump{err: err}
			return
		}

		defer func() { _ = self.Close() }()
		err = unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET)
		if err != nil {
			runtime.UnlockOSThread()
			result <- dump{err: err}
			return
		}

		var d dump
		d.links, d.err = syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
		if d.err == nil {
			d.addrs, d.err = syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
		}

		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}

		result <- d
	}()

	d := <-result
	if d.err != nil {
		return nil, d.err
	}

	return parseLinks(d.links, d.addrs)
}

// parseLinks decodes RTM_GETLINK and RTM_GETADDR dumps.
func parseLinks(linkDump []byte, addrDump []byte) (map[string]*link, error) {
	msgs, err := syscall.ParseNetlinkMessage(linkDump)
	if err != nil {
		return nil, err
	}

	byIndex := map[int32]*link{}
	out := map[string]*link{}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}

		info := (*syscall.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}

		l := &link{kind: "broadcast", state: "down", addrs: []api.InstanceStateNetworkAddress{}}
		if info.Flags&syscall.IFF_UP != 0 {
			l.state = "up"
		}

		switch {
		case info.Flags&syscall.IFF_LOOPBACK != 0:
			l.kind = "loopback"
		case info.Flags&syscall.IFF_POINTOPOINT != 0:
			l.kind = "point-to-point"
		}

		name := ""
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFLA_IFNAME:
				name = strings.TrimRight(string(a.Value), "\x00")
			case syscall.IFLA_MTU:
				if len(a.Value) >= 4 {
					l.mtu = int(binary.NativeEndian.Uint32(a.Value))
				}

			case syscall.IFLA_ADDRESS:
				if len(a.Value) == 6 {
					l.hwaddr = net.HardwareAddr(a.Value).String()
				}
			}
		}

		if name != "" {
			out[name] = l
			byIndex[info.Index] = l
		}
	}

	msgs, err = syscall.ParseNetlinkMessage(addrDump)
	if err != nil {
		return nil, err
	}

	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}

		info := (*syscall.IfAddrmsg)(unsafe.Pointer(&m.Data[0]))
		l := byIndex[int32(info.Index)]
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if l == nil || err != nil {
			continue
		}

		var ip net.IP
		for _, a := range attrs {
			// IFA_LOCAL is the interface's own address where IFA_ADDRESS is the peer's (point-to-point).
			if a.Attr.Type == syscall.IFA_LOCAL || (a.Attr.Type == syscall.IFA_ADDRESS && ip == nil) {
				ip = net.IP(a.Value)
			}
		}

		if ip == nil {
			continue
		}

		family := "inet"
		if info.Family == syscall.AF_INET6 {
			family = "inet6"
		}

		scope := "global"
		switch info.Scope {
		case syscall.RT_SCOPE_LINK:
			scope = "link"
		case syscall.RT_SCOPE_HOST:
			scope = "local"
		}

		l.addrs = append(l.addrs, api.InstanceStateNetworkAddress{
			Family: family, Address: ip.String(), Netmask: strconv.Itoa(int(info.Prefixlen)), Scope: scope,
		})
	}

	return out, nil
}

// netDevCounters reads the counters of each interface in the text of /proc/<pid>/net/dev: after two header lines,
// "name: " then the receive fields (bytes packets errs drop fifo frame compressed multicast) and the transmit ones
// (bytes packets errs drop fifo colls carrier compressed).
func netDevCounters(data string) map[string]api.InstanceStateNetworkCounters {
	out := map[string]api.InstanceStateNetworkCounters{}
	lines := strings.Split(data, "\n")
	for _, line := range lines[min(2, len(lines)):] {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}

		f := strings.Fields(rest)
		if len(f) < 12 {
			continue
		}

		v := func(i int) int64 {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			return n
		}

		out[strings.TrimSpace(name)] = api.InstanceStateNetworkCounters{
			BytesReceived: v(0), PacketsReceived: v(1), ErrorsReceived: v(2), PacketsDroppedInbound: v(3),
			BytesSent: v(8), PacketsSent: v(9), ErrorsSent: v(10), PacketsDroppedOutbound: v(11),
		}
	}

	return out
}
