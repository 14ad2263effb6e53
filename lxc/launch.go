package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdLaunch struct {
	init cmdInit
}

func (c *cmdLaunch) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "launch [<remote>:]<image> [<remote>:][<name>]",
		Short: "Create and start instances from images",
		Long: `Create and start instances from images

    lxc launch bb c1 -c security.privileged=true`,
		RunE: c.run,
	}

	c.init.addFlags(cmd)
	return cmd
}

func (c *cmdLaunch) run(cmd *cobra.Command, args []string) error {
	d, _, name, err := c.init.create(cmd, args, true)
	if err != nil || d == nil {
		return err
	}

	if !c.init.global.flagQuiet {
		fmt.Fprintf(cmd.OutOrStdout(), "Starting %s\n", name)
	}

	op, err := d.UpdateInstanceState(name, api.InstanceStatePut{Action: "start", Timeout: -1}, "")
	if err != nil {
		return err
	}

	return op.Wait()
}
