// Command lxd is the daemon: it serves the REST API on a local unix socket and, when configured, over HTTPS.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/version"
)

type cmdGlobal struct {
	flagDebug   bool
	flagVerbose bool
	flagLogFile string
}

// varDir returns the data directory from LXD_DIR, or the default.
func varDir() string {
	dir := os.Getenv("LXD_DIR")
	if dir != "" {
		return dir
	}

	return "/var/lib/lxd"
}

// setupLogging sends log records to stderr or the log file at the level the flags ask for.
func (g *cmdGlobal) setupLogging() error {
	var out io.Writer = os.Stderr
	if g.flagLogFile != "" {
		f, err := os.OpenFile(g.flagLogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}

		out = f
	}

	level := slog.LevelWarn
	if g.flagVerbose {
		level = slog.LevelInfo
	}

	if g.flagDebug {
		level = slog.LevelDebug
	}

	slog.SetDefault(slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})))
	return nil
}

func main() {
	global := &cmdGlobal{}
	daemonCmd := &cmdDaemon{global: global}
	app := daemonCmd.command()
	app.Version = version.Version
	app.SilenceUsage = true
	app.SilenceErrors = true
	app.PersistentFlags().BoolVarP(&global.flagDebug, "debug", "d", false, "Show all debug messages")
	app.PersistentFlags().BoolVarP(&global.flagVerbose, "verbose", "v", false, "Show all information messages")
	app.PersistentFlags().StringVar(&global.flagLogFile, "logfile", "", "Path to the log file")
	app.CompletionOptions.DisableDefaultCmd = true

	app.AddCommand((&cmdWaitready{global: global}).command())
	app.AddCommand((&cmdShutdown{global: global}).command())
	app.AddCommand(forkstartCommand())
	app.AddCommand(forkmountCommand())
	app.AddCommand(forkumountCommand())
	app.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Show the server version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Println(version.Version)
		},
	})

	err := app.Execute()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}
