package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// initKnownDrivers are the storage drivers lxd init of LXD 5.0.2 knows; those the server does not support are
// refused as unavailable.
var initKnownDrivers = []string{"btrfs", "ceph", "cephfs", "dir", "lvm", "zfs"}

// httpsDefaultPort is the port of core.https_address when none is given.
const httpsDefaultPort = 8443

// checkAutoFlags refuses what stock LXD refuses in --auto mode, before asking the server anything else.
func (c *cmdInit) checkAutoFlags(server *api.Server) error {
	backend := c.flagStorageBackend
	if backend != "" && !slices.Contains(initKnownDrivers, backend) {
		return fmt.Errorf("The requested backend '%s' isn't supported by lxd init", backend)
	}

	if backend != "" && !slices.Contains(serverDriverNames(server), backend) {
		return fmt.Errorf("The requested backend '%s' isn't available on your system (missing tools)", backend)
	}

	if backend == "dir" || backend == "" {
		if c.flagStorageLoop != -1 || c.flagStorageDevice != "" || c.flagStoragePool != "" {
			return errors.New("None of --storage-pool, --storage-create-device or --storage-create-loop may be used with the 'dir' backend")
		}
	} else if c.flagStorageLoop != -1 && c.flagStorageDevice != "" {
		return errors.New("Only one of --storage-create-device or --storage-create-loop can be specified")
	}

	if c.flagNetworkAddress == "" {
		if c.flagNetworkPort != -1 {
			return errors.New("--network-port can't be used without --network-address")
		}

		if c.flagTrustPassword != "" {
			return errors.New("--trust-password can't be used without --network-address")
		}
	}

	return nil
}

// runAuto builds the document of --auto and --minimal: the listener and trust password when given; a storage pool
// named default (or --storage-pool's name for a new device or loop pool) with the default profile's root disk on it
// when the server has no pool; a bridge lxdbr<N> (the first name free on this host) attached to the default profile
// as eth0 when the server has no managed network and the default profile no nic.
func (c *cmdInit) runAuto(d client.InstanceServer, server *api.Server) (*initPreseed, error) {
	err := c.checkAutoFlags(server)
	if err != nil {
		return nil, err
	}

	pools, err := d.GetStoragePoolNames()
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve list of storage pools: %w", err)
	}

	storageFlags := c.flagStorageBackend != "" || c.flagStorageDevice != "" || c.flagStorageLoop != -1 || c.flagStoragePool != ""
	if len(pools) > 0 && storageFlags {
		return nil, errors.New("Storage has already been configured")
	}

	backend := c.flagStorageBackend
	if backend == "" {
		backend = "dir"
	}

	port := c.flagNetworkPort
	if port == -1 {
		port = httpsDefaultPort
	}

	config := &initPreseed{}
	config.Node.Config = map[string]any{}
	if c.flagNetworkAddress != "" {
		config.Node.Config["core.https_address"] = canonicalAddress(c.flagNetworkAddress, port)
		if c.flagTrustPassword != "" {
			config.Node.Config["core.trust_password"] = c.flagTrustPassword
		}
	}

	var profile *initProfile
	if len(pools) == 0 {
		pool := initStoragePool{Name: "default", Driver: backend, Config: map[string]string{}}
		switch {
		case c.flagStorageDevice != "":
			pool.Config["source"] = c.flagStorageDevice
		case c.flagStorageLoop > 0:
			pool.Config["size"] = fmt.Sprintf("%dGB", c.flagStorageLoop)
		default:
			pool.Config["source"] = c.flagStoragePool
		}

		if c.flagStoragePool != "" && (c.flagStorageDevice != "" || c.flagStorageLoop != -1) {
			pool.Name = c.flagStoragePool
		}

		config.Node.StoragePools = []initStoragePool{pool}
		profile = &initProfile{Name: "default", Devices: map[string]map[string]string{
			"root": {"type": "disk", "path": "/", "pool": pool.Name},
		}}
	}

	networks, err := d.GetNetworks()
	if err != nil {
		return nil, fmt.Errorf("Failed to retrieve list of networks: %w", err)
	}

	managed := false
	for _, n := range networks {
		managed = managed || n.Managed
	}

	profileNIC := false
	defaultProfile, _, err := d.GetProfile("default")
	if err == nil {
		for _, dev := range defaultProfile.Devices {
			profileNIC = profileNIC || dev["type"] == "nic"
		}
	}

	if !managed && !profileNIC {
		name := freeBridgeName()
		config.Node.Networks = []initNetwork{{Name: name, Project: "default"}}
		if profile == nil {
			profile = &initProfile{Name: "default", Devices: map[string]map[string]string{}}
		}

		profile.Devices["eth0"] = map[string]string{"type": "nic", "network": name, "name": "eth0"}
	}

	if profile != nil {
		config.Node.Profiles = []initProfile{*profile}
	}

	return config, nil
}

// freeBridgeName returns lxdbr<N> for the first N no interface of this host's network namespace has.
func freeBridgeName() string {
	for i := 0; ; i++ {
		name := "lxdbr" + strconv.Itoa(i)
		_, err := os.Stat("/sys/class/net/" + name)
		if err != nil {
			return name
		}
	}
}

// canonicalAddress joins an address and a port, bracketing IPv6 addresses; an address that has a port keeps it.
func canonicalAddress(address string, port int) string {
	_, _, err := net.SplitHostPort(address)
	if err == nil {
		return address
	}

	host := strings.TrimSuffix(strings.TrimPrefix(address, "["), "]")
	return net.JoinHostPort(host, strconv.Itoa(port))
}
