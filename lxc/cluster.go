package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdCluster is "lxc cluster": the members of a cluster and the tokens that let new members join, with LXD
// 5.0.2's subcommands, arguments and output.
type cmdCluster struct {
	global *cmdGlobal

	flagFormat string
	flagForce  bool
	flagYes    bool
}

func (c *cmdCluster) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Manage cluster members",
		Long:  "Manage cluster members",
		// As the stock client: a stray word is an unknown command, no word at all prints the usage.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Usage() },
	}

	const member = "[<remote>:]<member>"
	cmd.AddCommand(c.listCommand())
	rename := c.sub("rename "+member+" <new-name>", "Rename a cluster member", 2, 2, c.rename)
	rename.Aliases = []string{"mv"}
	cmd.AddCommand(rename)
	remove := c.sub("remove "+member, "Remove a member from the cluster", 1, 1, c.remove)
	remove.Aliases = []string{"rm"}
	remove.Flags().BoolVarP(&c.flagForce, "force", "f", false, "Force removing a member, even if degraded")
	remove.Flags().BoolVar(&c.flagYes, "yes", false, "Don't require user confirmation for using --force")
	cmd.AddCommand(remove)
	cmd.AddCommand(c.sub("show "+member, "Show details of a cluster member", 1, 1, c.show))
	cmd.AddCommand(c.sub("get "+member+" <key>", "Get values for cluster member configuration keys", 2, 2, c.get))
	cmd.AddCommand(c.sub("set "+member+" <key>=<value>...", "Set a cluster member's configuration keys", 2, -1, c.set))
	cmd.AddCommand(c.sub("unset "+member+" <key>", "Unset a cluster member's configuration keys", 2, 2, c.unset))
	cmd.AddCommand(c.enableCommand())
	edit := c.sub("edit [<remote>:]<cluster member>", "Edit cluster member configurations as YAML", 1, 1, c.edit)
	edit.Example = `  lxc cluster edit <cluster member> < member.yaml
    Update a cluster member using the content of member.yaml`
	cmd.AddCommand(edit)
	cmd.AddCommand(c.sub("add "+member, "Request a join token for adding a cluster member", 1, 1, c.add))
	cmd.AddCommand(c.listTokensCommand())
	cmd.AddCommand(c.revokeTokenCommand())
	cmd.AddCommand(c.updateCertificateCommand())
	cmd.AddCommand(c.evacuateCommand("evacuate", "Evacuate cluster member"))
	cmd.AddCommand(c.evacuateCommand("restore", "Restore cluster member"))
	return cmd
}

// sub builds a subcommand taking between minArgs and maxArgs arguments (-1: no limit), the first naming the
// cluster member.
func (c *cmdCluster) sub(use string, short string, minArgs int, maxArgs int, run func(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: short}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, minArgs, maxArgs)
		if exit {
			return err
		}

		d, name, err := namedServer(c.global, args[0], "cluster member")
		if err != nil {
			return err
		}

		return run(cmd, d, name, args[1:])
	}

	return cmd
}

// server connects to the remote of "[<remote>:]" ("" for the default remote) and returns the remote's name.
func (c *cmdCluster) server(arg string) (client.InstanceServer, string, error) {
	remote := c.global.conf.DefaultRemote
	if arg != "" {
		var err error
		remote, _, err = c.global.conf.ParseRemote(arg)
		if err != nil {
			return nil, "", err
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, remote, nil
}

// requireClustered refuses a server that is not part of a cluster, as the stock list commands do first.
func requireClustered(d client.InstanceServer) error {
	cluster, _, err := d.GetCluster()
	if err != nil {
		return err
	}

	if !cluster.Enabled {
		return errors.New("LXD server isn't part of a cluster")
	}

	return nil
}

func (c *cmdCluster) listCommand() *cobra.Command {
	cmd := c.listingCommand("list [<remote>:]", "List all the cluster members", func(cmd *cobra.Command, d client.InstanceServer) error {
		err := requireClustered(d)
		if err != nil {
			return err
		}

		members, err := d.GetClusterMembers()
		if err != nil {
			return err
		}

		header, rows := clusterMemberTable(members, c.flagFormat)
		return renderList(cmd.OutOrStdout(), c.flagFormat, header, rows, members)
	})

	cmd.Aliases = []string{"ls"}
	return cmd
}

// listingCommand builds a command taking an optional "[<remote>:]" and a --format flag, which run lists with.
func (c *cmdCluster) listingCommand(use string, short string, run func(cmd *cobra.Command, d client.InstanceServer) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: short}
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 0, 1)
		if exit {
			return err
		}

		err = checkFormat(c.flagFormat)
		if err != nil {
			return err
		}

		arg := ""
		if len(args) == 1 {
			arg = args[0]
		}

		d, _, err := c.server(arg)
		if err != nil {
			return err
		}

		return run(cmd, d)
	}

	return cmd
}

// clusterMemberTable returns the header and sorted rows of "lxc cluster list". Roles are one per line in a cell,
// and separated by commas in CSV.
func clusterMemberTable(members []api.ClusterMember, format string) ([]string, [][]string) {
	header := []string{"NAME", "URL", "ROLES", "ARCHITECTURE", "FAILURE DOMAIN", "DESCRIPTION", "STATE", "MESSAGE"}
	sep := "\n"
	if format == formatCSV {
		sep = ","
	}

	rows := make([][]string, 0, len(members))
	for _, m := range members {
		rows = append(rows, []string{m.ServerName, m.URL, strings.Join(m.Roles, sep), m.Architecture,
			m.FailureDomain, m.Description, strings.ToUpper(m.Status), m.Message})
	}

	sortRows(rows)
	return header, rows
}

func (c *cmdCluster) show(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	member, _, err := d.GetClusterMember(name)
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(member)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// get prints the value of a member configuration key, refusing a key that is not set.
func (c *cmdCluster) get(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	member, _, err := d.GetClusterMember(name)
	if err != nil {
		return err
	}

	v, ok := member.Config[args[0]]
	if !ok {
		return fmt.Errorf("the key %q does not exist on cluster member %q", args[0], name)
	}

	_, err = fmt.Fprintln(cmd.OutOrStdout(), v)
	return err
}

func (c *cmdCluster) set(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	values, err := networkSetValues(cmd, args)
	if err != nil {
		return err
	}

	return c.update(d, name, values)
}

// unset sends the key with an empty value, as the stock client does.
func (c *cmdCluster) unset(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	return c.update(d, name, map[string]string{args[0]: ""})
}

// update changes configuration keys of a cluster member.
func (c *cmdCluster) update(d client.InstanceServer, name string, values map[string]string) error {
	member, etag, err := d.GetClusterMember(name)
	if err != nil {
		return err
	}

	put := member.Writable()
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	for k, v := range values {
		put.Config[k] = v
	}

	return d.UpdateClusterMember(name, put, etag)
}

func (c *cmdCluster) rename(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := d.RenameClusterMember(name, api.ClusterMemberPost{ServerName: args[0]})
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "Member %s renamed to %s\n", name, args[0])
	}

	return err
}

// clusterRemovePrompt is the question "lxc cluster remove --force" asks before doing anything.
const clusterRemovePrompt = `Forcefully removing a server from the cluster should only be done as a last
resort.

The removed server will not be functional after this action and will require a
full reset of LXD, losing any remaining instance, image or storage volume
that the server may have held.

When possible, a graceful removal should be preferred, this will require you to
move any affected instance, image or storage volume to another server prior to
the server being cleanly removed from the cluster.

The --force flag should only be used if the server has died, been reinstalled
or is otherwise never expected to come back up.

Are you really sure you want to force removing %s? (yes/no): `

// remove takes a member out of the cluster. With --force the user must confirm by answering "yes", unless --yes
// is given too.
func (c *cmdCluster) remove(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	if c.flagForce && !c.flagYes {
		answer, err := newAsker(cmd).askString(fmt.Sprintf(clusterRemovePrompt, name))
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}

		if strings.ToLower(answer) != "yes" {
			return errors.New("user aborted delete operation")
		}
	}

	err := d.DeleteClusterMember(name, c.flagForce)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "Member %s removed\n", name)
	}

	return err
}

func (c *cmdCluster) enableCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "enable [<remote>:] <name>",
		Short: "Enable clustering on a single non-clustered LXD server",
		Long: `Enable clustering on a single non-clustered LXD server

  This command turns a non-clustered LXD server into the first member of a new
  LXD cluster, which will have the given name.

  It's required that the LXD is already available on the network. You can check
  that by running 'lxc config get core.https_address', and possibly set a value
  for the address if not yet set.`,
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 1, 2)
		if exit {
			return err
		}

		remote, name := "", args[0]
		if len(args) == 2 {
			remote, name = args[0], args[1]
		}

		d, _, err := c.server(remote)
		if err != nil {
			return err
		}

		return clusterEnable(cmd, d, name)
	}

	return cmd
}

// clusterEnable turns a standalone server reachable on the network into the first member of a new cluster.
func clusterEnable(cmd *cobra.Command, d client.InstanceServer, name string) error {
	// The server refuses a server it cannot be reached at over the network; the 5.0.2 client leaves that check to it
	// (its own check compares the configuration's values, absent when unset, to "" and never refuses).
	current, etag, err := d.GetCluster()
	if err != nil {
		//lint:ignore ST1005 the message of LXD 5.0.2, capitalised as it is
		return fmt.Errorf("Failed to retrieve current cluster config: %w", err)
	}

	if current.Enabled {
		//lint:ignore ST1005 the message of LXD 5.0.2, capitalised as it is
		return errors.New("This LXD server is already clustered")
	}

	req := api.ClusterPut{}
	req.ServerName = name
	req.Enabled = true
	op, err := d.UpdateCluster(req, etag)
	if err != nil {
		//lint:ignore ST1005 the message of LXD 5.0.2, capitalised as it is
		return fmt.Errorf("Failed to configure cluster: %w", err)
	}

	err = op.Wait()
	if err != nil {
		//lint:ignore ST1005 the message of LXD 5.0.2, capitalised as it is
		return fmt.Errorf("Failed to configure cluster: %w", err)
	}

	_, err = fmt.Fprintln(cmd.OutOrStdout(), "Clustering enabled")
	return err
}

// clusterEditHeader is the comment above the YAML in the editor, as the stock client writes it.
const clusterEditHeader = `### This is a yaml representation of the cluster member.
### Any line starting with a '# will be ignored.

`

func (c *cmdCluster) edit(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	load := func() ([]byte, string, error) {
		member, etag, err := d.GetClusterMember(name)
		if err != nil {
			return nil, "", err
		}

		data, err := yamlMarshalStock(member.Writable())
		return data, etag, err
	}

	return editYAML(cmd, clusterEditHeader, load, func(put api.ClusterMemberPut, etag string) error {
		return d.UpdateClusterMember(name, put, etag)
	})
}

// add asks for a join token for a new member and prints it.
func (c *cmdCluster) add(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	op, err := d.CreateClusterMember(api.ClusterMembersPost{ServerName: name})
	if err != nil {
		return err
	}

	opAPI := op.Get()
	token, err := opAPI.ToClusterJoinToken()
	if err != nil {
		return fmt.Errorf("failed converting token operation to join token: %w", err)
	}

	out := cmd.OutOrStdout()
	if !c.global.flagQuiet {
		_, err = fmt.Fprintf(out, "Member %s join token:\n", name)
		if err != nil {
			return err
		}
	}

	_, err = fmt.Fprintln(out, token.String())
	return err
}

// joinTokenOperation is a pending cluster member join token and the operation holding it.
type joinTokenOperation struct {
	id    string
	token *api.ClusterMemberJoinToken
}

// clusterJoinTokens returns the pending join tokens of a clustered server: its running token operations whose
// metadata describes a join token. They live in the default project.
func clusterJoinTokens(d client.InstanceServer) ([]joinTokenOperation, error) {
	err := requireClustered(d)
	if err != nil {
		return nil, err
	}

	ops, err := d.UseProject("default").GetOperations()
	if err != nil {
		return nil, err
	}

	var tokens []joinTokenOperation
	for _, op := range ops {
		if op.Class != string(api.OperationClassToken) || op.StatusCode != api.Running {
			// A cancelled token that is not deleted yet cannot be used any more.
			continue
		}

		token, err := op.ToClusterJoinToken()
		if err != nil {
			// Other token operations (image secrets, certificate add tokens) are not join tokens.
			continue
		}

		tokens = append(tokens, joinTokenOperation{id: op.ID, token: token})
	}

	return tokens, nil
}

func (c *cmdCluster) listTokensCommand() *cobra.Command {
	return c.listingCommand("list-tokens [<remote>:]", "List all active cluster member join tokens", func(cmd *cobra.Command, d client.InstanceServer) error {
		tokens, err := clusterJoinTokens(d)
		if err != nil {
			return err
		}

		// json and yaml print these field names, as the stock client does.
		type displayJoinToken struct {
			ServerName string
			Token      string
			ExpiresAt  string
		}

		display := []displayJoinToken{}
		rows := [][]string{}
		for _, t := range tokens {
			expires := ""
			if timeIsSet(t.token.ExpiresAt) {
				expires = t.token.ExpiresAt.Format("2006/01/02 15:04 MST")
			}

			row := displayJoinToken{ServerName: t.token.ServerName, Token: t.token.String(), ExpiresAt: expires}
			display = append(display, row)
			rows = append(rows, []string{row.ServerName, row.Token, row.ExpiresAt})
		}

		sortRows(rows)
		return renderList(cmd.OutOrStdout(), c.flagFormat, []string{"NAME", "TOKEN", "EXPIRES AT"}, rows, display)
	})
}

func (c *cmdCluster) revokeTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke-token [<remote>:]<member>",
		Short: "Revoke cluster member join token",
		Long:  "Revoke cluster member join token",
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 1, 1)
		if exit {
			return err
		}

		remote, name, err := c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		tokens, err := clusterJoinTokens(d)
		if err != nil {
			return err
		}

		for _, t := range tokens {
			if t.token.ServerName != name {
				continue
			}

			err = d.DeleteOperation(t.id)
			if err != nil {
				return err
			}

			if !c.global.flagQuiet {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Cluster join token for %s:%s deleted\n", remote, name)
			}

			return err
		}

		return fmt.Errorf("no cluster join token for member %s on remote: %s", name, remote)
	}

	return cmd
}
