// Command lxd is the daemon: it serves the REST API on a local unix socket and, when configured, over HTTPS.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/version"
)

// cmdGlobal holds the flags every command accepts, as stock LXD's lxd does.
type cmdGlobal struct {
	flagDebug   bool
	flagVerbose bool
	flagLogFile string
	flagSyslog  bool
	flagTrace   []string
}

// varDir returns the data directory from LXD_DIR, or the default.
func varDir() string {
	dir := os.Getenv("LXD_DIR")
	if dir != "" {
		return dir
	}

	return "/var/lib/lxd"
}

// newApp builds the command line: the daemon itself and its subcommands, with the flags of stock LXD 5.0.2.
func newApp() *cobra.Command {
	global := &cmdGlobal{}
	app := (&cmdDaemon{global: global}).command()
	app.Version = version.Version
	app.SetVersionTemplate("{{.Version}}\n")
	app.SilenceUsage = true
	app.SilenceErrors = true
	app.CompletionOptions.DisableDefaultCmd = true

	flags := app.PersistentFlags()
	flags.BoolVarP(&global.flagDebug, "debug", "d", false, "Show all debug messages")
	flags.BoolVarP(&global.flagVerbose, "verbose", "v", false, "Show all information messages")
	flags.StringVar(&global.flagLogFile, "logfile", "", "Path to the log file")
	flags.BoolVar(&global.flagSyslog, "syslog", false, "Log to syslog")
	flags.StringSliceVar(&global.flagTrace, "trace", nil, "Log tracing targets (accepted for compatibility, no effect)")
	flags.BoolP("help", "h", false, "Print help")
	flags.Bool("version", false, "Print version number")

	app.AddCommand((&cmdActivateifneeded{global: global}).command())
	app.AddCommand((&cmdWaitready{global: global}).command())
	app.AddCommand((&cmdShutdown{global: global}).command())
	app.AddCommand((&cmdSQL{global: global}).command())
	app.AddCommand((&cmdInit{global: global}).command())
	app.AddCommand(versionCommand())
	app.AddCommand(forkstartCommand())
	app.AddCommand(forkmountCommand())
	app.AddCommand(forkumountCommand())
	return app
}

// noArgs refuses positional arguments, except the empty ones scripts pass as "${VAR-}".
func noArgs(cmd *cobra.Command, args []string) error {
	for _, a := range args {
		if a != "" {
			return fmt.Errorf("unknown command %q for %q", a, cmd.CommandPath())
		}
	}

	return nil
}

// versionCommand prints the version, as "lxd version" and "lxd --version" of stock LXD do: the number alone.
func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the server version",
		Args:  noArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version.Version)
		},
	}
}

func main() {
	err := newApp().Execute()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}
