package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

type cmdInfo struct {
	global *cmdGlobal
}

func (c *cmdInfo) command() *cobra.Command {
	return &cobra.Command{
		Use:   "info [<remote>:]",
		Short: "Show information about the server",
		Args:  cobra.MaximumNArgs(1),
		RunE:  c.run,
	}
}

func (c *cmdInfo) run(cmd *cobra.Command, args []string) error {
	remote := c.global.conf.DefaultRemote
	if len(args) == 1 {
		var name string
		var err error
		remote, name, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if name != "" {
			return fmt.Errorf("instance %q not found", name)
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	server, _, err := d.GetServer()
	if err != nil {
		return err
	}

	out, err := yaml.Marshal(server)
	if err != nil {
		return err
	}

	fmt.Print(string(out))
	return nil
}
