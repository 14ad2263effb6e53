package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdProfile struct {
	global *cmdGlobal
}

func (c *cmdProfile) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Manage profiles",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}

	list := &cmdProfileList{profile: c}
	cmd.AddCommand(list.command())
	cmd.AddCommand(c.simple("show <profile>", "Show profile configurations", 1, c.show))
	cmd.AddCommand(c.simple("create <profile>", "Create profiles", 1, c.create))
	cmd.AddCommand(c.simple("delete <profile>", "Delete profiles", 1, c.delete))
	cmd.AddCommand(c.simple("edit <profile>", "Edit profile configurations as YAML", 1, c.edit))
	cmd.AddCommand(c.simple("get <profile> <key>", "Get values for profile configuration keys", 2, c.get))
	cmd.AddCommand(c.simple("set <profile> <key>=<value>...", "Set profile configuration keys", -2, c.set))
	cmd.AddCommand(c.simple("unset <profile> <key>", "Unset profile configuration keys", 2, c.unset))
	cmd.AddCommand(c.simple("rename <profile> <new-name>", "Rename profiles", 2, c.rename))
	cmd.AddCommand((&cmdDevice{global: c.global, profile: true}).command())
	cmd.AddCommand(c.onInstance("assign [<remote>:]<instance> <profiles>", "Assign sets of profiles to instances", 2, c.assign))
	cmd.AddCommand(c.onInstance("add [<remote>:]<instance> <profile>", "Add profiles to instances", 2, c.add))
	cmd.AddCommand(c.onInstance("remove [<remote>:]<instance> <profile>", "Remove profiles from instances", 2, c.remove))
	copyCmd := &cmdProfileCopy{profile: c}
	cmd.AddCommand(copyCmd.command())
	return cmd
}

// onInstance builds a subcommand changing the profiles of the instance named by its first argument.
func (c *cmdProfile) onInstance(use string, short string, n int, run func(cmd *cobra.Command, inst *api.Instance, args []string) ([]string, string, error)) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	if strings.HasPrefix(use, "assign") {
		cmd.Aliases = []string{"apply"}
	} else if strings.HasPrefix(use, "remove") {
		cmd.Aliases = []string{"rm"}
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		exit, err := checkArgs(cmd, args, n, n)
		if exit {
			return err
		}

		d, name, err := instanceServer(c.global, args[0])
		if err != nil {
			return err
		}

		inst, etag, err := d.GetInstance(name)
		if err != nil {
			return err
		}

		profiles, msg, err := run(cmd, inst, args[1:])
		if err != nil {
			return err
		}

		put := inst.Writable()
		put.Profiles = profiles
		op, err := d.UpdateInstance(name, put, etag)
		if err != nil {
			return err
		}

		err = op.Wait()
		if err != nil {
			return err
		}

		if !c.global.flagQuiet {
			fmt.Fprintln(cmd.OutOrStdout(), msg)
		}

		return nil
	}

	return cmd
}

func (c *cmdProfile) assign(cmd *cobra.Command, inst *api.Instance, args []string) ([]string, string, error) {
	if args[0] == "" {
		return []string{}, fmt.Sprintf("Profiles (none) applied to %s", inst.Name), nil
	}

	return strings.Split(args[0], ","), fmt.Sprintf("Profiles %s applied to %s", args[0], inst.Name), nil
}

func (c *cmdProfile) add(cmd *cobra.Command, inst *api.Instance, args []string) ([]string, string, error) {
	if slices.Contains(inst.Profiles, args[0]) {
		return nil, "", fmt.Errorf("profile %s is already applied to %s", args[0], inst.Name)
	}

	return append(slices.Clone(inst.Profiles), args[0]), fmt.Sprintf("Profile %s added to %s", args[0], inst.Name), nil
}

func (c *cmdProfile) remove(cmd *cobra.Command, inst *api.Instance, args []string) ([]string, string, error) {
	if !slices.Contains(inst.Profiles, args[0]) {
		return nil, "", fmt.Errorf("profile %s isn't currently applied to %s", args[0], inst.Name)
	}

	profiles := slices.DeleteFunc(slices.Clone(inst.Profiles), func(p string) bool { return p == args[0] })
	return profiles, fmt.Sprintf("Profile %s removed from %s", args[0], inst.Name), nil
}

type cmdProfileCopy struct {
	profile *cmdProfile

	flagRefresh bool
}

func (c *cmdProfileCopy) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "copy [<remote>:]<profile> [<remote>:]<profile>",
		Aliases: []string{"cp"},
		Short:   "Copy profiles",
		RunE:    c.run,
	}

	cmd.Flags().BoolVar(&c.flagRefresh, "refresh", false, "Update the target profile from the source if it already exists")
	return cmd
}

func (c *cmdProfileCopy) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	conf := c.profile.global.conf
	srcRemote, srcName, err := conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	dstRemote, dstName, err := conf.ParseRemote(args[1])
	if err != nil {
		return err
	}

	if srcName == "" {
		return errors.New("missing source profile name")
	}

	if dstName == "" {
		dstName = srcName
	}

	src, err := conf.GetInstanceServer(srcRemote)
	if err != nil {
		return err
	}

	p, _, err := src.GetProfile(srcName)
	if err != nil {
		return err
	}

	dst := src
	if dstRemote != srcRemote {
		dst, err = conf.GetInstanceServer(dstRemote)
		if err != nil {
			return err
		}
	}

	if c.flagRefresh {
		_, etag, err := dst.GetProfile(dstName)
		if err == nil {
			return dst.UpdateProfile(dstName, p.Writable(), etag)
		}

		if !api.StatusErrorCheck(err, http.StatusNotFound) {
			return err
		}
	}

	return dst.CreateProfile(api.ProfilesPost{Name: dstName, ProfilePut: p.Writable()})
}

// simple builds a subcommand taking n arguments (-n: at least n).
func (c *cmdProfile) simple(use string, short string, n int, run func(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	if strings.HasPrefix(use, "delete") {
		cmd.Aliases = []string{"rm"}
	}

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		maxArgs := n
		minArgs := n
		if n < 0 {
			minArgs, maxArgs = -n, -1
		}

		exit, err := checkArgs(cmd, args, minArgs, maxArgs)
		if exit {
			return err
		}

		d, name, err := namedServer(c.global, args[0], "profile")
		if err != nil {
			return err
		}

		return run(cmd, d, name, args[1:])
	}

	return cmd
}

func (c *cmdProfile) show(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	p, _, err := d.GetProfile(name)
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

func (c *cmdProfile) create(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := d.CreateProfile(api.ProfilesPost{Name: name})
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Profile %s created\n", name)
	}

	return nil
}

func (c *cmdProfile) delete(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := d.DeleteProfile(name)
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Profile %s deleted\n", name)
	}

	return nil
}

func (c *cmdProfile) rename(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	err := d.RenameProfile(name, api.ProfilePost{Name: args[0]})
	if err != nil {
		return err
	}

	if !c.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Profile %s renamed to %s\n", name, args[0])
	}

	return nil
}

func (c *cmdProfile) get(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	p, _, err := d.GetProfile(name)
	if err != nil {
		return err
	}

	fmt.Fprintln(cmd.OutOrStdout(), p.Config[args[0]])
	return nil
}

func (c *cmdProfile) set(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	p, etag, err := d.GetProfile(name)
	if err != nil {
		return err
	}

	put := p.Writable()
	if put.Config == nil {
		put.Config = map[string]string{}
	}

	if len(args) == 2 && !strings.Contains(args[0], "=") {
		args = []string{args[0] + "=" + args[1]}
	}

	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("bad key=value pair: %q", kv)
		}

		put.Config[k] = v
	}

	return d.UpdateProfile(name, put, etag)
}

func (c *cmdProfile) unset(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	p, etag, err := d.GetProfile(name)
	if err != nil {
		return err
	}

	put := p.Writable()
	_, ok := put.Config[args[0]]
	if !ok {
		return fmt.Errorf("the key %q is not set", args[0])
	}

	delete(put.Config, args[0])
	return d.UpdateProfile(name, put, etag)
}

const profileEditHeader = `### This is a YAML representation of the profile.
### Any line starting with a '#' will be ignored.
###
### A profile consists of a set of configuration items followed by a set of
### devices.
###
### An example would look like:
### name: onenic
### config:
###   limits.memory: 256MiB
### description: A profile with a memory limit
### devices:
###   root:
###     path: /
###     pool: default
###     type: disk
###
### Note that the name is shown but cannot be changed

`

func (c *cmdProfile) edit(cmd *cobra.Command, d client.InstanceServer, name string, args []string) error {
	in := cmd.InOrStdin()
	if !readerIsTerminal(in) {
		data, err := io.ReadAll(in)
		if err != nil {
			return err
		}

		put := api.ProfilePut{}
		err = yaml.Unmarshal(data, &put)
		if err != nil {
			return err
		}

		return d.UpdateProfile(name, put, "")
	}

	p, etag, err := d.GetProfile(name)
	if err != nil {
		return err
	}

	data, err := yamlMarshalStock(p)
	if err != nil {
		return err
	}

	content := append([]byte(profileEditHeader), data...)
	for {
		content, err = textEditor(content)
		if err != nil {
			return err
		}

		put := api.ProfilePut{}
		err = yaml.Unmarshal(content, &put)
		if err == nil {
			err = d.UpdateProfile(name, put, etag)
		}

		if err == nil {
			return nil
		}

		fmt.Fprintf(os.Stderr, "Config parsing error: %v\nPress enter to open the editor again or ctrl+c to abort change\n", err)
		_, err = newAsker(cmd).readLine()
		if err != nil {
			return err
		}
	}
}

type cmdProfileList struct {
	profile *cmdProfile

	flagFormat string
}

func (c *cmdProfileList) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list [<remote>:]",
		Aliases: []string{"ls"},
		Short:   "List profiles",
		RunE:    c.run,
	}

	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", formatTable, formatFlagHelp)
	return cmd
}

func (c *cmdProfileList) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 0, 1)
	if exit {
		return err
	}

	remote := c.profile.global.conf.DefaultRemote
	if len(args) == 1 {
		remote, _, err = c.profile.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}
	}

	d, err := c.profile.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	profiles, err := d.GetProfiles()
	if err != nil {
		return err
	}

	sort.Slice(profiles, func(i, j int) bool { return profiles[i].Name < profiles[j].Name })
	rows := make([][]string, 0, len(profiles))
	for _, p := range profiles {
		rows = append(rows, []string{p.Name, p.Description, fmt.Sprint(len(p.UsedBy))})
	}

	return renderTable(cmd.OutOrStdout(), c.flagFormat, []string{"NAME", "DESCRIPTION", "USED BY"}, rows, profiles)
}
