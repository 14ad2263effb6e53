package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// runInteractive asks LXD 5.0.2's questions, in its order and with its defaults, and builds the document from the
// answers; it prints the document when asked to. A server joining a cluster is asked nothing past the clustering
// questions and prints only the cluster section, as LXD does.
func (c *cmdInit) runInteractive(d client.InstanceServer, server *api.Server) (*initPreseed, error) {
	a := c.newAsker()
	config := &initPreseed{}
	config.Node.Config = map[string]any{}
	config.Node.Networks = []initNetwork{}
	config.Node.StoragePools = []initStoragePool{}
	config.Node.Profiles = []initProfile{{
		Name: "default", Config: map[string]string{}, Devices: map[string]map[string]string{},
	}}

	join, err := askClustering(a, config, server)
	if err != nil {
		return nil, err
	}

	steps := []func(*asker, *initPreseed, client.InstanceServer, *api.Server) error{
		askStorage, askMAAS, askNetworking, askDaemon,
	}

	if config.Cluster != nil {
		steps = []func(*asker, *initPreseed, client.InstanceServer, *api.Server) error{
			askClusterStorage, askMAAS, askClusterNetworking, askClusterDaemon,
		}
	}

	if join {
		// Only the address question's answer is local; the joined cluster provides the rest.
		config.Node.Networks, config.Node.StoragePools, config.Node.Profiles = nil, nil, nil
		steps = nil
	}

	for _, step := range steps {
		err = step(a, config, d, server)
		if err != nil {
			return nil, err
		}
	}

	print, err := a.askBool("Would you like a YAML \"lxd init\" preseed to be printed? (yes/no) [default=no]: ", "no")
	if err != nil {
		return nil, err
	}

	if print {
		shown := config
		if join {
			shown = &initPreseed{Cluster: config.Cluster}
		}

		err = renderPreseed(c.stdout, shown)
		if err != nil {
			return nil, err
		}
	}

	return config, nil
}

// askClustering asks LXD 5.0.2's clustering questions: whether to cluster at all, the address the other members
// reach this server at and whether it joins an existing cluster. A new cluster then takes the member name and an
// optional trust password; a join takes a join token (see askJoin). It reports whether the server joins a cluster.
func askClustering(a *asker, config *initPreseed, server *api.Server) (bool, error) {
	clustering, err := a.askBool("Would you like to use LXD clustering? (yes/no) [default=no]: ", "no")
	if err != nil || !clustering {
		return false, err
	}

	config.Cluster = &initClusterPreseed{Enabled: true}
	def := defaultInterfaceAddress()
	question := fmt.Sprintf("What IP address or DNS name should be used to reach this server? [default=%s]: ", def)
	address, err := a.askString(question, def, func(value string) error { return validServerAddress(value, server) })
	if err != nil {
		return false, err
	}

	address = canonicalAddress(address, httpsDefaultPort)
	config.Node.Config["core.https_address"] = address

	join, err := a.askBool("Are you joining an existing cluster? (yes/no) [default=no]: ", "no")
	if err != nil {
		return false, err
	}

	if join {
		return true, askJoin(a, config.Cluster, address)
	}

	host, err := os.Hostname()
	if err != nil {
		host = "lxd"
	}

	question = fmt.Sprintf("What member name should be used to identify this server in the cluster? [default=%s]: ", host)
	config.Cluster.ServerName, err = a.askString(question, host, nil)
	if err != nil {
		return false, err
	}

	password, err := a.askBool("Setup password authentication on the cluster? (yes/no) [default=no]: ", "no")
	if err != nil || !password {
		return false, err
	}

	config.Node.Config["core.trust_password"], err = a.askPassword("Trust password for new clients: ")
	return false, err
}

// defaultInterfaceAddress is the address LXD offers for the cluster: the first address of the first network
// interface of this host that is not a loopback.
func defaultInterfaceAddress() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}

	for _, iface := range ifaces {
		if iface.Flags&net.FlagLoopback != 0 {
			continue
		}

		addrs, err := iface.Addrs()
		if err != nil || len(addrs) == 0 {
			continue
		}

		ipnet, ok := addrs[0].(*net.IPNet)
		if ok {
			return ipnet.IP.String()
		}
	}

	return ""
}

// validServerAddress accepts an address (the port defaults to 8443) that names a host, and that this server uses
// already or can bind.
func validServerAddress(value string, server *api.Server) error {
	address := canonicalAddress(value, httpsDefaultPort)
	host, _, err := net.SplitHostPort(address)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		return errors.New("Invalid IP address or DNS name")
	}

	if server.Config["cluster.https_address"] == address || server.Config["core.https_address"] == address {
		return nil
	}

	listener, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("Can't bind address %q: %w", address, err)
	}

	return listener.Close()
}

// askClusterNetworking asks for the network of a new cluster's members: LXD offers no new local bridge then, only
// an existing bridge or interface. LXD's next question, a new Fan overlay network (on Ubuntu kernels), is not
// asked: this server has no Fan bridges.
func askClusterNetworking(a *asker, config *initPreseed, d client.InstanceServer, _ *api.Server) error {
	return askExistingInterface(a, config, d)
}

// askClusterDaemon asks the daemon question LXD asks a new cluster's first member: its address is set already.
func askClusterDaemon(a *asker, config *initPreseed, _ client.InstanceServer, _ *api.Server) error {
	refresh, err := a.askBool("Would you like stale cached images to be updated automatically? (yes/no) [default=yes]: ", "yes")
	if err != nil || refresh {
		return err
	}

	config.Node.Config["images.auto_update_interval"] = "0"
	return nil
}

func askStorage(a *asker, config *initPreseed, d client.InstanceServer, server *api.Server) error {
	create, err := a.askBool("Do you want to configure a new storage pool? (yes/no) [default=yes]: ", "yes")
	if err != nil || !create {
		return err
	}

	return askStoragePool(a, config, d, server, "all")
}

// askClusterStorage asks for the storage pools of a new cluster as LXD does: a local pool named local, then a
// remote one named remote.
func askClusterStorage(a *asker, config *initPreseed, d client.InstanceServer, server *api.Server) error {
	local, err := a.askBool("Do you want to configure a new local storage pool? (yes/no) [default=yes]: ", "yes")
	if err != nil {
		return err
	}

	if local {
		err = askStoragePool(a, config, d, server, "local")
		if err != nil {
			return err
		}
	}

	remote, err := a.askBool("Do you want to configure a new remote storage pool? (yes/no) [default=no]: ", "no")
	if err != nil || !remote {
		return err
	}

	return askStoragePool(a, config, d, server, "remote")
}

// storageDriverNames lists the drivers offered for a pool of kind all, local (no ceph or cephfs) or remote (ceph
// and cephfs only).
func storageDriverNames(server *api.Server, kind string) []string {
	names := []string{}
	for _, name := range serverDriverNames(server) {
		remote := name == "ceph" || name == "cephfs"
		if (kind == "local" && remote) || (kind == "remote" && !remote) {
			continue
		}

		names = append(names, name)
	}

	return names
}

// askStoragePool asks for a new pool of kind all (its name is asked), local or remote (named after the kind).
func askStoragePool(a *asker, config *initPreseed, d client.InstanceServer, server *api.Server, kind string) error {
	backends := storageDriverNames(server, kind)
	if len(backends) == 0 {
		return fmt.Errorf("No %s storage backends available", kind)
	}

	backingBtrfs := isBtrfs(varDir())
	def := backends[0]
	switch {
	case backingBtrfs && slices.Contains(backends, "btrfs"):
		def = "btrfs"
	case slices.Contains(backends, "zfs"):
		def = "zfs"
	case slices.Contains(backends, "btrfs"):
		def = "btrfs"
	}

	profile := &config.Node.Profiles[0]
	for {
		var err error
		pool := initStoragePool{Name: kind, Config: map[string]string{}}
		if kind == "all" {
			pool.Name, err = a.askString("Name of the new storage pool [default=default]: ", "default", nil)
			if err != nil {
				return err
			}
		}

		_, _, err = d.GetStoragePool(pool.Name)
		if err == nil {
			if kind != "all" {
				return fmt.Errorf("The %s storage pool already exists", kind)
			}

			_, _ = fmt.Fprintf(a.out, "The requested storage pool \"%s\" already exists. Please choose another name.\n", pool.Name)
			continue
		}

		if profile.Devices["root"] == nil {
			profile.Devices["root"] = map[string]string{"type": "disk", "path": "/", "pool": pool.Name}
		}

		pool.Driver = backends[0]
		if len(backends) > 1 {
			question := fmt.Sprintf("Name of the storage backend to use (%s) [default=%s]: ", strings.Join(backends, ", "), def)
			pool.Driver, err = a.askChoice(question, backends, def)
			if err != nil {
				return err
			}
		}

		err = askPoolSource(a, &pool, backingBtrfs)
		if err != nil {
			return err
		}

		config.Node.StoragePools = append(config.Node.StoragePools, pool)
		return nil
	}
}

// askPoolSource asks where a pool of a driver other than dir lives: a new btrfs subvolume on a btrfs host, a new
// pool on a block device or a loop file, or an existing pool.
func askPoolSource(a *asker, pool *initStoragePool, backingBtrfs bool) error {
	if pool.Driver == "dir" {
		return nil
	}

	if pool.Driver == "btrfs" && backingBtrfs {
		sub, err := a.askBool(fmt.Sprintf("Would you like to create a new btrfs subvolume under %s? (yes/no) [default=yes]: ", varDir()), "yes")
		if err != nil {
			return err
		}

		if sub {
			pool.Config["source"] = filepath.Join(varDir(), "storage-pools", pool.Name)
			return nil
		}
	}

	create, err := a.askBool(fmt.Sprintf("Create a new %s pool? (yes/no) [default=yes]: ", strings.ToUpper(pool.Driver)), "yes")
	if err != nil {
		return err
	}

	if !create {
		if pool.Driver == "ceph" {
			pool.Config["ceph.cluster_name"], err = a.askString("Name of the existing CEPH cluster [default=ceph]: ", "ceph", nil)
			if err != nil {
				return err
			}

			pool.Config["source"], err = a.askString("Name of the existing OSD storage pool [default=lxd]: ", "lxd", nil)
			pool.Config["ceph.osd.pool_name"] = pool.Config["source"]
			return err
		}

		question := fmt.Sprintf("Name of the existing %s pool or dataset: ", strings.ToUpper(pool.Driver))
		pool.Config["source"], err = a.askString(question, "", nil)
		return err
	}

	if pool.Driver == "ceph" {
		questions := [][3]string{
			{"ceph.cluster_name", "Name of the existing CEPH cluster [default=ceph]: ", "ceph"},
			{"ceph.osd.pool_name", "Name of the OSD storage pool [default=lxd]: ", "lxd"},
			{"ceph.osd.pg_num", "Number of placement groups [default=32]: ", "32"},
		}

		for _, q := range questions {
			pool.Config[q[0]], err = a.askString(q[1], q[2], nil)
			if err != nil {
				return err
			}
		}

		return nil
	}

	device, err := a.askBool("Would you like to use an existing empty block device (e.g. a disk or partition)? (yes/no) [default=no]: ", "no")
	if err != nil {
		return err
	}

	if device {
		pool.Config["source"], err = a.askString("Path to the existing block device: ", "", func(path string) error {
			st, err := os.Stat(path)
			if err != nil || st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
				return fmt.Errorf("%q is not a block device", path)
			}

			return nil
		})
		return err
	}

	size := defaultLoopSize(varDir())
	question := fmt.Sprintf("Size in GiB of the new loop device (1GiB minimum) [default=%dGiB]: ", size)
	answer, err := a.askString(question, fmt.Sprintf("%dGiB", size), func(input string) error {
		n, err := strconv.ParseInt(strings.Split(input, "GiB")[0], 10, 64)
		if err != nil {
			return err
		}

		if n < 1 {
			return errors.New("Minimum size is 1GiB")
		}

		return nil
	})
	if err != nil {
		return err
	}

	if !strings.HasSuffix(answer, "GiB") {
		answer += "GiB"
	}

	pool.Config["size"] = answer
	return nil
}

// isBtrfs reports whether path is on a btrfs file system.
func isBtrfs(path string) bool {
	var st unix.Statfs_t
	err := unix.Statfs(path, &st)
	return err == nil && st.Type == unix.BTRFS_SUPER_MAGIC
}

// defaultLoopSize is a fifth of the file system of path in GiB, between 5 and 30.
func defaultLoopSize(path string) uint64 {
	var st unix.Statfs_t
	err := unix.Statfs(path, &st)
	if err != nil {
		return 5
	}

	size := uint64(st.Frsize) * st.Blocks / (1024 * 1024 * 1024) / 5
	return max(min(size, 30), 5)
}

func askMAAS(a *asker, config *initPreseed, _ client.InstanceServer, _ *api.Server) error {
	maas, err := a.askBool("Would you like to connect to a MAAS server? (yes/no) [default=no]: ", "no")
	if err != nil || !maas {
		return err
	}

	host, err := os.Hostname()
	if err != nil {
		host = "lxd"
	}

	name, err := a.askString(fmt.Sprintf("What's the name of this host in MAAS? [default=%s]: ", host), host, nil)
	if err != nil {
		return err
	}

	if name != host {
		config.Node.Config["maas.machine"] = name
	}

	config.Node.Config["maas.api.url"], err = a.askString("URL of your MAAS server (e.g. http://1.2.3.4:5240/MAAS): ", "", nil)
	if err != nil {
		return err
	}

	config.Node.Config["maas.api.key"], err = a.askString("API key for your MAAS server: ", "", nil)
	return err
}
