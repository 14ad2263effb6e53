package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/shared/api"
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

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
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
			return fmt.Errorf("invalid remote %q: use %q", args[0], remote+":")
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

	return renderList(cmd.OutOrStdout(), c.flagFormat, operationListHeader, operationRows(ops), ops)
}

// operationListHeader is the header of "lxc operation list".
var operationListHeader = []string{"ID", "TYPE", "DESCRIPTION", "STATUS", "CANCELABLE", "CREATED"}

// operationRows are the rows of "lxc operation list".
func operationRows(ops []api.Operation) [][]string {
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

	return rows
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
