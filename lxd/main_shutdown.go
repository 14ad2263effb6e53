package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/state"
)

type cmdShutdown struct {
	global      *cmdGlobal
	flagTimeout int
}

func (c *cmdShutdown) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shutdown",
		Short: "Tell the daemon to shut down and wait until it has",
		Args:  cobra.NoArgs,
		RunE:  c.run,
	}

	cmd.Flags().IntVarP(&c.flagTimeout, "timeout", "t", 60, "Number of seconds to wait before giving up")
	return cmd
}

func (c *cmdShutdown) run(cmd *cobra.Command, args []string) error {
	socket := state.NewDirs(varDir()).UnixSocket()
	d, err := client.ConnectLXDUnix(socket, &client.ConnectionArgs{SkipGetServer: true})
	if err != nil {
		return err
	}

	_, _, err = d.RawQuery(http.MethodPut, "/internal/shutdown", nil, "")
	d.Disconnect()
	if err != nil {
		return fmt.Errorf("shutdown request: %w", err)
	}

	// The daemon removes its socket as the last step of stopping.
	deadline := time.Now().Add(time.Duration(c.flagTimeout) * time.Second)
	for time.Now().Before(deadline) {
		_, err := os.Stat(socket)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}

		time.Sleep(100 * time.Millisecond)
	}

	return fmt.Errorf("daemon still running after %ds", c.flagTimeout)
}
