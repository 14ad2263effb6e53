package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/state"
)

type cmdWaitready struct {
	global      *cmdGlobal
	flagTimeout int
}

func (c *cmdWaitready) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "waitready",
		Short: "Wait for the daemon to be ready to process requests",
		Args:  noArgs,
		RunE:  c.run,
	}

	cmd.Flags().IntVarP(&c.flagTimeout, "timeout", "t", 0, "Number of seconds to wait before giving up")
	return cmd
}

func (c *cmdWaitready) run(cmd *cobra.Command, args []string) error {
	var deadline time.Time
	if c.flagTimeout > 0 {
		deadline = time.Now().Add(time.Duration(c.flagTimeout) * time.Second)
	}

	socket := state.NewDirs(varDir()).UnixSocket()
	for {
		d, err := client.ConnectLXDUnix(socket, &client.ConnectionArgs{SkipGetServer: true})
		if err == nil {
			_, _, err = d.RawQuery(http.MethodGet, "/internal/ready", nil, "")
			d.Disconnect()
			if err == nil {
				return nil
			}
		}

		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("daemon still not running after %ds timeout (%v)", c.flagTimeout, err)
		}

		time.Sleep(100 * time.Millisecond)
	}
}
