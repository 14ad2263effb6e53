package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// runCmd runs a program and returns its standard output; a failure carries its standard error.
func runCmd(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}

	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}

		return nil, fmt.Errorf("%s %s: %s", name, strings.Join(args, " "), msg)
	}

	return stdout.Bytes(), nil
}

// runIP runs ip (iproute2).
func runIP(ctx context.Context, args ...string) ([]byte, error) {
	return runCmd(ctx, nil, "ip", args...)
}

// interfaceExists tells whether the host has an interface of that name.
func interfaceExists(name string) bool {
	_, err := os.Lstat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// isBridge tells whether the host interface is a bridge.
func isBridge(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name, "bridge"))
	return err == nil
}

// interfaceType names the kind of a host interface as LXD lists unmanaged networks.
func interfaceType(name string) string {
	sys := filepath.Join("/sys/class/net", name)
	exists := func(p string) bool {
		_, err := os.Stat(filepath.Join(sys, p))
		return err == nil
	}

	typ, _ := os.ReadFile(filepath.Join(sys, "type"))
	switch {
	case strings.TrimSpace(string(typ)) == "772":
		return "loopback"
	case exists("bridge"):
		return "bridge"
	case exists("bonding"):
		return "bond"
	case fileExists(filepath.Join("/proc/net/vlan", name)):
		return "vlan"
	case exists("device"):
		return "physical"
	}

	return "unknown"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ipLinkJSON is the part of "ip -j -s -d addr show" that the state reads.
type ipLinkJSON struct {
	IfName    string   `json:"ifname"`
	Flags     []string `json:"flags"`
	MTU       int      `json:"mtu"`
	OperState string   `json:"operstate"`
	LinkType  string   `json:"link_type"`
	Address   string   `json:"address"`
	AddrInfo  []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
		Scope     string `json:"scope"`
	} `json:"addr_info"`
	Stats64 struct {
		RX struct {
			Bytes   uint64 `json:"bytes"`
			Packets uint64 `json:"packets"`
		} `json:"rx"`
		TX struct {
			Bytes   uint64 `json:"bytes"`
			Packets uint64 `json:"packets"`
		} `json:"tx"`
	} `json:"stats64"`
}

// interfaceState reads the state of a host interface.
func interfaceState(ctx context.Context, name string) (*api.NetworkState, error) {
	out, err := runIP(ctx, "-j", "-s", "addr", "show", "dev", name)
	if err != nil {
		return nil, err
	}

	var links []ipLinkJSON
	err = json.Unmarshal(out, &links)
	if err != nil || len(links) != 1 {
		return nil, fmt.Errorf("reading the state of %q: unexpected output of ip", name)
	}

	l := links[0]
	st := &api.NetworkState{
		Addresses: []api.NetworkStateAddress{},
		Hwaddr:    l.Address,
		Mtu:       l.MTU,
		State:     "down",
		Type:      "broadcast",
		Counters: api.NetworkStateCounters{
			BytesReceived: l.Stats64.RX.Bytes, BytesSent: l.Stats64.TX.Bytes,
			PacketsReceived: l.Stats64.RX.Packets, PacketsSent: l.Stats64.TX.Packets,
		},
	}

	for _, f := range l.Flags {
		switch f {
		case "UP":
			st.State = "up"
		case "LOOPBACK":
			st.Type = "loopback"
		case "POINTOPOINT":
			st.Type = "point-to-point"
		}
	}

	for _, a := range l.AddrInfo {
		st.Addresses = append(st.Addresses, api.NetworkStateAddress{
			Family: a.Family, Address: a.Local, Netmask: strconv.Itoa(a.PrefixLen), Scope: a.Scope,
		})
	}

	if isBridge(name) {
		st.Bridge = bridgeState(name)
	}

	return st, nil
}

// bridgeState reads a bridge's settings and ports from sysfs.
func bridgeState(name string) *api.NetworkStateBridge {
	dir := filepath.Join("/sys/class/net", name, "bridge")
	read := func(f string) string {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		return strings.TrimSpace(string(b))
	}

	num := func(f string) uint64 {
		n, _ := strconv.ParseUint(read(f), 10, 64)
		return n
	}

	br := &api.NetworkStateBridge{
		ID:            read("bridge_id"),
		STP:           read("stp_state") == "1",
		ForwardDelay:  num("forward_delay"),
		VLANDefault:   num("default_pvid"),
		VLANFiltering: read("vlan_filtering") == "1",
		UpperDevices:  []string{},
	}

	ports, _ := os.ReadDir(filepath.Join("/sys/class/net", name, "brif"))
	for _, p := range ports {
		br.UpperDevices = append(br.UpperDevices, p.Name())
	}

	return br
}

// writeSysctl sets a /proc/sys value (path relative to /proc/sys, such as net/ipv4/ip_forward) of the daemon's
// network namespace.
func writeSysctl(path string, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", path), []byte(value), 0o644)
}
