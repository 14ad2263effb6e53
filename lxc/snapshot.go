package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdSnapshot struct {
	global *cmdGlobal

	flagStateful bool
	flagNoExpiry bool
	flagReuse    bool
}

func (c *cmdSnapshot) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot [<remote>:]<instance> [<snapshot name>]",
		Short: "Create instance snapshots",
		Long: `Create instance snapshots

A snapshot is a complete copy of the instance's root filesystem and configuration; without a name the next free
snapN is used.
    lxc snapshot c1 before-upgrade`,
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagStateful, "stateful", false, "Whether or not to snapshot the instance's running state")
	cmd.Flags().BoolVar(&c.flagNoExpiry, "no-expiry", false, "Ignore any configured auto-expiry for the instance")
	cmd.Flags().BoolVar(&c.flagReuse, "reuse", false, "If the snapshot name already exists, delete and create a new one")
	return cmd
}

func (c *cmdSnapshot) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, 2)
	if exit {
		return err
	}

	remote, name, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("invalid instance name %q", args[0])
	}

	req := api.InstanceSnapshotsPost{Stateful: c.flagStateful}
	if len(args) == 2 {
		req.Name = args[1]
	}

	if c.flagNoExpiry {
		never := time.Time{}
		req.ExpiresAt = &never
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	// --reuse replaces a snapshot of that name, as the stock client does: deleted first, then taken again.
	if c.flagReuse && req.Name != "" {
		_, _, err = d.GetInstanceSnapshot(name, req.Name)
		if err == nil {
			op, err := d.DeleteInstanceSnapshot(name, req.Name)
			if err != nil {
				return err
			}

			err = op.Wait()
			if err != nil {
				return err
			}
		}
	}

	op, err := d.CreateInstanceSnapshot(name, req)
	if err != nil {
		return err
	}

	return op.Wait()
}
