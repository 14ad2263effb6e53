package network

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// setup brings a network's runtime in line with its configuration: the bridge (created when missing), its MTU,
// MAC and addresses, forwarding, and its dnsmasq (restarted on the new configuration). The firewall is refreshed
// by the caller.
func (m *Manager) setup(ctx context.Context, name string, config map[string]string) error {
	if interfaceExists(name) && !isBridge(name) {
		return errs.Invalid("host interface %q exists and is not a bridge", name)
	}

	if !interfaceExists(name) {
		_, err := runIP(ctx, "link", "add", "dev", name, "type", "bridge")
		if err != nil {
			return err
		}
	}

	mac := config["bridge.hwaddr"]
	if mac == "" {
		mac = bridgeMAC(name)
	}

	_, err := runIP(ctx, "link", "set", "dev", name, "address", mac)
	if err != nil {
		return err
	}

	if config["bridge.mtu"] != "" {
		_, err = runIP(ctx, "link", "set", "dev", name, "mtu", config["bridge.mtu"])
		if err != nil {
			return err
		}
	}

	ip4, subnet4, has4 := parseCIDRKey(config["ipv4.address"])
	ip6, subnet6, has6 := parseCIDRKey(config["ipv6.address"])

	if has6 {
		for _, kv := range [][2]string{{"autoconf", "0"}, {"accept_dad", "0"}, {"disable_ipv6", "0"}} {
			err = writeSysctl("net/ipv6/conf/"+name+"/"+kv[0], kv[1])
			if err != nil {
				return fmt.Errorf("configuring IPv6 on %q: %w", name, err)
			}
		}

		err = writeSysctl("net/ipv6/conf/all/forwarding", "1")
		if err != nil {
			return fmt.Errorf("enabling IPv6 forwarding: %w", err)
		}
	}

	if has4 {
		err = writeSysctl("net/ipv4/ip_forward", "1")
		if err != nil {
			return fmt.Errorf("enabling IPv4 forwarding: %w", err)
		}
	}

	_, err = runIP(ctx, "addr", "flush", "dev", name, "scope", "global")
	if err != nil {
		return err
	}

	if has4 {
		ones, _ := subnet4.Mask.Size()
		_, err = runIP(ctx, "-4", "addr", "add", fmt.Sprintf("%s/%d", ip4, ones), "dev", name)
		if err != nil {
			return err
		}
	}

	if has6 {
		ones, _ := subnet6.Mask.Size()
		_, err = runIP(ctx, "-6", "addr", "add", fmt.Sprintf("%s/%d", ip6, ones), "dev", name, "nodad")
		if err != nil {
			return err
		}
	}

	_, err = runIP(ctx, "link", "set", "dev", name, "up")
	if err != nil {
		return err
	}

	for _, iface := range splitList(config["bridge.external_interfaces"]) {
		_, err = runIP(ctx, "link", "set", "dev", iface, "master", name)
		if err != nil {
			return err
		}

		_, err = runIP(ctx, "link", "set", "dev", iface, "up")
		if err != nil {
			return err
		}
	}

	return m.restartDnsmasq(ctx, name, config)
}

// checkExternalInterfaces checks the interfaces that bridge.external_interfaces adds to the bridge name: they
// exist, belong to no other bridge and have no address of their own.
func checkExternalInterfaces(ctx context.Context, name string, config map[string]string) error {
	for _, iface := range splitList(config["bridge.external_interfaces"]) {
		if iface == name {
			return errs.Invalid("the bridge cannot be one of its own external interfaces")
		}

		if !interfaceExists(iface) {
			return errs.Invalid("external interface %q does not exist", iface)
		}

		master := interfaceMaster(iface)
		if master != "" && master != name {
			return errs.Invalid("external interface %q is already part of %q", iface, master)
		}

		if master == name {
			continue
		}

		out, err := runIP(ctx, "-j", "addr", "show", "dev", iface, "scope", "global")
		if err != nil {
			return err
		}

		if strings.Contains(string(out), `"local"`) {
			return errs.Invalid("only unconfigured network interfaces can be bridged: %q has an address", iface)
		}
	}

	return nil
}

// detachExternalInterfaces releases the interfaces of old's bridge.external_interfaces that config no longer has.
func detachExternalInterfaces(ctx context.Context, name string, old map[string]string, config map[string]string) {
	keep := map[string]bool{}
	for _, iface := range splitList(config["bridge.external_interfaces"]) {
		keep[iface] = true
	}

	for _, iface := range splitList(old["bridge.external_interfaces"]) {
		if !keep[iface] && interfaceMaster(iface) == name {
			_, _ = runIP(ctx, "link", "set", "dev", iface, "nomaster")
		}
	}
}

// interfaceMaster is the bridge (or bond) a host interface is part of, or "".
func interfaceMaster(iface string) string {
	target, err := os.Readlink(filepath.Join("/sys/class/net", iface, "master"))
	if err != nil {
		return ""
	}

	return filepath.Base(target)
}

// restartDnsmasq writes a network's dnsmasq files and (re)starts dnsmasq on them, or leaves it stopped when the
// network has no address.
func (m *Manager) restartDnsmasq(ctx context.Context, name string, config map[string]string) error {
	dir := m.netDir(name)
	err := os.MkdirAll(dir, 0o711)
	if err != nil {
		return err
	}

	err = os.Chmod(dir, 0o711)
	if err != nil {
		return err
	}

	stopDnsmasq(dir)
	conf := dnsmasqConfig(name, dir, config)
	err = writeDnsmasqFiles(dir, conf, config["raw.dnsmasq"])
	if err != nil {
		return fmt.Errorf("writing the dnsmasq configuration of %q: %w", name, err)
	}

	if conf == "" {
		return nil
	}

	return startDnsmasq(ctx, dir)
}

// teardown removes a network's runtime: its dnsmasq, its bridge (only when it is a bridge) and its directory.
// Errors are logged by the caller's absence of the resources, never returned: it is also the undo of a creation.
func (m *Manager) teardown(name string) {
	dir := m.netDir(name)
	stopDnsmasq(dir)
	if isBridge(name) {
		_, _ = runIP(context.Background(), "link", "del", "dev", name)
	}

	_ = os.RemoveAll(dir)
}
