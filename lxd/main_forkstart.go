package main

import (
	"strconv"

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

// forkmountCommand is run by the daemon to move a detached mount (file descriptor 3) into a container.
func forkmountCommand() *cobra.Command {
	return containerMountCommand(lxc.MountCommand, "Mount into a running container (internal)", func(pid int, target string) error {
		return lxc.ForkMount(pid, target, 3)
	})
}

// forkumountCommand is run by the daemon to unmount a path in a container.
func forkumountCommand() *cobra.Command {
	return containerMountCommand(lxc.UnmountCommand, "Unmount in a running container (internal)", lxc.ForkUnmount)
}

// containerMountCommand is a hidden "<use> <pid> <target>" command running fn.
func containerMountCommand(use string, short string, fn func(pid int, target string) error) *cobra.Command {
	return &cobra.Command{
		Use:    use + " <pid> <target>",
		Short:  short,
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil {
				return err
			}

			return fn(pid, args[1])
		},
	}
}
