// Command lxc is the command-line client: it talks to the local daemon or to remotes through package client.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdGlobal struct {
	conf *config.Config

	flagForceLocal bool
	flagQuiet      bool
	flagDebug      bool
	flagVerbose    bool
	flagProject    string
}

// preRun loads the configuration (unless it is loaded already) before any command runs, and applies the global
// flags to it.
func (g *cmdGlobal) preRun(cmd *cobra.Command, args []string) error {
	if g.conf == nil {
		conf, err := config.Load(config.Dir())
		if err != nil {
			return err
		}

		g.conf = conf
	}

	// lxc --project NAME: every request of the command, to any remote, names that project.
	g.conf.ProjectOverride = g.flagProject
	return nil
}

func main() {
	app := newApp(&cmdGlobal{})

	// Aliases of config.yml (and the built-in "shell") are expanded before the command line is parsed.
	args, err := aliasedArgs(os.Args)
	if err == nil {
		app.SetArgs(args[1:])
		err = app.Execute()
	}

	if err != nil {
		// A command's own exit status (lxc exec) is passed on without a message.
		var es exitStatusError
		if !errors.As(err, &es) {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		}

		os.Exit(exitCode(err))
	}
}

// newApp builds the command tree with its global flags kept in global.
func newApp(global *cmdGlobal) *cobra.Command {
	app := &cobra.Command{
		Use:   "lxc",
		Short: "Command line client for the container and image server",
		Long: `Command line client for the container and image server

All of the server's features can be driven through the commands below. The local server is reached through its
unix socket ($LXD_DIR/unix.socket); remotes are added with "lxc remote add". Configuration lives in $LXD_CONF
(default ~/.config/lxc).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: global.preRun,
	}

	app.CompletionOptions.DisableDefaultCmd = true
	app.PersistentFlags().BoolVar(&global.flagForceLocal, "force-local", false, "Force using the local unix socket")
	app.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "Don't show progress information")
	app.PersistentFlags().BoolVar(&global.flagDebug, "debug", false, "Show all debug messages")
	app.PersistentFlags().BoolVarP(&global.flagVerbose, "verbose", "v", false, "Show all information messages")
	app.PersistentFlags().StringVar(&global.flagProject, "project", "", "Override the source project")

	app.AddCommand((&cmdAlias{global: global}).command())
	app.AddCommand((&cmdConfig{global: global}).command())
	app.AddCommand((&cmdImage{global: global}).command())
	app.AddCommand((&cmdInfo{global: global}).command())
	app.AddCommand((&cmdMonitor{global: global}).command())
	app.AddCommand((&cmdOperation{global: global}).command())
	app.AddCommand((&cmdWarning{global: global}).command())
	app.AddCommand((&cmdQuery{global: global}).command())
	app.AddCommand((&cmdRemote{global: global}).command())
	app.AddCommand((&cmdSimplestreams{global: global}).command())
	app.AddCommand((&cmdVersion{global: global}).command())
	app.AddCommand((&cmdInit{global: global}).command())
	app.AddCommand((&cmdLaunch{init: cmdInit{global: global}}).command())
	app.AddCommand((&cmdList{global: global}).command())
	app.AddCommand((&cmdSnapshot{global: global}).command())
	app.AddCommand((&cmdRestore{global: global}).command())
	app.AddCommand((&cmdPublish{global: global}).command())
	app.AddCommand((&cmdCopy{global: global}).command())
	app.AddCommand((&cmdMove{global: global}).command())
	app.AddCommand((&cmdRename{global: global}).command())
	app.AddCommand((&cmdDelete{global: global}).command())
	app.AddCommand((&cmdExport{global: global}).command())
	app.AddCommand((&cmdImport{global: global}).command())
	app.AddCommand((&cmdProfile{global: global}).command())
	app.AddCommand((&cmdNetwork{global: global}).command())
	app.AddCommand((&cmdProject{global: global}).command())
	app.AddCommand((&cmdExec{global: global}).command())
	app.AddCommand((&cmdFile{global: global}).command())
	app.AddCommand((&cmdConsole{global: global}).command())
	app.AddCommand((&cmdStorage{global: global}).command())
	app.AddCommand((&cmdCluster{global: global}).command())
	for _, action := range []string{"start", "stop", "restart", "freeze", "unfreeze"} {
		app.AddCommand((&cmdAction{global: global, action: action}).command())
	}

	return app
}

// exitStatusError carries an exit status a command wants without printing anything more.
type exitStatusError struct {
	code int
}

func (e exitStatusError) Error() string {
	return fmt.Sprintf("exit status %d", e.code)
}

func exitCode(err error) int {
	var es exitStatusError
	if errors.As(err, &es) {
		return es.code
	}

	_ = api.StatusErrorCheck(err)
	return 1
}
