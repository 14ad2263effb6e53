package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdDelete struct {
	global *cmdGlobal

	flagForce       bool
	flagInteractive bool
}

func (c *cmdDelete) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete [<remote>:]<instance>[/<snapshot>] [[<remote>:]<instance>[/<snapshot>]...]",
		Aliases: []string{"rm"},
		Short:   "Delete instances and snapshots",
		RunE:    c.run,
	}

	cmd.Flags().BoolVarP(&c.flagForce, "force", "f", false, "Force the removal of running instances")
	cmd.Flags().BoolVarP(&c.flagInteractive, "interactive", "i", false, "Require user confirmation")
	return cmd
}

// deleteTarget is one instance or snapshot named on the command line.
type deleteTarget struct {
	arg    string
	remote string
	name   string
	snap   string
	isSnap bool
}

// confirmDelete asks whether to remove what arg names; only "yes" (in any case) goes on.
func confirmDelete(a *asker, arg string) error {
	answer, err := a.askString(fmt.Sprintf("Remove %s (yes/no): ", arg))
	if err != nil || !strings.EqualFold(answer, "yes") {
		return errors.New("user aborted delete operation")
	}

	return nil
}

func (c *cmdDelete) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	// Every argument must name something that exists before anything is asked or removed.
	targets := make([]deleteTarget, 0, len(args))
	servers := map[string]client.InstanceServer{}
	for _, arg := range args {
		remote, name, err := c.global.conf.ParseRemote(arg)
		if err != nil {
			return err
		}

		if name == "" {
			return fmt.Errorf("missing instance name in %q", arg)
		}

		d, ok := servers[remote]
		if !ok {
			d, err = c.global.conf.GetInstanceServer(remote)
			if err != nil {
				return err
			}

			servers[remote] = d
		}

		t := deleteTarget{arg: arg, remote: remote}
		t.name, t.snap, t.isSnap = strings.Cut(name, "/")
		if t.isSnap {
			_, _, err = d.GetInstanceSnapshot(t.name, t.snap)
			if err != nil {
				return fmt.Errorf("failed checking instance snapshot exists \"%s:%s\": %w", remote, name, err)
			}
		} else {
			_, _, err = d.GetInstance(t.name)
			if err != nil {
				return fmt.Errorf("failed checking instance exists \"%s:%s\": %w", remote, name, err)
			}
		}

		targets = append(targets, t)
	}

	a := newAsker(cmd)
	for _, t := range targets {
		if c.flagInteractive {
			err = confirmDelete(a, t.arg)
			if err != nil {
				return err
			}
		}

		err = c.deleteOne(servers[t.remote], t)
		if err != nil {
			return err
		}
	}

	return nil
}

// deleteOne removes one snapshot, or one instance (stopped first with --force).
func (c *cmdDelete) deleteOne(d client.InstanceServer, t deleteTarget) error {
	if t.isSnap {
		op, err := d.DeleteInstanceSnapshot(t.name, t.snap)
		if err != nil {
			return err
		}

		return op.Wait()
	}

	inst, _, err := d.GetInstance(t.name)
	if err != nil {
		return err
	}

	if inst.StatusCode != api.Stopped {
		if !c.flagForce {
			return errors.New("the instance is currently running, stop it first or pass --force")
		}

		op, err := d.UpdateInstanceState(t.name, api.InstanceStatePut{Action: "stop", Timeout: -1, Force: true}, "")
		if err != nil {
			return err
		}

		err = op.Wait()
		if err != nil {
			return fmt.Errorf("stopping the instance failed: %w", err)
		}

		// The server removes an ephemeral instance once it stops.
		if inst.Ephemeral {
			return nil
		}
	}

	op, err := d.DeleteInstance(t.name)
	if err != nil {
		return err
	}

	return op.Wait()
}
