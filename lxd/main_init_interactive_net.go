package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// bridgeNameRe is what a network interface name may hold.
var bridgeNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// validBridgeName checks a name the kernel accepts for an interface.
func validBridgeName(name string) error {
	if name == "" {
		return errors.New("Network interface is empty")
	}

	if len(name) > 15 {
		return errors.New("Network interface is too long (maximum 15 characters)")
	}

	if name == "." || name == ".." || !bridgeNameRe.MatchString(name) {
		return fmt.Errorf("Network interface contains invalid characters")
	}

	if _, err := strconv.Atoi(name); err == nil {
		return errors.New("Interface name cannot be a number")
	}

	return nil
}

// validBridgeAddress accepts auto, none or an address of the family (4 or 6) in CIDR notation.
func validBridgeAddress(family int) func(string) error {
	return func(value string) error {
		if value == "auto" || value == "none" {
			return nil
		}

		ip, _, err := net.ParseCIDR(value)
		if err != nil {
			return err
		}

		if (family == 4) != (ip.To4() != nil) {
			return fmt.Errorf("Not an IPv%d address %q", family, value)
		}

		return nil
	}
}

func askNetworking(a *asker, config *initPreseed, d client.InstanceServer, _ *api.Server) error {
	profile := &config.Node.Profiles[0]
	create, err := a.askBool("Would you like to create a new local network bridge? (yes/no) [default=yes]: ", "yes")
	if err != nil {
		return err
	}

	if !create {
		return askExistingInterface(a, config, d)
	}

	for {
		n := initNetwork{Config: map[string]string{}, Project: "default"}
		n.Name, err = a.askString("What should the new bridge be called? [default=lxdbr0]: ", "lxdbr0", validBridgeName)
		if err != nil {
			return err
		}

		_, _, err = d.GetNetwork(n.Name)
		if err == nil {
			_, _ = fmt.Fprintf(a.out, "The requested network bridge \"%s\" already exists. Please choose another name.\n", n.Name)
			continue
		}

		profile.Devices["eth0"] = map[string]string{"type": "nic", "name": "eth0", "network": n.Name}
		for _, family := range []int{4, 6} {
			key := fmt.Sprintf("ipv%d", family)
			question := fmt.Sprintf("What IPv%d address should be used? (CIDR subnet notation, “auto” or “none”) [default=auto]: ", family)
			n.Config[key+".address"], err = a.askString(question, "auto", validBridgeAddress(family))
			if err != nil {
				return err
			}

			if n.Config[key+".address"] == "auto" || n.Config[key+".address"] == "none" {
				continue
			}

			nat, err := a.askBool(fmt.Sprintf("Would you like LXD to NAT IPv%d traffic on your bridge? [default=yes]: ", family), "yes")
			if err != nil {
				return err
			}

			n.Config[key+".nat"] = strconv.FormatBool(nat)
		}

		config.Node.Networks = append(config.Node.Networks, n)
		return nil
	}
}

// askExistingInterface attaches the default profile's eth0 to an existing interface of this host (as LXD 5.0.2 does,
// the interface is looked up where lxd init runs): bridged on a bridge, macvlan otherwise.
func askExistingInterface(a *asker, config *initPreseed, _ client.InstanceServer) error {
	profile := &config.Node.Profiles[0]
	existing, err := a.askBool("Would you like to configure LXD to use an existing bridge or host interface? (yes/no) [default=no]: ", "no")
	if err != nil || !existing {
		return err
	}

	for {
		name, err := a.askString("Name of the existing bridge or host interface: ", "", nil)
		if err != nil {
			return err
		}

		_, err = os.Stat(filepath.Join("/sys/class/net", name))
		if err != nil || strings.Contains(name, "/") {
			_, _ = fmt.Fprintln(a.out, "The requested interface doesn't exist. Please choose another one.")
			continue
		}

		dev := map[string]string{"type": "nic", "nictype": "macvlan", "name": "eth0", "parent": name}
		_, err = os.Stat(filepath.Join("/sys/class/net", name, "bridge"))
		if err == nil {
			dev["nictype"] = "bridged"
		}

		profile.Devices["eth0"] = dev
		if config.Node.Config["maas.api.url"] == nil {
			return nil
		}

		connected, err := a.askBool("Is this interface connected to your MAAS server? (yes/no) [default=yes]: ", "yes")
		if err != nil || !connected {
			return err
		}

		for _, family := range []string{"4", "6"} {
			question := "MAAS IPv" + family + " subnet name for this interface (empty for no subnet): "
			subnet, err := a.askString(question, "", func(string) error { return nil })
			if err != nil {
				return err
			}

			if subnet != "" {
				dev["maas.subnet.ipv"+family] = subnet
			}
		}

		return nil
	}
}

func askDaemon(a *asker, config *initPreseed, _ client.InstanceServer, _ *api.Server) error {
	remote, err := a.askBool("Would you like the LXD server to be available over the network? (yes/no) [default=no]: ", "no")
	if err != nil {
		return err
	}

	if remote {
		addr, err := a.askString("Address to bind LXD to (not including port) [default=all]: ", "all", func(s string) error {
			if s != "all" && net.ParseIP(s) == nil {
				return fmt.Errorf("%q is not an IP address", s)
			}

			return nil
		})
		if err != nil {
			return err
		}

		if addr == "all" {
			addr = "::"
		}

		port, err := a.askInt(fmt.Sprintf("Port to bind LXD to [default=%d]: ", httpsDefaultPort), 1, 65535, strconv.Itoa(httpsDefaultPort))
		if err != nil {
			return err
		}

		config.Node.Config["core.https_address"] = canonicalAddress(strings.Trim(addr, "[]"), int(port))
		config.Node.Config["core.trust_password"], err = a.askPassword("Trust password for new clients: ")
		if err != nil {
			return err
		}
	}

	refresh, err := a.askBool("Would you like stale cached images to be updated automatically? (yes/no) [default=yes]: ", "yes")
	if err != nil {
		return err
	}

	if !refresh {
		config.Node.Config["images.auto_update_interval"] = "0"
	}

	return nil
}
