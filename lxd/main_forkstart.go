package main

import (
	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxd/instance/lxc"
)

// forkstartCommand is run by the daemon itself to start a container in a process of its own.
func forkstartCommand() *cobra.Command {
	return &cobra.Command{
		Use:    lxc.StartCommand + " <name> <lxcpath> <config>",
		Short:  "Start a container (internal)",
		Hidden: true,
		Args:   cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return lxc.ForkStart(args[0], args[1], args[2])
		},
	}
}
