package main

import (
	"log/slog"

	"github.com/spf13/cobra"
)

// cmdActivateifneeded is stock LXD's hook for socket activation: there, it connects to the socket (so that systemd
// starts the daemon) when the daemon listens on the network, has instances with boot.autostart or instances that
// were running. This daemon is not socket-activated, so there is never anything to start: the command exits 0
// without touching the daemon or its database.
type cmdActivateifneeded struct {
	global *cmdGlobal
}

func (c *cmdActivateifneeded) command() *cobra.Command {
	return &cobra.Command{
		Use:   "activateifneeded",
		Short: "Check if LXD should be started",
		Long: `Check if LXD should be started

Stock LXD uses it to start a socket-activated daemon that has work to do at boot. This daemon is
started directly by the init system, so the command has nothing to do and exits 0.`,
		Args: noArgs,
		RunE: c.run,
	}
}

func (c *cmdActivateifneeded) run(cmd *cobra.Command, args []string) error {
	if !c.global.flagDebug {
		return nil
	}

	err := c.global.setupLogging()
	if err != nil {
		return err
	}

	slog.Debug("the daemon is not socket-activated, nothing to activate")
	return nil
}
