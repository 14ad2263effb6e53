package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdStorage is "lxc storage": storage pools, and their volumes under "lxc storage volume".
type cmdStorage struct {
	global *cmdGlobal

	// flagTarget is the cluster member of --target; off a cluster it is accepted and not used, as the stock client
	// does for the commands that do not check it.
	flagTarget string
}

func (c *cmdStorage) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Manage storage pools and volumes",
		Long:  "Manage storage pools and volumes",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Usage() },
	}

	cmd.AddCommand(c.sub("create [<remote>:]<pool> <driver> [key=value...]", "Create storage pools", 2, -1, true, c.create))
	cmd.AddCommand(c.sub("delete [<remote>:]<pool>", "Delete storage pools", 1, 1, false, c.delete))
	cmd.AddCommand(c.sub("edit [<remote>:]<pool>", "Edit storage pool configurations as YAML", 1, 1, false, c.edit))
	cmd.AddCommand(c.sub("get [<remote>:]<pool> <key>", "Get values for storage pool configuration keys", 2, 2, true, c.get))
	cmd.AddCommand(c.sub("set [<remote>:]<pool> <key> <value>", "Set storage pool configuration keys", 2, -1, true, c.set))
	cmd.AddCommand(c.sub("unset [<remote>:]<pool> <key>", "Unset storage pool configuration keys", 2, 2, true, c.unset))
	show := c.sub("show [<remote>:]<pool>", "Show storage pool configurations and resources", 1, 1, true, c.show)
	show.Flags().Bool("resources", false, "Show the resources available to the storage pool")
	cmd.AddCommand(show)
	info := c.sub("info [<remote>:]<pool>", "Show useful information about storage pools", 1, 1, true, c.info)
	info.Flags().Bool("bytes", false, "Show the used and free space in bytes")
	cmd.AddCommand(info)
	cmd.AddCommand((&cmdStorageList{storage: c}).command())
	cmd.AddCommand((&cmdStorageVolume{storage: c}).command())
	return cmd
}

// sub builds a pool subcommand taking between minArgs and maxArgs arguments (-1: no limit), the first naming the
// pool; target adds --target.
func (c *cmdStorage) sub(use string, short string, minArgs int, maxArgs int, target bool, run func(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: short}
	if strings.HasPrefix(use, "delete") {
		cmd.Aliases = []string{"rm"}
	}

	if target {
		cmd.Flags().StringVar(&c.flagTarget, "target", "", "Cluster member name")
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, minArgs, maxArgs)
		if exit {
			return err
		}

		d, pool, err := poolServer(c.global, args[0])
		if err != nil {
			return err
		}

		if cmd.Name() != "info" {
			err = checkTarget(d, c.flagTarget)
			if err != nil {
				return err
			}
		}

		return run(cmd, d, pool, args[1:])
	}

	return cmd
}

// poolServer connects to the remote of "[<remote>:]<pool>" and returns the pool name.
func poolServer(g *cmdGlobal, arg string) (client.InstanceServer, string, error) {
	remote, name, err := g.conf.ParseRemote(arg)
	if err != nil {
		return nil, "", err
	}

	if name == "" {
		return nil, "", errors.New("missing pool name")
	}

	d, err := g.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, name, nil
}

// checkTarget checks a --target: a server that is not clustered knows only the member "none", as the stock daemon
// answers; members of a cluster are not addressed by this client.
func checkTarget(d client.InstanceServer, target string) error {
	if target == "" || target == "none" {
		return nil
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	if !server.Environment.ServerClustered {
		return errors.New("cluster member not found")
	}

	return fmt.Errorf("cluster member %q: requests to a given cluster member are not supported", target)
}

// configPairs parses the "key=value" arguments of the create commands, refusing others as the stock client does.
func configPairs(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("bad key=value pair: [%s]", arg)
		}

		out[k] = v
	}

	return out, nil
}

// setPairs reads the arguments of the set commands: "<key>=<value>..." or, as before, one "<key> <value>".
func setPairs(args []string) (map[string]string, error) {
	if len(args) == 2 && !strings.Contains(args[0], "=") {
		return map[string]string{args[0]: args[1]}, nil
	}

	out := map[string]string{}
	for _, arg := range args {
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("invalid key=value configuration: %s", arg)
		}

		out[k] = v
	}

	return out, nil
}

func (c *cmdStorage) create(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	config, err := configPairs(args[1:])
	if err != nil {
		return err
	}

	err = d.CreateStoragePool(api.StoragePoolsPost{Name: pool, Driver: args[0], StoragePoolPut: api.StoragePoolPut{Config: config}})
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		if c.flagTarget != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "Storage pool %s pending on member %s\n", pool, c.flagTarget)
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "Storage pool %s created\n", pool)
		}
	}

	return nil
}

func (c *cmdStorage) delete(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	err := d.DeleteStoragePool(pool)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Storage pool %s deleted\n", pool)
	}

	return nil
}

const storagePoolEditHeader = `### This is a YAML representation of a storage pool.
### Any line starting with a '#' will be ignored.
###
### A storage pool consists of a set of configuration items.
###
### An example would look like:
### name: default
### driver: zfs
### used_by: []
### config:
###   size: "61203283968"
###   source: /home/chb/mnt/lxd_test/default.img
###   zfs.pool_name: default

`

func (c *cmdStorage) edit(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	load := func() ([]byte, string, error) {
		p, etag, err := d.GetStoragePool(pool)
		if err != nil {
			return nil, "", err
		}

		data, err := yamlMarshalStock(p)
		return data, etag, err
	}

	return editYAML(cmd, storagePoolEditHeader, load, func(put api.StoragePoolPut, etag string) error {
		return d.UpdateStoragePool(pool, put, etag)
	})
}

func (c *cmdStorage) get(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	p, _, err := d.GetStoragePool(pool)
	if err != nil {
		return err
	}

	v, ok := p.Config[args[0]]
	if ok {
		fmt.Fprintln(cmd.OutOrStdout(), v)
	}

	return nil
}

func (c *cmdStorage) set(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	pairs, err := setPairs(args)
	if err != nil {
		return err
	}

	return c.update(d, pool, pairs)
}

// update writes keys into the pool's configuration; an empty value removes the key. As the stock client, the
// change is sent without the ETag.
func (c *cmdStorage) update(d client.InstanceServer, pool string, pairs map[string]string) error {
	p, _, err := d.GetStoragePool(pool)
	if err != nil {
		return err
	}

	put := p.Writable()
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	for k, v := range pairs {
		put.Config[k] = v
	}

	return d.UpdateStoragePool(pool, put, "")
}

func (c *cmdStorage) unset(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	return c.update(d, pool, map[string]string{args[0]: ""})
}

func (c *cmdStorage) show(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	resources, _ := cmd.Flags().GetBool("resources")
	var v any
	if resources {
		res, err := d.GetStoragePoolResources(pool)
		if err != nil {
			return err
		}

		v = res
	} else {
		p, _, err := d.GetStoragePool(pool)
		if err != nil {
			return err
		}

		v = p
	}

	out, err := yamlMarshalStock(v)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// poolUsedBy groups the users of a pool by kind ("instances", "profiles", "volumes") as "lxc storage info" shows
// them: a volume or snapshot by its volume's name, "(project ...)" added for another project.
func poolUsedBy(usedBy []string) map[string][]string {
	out := map[string][]string{}
	for _, u := range usedBy {
		parsed, err := url.Parse(u)
		if err != nil {
			continue
		}

		fields := strings.Split(strings.TrimPrefix(parsed.Path, "/1.0/"), "/")
		kind, name := "unrecognized", parsed.Path
		if len(fields) > 1 {
			kind, name = fields[0], fields[1]
			if fields[0] == "storage-pools" && len(fields) > 3 {
				kind, name = fields[2], fields[3]
				if kind == "volumes" && len(fields) > 4 {
					name = fields[4]
				}
			}
		}

		project := parsed.Query().Get("project")
		if project != "" {
			name += fmt.Sprintf(" (project %q)", project)
		}

		out[kind] = append(out[kind], name)
	}

	return out
}

func (c *cmdStorage) info(cmd *cobra.Command, d client.InstanceServer, pool string, args []string) error {
	inBytes, _ := cmd.Flags().GetBool("bytes")
	if c.flagTarget != "" {
		// As the stock client, which checks this one command itself: any member, "none" too, needs a cluster.
		server, _, err := d.GetServer()
		if err != nil {
			return err
		}

		if !server.Environment.ServerClustered {
			return errors.New("to use --target, the destination remote must be a cluster")
		}
	}

	p, _, err := d.GetStoragePool(pool)
	if err != nil {
		return err
	}

	res, err := d.GetStoragePoolResources(pool)
	if err != nil {
		return err
	}

	total, used := byteSizeIEC(int64(res.Space.Total), 2), byteSizeIEC(int64(res.Space.Used), 2)
	if inBytes {
		total, used = strconv.FormatUint(res.Space.Total, 10), strconv.FormatUint(res.Space.Used, 10)
	}

	info := map[string]map[string]string{"info": {
		"name":        p.Name,
		"driver":      p.Driver,
		"description": p.Description,
		"total space": total,
		"space used":  used,
	}}

	for _, v := range []any{info, map[string]map[string][]string{"used by": poolUsedBy(p.UsedBy)}} {
		out, err := yamlMarshalStock(v)
		if err != nil {
			return err
		}

		_, err = cmd.OutOrStdout().Write(out)
		if err != nil {
			return err
		}
	}

	return nil
}

type cmdStorageList struct {
	storage *cmdStorage

	flagFormat string
}

func (c *cmdStorageList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List available storage pools",
		Long:    "List available storage pools",
		RunE:    c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

func (c *cmdStorageList) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 1)
	if exit {
		return err
	}

	conf := c.storage.global.conf
	remote := conf.DefaultRemote
	if len(args) == 1 {
		remote, _, err = conf.ParseRemote(args[0])
		if err != nil {
			return err
		}
	}

	d, err := conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	pools, err := d.GetStoragePools()
	if err != nil {
		return err
	}

	header, rows := storagePoolTable(pools, server.Environment.ServerClustered)
	return renderList(cmd.OutOrStdout(), c.flagFormat, header, rows, pools)
}

// storagePoolTable lays out "lxc storage list": the source column only off a cluster, rows sorted naturally.
func storagePoolTable(pools []api.StoragePool, clustered bool) ([]string, [][]string) {
	header := []string{"NAME", "DRIVER"}
	if !clustered {
		header = append(header, "SOURCE")
	}

	header = append(header, "DESCRIPTION", "USED BY", "STATE")
	rows := make([][]string, 0, len(pools))
	for _, p := range pools {
		row := []string{p.Name, p.Driver}
		if !clustered {
			row = append(row, p.Config["source"])
		}

		row = append(row, p.Description, strconv.Itoa(len(p.UsedBy)), strings.ToUpper(p.Status))
		rows = append(rows, row)
	}

	sortRows(rows)
	return header, rows
}
