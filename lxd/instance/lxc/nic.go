package lxc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/instance"
)

// The driver plugs nics into running containers and sets their limits.
var _ instance.NICDriver = (*Driver)(nil)

// nicConfig returns the liblxc keys of one nic device (p is its "lxc.net.N." prefix). dev is the device as the
// manager resolved it: its nictype, parent (the bridge of a nic on a managed network), hwaddr and host_name
// filled in.
func nicConfig(p string, name string, dev map[string]string) ([][2]string, error) {
	var out [][2]string
	add := func(k, v string) { out = append(out, [2]string{p + k, v}) }
	kind := instance.NICType(dev)
	if kind != instance.NICP2P {
		_, err := net.InterfaceByName(dev["parent"])
		if err != nil {
			return nil, fmt.Errorf("device %q: the parent %q does not exist on the host: %w", name, dev["parent"], err)
		}
	}

	switch kind {
	case instance.NICBridged, instance.NICP2P:
		add("type", "veth")
		if kind == instance.NICBridged {
			add("link", dev["parent"])
		}

		if dev["host_name"] != "" {
			add("veth.pair", dev["host_name"])
		}

	case instance.NICMacvlan:
		add("type", "macvlan")
		add("macvlan.mode", "bridge")
		add("link", dev["parent"])
	case instance.NICPhysical:
		add("type", "phys")
		add("link", dev["parent"])
		hook, err := restoreMACHook(dev)
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", name, err)
		}

		if hook != "" {
			out = append(out, [2]string{"lxc.hook.post-stop", hook})
		}

	default:
		return nil, fmt.Errorf("device %q: unsupported nic type %q", name, kind)
	}

	add("flags", "up")
	add("name", nicName(name, dev))
	if dev["hwaddr"] != "" {
		add("hwaddr", dev["hwaddr"])
	}

	if dev["mtu"] != "" {
		add("mtu", dev["mtu"])
	}

	return out, nil
}

// restoreMACHook returns the post-stop hook giving a physical nic with its own hwaddr back the parent's MAC
// address: liblxc moves the parent back at stop, with its MTU restored but not its MAC address. "" when the nic
// keeps the parent's address.
func restoreMACHook(dev map[string]string) (string, error) {
	if dev["hwaddr"] == "" {
		return "", nil
	}

	parent, err := net.InterfaceByName(dev["parent"])
	if err != nil {
		return "", fmt.Errorf("the parent %q does not exist on the host: %w", dev["parent"], err)
	}

	ip, err := exec.LookPath("ip")
	if err != nil {
		ip = "/usr/sbin/ip"
	}

	// liblxc runs the hook with sh -c, adding the container's name and the hook's section and type as arguments:
	// the inner sh takes them as its $0 and positional parameters and ignores them.
	return fmt.Sprintf("/bin/sh -c 'exec %s link set dev %s address %s'", ip, dev["parent"], parent.HardwareAddr), nil
}

// nicName returns the name of a nic in the container: its name key, or the device's name.
func nicName(device string, dev map[string]string) string {
	if dev["name"] != "" {
		return dev["name"]
	}

	return device
}

// hasVeth reports whether a nic is a veth pair with a host side.
func hasVeth(dev map[string]string) bool {
	kind := instance.NICType(dev)
	return kind == instance.NICBridged || kind == instance.NICP2P
}

// SetupNICs applies the traffic limits of a running container's veth nics to their host side: limits.ingress
// (traffic to the container) shapes what leaves the host side with an htb qdisc; limits.egress (traffic from the
// container) polices what enters it, which needs the kernel's police action. limits.max sets both.
func (d *Driver) SetupNICs(name string, devices map[string]map[string]string) error {
	for _, device := range slices.Sorted(maps.Keys(devices)) {
		dev := devices[device]
		if dev["type"] != "nic" || !hasVeth(dev) {
			continue
		}

		err := setLimits(dev["host_name"], dev)
		if err != nil {
			return fmt.Errorf("device %q: %w", device, err)
		}
	}

	return nil
}

// setLimits applies a nic's limits.* to the host side of its veth.
func setLimits(host string, dev map[string]string) error {
	ingress, egress := dev["limits.ingress"], dev["limits.egress"]
	if dev["limits.max"] != "" {
		ingress, egress = dev["limits.max"], dev["limits.max"]
	}

	if host == "" {
		if ingress == "" && egress == "" {
			return nil
		}

		return errors.New("no host-side interface to apply limits to")
	}

	// Limits set before (a change of a running nic's limits) go first; a fresh veth has none.
	_ = run("tc", "qdisc", "del", "dev", host, "root")
	_ = run("tc", "qdisc", "del", "dev", host, "ingress")

	if ingress != "" {
		rate, err := instance.ParseBitRate(ingress)
		if err != nil {
			return fmt.Errorf("limits.ingress: %w", err)
		}

		err = run("tc", "qdisc", "replace", "dev", host, "root", "handle", "1:0", "htb", "default", "10")
		if err == nil {
			err = run("tc", "class", "replace", "dev", host, "parent", "1:0", "classid", "1:10", "htb", "rate", strconv.FormatUint(rate, 10)+"bit")
		}

		if err != nil {
			return fmt.Errorf("limits.ingress on %s: %w", host, err)
		}
	}

	if egress != "" {
		rate, err := instance.ParseBitRate(egress)
		if err != nil {
			return fmt.Errorf("limits.egress: %w", err)
		}

		err = run("tc", "qdisc", "replace", "dev", host, "handle", "ffff:0", "ingress")
		if err != nil {
			return fmt.Errorf("limits.egress on %s: %w", host, err)
		}

		err = run("tc", "filter", "add", "dev", host, "parent", "ffff:0", "protocol", "all", "u32", "match", "u32", "0", "0",
			"police", "rate", strconv.FormatUint(rate, 10)+"bit", "burst", "1024k", "mtu", "64kb", "drop")
		if err != nil {
			_ = run("tc", "qdisc", "del", "dev", host, "ingress")
			if strings.Contains(err.Error(), "action") {
				return fmt.Errorf("limits.egress (and limits.max) need the kernel's traffic control police action (act_police, CONFIG_NET_ACT_POLICE), which this kernel lacks: %w", err)
			}

			return fmt.Errorf("limits.egress on %s: %w", host, err)
		}
	}

	return nil
}

// run runs a host command (ip, tc, nsenter) with a bounded time; the error carries what it printed.
func run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		detail := strings.TrimSpace(string(out))
		if detail == "" {
			detail = err.Error()
		}

		return fmt.Errorf("%s %s: %s", name, strings.Join(args, " "), detail)
	}

	return nil
}

// inNetns runs a command in the network namespace of the process pid.
func inNetns(pid int, args ...string) error {
	return run("nsenter", append([]string{"--net=/proc/" + strconv.Itoa(pid) + "/ns/net", "--"}, args...)...)
}

// linkExists reports whether the daemon's network namespace has an interface of that name.
func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// tempLinkName returns a free name for an interface the daemon makes before moving it into a container.
func tempLinkName(prefix string) string {
	for {
		n := prefix + strings.TrimPrefix(instance.NewHostName(), "veth")
		if !linkExists(n) {
			return n
		}
	}
}

// PlugNIC adds a nic device to a running container, as its start would have made it: a veth pair (its host side
// named host_name, on the parent bridge for a bridged nic), a macvlan on the parent, or the parent itself for a
// physical nic, moved into the container's network namespace, renamed and brought up there.
func (d *Driver) PlugNIC(name string, device string, dev map[string]string) error {
	pid, err := d.initPid(name)
	if err != nil {
		return err
	}

	iface := nicName(device, dev)
	var created, moving string
	switch instance.NICType(dev) {
	case instance.NICBridged, instance.NICP2P:
		host := dev["host_name"]
		if linkExists(host) {
			return fmt.Errorf("device %q: the host already has an interface %q", device, host)
		}

		moving = tempLinkName("lxdp")
		err = run("ip", "link", "add", host, "type", "veth", "peer", "name", moving)
		if err != nil {
			return fmt.Errorf("device %q: %w", device, err)
		}

		created = host
		if dev["mtu"] != "" {
			err = run("ip", "link", "set", "dev", host, "mtu", dev["mtu"])
		}

		if err == nil && instance.NICType(dev) == instance.NICBridged {
			if !linkExists(dev["parent"]) {
				err = fmt.Errorf("the parent %q does not exist on the host", dev["parent"])
			} else {
				err = run("ip", "link", "set", "dev", host, "master", dev["parent"])
			}
		}

		if err == nil {
			err = run("ip", "link", "set", "dev", host, "up")
		}

		if err == nil {
			err = setLimits(host, dev)
		}

	case instance.NICMacvlan:
		if !linkExists(dev["parent"]) {
			return fmt.Errorf("device %q: the parent %q does not exist on the host", device, dev["parent"])
		}

		moving = tempLinkName("lxdm")
		err = run("ip", "link", "add", moving, "link", dev["parent"], "type", "macvlan", "mode", "bridge")
		if err != nil {
			return fmt.Errorf("device %q: %w", device, err)
		}

		created = moving
	case instance.NICPhysical:
		if !linkExists(dev["parent"]) {
			return fmt.Errorf("device %q: the parent %q does not exist on the host", device, dev["parent"])
		}

		moving = dev["parent"]
		err = d.saveLinkState(name, device, moving, iface)
		if err == nil {
			err = run("ip", "link", "set", "dev", moving, "down")
		}
	default:
		return fmt.Errorf("device %q: unsupported nic type %q", device, instance.NICType(dev))
	}

	if err == nil && dev["mtu"] != "" {
		err = run("ip", "link", "set", "dev", moving, "mtu", dev["mtu"])
	}

	if err == nil && dev["hwaddr"] != "" {
		err = run("ip", "link", "set", "dev", moving, "address", dev["hwaddr"])
	}

	if err == nil {
		err = run("ip", "link", "set", "dev", moving, "netns", strconv.Itoa(pid))
	}

	if err != nil {
		if created != "" {
			_ = run("ip", "link", "del", "dev", created)
		}

		d.undoPhysical(name, device, dev)
		return fmt.Errorf("device %q: %w", device, err)
	}

	// The interface is named moving in the container until it is renamed: a name the container already uses
	// fails the rename and leaves the container's own interface alone.
	current := moving
	err = inNetns(pid, "ip", "link", "set", "dev", moving, "name", iface)
	if err == nil {
		current = iface
		err = inNetns(pid, "ip", "link", "set", "dev", iface, "up")
	}

	if err != nil {
		// Give the interface back (a physical one to the host, under its name), or remove what was made for it.
		back := moving
		_ = inNetns(pid, "ip", "link", "set", "dev", current, "down")
		if inNetns(pid, "ip", "link", "set", "dev", current, "netns", strconv.Itoa(os.Getpid())) == nil && current != back {
			_ = run("ip", "link", "set", "dev", current, "name", back)
		}

		if created != "" {
			_ = run("ip", "link", "del", "dev", created)
			_ = run("ip", "link", "del", "dev", back)
		}

		d.undoPhysical(name, device, dev)
		return fmt.Errorf("device %q: %w", device, err)
	}

	return nil
}

// UnplugNIC takes a nic device out of a running container: a veth pair is removed with its host side, a macvlan
// is removed, a physical interface goes back to the host under its parent's name.
func (d *Driver) UnplugNIC(name string, device string, dev map[string]string) error {
	pid, err := d.initPid(name)
	if err != nil {
		return err
	}

	iface := nicName(device, dev)
	switch instance.NICType(dev) {
	case instance.NICBridged, instance.NICP2P:
		host := dev["host_name"]
		if host != "" && linkExists(host) {
			err = run("ip", "link", "del", "dev", host)
		} else {
			err = inNetns(pid, "ip", "link", "del", "dev", iface)
		}

	case instance.NICMacvlan:
		err = inNetns(pid, "ip", "link", "del", "dev", iface)
	case instance.NICPhysical:
		err = inNetns(pid, "ip", "link", "set", "dev", iface, "down")
		if err == nil {
			err = inNetns(pid, "ip", "link", "set", "dev", iface, "name", dev["parent"])
		}

		if err == nil {
			err = inNetns(pid, "ip", "link", "set", "dev", dev["parent"], "netns", strconv.Itoa(os.Getpid()))
		}

		if err == nil {
			err = d.restoreLinkState(name, device, dev["parent"])
		}

	default:
		return fmt.Errorf("device %q: unsupported nic type %q", device, instance.NICType(dev))
	}

	if err != nil {
		return fmt.Errorf("device %q: %w", device, err)
	}

	return nil
}

// undoPhysical puts back the state of a physical nic's interface after a hot plug that failed.
func (d *Driver) undoPhysical(name string, device string, dev map[string]string) {
	if instance.NICType(dev) != instance.NICPhysical {
		return
	}

	err := d.restoreLinkState(name, device, dev["parent"])
	if err != nil {
		slog.Warn("failed restoring the interface of a physical nic", "instance", name, "device", device, "err", err)
	}
}
