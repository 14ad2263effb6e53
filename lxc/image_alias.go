package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdImageAlias struct {
	global *cmdGlobal
}

func (c *cmdImageAlias) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Manage image aliases",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}

	cmd.AddCommand((&cmdImageAliasCreate{global: c.global}).command())
	cmd.AddCommand((&cmdImageAliasDelete{global: c.global}).command())
	cmd.AddCommand((&cmdImageAliasList{global: c.global}).command())
	cmd.AddCommand((&cmdImageAliasRename{global: c.global}).command())
	return cmd
}

// aliasTarget parses "[<remote>:]<alias>" and connects to the remote.
func (g *cmdGlobal) aliasTarget(arg string) (client.InstanceServer, string, error) {
	remote, name, err := g.remoteName(arg, "alias name")
	if err != nil {
		return nil, "", err
	}

	d, err := g.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, name, nil
}

type cmdImageAliasCreate struct {
	global *cmdGlobal
}

func (c *cmdImageAliasCreate) command() *cobra.Command {
	return &cobra.Command{
		Use:   "create [<remote>:]<alias> <fingerprint>",
		Short: "Create aliases for existing images",
		RunE:  c.run,
	}
}

func (c *cmdImageAliasCreate) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := c.global.aliasTarget(args[0])
	if err != nil {
		return err
	}

	// The target goes as typed: the server expands a fingerprint prefix.
	alias := api.ImageAliasesPost{}
	alias.Name = name
	alias.Target = args[1]
	return d.CreateImageAlias(alias)
}

type cmdImageAliasDelete struct {
	global *cmdGlobal
}

func (c *cmdImageAliasDelete) command() *cobra.Command {
	return &cobra.Command{
		Use:     "delete [<remote>:]<alias>",
		Aliases: []string{"rm"},
		Short:   "Delete image aliases",
		RunE:    c.run,
	}
}

func (c *cmdImageAliasDelete) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 1)
	if exit {
		return err
	}

	d, name, err := c.global.aliasTarget(args[0])
	if err != nil {
		return err
	}

	return d.DeleteImageAlias(name)
}

type cmdImageAliasRename struct {
	global *cmdGlobal
}

func (c *cmdImageAliasRename) command() *cobra.Command {
	return &cobra.Command{
		Use:     "rename [<remote>:]<alias> <new-name>",
		Aliases: []string{"mv"},
		Short:   "Rename aliases",
		RunE:    c.run,
	}
}

func (c *cmdImageAliasRename) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	d, name, err := c.global.aliasTarget(args[0])
	if err != nil {
		return err
	}

	return d.RenameImageAlias(name, api.ImageAliasesEntryPost{Name: args[1]})
}

type cmdImageAliasList struct {
	global     *cmdGlobal
	flagFormat string
}

func (c *cmdImageAliasList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:] [<filters>...]",
		Aliases: []string{"ls"},
		Short:   "List image aliases",
		Long: `List image aliases

Filters may be part of the image hash or part of the image alias name.`,
		RunE: c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

// aliasMatches reports whether an alias matches any of the filters (part of its name or of its target), or there
// are no filters.
func aliasMatches(alias api.ImageAliasesEntry, filters []string) bool {
	if len(filters) == 0 {
		return true
	}

	for _, f := range filters {
		if strings.Contains(alias.Name, f) || strings.Contains(alias.Target, f) {
			return true
		}
	}

	return false
}

func (c *cmdImageAliasList) run(cmd *cobra.Command, args []string) error {
	remote, filters, err := c.global.remoteAndFilters(args)
	if err != nil {
		return err
	}

	d, err := c.global.conf.GetImageServer(remote)
	if err != nil {
		return err
	}

	aliases, err := d.GetImageAliases()
	if err != nil {
		return err
	}

	data := [][]string{}
	for _, a := range aliases {
		if !aliasMatches(a, filters) {
			continue
		}

		data = append(data, []string{a.Name, shortFingerprint(a.Target), strings.ToUpper(imageType(a.Type)), a.Description})
	}

	sortRows(data)
	header := []string{"ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION"}

	// As the stock client does, json and yaml list every alias, whatever the filters.
	return renderList(cmd.OutOrStdout(), c.flagFormat, header, data, aliases)
}
