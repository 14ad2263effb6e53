package main

//lint:file-ignore ST1005 lxd init answers with the messages of LXD 5.0.2, capitalised as they are

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdInit is "lxd init": it configures a daemon through its REST API, from flags (--auto, --minimal), from a
// preseed document on standard input (--preseed) or from questions (no flag), and prints the current configuration
// as a preseed document (--dump). Flags, questions, documents and errors are those of LXD 5.0.2.
type cmdInit struct {
	global *cmdGlobal

	flagAuto    bool
	flagMinimal bool
	flagPreseed bool
	flagDump    bool

	flagNetworkAddress string
	flagNetworkPort    int
	flagStorageBackend string
	flagStorageDevice  string
	flagStorageLoop    int
	flagStoragePool    string
	flagTrustPassword  string

	// Standard streams, replaced by tests.
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func (c *cmdInit) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Configure the LXD daemon",
		Long: `Description:
  Configure the LXD daemon`,
		Example: `  init --minimal
  init --auto [--network-address=IP] [--network-port=8443] [--storage-backend=dir]
              [--storage-create-device=DEVICE] [--storage-create-loop=SIZE]
              [--storage-pool=POOL] [--trust-password=PASSWORD]
  init --preseed
  init --dump
`,
		// Stock LXD ignores positional arguments here.
		Args: cobra.ArbitraryArgs,
		RunE: c.run,
	}

	// The empty `` of a usage hides the value's type in the help, as LXD's does.
	flags := cmd.Flags()
	flags.BoolVar(&c.flagAuto, "auto", false, "Automatic (non-interactive) mode")
	flags.BoolVar(&c.flagMinimal, "minimal", false, "Minimal configuration (non-interactive)")
	flags.BoolVar(&c.flagPreseed, "preseed", false, "Pre-seed mode, expects YAML config from stdin")
	flags.BoolVar(&c.flagDump, "dump", false, "Dump YAML config to stdout")

	flags.StringVar(&c.flagNetworkAddress, "network-address", "", "Address to bind LXD to (default: none)``")
	flags.IntVar(&c.flagNetworkPort, "network-port", -1, "Port to bind LXD to (default: 8443)``")
	flags.StringVar(&c.flagStorageBackend, "storage-backend", "",
		"Storage backend to use (btrfs, dir, lvm or zfs, default: dir)``")
	flags.StringVar(&c.flagStorageDevice, "storage-create-device", "", "Setup device based storage using DEVICE``")
	flags.IntVar(&c.flagStorageLoop, "storage-create-loop", -1, "Setup loop based storage with SIZE in GB``")
	flags.StringVar(&c.flagStoragePool, "storage-pool", "", "Storage pool to use or create``")
	flags.StringVar(&c.flagTrustPassword, "trust-password", "", "Password required to add new clients``")
	return cmd
}

// checkFlags refuses the combinations stock LXD refuses, with its words and in its order.
func (c *cmdInit) checkFlags() error {
	if c.flagAuto && c.flagPreseed {
		return errors.New("Can't use --auto and --preseed together")
	}

	if c.flagMinimal && c.flagPreseed {
		return errors.New("Can't use --minimal and --preseed together")
	}

	if c.flagMinimal && c.flagAuto {
		return errors.New("Can't use --minimal and --auto together")
	}

	configFlags := c.flagNetworkAddress != "" || c.flagNetworkPort != -1 || c.flagStorageBackend != "" ||
		c.flagStorageDevice != "" || c.flagStorageLoop != -1 || c.flagStoragePool != "" || c.flagTrustPassword != ""
	if !c.flagAuto && configFlags {
		return errors.New("Configuration flags require --auto")
	}

	if c.flagDump && (c.flagAuto || c.flagMinimal || c.flagPreseed) {
		return errors.New("Can't use --dump with other flags")
	}

	return nil
}

func (c *cmdInit) streams() {
	if c.stdin == nil {
		c.stdin = os.Stdin
	}

	if c.stdout == nil {
		c.stdout = os.Stdout
	}

	if c.stderr == nil {
		c.stderr = os.Stderr
	}
}

func (c *cmdInit) run(cmd *cobra.Command, args []string) error {
	c.streams()
	err := c.checkFlags()
	if err != nil {
		return err
	}

	d, err := client.ConnectLXDUnix(state.NewDirs(varDir()).UnixSocket(), nil)
	if err != nil {
		return fmt.Errorf("Failed to connect to local LXD: %w", err)
	}

	defer d.Disconnect()

	server, _, err := d.GetServer()
	if err != nil {
		return fmt.Errorf("Failed to connect to get LXD server info: %w", err)
	}

	if c.flagDump {
		return c.runDump(d)
	}

	var config *initPreseed
	switch {
	case c.flagPreseed:
		config, err = c.runPreseed()
	case c.flagAuto || c.flagMinimal:
		config, err = c.runAuto(d, server)
	default:
		config, err = c.runInteractive(d, server)
	}

	if err != nil {
		return err
	}

	// A cluster section that cannot be applied is refused before anything is changed, so that a refused document
	// leaves the server as it was.
	req, err := checkCluster(config, server, c.stdout)
	if err != nil {
		return err
	}

	undo, err := applyPreseed(d, config.Node)
	if err != nil {
		return err
	}

	if req == nil {
		return nil
	}

	// As LXD does, the local part is put back when the server cannot bootstrap or join the cluster.
	if req.ClusterToken != "" {
		err = joinCluster(d, *req)
	} else {
		err = enableCluster(d, req.ServerName)
	}

	if err != nil {
		undo()
		return err
	}

	return nil
}

// checkCluster checks the cluster section and returns the PUT /1.0/cluster request that carries it out once the
// local part is applied, nil when there is nothing to do. The section may make this server the first member of a
// new cluster (bootstrap), which needs an address the other members reach it at, or join an existing cluster with a
// join token (see checkJoin).
func checkCluster(config *initPreseed, server *api.Server, out io.Writer) (*api.ClusterPut, error) {
	cluster := config.Cluster
	if cluster == nil {
		return nil, nil
	}

	if cluster.joins() {
		return checkJoin(config, server, out)
	}

	if !cluster.Enabled {
		return nil, nil
	}

	if server.Environment.ServerClustered {
		return nil, errors.New("Failed to configure cluster: This server is already clustered")
	}

	if memberAddress(config, server) == "" {
		return nil, errors.New("Failed to configure cluster: " + errNotOnNetwork)
	}

	name := cluster.ServerName
	if name == "" {
		hostname, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("Failed to configure cluster: %w", err)
		}

		name = hostname
	}

	req := &api.ClusterPut{}
	req.ServerName = name
	req.Enabled = true
	return req, nil
}

// errNotOnNetwork is why a server without an address cannot be a cluster member.
const errNotOnNetwork = "This server is not available on the network: set core.https_address"

// memberAddress is the address this server is reached at as a cluster member: the first of these set, the
// document's before the server's.
func memberAddress(config *initPreseed, server *api.Server) string {
	for _, v := range []any{config.Node.Config["cluster.https_address"], config.Node.Config["core.https_address"],
		server.Config["cluster.https_address"], server.Config["core.https_address"]} {
		if v != nil {
			return fmt.Sprint(v)
		}
	}

	return ""
}

// enableCluster makes the server the first member of a new cluster, named name.
func enableCluster(d client.InstanceServer, name string) error {
	req := api.ClusterPut{}
	req.ServerName = name
	req.Enabled = true
	op, err := d.UpdateCluster(req, "")
	if err != nil {
		return fmt.Errorf("Failed to configure cluster: %w", err)
	}

	err = op.Wait()
	if err != nil {
		return fmt.Errorf("Failed to configure cluster: %w", err)
	}

	return nil
}

// serverDriverNames lists the storage drivers lxd init offers, as LXD 5.0.2 lists them: dir first, then the other
// drivers the server supports, in its order.
func serverDriverNames(server *api.Server) []string {
	names := []string{"dir"}
	for _, d := range server.Environment.StorageSupportedDrivers {
		if d.Name != "dir" && slices.Contains(initKnownDrivers, d.Name) && !slices.Contains(names, d.Name) {
			names = append(names, d.Name)
		}
	}

	return names
}

// newAsker reads answers from the command's standard input.
func (c *cmdInit) newAsker() *asker {
	return &asker{in: bufio.NewReader(c.stdin), out: c.stdout, errOut: c.stderr}
}
