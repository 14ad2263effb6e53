package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

type cmdOperation struct {
	global *cmdGlobal
}

func (c *cmdOperation) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operation",
		Short: "List, show and delete background operations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand((&cmdOperationList{global: c.global}).command())
	cmd.AddCommand((&cmdOperationShow{global: c.global}).command())
	cmd.AddCommand((&cmdOperationDelete{global: c.global}).command())
	return cmd
}

// parseOperationArg splits "[remote:]<id>" and refuses an empty id.
func (g *cmdGlobal) parseOperationArg(arg string) (string, string, error) {
	remote, id, err := g.conf.ParseRemote(arg)
	if err != nil {
		return "", "", err
	}

	if id == "" {
		return "", "", fmt.Errorf("missing operation id")
	}

	return remote, id, nil
}

type cmdOperationList struct {
	global     *cmdGlobal
	flagFormat string
}

func (c *cmdOperationList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List background operations",
		Args:    cobra.MaximumNArgs(1),
		RunE:    c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", "table", "Format (csv|json|table|yaml)")
	return cmd
}

func (c *cmdOperationList) run(cmd *cobra.Command, args []string) error {
	remote := c.global.conf.DefaultRemote
	if len(args) == 1 {
		var name string
		var err error
		remote, name, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if name != "" {
			return fmt.Errorf("invalid remote %q: expected <remote>:", args[0])
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	ops, err := d.GetOperations()
	if err != nil {
		return err
	}

	header := []string{"ID", "TYPE", "DESCRIPTION", "STATUS", "CANCELABLE", "CREATED"}
	rows := make([][]string, 0, len(ops))
	for _, op := range ops {
		cancelable := "NO"
		if op.MayCancel {
			cancelable = "YES"
		}

		rows = append(rows, []string{
			op.ID,
			strings.ToUpper(op.Class),
			op.Description,
			strings.ToUpper(op.Status),
			cancelable,
			op.CreatedAt.UTC().Format("2006/01/02 15:04 UTC"),
		})
	}

	return renderOperationList(os.Stdout, c.flagFormat, header, rows, ops)
}

// renderOperationList prints rows as a bordered table or CSV, or data as JSON or YAML.
func renderOperationList(w io.Writer, format string, header []string, rows [][]string, data any) error {
	switch format {
	case "table":
		writeOperationTable(w, header, rows)
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		err := cw.WriteAll(rows)
		if err != nil {
			return err
		}

		return cw.Error()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(data)
	case "yaml":
		out, err := yaml.Marshal(data)
		if err != nil {
			return err
		}

		_, err = w.Write(out)
		return err
	}

	return fmt.Errorf("invalid format %q", format)
}

// writeOperationTable prints a bordered table with centred headers, as LXD's lists look.
func writeOperationTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}

	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}

	sep := "+"
	for _, wd := range widths {
		sep += strings.Repeat("-", wd+2) + "+"
	}

	line := func(cells []string, centre bool) string {
		out := "|"
		for i, cell := range cells {
			pad := widths[i] - utf8.RuneCountInString(cell)
			left := 0
			if centre {
				left = pad / 2
			}

			out += " " + strings.Repeat(" ", left) + cell + strings.Repeat(" ", pad-left) + " |"
		}

		return out
	}

	fmt.Fprintln(w, sep)
	fmt.Fprintln(w, line(header, true))
	fmt.Fprintln(w, sep)
	for _, row := range rows {
		fmt.Fprintln(w, line(row, false))
	}

	if len(rows) > 0 {
		fmt.Fprintln(w, sep)
	}
}

type cmdOperationShow struct {
	global *cmdGlobal
}

func (c *cmdOperationShow) command() *cobra.Command {
	return &cobra.Command{
		Use:   "show [<remote>:]<operation>",
		Short: "Show details of a background operation",
		Args:  cobra.ExactArgs(1),
		RunE:  c.run,
	}
}

func (c *cmdOperationShow) run(cmd *cobra.Command, args []string) error {
	remote, id, err := c.global.parseOperationArg(args[0])
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	op, _, err := d.GetOperation(id)
	if err != nil {
		return err
	}

	out, err := yaml.Marshal(op)
	if err != nil {
		return err
	}

	fmt.Print(string(out))
	return nil
}

type cmdOperationDelete struct {
	global *cmdGlobal
}

func (c *cmdOperationDelete) command() *cobra.Command {
	return &cobra.Command{
		Use:     "delete [<remote>:]<operation>",
		Aliases: []string{"cancel", "rm"},
		Short:   "Cancel a background operation",
		Args:    cobra.ExactArgs(1),
		RunE:    c.run,
	}
}

func (c *cmdOperationDelete) run(cmd *cobra.Command, args []string) error {
	remote, id, err := c.global.parseOperationArg(args[0])
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	err = d.DeleteOperation(id)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Printf("Operation %s deleted\n", id)
	}

	return nil
}
