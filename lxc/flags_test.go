package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
)

// runCommand runs one invocation of the instance commands (start, stop, delete, list, exec, monitor...) with a
// configuration whose local remote is the unix socket sock ("" for one nothing listens on), and returns what it
// printed on stdout and stderr together.
func runCommand(t *testing.T, sock string, args ...string) (string, error) {
	t.Helper()
	return runCommandIn(t, sock, "", args...)
}

// runCommandIn is runCommand with stdin.
func runCommandIn(t *testing.T, sock string, stdin string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if sock == "" {
		sock = filepath.Join(dir, "nothing.socket")
	}

	yml := "default-remote: local\nremotes:\n  local:\n    addr: unix://" + sock + "\n    public: false\n"
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	for _, action := range []string{"start", "stop", "restart", "freeze", "unfreeze"} {
		root.AddCommand((&cmdAction{global: global, action: action}).command())
	}

	root.AddCommand((&cmdDelete{global: global}).command())
	root.AddCommand((&cmdList{global: global}).command())
	root.AddCommand((&cmdMonitor{global: global}).command())
	root.AddCommand((&cmdExec{global: global}).command())
	root.AddCommand((&cmdInit{global: global}).command())
	root.AddCommand((&cmdLaunch{init: cmdInit{global: global}}).command())
	root.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "")

	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}
