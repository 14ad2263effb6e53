package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/shared/version"
)

// parsed is what a stubbed command saw: which command ran and its arguments.
type parsed struct {
	cmd  *cobra.Command
	args []string
}

// runApp parses args with the real command line but with every command's action replaced by a recorder, except
// those in keep. It returns what ran (nil cmd when nothing did), the output and the error.
func runApp(t *testing.T, args []string, keep ...string) (parsed, string, error) {
	t.Helper()
	app := newApp()
	var got parsed
	stub := func(cmd *cobra.Command, args []string) error {
		got = parsed{cmd: cmd, args: args}
		return nil
	}

	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}

	cmds := append([]*cobra.Command{app}, app.Commands()...)
	for _, c := range cmds {
		if kept[c.Name()] {
			continue
		}

		c.Run = nil
		c.RunE = stub
	}

	var out bytes.Buffer
	app.SetOut(&out)
	app.SetErr(&out)
	app.SetArgs(args)
	err := app.Execute()
	return got, out.String(), err
}

func TestCommandLineAccepted(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		command string
		flags   map[string]string
	}{
		{"no arguments", nil, "lxd", nil},
		{"empty argument", []string{""}, "lxd", nil},
		{"empty arguments", []string{"", ""}, "lxd", nil},
		{"daemon", []string{"daemon"}, "lxd", nil},
		{"empty and daemon", []string{"", "daemon", ""}, "lxd", nil},
		{"group after an empty argument", []string{"", "--group", "lxd"}, "lxd", map[string]string{"group": "lxd"}},
		{"group=", []string{"--group=adm"}, "lxd", map[string]string{"group": "adm"}},
		{
			"logging flags",
			[]string{"--debug", "--verbose", "--logfile", "/tmp/x.log", "--syslog", "--trace", "a,b"},
			"lxd",
			map[string]string{"debug": "true", "verbose": "true", "logfile": "/tmp/x.log", "syslog": "true", "trace": "[a,b]"},
		},
		{"short flags", []string{"-d", "-v"}, "lxd", map[string]string{"debug": "true", "verbose": "true"}},
		{"activateifneeded", []string{"activateifneeded"}, "activateifneeded", nil},
		{"activateifneeded with an empty argument", []string{"activateifneeded", ""}, "activateifneeded", nil},
		{"waitready", []string{"waitready", "--timeout", "30"}, "waitready", map[string]string{"timeout": "30"}},
		{"waitready -t", []string{"waitready", "-t", "5", ""}, "waitready", map[string]string{"timeout": "5"}},
		{"shutdown", []string{"shutdown"}, "shutdown", map[string]string{"timeout": "0", "force": "false"}},
		{"shutdown flags", []string{"shutdown", "-t", "10", "-f"}, "shutdown", map[string]string{"timeout": "10", "force": "true"}},
		{"global flag after a subcommand", []string{"waitready", "--debug"}, "waitready", map[string]string{"debug": "true"}},
		{"sql", []string{"sql", "global", "SELECT 1"}, "sql", nil},
		{"version", []string{"version"}, "version", nil},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, out, err := runApp(t, c.args)
			if err != nil {
				t.Fatalf("%q: %v (output %q)", c.args, err, out)
			}

			if got.cmd == nil || got.cmd.Name() != c.command {
				t.Fatalf("%q: ran %v, want %s", c.args, got.cmd, c.command)
			}

			for name, want := range c.flags {
				f := got.cmd.Flags().Lookup(name)
				if f == nil {
					t.Fatalf("%q: no flag %s", c.args, name)
				}

				if f.Value.String() != want {
					t.Errorf("%q: flag %s is %q, want %q", c.args, name, f.Value.String(), want)
				}
			}
		})
	}
}

func TestCommandLineRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "unknown flag: --bogus"},
		{"unknown command", []string{"foo"}, `unknown command "foo" for "lxd"`},
		{"daemon twice", []string{"daemon", "daemon"}, `unknown command "daemon" for "lxd"`},
		{"argument after an empty one", []string{"", "foo"}, `unknown command "foo" for "lxd"`},
		{"group without a value", []string{"--group"}, "flag needs an argument: --group"},
		{"group is the daemon's own", []string{"waitready", "--group", "lxd"}, "unknown flag: --group"},
		{"waitready argument", []string{"waitready", "now"}, `unknown command "now" for "lxd waitready"`},
		{"bad timeout", []string{"shutdown", "--timeout", "soon"}, `invalid argument "soon"`},
		{"version argument", []string{"version", "x"}, `unknown command "x" for "lxd version"`},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := runApp(t, c.args)
			if err == nil {
				t.Fatalf("%q: accepted, ran %v", c.args, got.cmd)
			}

			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: got error %q, want it to contain %q", c.args, err, c.want)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}, {"version", ""}} {
		_, out, err := runApp(t, args, "version")
		if err != nil {
			t.Fatal(err)
		}

		if out != version.Version+"\n" {
			t.Errorf("%q: got %q, want the version alone, as stock LXD prints it", args, out)
		}
	}

	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		got, out, err := runApp(t, args)
		if err != nil {
			t.Fatal(err)
		}

		if got.cmd != nil {
			t.Errorf("%q: ran %s", args, got.cmd.Name())
		}

		for _, want := range []string{"activateifneeded", "waitready", "shutdown", "--group", "--logfile", "--syslog", "--debug", "--verbose", "--version"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help does not mention %s:\n%s", args, want, out)
			}
		}
	}

	// activateifneeded really runs: nothing to activate, exit 0, no output.
	_, out, err := runApp(t, []string{"activateifneeded"}, "activateifneeded")
	if err != nil || out != "" {
		t.Errorf("activateifneeded: got %q, %v, want no output and no error", out, err)
	}
}

func TestLookupGroup(t *testing.T) {
	for _, name := range []string{"root", "0"} {
		gid, err := lookupGroup(name)
		if err != nil || gid != 0 {
			t.Errorf("%s: got %d, %v, want 0", name, gid, err)
		}
	}

	for _, name := range []string{"no-such-group-for-lxd-tests", "4294967290"} {
		_, err := lookupGroup(name)
		if err == nil || !strings.Contains(err.Error(), "unknown group") {
			t.Errorf("%s: got %v, want unknown group", name, err)
		}
	}
}

func TestUnknownGroupRefusedBeforeStart(t *testing.T) {
	// The daemon's action runs for real: the group is checked before anything is started or created.
	_, _, err := runApp(t, []string{"", "--group", "no-such-group-for-lxd-tests"}, "lxd")
	if err == nil || !strings.Contains(err.Error(), `--group: unknown group "no-such-group-for-lxd-tests"`) {
		t.Fatalf("got %v, want an unknown group error", err)
	}
}
