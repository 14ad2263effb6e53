package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdNetwork is "lxc network": the networks of a server and the nic devices connecting instances and profiles to
// them, with LXD 5.0.2's subcommands, arguments and output.
type cmdNetwork struct {
	global *cmdGlobal

	flagTarget string
	flagType   string
	flagFormat string
}

func (c *cmdNetwork) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage and attach instances to networks",
		Long:  "Manage and attach instances to networks",
		// As the stock client: a stray word is an unknown command, no word at all prints the usage.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Usage() },
	}

	const target = "[<remote>:]<network>"
	cmd.AddCommand(c.listCommand())
	cmd.AddCommand(c.sub("show "+target, "Show network configurations", 1, 1, true, c.show))
	create := c.sub("create "+target+" [key=value...]", "Create new networks", 1, -1, true, c.create)
	create.Flags().StringVarP(&c.flagType, "type", "t", "", "Network type")
	cmd.AddCommand(create)
	cmd.AddCommand(c.sub("delete "+target, "Delete networks", 1, 1, false, c.delete))
	cmd.AddCommand(c.sub("edit "+target, "Edit network configurations as YAML", 1, 1, false, c.edit))
	cmd.AddCommand(c.sub("rename "+target+" <new-name>", "Rename networks", 2, 2, false, c.rename))
	cmd.AddCommand(c.sub("get "+target+" <key>", "Get values for network configuration keys", 2, 2, true, c.get))
	set := c.sub("set "+target+" <key>=<value>...", "Set network configuration keys", 2, -1, true, c.set)
	set.Long = `Set network configuration keys

For backward compatibility, a single configuration key may still be set with:
    lxc network set [<remote>:]<network> <key> <value>`
	cmd.AddCommand(set)
	cmd.AddCommand(c.sub("unset "+target+" <key>", "Unset network configuration keys", 2, 2, true, c.unset))
	info := c.sub("info "+target, "Get runtime information on networks", 1, 1, false, c.info)
	info.Flags().StringVar(&c.flagTarget, "target", "", "Cluster member name")
	cmd.AddCommand(info)
	leases := c.sub("list-leases "+target, "List DHCP leases", 1, 1, false, c.listLeases)
	leases.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	cmd.AddCommand(leases)
	attach := c.sub("attach "+target+" <instance> [<device name>] [<interface name>]",
		"Attach network interfaces to instances", 2, 4, false, c.attach)
	attach.Long = "Attach new network interfaces to instances"
	cmd.AddCommand(attach)
	cmd.AddCommand(c.sub("attach-profile "+target+" <profile> [<device name>] [<interface name>]",
		"Attach network interfaces to profiles", 2, 4, false, c.attachProfile))
	cmd.AddCommand(c.sub("detach "+target+" <instance> [<device name>]",
		"Detach network interfaces from instances", 2, 3, false, c.detach))
	cmd.AddCommand(c.sub("detach-profile "+target+" <profile> [<device name>]",
		"Detach network interfaces from profiles", 2, 3, false, c.detachProfile))
	return cmd
}

// sub builds a subcommand taking between minArgs and maxArgs arguments (-1: no limit), the first naming the
// network; target adds the --target flag.
func (c *cmdNetwork) sub(use string, short string, minArgs int, maxArgs int, target bool, run func(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: short}
	switch {
	case strings.HasPrefix(use, "delete "):
		cmd.Aliases = []string{"rm"}
	case strings.HasPrefix(use, "rename "):
		cmd.Aliases = []string{"mv"}
	}

	if target {
		cmd.Flags().StringVar(&c.flagTarget, "target", "", "Cluster member name")
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, minArgs, maxArgs)
		if exit {
			return err
		}

		d, name, err := namedServer(c.global, args[0], "network")
		if err != nil {
			return err
		}

		if target {
			err = checkTarget(d, c.flagTarget)
			if err != nil {
				return err
			}
		}

		return run(cmd, d, name, args[1:])
	}

	return cmd
}

// requireCluster refuses a --target for a server that is not a cluster, as "lxc network info" does before asking it.
func requireCluster(d client.InstanceServer, target string) error {
	if target == "" {
		return nil
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	if !server.Environment.ServerClustered {
		return errors.New("to use --target, the destination remote must be a cluster")
	}

	return checkTarget(d, target)
}

// checkFormat refuses an unknown --format before anything is asked of the server.
func checkFormat(format string) error {
	switch format {
	case formatTable, formatCompact, formatCSV, formatJSON, formatYAML:
		return nil
	}

	return fmt.Errorf("invalid format %q", format)
}

func (c *cmdNetwork) listCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List available networks",
		Long:    "List available networks",
	}

	cmd.Flags().StringVarP(&format, "format", "f", formatTable, formatFlagHelp)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 0, 1)
		if exit {
			return err
		}

		remote := c.global.conf.DefaultRemote
		if len(args) == 1 {
			var name string
			remote, name, err = c.global.conf.ParseRemote(args[0])
			if err != nil {
				return err
			}

			if name != "" {
				return errors.New("filtering isn't supported yet")
			}
		}

		err = checkFormat(format)
		if err != nil {
			return err
		}

		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		networks, err := d.GetNetworks()
		if err != nil {
			return err
		}

		header, rows := networkTable(networks)
		return renderList(cmd.OutOrStdout(), format, header, rows, networks)
	}

	return cmd
}

// networkTable returns the header and sorted rows of "lxc network list": loopback interfaces and interfaces of no
// known type are left out of the table (not of the JSON and YAML).
func networkTable(networks []api.Network) ([]string, [][]string) {
	header := []string{"NAME", "TYPE", "MANAGED", "IPV4", "IPV6", "DESCRIPTION", "USED BY", "STATE"}
	rows := [][]string{}
	for _, n := range networks {
		if n.Type == "loopback" || n.Type == "unknown" {
			continue
		}

		managed := "NO"
		if n.Managed {
			managed = "YES"
		}

		rows = append(rows, []string{n.Name, n.Type, managed, n.Config["ipv4.address"], n.Config["ipv6.address"],
			n.Description, fmt.Sprint(len(n.UsedBy)), strings.ToUpper(n.Status)})
	}

	sortRows(rows)
	return header, rows
}

func (c *cmdNetwork) show(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	n, _, err := d.GetNetwork(name)
	if err != nil {
		return err
	}

	out, err := networkShowYAML(n)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// networkShowYAML is "lxc network show": the network as YAML, its users sorted.
func networkShowYAML(n *api.Network) ([]byte, error) {
	slices.Sort(n.UsedBy)
	return yamlMarshalStock(n)
}

func (c *cmdNetwork) create(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	// Off a cluster the stock daemon takes "--target none" as defining a network left pending, never created.
	if c.flagTarget != "" {
		return fmt.Errorf("--target %s: networks pending on a cluster member are not supported", c.flagTarget)
	}

	post := api.NetworksPost{Name: name, Type: c.flagType, NetworkPut: api.NetworkPut{Config: map[string]string{}}}
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("bad key/value pair: %s", arg)
		}

		post.Config[k] = v
	}

	err := d.CreateNetwork(post)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Network %s created\n", name)
	}

	return nil
}

func (c *cmdNetwork) delete(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := d.DeleteNetwork(name)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Network %s deleted\n", name)
	}

	return nil
}

func (c *cmdNetwork) rename(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := d.RenameNetwork(name, api.NetworkPost{Name: args[0]})
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Network %s renamed to %s\n", name, args[0])
	}

	return nil
}

// get prints the value of a configuration key, and nothing at all for a key that is not set.
func (c *cmdNetwork) get(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	n, _, err := d.GetNetwork(name)
	if err != nil {
		return err
	}

	v, ok := n.Config[args[0]]
	if ok {
		fmt.Fprintln(cmd.OutOrStdout(), v)
	}

	return nil
}

// networkSetValues reads the arguments of "set": "<key> <value>" or "<key>=<value>...". A value of "-" is read
// from standard input when it is not a terminal.
func networkSetValues(cmd *cobra.Command, args []string) (map[string]string, error) {
	values, err := parseKeyValues(args)
	if err != nil {
		return nil, err
	}

	for k, v := range values {
		if v != "-" || readerIsTerminal(cmd.InOrStdin()) {
			continue
		}

		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("can't read from stdin: %w", err)
		}

		values[k] = string(data)
	}

	return values, nil
}

func (c *cmdNetwork) set(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	values, err := networkSetValues(cmd, args)
	if err != nil {
		return err
	}

	return c.update(d, name, values)
}

// unset sets the key to the empty value, which the server takes as removing it (and refuses for an unknown key).
func (c *cmdNetwork) unset(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	return c.update(d, name, map[string]string{args[0]: ""})
}

// update changes configuration keys of a managed network.
func (c *cmdNetwork) update(d client.InstanceServer, name string, values map[string]string) error {
	n, etag, err := d.GetNetwork(name)
	if err != nil {
		return err
	}

	if !n.Managed {
		return errors.New("only managed networks can be modified")
	}

	put := n.Writable()
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	for k, v := range values {
		put.Config[k] = v
	}

	return d.UpdateNetwork(name, put, etag)
}

// networkEditHeader is the comment above the YAML in the editor, as the stock client writes it.
const networkEditHeader = `### This is a YAML representation of the network.
### Any line starting with a '# will be ignored.
###
### A network consists of a set of configuration items.
###
### An example would look like:
### name: lxdbr0
### config:
###   ipv4.address: 10.62.42.1/24
###   ipv4.nat: true
###   ipv6.address: fd00:56ad:9f7a:9800::1/64
###   ipv6.nat: true
### managed: true
### type: bridge
###
### Note that only the configuration can be changed.

`

func (c *cmdNetwork) edit(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	load := func() ([]byte, string, error) {
		n, etag, err := d.GetNetwork(name)
		if err != nil {
			return nil, "", err
		}

		if !n.Managed {
			return nil, "", errors.New("only managed networks can be modified")
		}

		data, err := yamlMarshalStock(n)
		return data, etag, err
	}

	return editYAML(cmd, networkEditHeader, load, func(put api.NetworkPut, etag string) error {
		return d.UpdateNetwork(name, put, etag)
	})
}
