package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

func (c *cmdProject) listCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List projects",
		Long:    "List projects",
	}

	cmd.Flags().StringVarP(&format, "format", "f", formatTable, formatFlagHelp)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 0, 1)
		if exit {
			return err
		}

		remote := c.global.conf.DefaultRemote
		if len(args) == 1 {
			remote, _, err = c.global.conf.ParseRemote(args[0])
			if err != nil {
				return err
			}
		}

		err = checkFormat(format)
		if err != nil {
			return err
		}

		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		projects, err := d.GetProjects()
		if err != nil {
			return err
		}

		header, rows := projectTable(projects, c.currentProject(remote))
		return renderList(cmd.OutOrStdout(), format, header, rows, projects)
	}

	return cmd
}

// projectTable returns the header and sorted rows of "lxc project list", the current project marked.
func projectTable(projects []api.Project, current string) ([]string, [][]string) {
	header := []string{"NAME", "IMAGES", "PROFILES", "STORAGE VOLUMES", "NETWORKS", "DESCRIPTION", "USED BY"}
	yesNo := func(p api.Project, key string) string {
		if isTrueValue(p.Config[key]) {
			return "YES"
		}

		return "NO"
	}

	rows := [][]string{}
	for _, p := range projects {
		name := p.Name
		if name == current {
			name += " (current)"
		}

		rows = append(rows, []string{name, yesNo(p, "features.images"), yesNo(p, "features.profiles"),
			yesNo(p, "features.storage.volumes"), yesNo(p, "features.networks"), p.Description,
			fmt.Sprint(len(p.UsedBy))})
	}

	sortRows(rows)
	return header, rows
}

// isTrueValue reads a boolean configuration value as LXD does.
func isTrueValue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	}

	return false
}

// projectByteResources are the resources "lxc project info" shows as sizes.
var projectByteResources = map[string]bool{"disk": true, "memory": true}

func (c *cmdProject) infoCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [<remote>:]<project> <key>",
		Short: "Get a summary of resource allocations",
		Long:  "Get a summary of resource allocations",
	}

	cmd.Flags().StringVarP(&format, "format", "f", formatTable, formatFlagHelp)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, 1, 1)
		if exit {
			return err
		}

		remote, name, err := c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if name == "" {
			return errors.New("missing project name")
		}

		err = checkFormat(format)
		if err != nil {
			return err
		}

		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		st, err := d.GetProjectState(name)
		if err != nil {
			return err
		}

		header, rows := projectStateTable(st)
		return renderList(cmd.OutOrStdout(), format, header, rows, st)
	}

	return cmd
}

// projectStateTable returns the header and sorted rows of "lxc project info".
func projectStateTable(st *api.ProjectState) ([]string, [][]string) {
	rows := [][]string{}
	for res, v := range st.Resources {
		short, _, _ := strings.Cut(res, ".")
		limit := "UNLIMITED"
		usage := fmt.Sprint(v.Usage)
		if projectByteResources[short] {
			usage = byteSizeIEC(v.Usage, 2)
		}

		if v.Limit >= 0 {
			limit = fmt.Sprint(v.Limit)
			if projectByteResources[short] {
				limit = byteSizeIEC(v.Limit, 2)
			}
		}

		rows = append(rows, []string{strings.ToUpper(res), limit, usage})
	}

	sortRows(rows)
	return []string{"RESOURCE", "LIMIT", "USAGE"}, rows
}
