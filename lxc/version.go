package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/version"
)

type cmdVersion struct {
	global *cmdGlobal
}

func (c *cmdVersion) command() *cobra.Command {
	return &cobra.Command{
		Use:   "version [<remote>:]",
		Short: "Show local and remote versions",
		Args:  cobra.MaximumNArgs(1),
		RunE:  c.run,
	}
}

func (c *cmdVersion) run(cmd *cobra.Command, args []string) error {
	fmt.Printf("Client version: %s\n", version.Version)
	remote := c.global.conf.DefaultRemote
	if len(args) == 1 {
		var err error
		remote, _, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}
	}

	serverVersion := "unreachable"
	d, err := c.global.conf.GetInstanceServer(remote)
	if err == nil {
		server, _, err := d.GetServer()
		if err == nil && server.Environment.ServerVersion != "" {
			serverVersion = server.Environment.ServerVersion
		}
	}

	fmt.Printf("Server version: %s\n", serverVersion)
	return nil
}
