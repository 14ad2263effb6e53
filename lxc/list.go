package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdList struct {
	global *cmdGlobal

	flagColumns string
	flagFormat  string
}

// defaultListColumns are LXD's: name, state, IPv4, IPv6, type, snapshots.
const defaultListColumns = "ns46tS"

func (c *cmdList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:] [<filter>...]",
		Aliases: []string{"ls"},
		Short:   "List instances",
		Long: `List instances

Filters are instance name prefixes or regular expressions (matched here), or key=value pairs on instance fields
and configuration keys (matched by the server, as "status=running" or "config.image.os=busybox").

Columns (-c): n name, s state, 4 IPv4, 6 IPv6, t type, S snapshots, a architecture, c creation date,
l last use, p PID, P profiles, d description, e ephemeral.`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagColumns, "columns", "c", defaultListColumns, "Columns")
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

// listColumn is one column of lxc list.
type listColumn struct {
	header string
	value  func(inst api.InstanceFull) string
}

var listColumns = map[rune]listColumn{
	'n': {"NAME", func(i api.InstanceFull) string { return i.Name }},
	's': {"STATE", func(i api.InstanceFull) string { return strings.ToUpper(i.Status) }},
	'4': {"IPV4", func(i api.InstanceFull) string { return addresses(i, "inet") }},
	'6': {"IPV6", func(i api.InstanceFull) string { return addresses(i, "inet6") }},
	't': {"TYPE", func(i api.InstanceFull) string {
		t := strings.ToUpper(i.Type)
		if i.Ephemeral {
			t += " (EPHEMERAL)"
		}

		return t
	}},
	'S': {"SNAPSHOTS", func(i api.InstanceFull) string { return fmt.Sprint(len(i.Snapshots)) }},
	'a': {"ARCHITECTURE", func(i api.InstanceFull) string { return i.Architecture }},
	'c': {"CREATED AT", func(i api.InstanceFull) string { return i.CreatedAt.UTC().Format("2006/01/02 15:04 MST") }},
	'l': {"LAST USED AT", func(i api.InstanceFull) string {
		if i.LastUsedAt.IsZero() || i.LastUsedAt.Year() < 2000 {
			return ""
		}

		return i.LastUsedAt.UTC().Format("2006/01/02 15:04 MST")
	}},
	'p': {"PID", func(i api.InstanceFull) string {
		if i.State == nil || i.State.Pid == 0 {
			return ""
		}

		return fmt.Sprint(i.State.Pid)
	}},
	'P': {"PROFILES", func(i api.InstanceFull) string { return strings.Join(i.Profiles, "\n") }},
	'd': {"DESCRIPTION", func(i api.InstanceFull) string { return i.Description }},
	'e': {"EPHEMERAL", func(i api.InstanceFull) string { return yesNo(i.Ephemeral) }},
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

	cols := make([]listColumn, 0, len(c.flagColumns))
	for _, r := range strings.ReplaceAll(c.flagColumns, ",", "") {
		col, ok := listColumns[r]
		if !ok {
			return fmt.Errorf("unknown column shorthand char '%c' in '%s'", r, c.flagColumns)
		}

		cols = append(cols, col)
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	insts, err := d.GetInstancesFull(serverFilters)
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
	header := make([]string, 0, len(cols))
	for _, col := range cols {
		header = append(header, col.header)
	}

	rows := make([][]string, 0, len(kept))
	for _, inst := range kept {
		row := make([]string, 0, len(cols))
		for _, col := range cols {
			row = append(row, col.value(inst))
		}

		rows = append(rows, row)
	}

	return renderTable(cmd.OutOrStdout(), c.flagFormat, header, rows, kept)
}
