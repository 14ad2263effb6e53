package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdDelete struct {
	global *cmdGlobal

	flagForce bool
}

func (c *cmdDelete) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete [<remote>:]<instance> [[<remote>:]<instance>...]",
		Aliases: []string{"rm"},
		Short:   "Delete instances",
		RunE:    c.run,
	}

	cmd.Flags().BoolVarP(&c.flagForce, "force", "f", false, "Force the removal of running instances")
	return cmd
}

func (c *cmdDelete) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	for _, arg := range args {
		remote, name, err := c.global.conf.ParseRemote(arg)
		if err != nil {
			return err
		}

		if name == "" {
			return fmt.Errorf("missing instance name in %q", arg)
		}

		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		instName, snap, isSnap := strings.Cut(name, "/")
		if isSnap {
			op, err := d.DeleteInstanceSnapshot(instName, snap)
			if err != nil {
				return err
			}

			err = op.Wait()
			if err != nil {
				return err
			}

			continue
		}

		inst, _, err := d.GetInstance(name)
		if err != nil {
			return err
		}

		if inst.StatusCode != api.Stopped {
			if !c.flagForce {
				return errors.New("the instance is currently running, stop it first or pass --force")
			}

			op, err := d.UpdateInstanceState(name, api.InstanceStatePut{Action: "stop", Timeout: -1, Force: true}, "")
			if err != nil {
				return err
			}

			err = op.Wait()
			if err != nil {
				return fmt.Errorf("stopping the instance failed: %w", err)
			}
		}

		op, err := d.DeleteInstance(name)
		if err != nil {
			return err
		}

		err = op.Wait()
		if err != nil {
			return err
		}
	}

	return nil
}
