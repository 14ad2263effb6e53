package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdList struct {
	global *cmdGlobal

	flagColumns     string
	flagFormat      string
	flagFast        bool
	flagAllProjects bool
}

// defaultListColumns are LXD's: name, state, IPv4, IPv6, type, snapshots and, in a cluster, location.
const defaultListColumns = "ns46tSL"

// fastListColumns are the columns of --fast: name, state, architecture, creation date, profiles, type.
const fastListColumns = "nsacPt"

func (c *cmdList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:] [<filter>...]",
		Aliases: []string{"ls"},
		Short:   "List instances",
		Long: `List instances

Default column layout: ns46tS
Fast column layout: nsacPt

Filters are instance name prefixes or regular expressions (matched here), or key=value pairs on instance fields
and configuration keys (matched by the server, as "status=running" or "config.image.os=busybox").

== Columns ==
The -c option takes a comma separated list of arguments that control
which instance attributes to output when displaying in table or csv
format.

Column arguments are either pre-defined shorthand chars (see below),
or (extended) config keys.

Commas between consecutive shorthand chars are optional.

Pre-defined column shorthand chars:
  4 - IPv4 address
  6 - IPv6 address
  a - Architecture
  b - Storage pool
  c - Creation date
  d - Description
  D - disk usage
  e - Project name
  l - Last used date
  m - Memory usage
  M - Memory usage (%)
  n - Name
  N - Number of Processes
  p - PID of the instance's init process
  P - Profiles
  s - State
  S - Number of snapshots
  t - Type (persistent or ephemeral)
  u - CPU usage (in seconds)
  L - Location of the instance (e.g. its cluster member)
  f - Base Image Fingerprint (short)
  F - Base Image Fingerprint (long)

Custom columns are defined with "[config:|devices:]key[:name][:maxWidth]":
  KEY: The (extended) config or devices key to display. If [config:|devices:] is omitted then it defaults to config key.
  NAME: Name to display in the column header.
  Defaults to the key if not specified or empty.

  MAXWIDTH: Max width of the column (longer results are truncated).
  Defaults to -1 (unlimited). Use 0 to limit to the column header size.`,
		Example: `  lxc list -c nFs46,volatile.eth0.hwaddr:MAC,config:image.os,devices:eth0.parent:ETHP
    Show instances using the "NAME", "BASE IMAGE", "STATE", "IPV4", "IPV6" and "MAC" columns.
    "BASE IMAGE", "MAC" and "IMAGE OS" are custom columns generated from instance configuration keys.
    "ETHP" is a custom column generated from a device key.

  lxc list -c ns,user.comment:comment
    List instances with their running state and user comment.`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagColumns, "columns", "c", defaultListColumns, "Columns")
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	cmd.Flags().BoolVar(&c.flagFast, "fast", false, "Fast mode (same as --columns="+fastListColumns+")")
	cmd.Flags().BoolVar(&c.flagAllProjects, "all-projects", false, "Display instances from all projects")
	return cmd
}

// addresses lists the global addresses of one family, "addr (iface)" per line, loopback excluded.
func addresses(inst api.InstanceFull, family string) string {
	if inst.State == nil {
		return ""
	}

	var out []string
	for iface, n := range inst.State.Network {
		if n.Type == "loopback" {
			continue
		}

		for _, a := range n.Addresses {
			if a.Family == family && a.Scope == "global" {
				out = append(out, fmt.Sprintf("%s (%s)", a.Address, iface))
			}
		}
	}

	sort.Strings(out)
	return strings.Join(out, "\n")
}

// matchName tells whether an instance name matches a client-side filter: a prefix or a regular expression.
func matchName(name string, filter string) bool {
	if strings.HasPrefix(name, filter) {
		return true
	}

	re, err := regexp.Compile("^" + filter + "$")
	return err == nil && re.MatchString(name)
}

func (c *cmdList) run(cmd *cobra.Command, args []string) error {
	remote := c.global.conf.DefaultRemote
	var filters []string
	for i, a := range args {
		if i == 0 && strings.HasSuffix(a, ":") {
			r, _, err := c.global.conf.ParseRemote(a)
			if err != nil {
				return err
			}

			remote = r
			continue
		}

		filters = append(filters, a)
	}

	var serverFilters, nameFilters []string
	for _, f := range filters {
		if strings.Contains(f, "=") {
			serverFilters = append(serverFilters, f)
		} else {
			nameFilters = append(nameFilters, f)
		}
	}

	spec := c.flagColumns
	isDefault := !cmd.Flags().Changed("columns")
	if c.flagFast {
		if !isDefault {
			return errors.New("can't specify --fast with --columns")
		}

		spec, isDefault = fastListColumns, false
	}

	if c.flagAllProjects && c.global.flagProject != "" {
		return errors.New("can't specify --project with --all-projects")
	}

	// Across projects, the default layout starts with the project, as the stock client's does.
	if c.flagAllProjects && isDefault {
		spec = "e" + spec
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	clustered := false
	if strings.ContainsRune(spec, 'L') {
		srv, _, err := d.GetServer()
		if err != nil {
			return err
		}

		clustered = srv.Environment.ServerClustered
	}

	cols, err := parseListColumns(spec, clustered, isDefault)
	if err != nil {
		return err
	}

	insts, err := c.instances(d, cols, serverFilters)
	if err != nil {
		return err
	}

	kept := []api.InstanceFull{}
	for _, inst := range insts {
		ok := true
		for _, f := range nameFilters {
			if !matchName(inst.Name, f) {
				ok = false
				break
			}
		}

		if ok {
			kept = append(kept, inst)
		}
	}

	sort.Slice(kept, func(i, j int) bool { return kept[i].Name < kept[j].Name })
	header, rows := listRows(kept, cols)
	return renderList(cmd.OutOrStdout(), c.flagFormat, header, rows, kept)
}

// listRows returns the header and the rows of the table of insts, rows sorted as the stock client sorts them: by
// the columns in order, naturally.
func listRows(insts []api.InstanceFull, cols []listColumn) ([]string, [][]string) {
	header := make([]string, 0, len(cols))
	for _, col := range cols {
		header = append(header, col.header)
	}

	rows := make([][]string, 0, len(insts))
	for _, inst := range insts {
		row := make([]string, 0, len(cols))
		for _, col := range cols {
			row = append(row, col.value(inst))
		}

		rows = append(rows, row)
	}

	sortRows(rows)
	return header, rows
}

// instances fetches the instances: with their state and snapshots when a column or the format needs them, without
// (one cheaper request) otherwise.
func (c *cmdList) instances(d client.InstanceServer, cols []listColumn, serverFilters []string) ([]api.InstanceFull, error) {
	full := len(serverFilters) > 0 || (c.flagFormat != formatTable && c.flagFormat != formatCompact &&
		c.flagFormat != formatCSV)
	for _, col := range cols {
		full = full || col.needsState || col.needsSnapshots
	}

	if c.flagAllProjects {
		return instancesAllProjects(d, full, serverFilters)
	}

	if full {
		return d.GetInstancesFull(serverFilters)
	}

	insts, err := d.GetInstances()
	if err != nil {
		return nil, err
	}

	out := make([]api.InstanceFull, 0, len(insts))
	for _, inst := range insts {
		out = append(out, api.InstanceFull{Instance: inst})
	}

	return out, nil
}

// instancesAllProjects fetches the instances of every project (API extension instance_all_projects), with their
// state and snapshots when full is set.
func instancesAllProjects(d client.InstanceServer, full bool, serverFilters []string) ([]api.InstanceFull, error) {
	if !d.HasExtension("instance_all_projects") {
		return nil, errors.New(`the server is missing the required "instance_all_projects" API extension`)
	}

	v := url.Values{}
	v.Set("all-projects", "true")
	v.Set("recursion", "1")
	if full {
		v.Set("recursion", "2")
		v.Set("filter", listFilter(serverFilters))
	}

	resp, _, err := d.RawQuery(http.MethodGet, "/1.0/instances?"+v.Encode(), nil, "")
	if err != nil {
		return nil, err
	}

	out := []api.InstanceFull{}
	err = resp.MetadataAsStruct(&out)
	if err != nil {
		return nil, err
	}

	return out, nil
}

// listFilter turns key=value filters into the API's filter expression, as the client library sends them.
func listFilter(filters []string) string {
	parts := make([]string, 0, len(filters))
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}

		if strings.ContainsAny(v, " \t") {
			v = fmt.Sprintf("%q", v)
		}

		parts = append(parts, k+" eq "+v)
	}

	return strings.Join(parts, " and ")
}
