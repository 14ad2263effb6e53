package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// cmdAction is start, stop, restart, pause or resume (one per state action).
type cmdAction struct {
	global *cmdGlobal
	action string
	verb   string

	flagAll       bool
	flagForce     bool
	flagTimeout   int
	flagStateful  bool
	flagStateless bool
	flagConsole   string
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

	if c.action == "restart" {
		cmd.Long = "Restart instances\n\nThe opposite of \"lxc pause\" is \"lxc start\"."
	}

	cmd.Flags().BoolVar(&c.flagAll, "all", false, "Run against all instances")
	switch c.action {
	case "start":
		cmd.Flags().BoolVar(&c.flagStateless, "stateless", false, "Ignore the instance state")
	case "stop":
		cmd.Flags().BoolVar(&c.flagStateful, "stateful", false, "Store the instance state")
	}

	if c.action == "start" || c.action == "stop" || c.action == "restart" {
		cmd.Flags().StringVar(&c.flagConsole, "console", "", "Immediately attach to the console")
		cmd.Flags().Lookup("console").NoOptDefVal = "console"
	}

	if c.action == "stop" || c.action == "restart" {
		cmd.Flags().BoolVarP(&c.flagForce, "force", "f", false, "Force the instance to shutdown")
		cmd.Flags().IntVar(&c.flagTimeout, "timeout", -1, "Time to wait for the instance before killing it")
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

// actionTarget is one instance to act on: its remote, its name and how it is shown in errors.
type actionTarget struct {
	remote string
	name   string
	shown  string
}

// skipWithAll tells whether --all leaves an instance out: start skips running instances and stop stopped ones,
// as the stock client does; the other actions take every instance.
func skipWithAll(action string, status api.StatusCode) bool {
	switch action {
	case "start":
		return status == api.Running
	case "stop":
		return status == api.Stopped
	}

	return false
}

// targets returns the instances to act on, in the order given (by name with --all).
func (c *cmdAction) targets(args []string) ([]actionTarget, error) {
	var out []actionTarget
	if !c.flagAll {
		for _, a := range args {
			remote, name, err := c.global.conf.ParseRemote(a)
			if err != nil {
				return nil, err
			}

			if name == "" {
				return nil, fmt.Errorf("must supply instance name for: %q", a)
			}

			out = append(out, actionTarget{remote: remote, name: name, shown: a})
		}

		return out, nil
	}

	remotes := []string{c.global.conf.DefaultRemote}
	if len(args) > 0 {
		remotes = nil
		for _, a := range args {
			remote, name, err := c.global.conf.ParseRemote(a)
			if err != nil {
				return nil, err
			}

			if name != "" {
				return nil, errors.New("both --all and instance name given")
			}

			remotes = append(remotes, remote)
		}
	}

	for _, remote := range remotes {
		d, err := c.global.conf.GetInstanceServer(remote)
		if err != nil {
			return nil, err
		}

		insts, err := d.GetInstances()
		if err != nil {
			return nil, err
		}

		for _, inst := range insts {
			if skipWithAll(c.action, inst.StatusCode) {
				continue
			}

			out = append(out, actionTarget{remote: remote, name: inst.Name, shown: remote + ":" + inst.Name})
		}
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

	if c.flagConsole != "" {
		if c.flagAll {
			return errors.New("--console can't be used with --all")
		}

		if len(targets) != 1 {
			return errors.New("--console only works with a single instance")
		}
	}

	servers := map[string]client.InstanceServer{}
	var failed []error
	for _, t := range targets {
		d, ok := servers[t.remote]
		if !ok {
			d, err = c.global.conf.GetInstanceServer(t.remote)
			if err != nil {
				return err
			}

			servers[t.remote] = d
		}

		err = c.act(d, t.name)
		if err != nil {
			// One instance: its error as it is. Several: each failure on its own line, then a summary.
			if len(targets) == 1 {
				return err
			}

			failed = append(failed, fmt.Errorf("%s: error: %w", t.shown, err))
		}
	}

	err = actionFailures(cmd.ErrOrStderr(), c.verb, failed)
	if err != nil || c.flagConsole == "" {
		return err
	}

	console := &cmdConsole{global: c.global, flagType: c.flagConsole}
	return console.run(cmd, []string{targets[0].shown})
}

// actionFailures prints the failures of a run over several instances and returns the summary error.
func actionFailures(w io.Writer, verb string, failed []error) error {
	if len(failed) == 0 {
		return nil
	}

	for _, err := range failed {
		fmt.Fprintln(w, err)
	}

	fmt.Fprintln(w)
	return fmt.Errorf("some instances failed to %s", verb)
}

// act runs the action on one instance. A failure of the operation itself (rather than a refused request) points at
// the instance log, as the stock client does. As with the stock client, start resumes a frozen instance and
// restores the state a stateful stop saved unless --stateless is given; stop saves it with --stateful.
func (c *cmdAction) act(d client.InstanceServer, name string) error {
	req := api.InstanceStatePut{Action: c.action, Timeout: c.flagTimeout, Force: c.flagForce, Stateful: c.flagStateful}
	if c.action == "start" {
		req.Timeout = 0
		inst, _, err := d.GetInstance(name)
		if err != nil {
			return err
		}

		if inst.StatusCode == api.Frozen {
			req.Action = "unfreeze"
		}

		req.Stateful = req.Action == "start" && inst.Stateful && !c.flagStateless
	}

	op, err := d.UpdateInstanceState(name, req, "")
	if err != nil {
		return err
	}

	err = op.Wait()
	if err != nil {
		return fmt.Errorf("%w\nTry `lxc info --show-log %s` for more info", err, name)
	}

	return nil
}
