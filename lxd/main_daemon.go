package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/daemon"
)

type cmdDaemon struct {
	global    *cmdGlobal
	flagGroup string
}

func (c *cmdDaemon) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lxd",
		Short: "The container and image server",
		Long: `The container and image server

It runs in the foreground, keeps its data in $LXD_DIR (default /var/lib/lxd) and serves the REST API on
$LXD_DIR/unix.socket, and over HTTPS when core.https_address is set.`,
		Args: daemonArgs,
		RunE: c.run,
	}

	cmd.Flags().StringVar(&c.flagGroup, "group", "", "The group of users that will be allowed to talk to LXD")
	return cmd
}

// daemonArgs accepts what stock LXD accepts after "lxd": no argument, or "daemon". Empty arguments are ignored, as
// scripts run lxd "${DEBUG-}".
func daemonArgs(cmd *cobra.Command, args []string) error {
	seenDaemon := false
	for _, a := range args {
		if a == "" {
			continue
		}

		if a == "daemon" && !seenDaemon {
			seenDaemon = true
			continue
		}

		return fmt.Errorf("unknown command %q for %q", a, cmd.CommandPath())
	}

	return nil
}

// lookupGroup returns the id of a group given by name, or by number as a fallback.
func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		var unknown user.UnknownGroupError
		if !errors.As(err, &unknown) {
			return -1, fmt.Errorf("look up group %q: %w", name, err)
		}

		_, numErr := strconv.Atoi(name)
		if numErr != nil {
			return -1, fmt.Errorf("unknown group %q", name)
		}

		g, err = user.LookupGroupId(name)
		if err != nil {
			return -1, fmt.Errorf("unknown group %q", name)
		}
	}

	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1, fmt.Errorf("group %q has a non-numeric id %q", name, g.Gid)
	}

	return gid, nil
}

func (c *cmdDaemon) run(cmd *cobra.Command, args []string) error {
	gid := -1
	if c.flagGroup != "" {
		var err error
		gid, err = lookupGroup(c.flagGroup)
		if err != nil {
			return fmt.Errorf("--group: %w", err)
		}
	}

	err := c.global.setupLogging()
	if err != nil {
		return err
	}

	if len(c.global.flagTrace) > 0 {
		slog.Warn("--trace is accepted for compatibility with LXD and has no effect", "targets", c.global.flagTrace)
	}

	d := daemon.New(varDir())
	if gid >= 0 {
		d.SetSocketGroup(gid)
	}

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
