package main

import (
	"bytes"
	"io"

	"github.com/spf13/cobra"
)

type cmdConfigTemplate struct {
	global *cmdGlobal

	flagFormat string
}

func (c *cmdConfigTemplate) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Manage instance file templates",
		Long:  "Manage instance file templates",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	list := &cobra.Command{
		Use:     "list [<remote>:]<instance>",
		Aliases: []string{"ls"},
		Short:   "List instance file templates",
		RunE:    c.runList,
	}

	list.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	cmd.AddCommand(list)
	cmd.AddCommand(&cobra.Command{
		Use:   "show [<remote>:]<instance> <template>",
		Short: "Show content of instance file templates",
		RunE:  c.runShow,
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "create [<remote>:]<instance> <template>",
		Short: "Create new instance file templates",
		Long: `Create new instance file templates

The content is read from the input when it is not a terminal; otherwise the template is created empty and opened
in the text editor.
    lxc config template create c1 hostname.tpl < hostname.tpl`,
		RunE: c.runCreate,
	})

	cmd.AddCommand(&cobra.Command{
		Use:   "edit [<remote>:]<instance> <template>",
		Short: "Edit instance file templates",
		RunE:  c.runEdit,
	})

	cmd.AddCommand(&cobra.Command{
		Use:     "delete [<remote>:]<instance> <template>",
		Aliases: []string{"rm"},
		Short:   "Delete instance file templates",
		RunE:    c.runDelete,
	})

	return cmd
}

func (c *cmdConfigTemplate) runList(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	names, err := d.GetInstanceTemplateFiles(name)
	if err != nil {
		return err
	}

	rows := make([][]string, 0, len(names))
	for _, n := range names {
		rows = append(rows, []string{n})
	}

	return renderTable(cmd.OutOrStdout(), c.flagFormat, []string{"FILENAME"}, rows, names)
}

func (c *cmdConfigTemplate) runShow(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	content, err := d.GetInstanceTemplateFile(name, args[1])
	if err != nil {
		return err
	}

	defer func() { _ = content.Close() }()
	_, err = io.Copy(cmd.OutOrStdout(), content)
	return err
}

func (c *cmdConfigTemplate) runCreate(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	interactive := readerIsTerminal(cmd.InOrStdin())
	var data []byte
	if !interactive {
		data, err = io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return err
		}
	}

	err = d.CreateInstanceTemplateFile(name, args[1], bytes.NewReader(data))
	if err != nil {
		return err
	}

	if interactive {
		return c.runEdit(cmd, args)
	}

	return nil
}

func (c *cmdConfigTemplate) runEdit(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	if !readerIsTerminal(cmd.InOrStdin()) {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return err
		}

		return d.UpdateInstanceTemplateFile(name, args[1], bytes.NewReader(data))
	}

	content, err := d.GetInstanceTemplateFile(name, args[1])
	if err != nil {
		return err
	}

	data, err := io.ReadAll(content)
	_ = content.Close()
	if err != nil {
		return err
	}

	return editUntilApplied(cmd, data, func(edited []byte) error {
		return d.UpdateInstanceTemplateFile(name, args[1], bytes.NewReader(edited))
	})
}

func (c *cmdConfigTemplate) runDelete(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	return d.DeleteInstanceTemplateFile(name, args[1])
}
