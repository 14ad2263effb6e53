package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/state"
)

type cmdShutdown struct {
	global      *cmdGlobal
	flagTimeout int
	flagForce   bool
}

func (c *cmdShutdown) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shutdown",
		Short: "Tell the daemon to shut down and wait until it has",
		Long: `Tell the daemon to shut down and wait until it has

The daemon stops its containers, cancels the operations still running and exits. Without --timeout,
the command waits as long as that takes.`,
		Args: noArgs,
		RunE: c.run,
	}

	cmd.Flags().IntVarP(&c.flagTimeout, "timeout", "t", 0, "Number of seconds to wait before giving up")
	cmd.Flags().BoolVarP(&c.flagForce, "force", "f", false,
		"Force shutdown instead of waiting for running operations to finish (the daemon always cancels them)")
	return cmd
}

func (c *cmdShutdown) run(cmd *cobra.Command, args []string) error {
	socket := state.NewDirs(varDir()).UnixSocket()
	d, err := client.ConnectLXDUnix(socket, &client.ConnectionArgs{SkipGetServer: true})
	if err != nil {
		return err
	}

	// force is sent as stock LXD sends it; the daemon cancels running operations either way.
	v := url.Values{}
	v.Set("force", strconv.FormatBool(c.flagForce))
	_, _, err = d.RawQuery(http.MethodPut, "/internal/shutdown?"+v.Encode(), nil, "")
	d.Disconnect()
	if err != nil {
		return fmt.Errorf("shutdown request: %w", err)
	}

	// The daemon removes its socket as the last step of stopping.
	var deadline time.Time
	if c.flagTimeout > 0 {
		deadline = time.Now().Add(time.Duration(c.flagTimeout) * time.Second)
	}

	for deadline.IsZero() || time.Now().Before(deadline) {
		_, err := os.Stat(socket)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}

		time.Sleep(100 * time.Millisecond)
	}

	return fmt.Errorf("daemon still running after %ds", c.flagTimeout)
}
