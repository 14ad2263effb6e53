package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdProject is "lxc project": the projects of a server, with LXD 5.0.2's subcommands, arguments and output.
type cmdProject struct {
	global *cmdGlobal

	flagConfig []string
}

func (c *cmdProject) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project",
		Short: "Manage projects",
		Long:  "Manage projects",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Usage() },
	}

	const target = "[<remote>:]<project>"
	create := c.sub("create "+target, "Create projects", 1, 1, c.create)
	create.Flags().StringArrayVarP(&c.flagConfig, "config", "c", nil, "Config key/value to apply to the new project")
	cmd.AddCommand(create)
	cmd.AddCommand(c.sub("delete "+target, "Delete projects", 1, 1, c.delete))
	cmd.AddCommand(c.sub("edit "+target, "Edit project configurations as YAML", 1, 1, c.edit))
	cmd.AddCommand(c.sub("get "+target+" <key>", "Get values for project configuration keys", 2, 2, c.get))
	cmd.AddCommand(c.infoCommand())
	cmd.AddCommand(c.listCommand())
	cmd.AddCommand(c.sub("rename "+target+" <new-name>", "Rename projects", 2, 2, c.rename))
	set := c.sub("set "+target+" <key>=<value>...", "Set project configuration keys", 2, -1, c.set)
	set.Long = `Set project configuration keys

For backward compatibility, a single configuration key may still be set with:
    lxc project set [<remote>:]<project> <key> <value>`
	cmd.AddCommand(set)
	cmd.AddCommand(c.sub("show "+target, "Show project options", 1, 1, c.show))
	cmd.AddCommand(c.sub("switch "+target, "Switch the current project", 1, 1, c.switchTo))
	cmd.AddCommand(c.sub("unset "+target+" <key>", "Unset project configuration keys", 2, 2, c.unset))
	return cmd
}

// projectRun is a subcommand's work on the project name of its first argument, on the remote it names.
type projectRun func(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error

// sub builds a subcommand taking between minArgs and maxArgs arguments (-1: no limit), the first naming the
// project.
func (c *cmdProject) sub(use string, short string, minArgs int, maxArgs int, run projectRun) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: short}
	switch {
	case strings.HasPrefix(use, "delete "):
		cmd.Aliases = []string{"rm"}
	case strings.HasPrefix(use, "rename "):
		cmd.Aliases = []string{"mv"}
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, minArgs, maxArgs)
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

		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		return run(cmd, remote, d, name, args[1:])
	}

	return cmd
}

// currentProject is the project a remote is saved with, default when none; as the stock client, a --project
// override does not change it.
func (c *cmdProject) currentProject(remote string) string {
	p := c.global.conf.Remotes[remote].Project
	if p == "" {
		return "default"
	}

	return p
}

func (c *cmdProject) create(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	// As the stock client, nothing is read from standard input.
	post := api.ProjectsPost{Name: name, ProjectPut: api.ProjectPut{Config: map[string]string{}}}
	for _, entry := range c.flagConfig {
		k, v, ok := strings.Cut(entry, "=")
		if !ok {
			return fmt.Errorf("bad key=value pair: %s", entry)
		}

		post.Config[k] = v
	}

	err := d.CreateProject(post)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Project %s created\n", name)
	}

	return nil
}

// delete removes a project; the remote goes back to the default project when it was the one deleted.
func (c *cmdProject) delete(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	err := d.DeleteProject(name)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Project %s deleted\n", name)
	}

	rc := c.global.conf.Remotes[remote]
	if rc.Project == name {
		rc.Project = ""
		c.global.conf.Remotes[remote] = rc
		return c.global.conf.Save()
	}

	return nil
}

// projectEditHeader is the comment above the YAML in the editor, as the stock client writes it.
const projectEditHeader = `### This is a YAML representation of the project.
### Any line starting with a '# will be ignored.
###
### A project consists of a set of features and a description.
###
### An example would look like:
### name: my-project
### features:
###   images: True
###   profiles: True
### description: My own project
###
### Note that the name is shown but cannot be changed

`

func (c *cmdProject) edit(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	load := func() ([]byte, string, error) {
		p, etag, err := d.GetProject(name)
		if err != nil {
			return nil, "", err
		}

		data, err := yamlMarshalStock(p)
		return data, etag, err
	}

	return editYAML(cmd, projectEditHeader, load, func(put api.ProjectPut, etag string) error {
		return d.UpdateProject(name, put, etag)
	})
}

// get prints the value of a configuration key, and an empty line for a key that is not set.
func (c *cmdProject) get(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	p, _, err := d.GetProject(name)
	if err != nil {
		return err
	}

	fmt.Fprintln(cmd.OutOrStdout(), p.Config[args[0]])
	return nil
}

func (c *cmdProject) rename(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	// The remote's own project may be the one renamed: the operation is asked for, and followed, in default.
	op, err := d.UseProject("default").RenameProject(name, api.ProjectPost{Name: args[0]})
	if err != nil {
		return err
	}

	err = op.Wait()
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Project %s renamed to %s\n", name, args[0])
	}

	return nil
}

func (c *cmdProject) set(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	values, err := networkSetValues(cmd, args)
	if err != nil {
		return err
	}

	return c.update(d, name, values)
}

// unset removes a key (a key that is not set is no error, as with the stock client).
func (c *cmdProject) unset(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	return c.update(d, name, map[string]string{args[0]: ""})
}

// update changes configuration keys of a project; an empty value removes the key.
func (c *cmdProject) update(d client.InstanceServer, name string, values map[string]string) error {
	p, etag, err := d.GetProject(name)
	if err != nil {
		return err
	}

	put := p.Writable()
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	for k, v := range values {
		if v == "" {
			delete(put.Config, k)
			continue
		}

		put.Config[k] = v
	}

	return d.UpdateProject(name, put, etag)
}

func (c *cmdProject) show(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	p, _, err := d.GetProject(name)
	if err != nil {
		return err
	}

	out, err := yamlMarshalStock(p)
	if err != nil {
		return err
	}

	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// switchTo makes a project the remote's current one, after checking that it exists.
func (c *cmdProject) switchTo(cmd *cobra.Command, remote string, d client.InstanceServer, name string, args []string) error {
	_, _, err := d.GetProject(name)
	if err != nil {
		return err
	}

	rc, ok := c.global.conf.Remotes[remote]
	if !ok {
		return fmt.Errorf("the remote %q doesn't exist", remote)
	}

	rc.Project = name
	c.global.conf.Remotes[remote] = rc
	return c.global.conf.Save()
}
