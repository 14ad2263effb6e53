package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdAction is start, stop, restart, pause or resume (one per state action).
type cmdAction struct {
	global *cmdGlobal
	action string
	verb   string

	flagAll     bool
	flagForce   bool
	flagTimeout int
}

func (c *cmdAction) command() *cobra.Command {
	names := map[string]string{"start": "start", "stop": "stop", "restart": "restart", "freeze": "pause",
		"unfreeze": "resume"}
	c.verb = names[c.action]
	cmd := &cobra.Command{
		Use:   c.verb + " [<remote>:]<instance> [[<remote>:]<instance>...]",
		Short: fmt.Sprintf("%s instances", upperFirst(c.verb)),
		RunE:  c.run,
	}

	cmd.Flags().BoolVar(&c.flagAll, "all", false, "Run against all instances")
	if c.action == "stop" || c.action == "restart" {
		cmd.Flags().BoolVarP(&c.flagForce, "force", "f", false, "Force the instance to stop")
		cmd.Flags().IntVar(&c.flagTimeout, "timeout", -1, "Time to wait for the instance to shutdown cleanly")
	}

	if c.action == "freeze" {
		cmd.Aliases = []string{"freeze"}
	}

	return cmd
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}

	return string(s[0]-'a'+'A') + s[1:]
}

// actionTargets returns the instances to act on, per remote.
func (c *cmdAction) targets(args []string) (map[string][]string, error) {
	out := map[string][]string{}
	if c.flagAll {
		remotes := []string{c.global.conf.DefaultRemote}
		if len(args) > 0 {
			remotes = nil
			for _, a := range args {
				remote, name, err := c.global.conf.ParseRemote(a)
				if err != nil {
					return nil, err
				}

				if name != "" {
					return nil, errors.New("--all takes remotes only")
				}

				remotes = append(remotes, remote)
			}
		}

		for _, remote := range remotes {
			d, err := c.global.conf.GetInstanceServer(remote)
			if err != nil {
				return nil, err
			}

			names, err := d.GetInstanceNames()
			if err != nil {
				return nil, err
			}

			out[remote] = names
		}

		return out, nil
	}

	for _, a := range args {
		remote, name, err := c.global.conf.ParseRemote(a)
		if err != nil {
			return nil, err
		}

		out[remote] = append(out[remote], name)
	}

	return out, nil
}

func (c *cmdAction) run(cmd *cobra.Command, args []string) error {
	if !c.flagAll {
		exit, err := checkArgs(cmd, args, 1, -1)
		if exit {
			return err
		}
	}

	targets, err := c.targets(args)
	if err != nil {
		return err
	}

	var errs []error
	for remote, names := range targets {
		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return err
		}

		for _, name := range names {
			err = c.act(d, name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}

	return errors.Join(errs...)
}

// act runs the action on one instance. With --all, instances already in the wanted state are skipped.
func (c *cmdAction) act(d client.InstanceServer, name string) error {
	if c.flagAll {
		inst, _, err := d.GetInstance(name)
		if err != nil {
			return err
		}

		running := inst.StatusCode == api.Running || inst.StatusCode == api.Frozen
		if (c.action == "start" && running) || (c.action == "stop" && !running) {
			return nil
		}
	}

	req := api.InstanceStatePut{Action: c.action, Timeout: c.flagTimeout, Force: c.flagForce}
	if c.action == "start" {
		req.Timeout = 0
	}

	op, err := d.UpdateInstanceState(name, req, "")
	if err != nil {
		return err
	}

	return op.Wait()
}
