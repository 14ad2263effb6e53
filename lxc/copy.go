package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdCopy struct {
	global *cmdGlobal

	flagConfig       []string
	flagProfile      []string
	flagNoProfiles   bool
	flagEphemeral    bool
	flagInstanceOnly bool
	flagStateless    bool
	flagRefresh      bool
	flagTarget       string
}

func (c *cmdCopy) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "copy [<remote>:]<source>[/<snapshot>] [<remote>:]<destination>",
		Aliases: []string{"cp"},
		Short:   "Copy instances within or in between LXD servers",
		Long: `Copy instances within or in between LXD servers

The copy gets its own root filesystem and the source's configuration with fresh volatile keys.
    lxc copy c1 c2
    lxc copy c1 other:      (to another server, with the migration API)
    lxc copy c1/snap0 c3 -c user.note=restored`,
		RunE: c.run,
	}

	cmd.Flags().StringArrayVarP(&c.flagConfig, "config", "c", nil, "Config key/value to apply to the new instance")
	cmd.Flags().StringArrayVarP(&c.flagProfile, "profile", "p", nil, "Profile to apply to the new instance")
	cmd.Flags().BoolVar(&c.flagNoProfiles, "no-profiles", false, "Create the instance with no profiles applied")
	cmd.Flags().BoolVarP(&c.flagEphemeral, "ephemeral", "e", false, "Ephemeral instance")
	cmd.Flags().BoolVar(&c.flagInstanceOnly, "instance-only", false, "Copy the instance without its snapshots")
	cmd.Flags().BoolVar(&c.flagStateless, "stateless", false, "Copy a running instance without its state")
	cmd.Flags().BoolVar(&c.flagRefresh, "refresh", false, "Update an existing copy on another server (its files and snapshots)")
	cmd.Flags().StringVar(&c.flagTarget, "target-project", "", "Copy to a project different from the source")
	return cmd
}

func (c *cmdCopy) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	srcRemote, src, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	dstRemote, dst, err := c.global.conf.ParseRemote(args[1])
	if err != nil {
		return err
	}

	if src == "" {
		return errors.New("both a source and a destination instance name are needed")
	}

	if srcRemote != dstRemote && dst == "" {
		dst, _, _ = strings.Cut(src, "/")
	}

	if dst == "" {
		return errors.New("both a source and a destination instance name are needed")
	}

	req := api.InstancesPost{Name: dst, Type: api.InstanceTypeContainer}
	req.Source = api.InstanceSource{Type: "copy", Source: src, InstanceOnly: c.flagInstanceOnly}
	req.Ephemeral = c.flagEphemeral
	if len(c.flagConfig) > 0 {
		req.Config = map[string]string{}
		for _, kv := range c.flagConfig {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("bad key=value pair: %q", kv)
			}

			req.Config[k] = v
		}
	}

	if c.flagNoProfiles {
		req.Profiles = []string{}
	} else if len(c.flagProfile) > 0 {
		req.Profiles = c.flagProfile
	}

	d, err := c.global.conf.GetInstanceServer(dstRemote)
	if err != nil {
		return err
	}

	if srcRemote != dstRemote {
		s, err := c.global.conf.GetInstanceServer(srcRemote)
		if err != nil {
			return err
		}

		return migrateInstance(s, d, src, migrateArgs{Name: dst, Config: req.Config, Profiles: req.Profiles,
			Ephemeral: req.Ephemeral, InstanceOnly: c.flagInstanceOnly, Stateless: c.flagStateless,
			Refresh: c.flagRefresh})
	}

	if c.flagRefresh {
		return errors.New("--refresh is only supported between servers")
	}

	if c.flagTarget != "" {
		req.Source.Project = c.global.conf.ProjectOf(srcRemote)
		d = d.UseProject(c.flagTarget)
	}

	op, err := d.CreateInstance(req)
	if err != nil {
		return err
	}

	return op.Wait()
}
