package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdWarning struct {
	global *cmdGlobal
}

func (c *cmdWarning) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warning",
		Short: "Manage warnings",
		Long:  "Manage warnings",
		// As the stock client: a stray word is an unknown command, no word at all prints the usage.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Usage()
		},
	}

	cmd.AddCommand((&cmdWarningList{global: c.global}).command())
	cmd.AddCommand((&cmdWarningAcknowledge{global: c.global}).command())
	cmd.AddCommand((&cmdWarningShow{global: c.global}).command())
	cmd.AddCommand((&cmdWarningDelete{global: c.global}).command())
	return cmd
}

// warningServer connects to the remote of "[<remote>:]<warning-uuid>" and returns the UUID.
func warningServer(g *cmdGlobal, arg string) (client.InstanceServer, string, error) {
	remote, uuid, err := g.remoteName(arg, "warning UUID")
	if err != nil {
		return nil, "", err
	}

	d, err := g.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, uuid, nil
}

// defaultWarningColumns is the stock client's column layout of "lxc warning list".
const defaultWarningColumns = "utSscpLl"

// warningTime is how the stock client shows the time of a warning.
func warningTime(w api.Warning, last bool) string {
	t := w.FirstSeenAt
	if last {
		t = w.LastSeenAt
	}

	return t.UTC().Format("Jan 2, 2006 at 3:04pm (MST)")
}

// warningColumn is one column of "lxc warning list".
type warningColumn struct {
	name string
	data func(w api.Warning) string
}

// warningColumns are the columns of "lxc warning list" by shorthand character; L (location) only on a cluster.
var warningColumns = map[rune]warningColumn{
	'c': {"COUNT", func(w api.Warning) string { return strconv.Itoa(w.Count) }},
	'f': {"FIRST SEEN", func(w api.Warning) string { return warningTime(w, false) }},
	'l': {"LAST SEEN", func(w api.Warning) string { return warningTime(w, true) }},
	'L': {"LOCATION", func(w api.Warning) string { return w.Location }},
	'p': {"PROJECT", func(w api.Warning) string { return w.Project }},
	's': {"SEVERITY", func(w api.Warning) string { return strings.ToUpper(w.Severity) }},
	'S': {"STATUS", func(w api.Warning) string { return strings.ToUpper(w.Status) }},
	't': {"TYPE", func(w api.Warning) string { return w.Type }},
	'u': {"UUID", func(w api.Warning) string { return w.UUID }},
}

// parseWarningColumns reads a -c value. Off a cluster the location column is dropped from the default layout and
// refused when asked for.
func parseWarningColumns(spec string, clustered bool) ([]warningColumn, error) {
	if !clustered {
		if spec != defaultWarningColumns && strings.ContainsRune(spec, 'L') {
			return nil, errors.New("can't specify column L when not clustered")
		}

		spec = strings.ReplaceAll(spec, "L", "")
	}

	var columns []warningColumn
	for _, entry := range strings.Split(spec, ",") {
		if entry == "" {
			return nil, fmt.Errorf("empty column entry (redundant, leading or trailing command) in '%s'", spec)
		}

		for _, r := range entry {
			col, ok := warningColumns[r]
			if !ok {
				return nil, fmt.Errorf("unknown column shorthand char '%c' in '%s'", r, entry)
			}

			columns = append(columns, col)
		}
	}

	return columns, nil
}

type cmdWarningList struct {
	global      *cmdGlobal
	flagColumns string
	flagFormat  string
	flagAll     bool
}

func (c *cmdWarningList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List warnings",
		Long: `List warnings

The -c option takes a (optionally comma-separated) list of arguments
that control which warning attributes to output when displaying in table
or csv format.

Default column layout is: utSscpLl

Column shorthand chars:

    c - Count
    l - Last seen
    L - Location
    f - First seen
    p - Project
    s - Severity
    S - Status
    u - UUID
    t - Type`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagColumns, "columns", "c", defaultWarningColumns, "Columns")
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	cmd.Flags().BoolVarP(&c.flagAll, "all", "a", false, "List all warnings")
	return cmd
}

func (c *cmdWarningList) run(cmd *cobra.Command, args []string) error {
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
			return fmt.Errorf("invalid remote %q: use %q", args[0], remote+":")
		}
	}

	switch c.flagFormat {
	case formatTable, formatCompact, formatCSV, formatJSON, formatYAML:
	default:
		return fmt.Errorf("invalid format %q", c.flagFormat)
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	columns, err := parseWarningColumns(c.flagColumns, server.Environment.ServerClustered)
	if err != nil {
		return err
	}

	all, err := d.GetWarnings()
	if err != nil {
		return err
	}

	warnings := visibleWarnings(all, c.flagAll)
	header, rows := warningTable(warnings, columns)
	return renderList(cmd.OutOrStdout(), c.flagFormat, header, rows, warnings)
}

// visibleWarnings keeps what "lxc warning list" shows: acknowledged and resolved warnings only with --all.
func visibleWarnings(all []api.Warning, showAll bool) []api.Warning {
	out := []api.Warning{}
	for _, w := range all {
		if showAll || (w.Status != api.WarningStatusAcknowledged && w.Status != api.WarningStatusResolved) {
			out = append(out, w)
		}
	}

	return out
}

// warningTable returns the header and the sorted rows of "lxc warning list".
func warningTable(warnings []api.Warning, columns []warningColumn) ([]string, [][]string) {
	header := make([]string, 0, len(columns))
	for _, col := range columns {
		header = append(header, col.name)
	}

	rows := make([][]string, 0, len(warnings))
	for _, w := range warnings {
		row := make([]string, 0, len(columns))
		for _, col := range columns {
			row = append(row, col.data(w))
		}

		rows = append(rows, row)
	}

	sortRows(rows)
	return header, rows
}

type cmdWarningAcknowledge struct {
	global *cmdGlobal
}

func (c *cmdWarningAcknowledge) command() *cobra.Command {
	return &cobra.Command{
		Use:     "acknowledge [<remote>:]<warning-uuid>",
		Aliases: []string{"ack"},
		Short:   "Acknowledge warning",
		Long:    "Acknowledge warning",
		RunE:    c.run,
	}
}

func (c *cmdWarningAcknowledge) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, uuid, err := warningServer(c.global, args[0])
	if err != nil {
		return err
	}

	return d.UpdateWarning(uuid, api.WarningPut{Status: api.WarningStatusAcknowledged}, "")
}

type cmdWarningShow struct {
	global *cmdGlobal
}

func (c *cmdWarningShow) command() *cobra.Command {
	return &cobra.Command{
		Use:   "show [<remote>:]<warning-uuid>",
		Short: "Show warning",
		Long:  "Show warning",
		RunE:  c.run,
	}
}

func (c *cmdWarningShow) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, uuid, err := warningServer(c.global, args[0])
	if err != nil {
		return err
	}

	w, _, err := d.GetWarning(uuid)
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(w)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

type cmdWarningDelete struct {
	global  *cmdGlobal
	flagAll bool
}

func (c *cmdWarningDelete) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete [<remote>:]<warning-uuid>",
		Aliases: []string{"rm"},
		Short:   "Delete warning",
		Long:    "Delete warning",
		RunE:    c.run,
	}

	cmd.Flags().BoolVarP(&c.flagAll, "all", "a", false, "Delete all warnings")
	return cmd
}

// run deletes one warning, or with --all every warning of the remote ("[<remote>:]").
func (c *cmdWarningDelete) run(cmd *cobra.Command, args []string) error {
	if !c.flagAll {
		exit, err := checkArgs(cmd, args, 1, 1)
		if exit {
			return err
		}

		d, uuid, err := warningServer(c.global, args[0])
		if err != nil {
			return err
		}

		return d.DeleteWarning(uuid)
	}

	if len(args) > 1 {
		return errors.New("invalid number of arguments")
	}

	remote := c.global.conf.DefaultRemote
	if len(args) == 1 {
		var uuid string
		var err error
		remote, uuid, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if uuid != "" {
			return errors.New("--all takes no warning UUID")
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	uuids, err := d.GetWarningUUIDs()
	if err != nil {
		return err
	}

	for _, uuid := range uuids {
		err = d.DeleteWarning(uuid)
		if err != nil && !api.StatusErrorCheck(err, 404) {
			return err
		}
	}

	return nil
}
