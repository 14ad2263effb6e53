package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type cmdAlias struct {
	global *cmdGlobal
}

func (c *cmdAlias) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Manage command aliases",
		Long: `Manage command aliases

An alias stands for the words of a command line: "lxc <alias> <args>" runs "lxc <target> <args>". In the target,
@ARGS@ stands for the arguments (which are then not added at the end) and @ARG1@, @ARG2@... for one of them each
(left out of @ARGS@). A target starting with "/" runs that program instead of lxc. Aliases are kept in config.yml;
"shell" ("exec @ARGS@ -- su -l") is built in.`,
		// As the stock client: a stray word is an unknown command, no word at all prints the usage.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Usage()
		},
	}

	cmd.AddCommand((&cmdAliasAdd{global: c.global}).command())
	cmd.AddCommand((&cmdAliasList{global: c.global}).command())
	cmd.AddCommand((&cmdAliasRename{global: c.global}).command())
	cmd.AddCommand((&cmdAliasRemove{global: c.global}).command())
	return cmd
}

type cmdAliasAdd struct {
	global *cmdGlobal
}

func (c *cmdAliasAdd) command() *cobra.Command {
	return &cobra.Command{
		Use:   "add <alias> <target>",
		Short: "Add new aliases",
		Example: `  lxc alias add list "list -c ns46S"
      Overwrite the "list" command to pass -c ns46S.`,
		RunE: c.run,
	}
}

func (c *cmdAliasAdd) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	conf := c.global.conf
	_, ok := conf.Aliases[args[0]]
	if ok {
		return fmt.Errorf("alias %s already exists", args[0])
	}

	conf.Aliases[args[0]] = args[1]
	return conf.Save()
}

type cmdAliasList struct {
	global     *cmdGlobal
	flagFormat string
}

func (c *cmdAliasList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List aliases",
		RunE:    c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

func (c *cmdAliasList) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 0)
	if exit {
		return err
	}

	aliases := c.global.conf.Aliases
	data := [][]string{}
	for name, target := range aliases {
		data = append(data, []string{name, target})
	}

	sortRows(data)
	return renderList(cmd.OutOrStdout(), c.flagFormat, []string{"ALIAS", "TARGET"}, data, aliases)
}

type cmdAliasRename struct {
	global *cmdGlobal
}

func (c *cmdAliasRename) command() *cobra.Command {
	return &cobra.Command{
		Use:     "rename <old alias> <new alias>",
		Aliases: []string{"mv"},
		Short:   "Rename aliases",
		Example: `  lxc alias rename list my-list
      Rename existing alias "list" to "my-list".`,
		RunE: c.run,
	}
}

func (c *cmdAliasRename) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	conf := c.global.conf
	target, ok := conf.Aliases[args[0]]
	if !ok {
		return fmt.Errorf("alias %s doesn't exist", args[0])
	}

	_, ok = conf.Aliases[args[1]]
	if ok {
		return fmt.Errorf("alias %s already exists", args[1])
	}

	conf.Aliases[args[1]] = target
	delete(conf.Aliases, args[0])
	return conf.Save()
}

type cmdAliasRemove struct {
	global *cmdGlobal
}

func (c *cmdAliasRemove) command() *cobra.Command {
	return &cobra.Command{
		Use:     "remove <alias>",
		Aliases: []string{"rm"},
		Short:   "Remove aliases",
		Example: `  lxc alias remove my-list
      Remove the "my-list" alias.`,
		RunE: c.run,
	}
}

func (c *cmdAliasRemove) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	conf := c.global.conf
	_, ok := conf.Aliases[args[0]]
	if !ok {
		return fmt.Errorf("alias %s doesn't exist", args[0])
	}

	delete(conf.Aliases, args[0])
	return conf.Save()
}
