package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdRestore struct {
	global *cmdGlobal

	flagStateful bool
}

func (c *cmdRestore) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore [<remote>:]<instance> <snapshot>",
		Short: "Restore instances from snapshots",
		Long: `Restore instances from snapshots

The instance's root filesystem and configuration go back to the snapshot's; a running instance is restarted.
    lxc restore c1 snap0`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagStateful, "stateful", false, "Whether or not to restore the instance's running state (not supported)")
	return cmd
}

func (c *cmdRestore) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, 2)
	if exit {
		return err
	}

	remote, name, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	if name == "" {
		return fmt.Errorf("missing instance name in %q", args[0])
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	op, err := d.UpdateInstance(name, api.InstancePut{Restore: name + "/" + args[1], Stateful: c.flagStateful}, "")
	if err != nil {
		return err
	}

	return op.Wait()
}
