package main

import (
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/daemon"
)

type cmdDaemon struct {
	global *cmdGlobal
}

func (c *cmdDaemon) command() *cobra.Command {
	return &cobra.Command{
		Use:   "lxd",
		Short: "The container and image server",
		Long: `The container and image server

It runs in the foreground, keeps its data in $LXD_DIR (default /var/lib/lxd) and serves the REST API on
$LXD_DIR/unix.socket, and over HTTPS when core.https_address is set.`,
		Args: cobra.NoArgs,
		RunE: c.run,
	}
}

func (c *cmdDaemon) run(cmd *cobra.Command, args []string) error {
	err := c.global.setupLogging()
	if err != nil {
		return err
	}

	d := daemon.New(varDir())
	err = d.Init()
	if err != nil {
		d.Stop()
		return err
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGQUIT)
	select {
	case sig := <-sigs:
		slog.Info("received signal, shutting down", "signal", sig.String())
		d.Stop()
	case <-d.Stopped():
	}

	<-d.Stopped()
	return nil
}
