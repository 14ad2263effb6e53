package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpandAlias(t *testing.T) {
	aliases := map[string]string{
		"ll":       "list -c ns46S",
		"snap ls":  "info @ARG1@",
		"snap":     "snapshot",
		"ext":      "/bin/echo hello @ARGS@ end",
		"two":      "query /1.0/@ARG2@/@ARG1@",
		"mid":      "query @ARGS@ /1.0",
		"sh":       "exec @ARG1@ -- sh -c @ARGS@",
		"glued":    "config get c1 @ARG1@@ARG1@",
		"zero":     "query /@ARG0@",
		"list":     "list -c n",
		"double  ": "version",
	}

	tests := []struct {
		name    string
		args    []string
		want    []string
		noAlias bool
		wantErr string
	}{
		// What the stock 5.0.2 client runs for the same command lines.
		{"plain", []string{"lxc", "ll"}, []string{"lxc", "list", "-c", "ns46S"}, false, ""},
		{"arguments follow", []string{"lxc", "ll", "c1", "-f", "csv"}, []string{"lxc", "list", "-c", "ns46S", "c1", "-f", "csv"}, false, ""},
		{"leading flags kept in front", []string{"lxc", "-q", "--debug", "ll"}, []string{"lxc", "-q", "--debug", "list", "-c", "ns46S"}, false, ""},
		{"overrides a command", []string{"lxc", "list"}, []string{"lxc", "list", "-c", "n"}, false, ""},
		{"two words, longest wins", []string{"lxc", "snap", "ls", "c1"}, []string{"lxc", "info", "c1"}, false, ""},
		{"one word of two", []string{"lxc", "snap", "c1"}, []string{"lxc", "snapshot", "c1"}, false, ""},
		{"program", []string{"lxc", "ext", "a", "b"}, []string{"/bin/echo", "hello", "a", "b", "end"}, false, ""},
		{"program without arguments", []string{"lxc", "ext"}, []string{"/bin/echo", "hello", "end"}, false, ""},
		{"program after flags", []string{"lxc", "-q", "ext"}, []string{"-q", "/bin/echo", "hello", "end"}, false, ""},
		{"numbered", []string{"lxc", "two", "default", "profiles"}, []string{"lxc", "query", "/1.0/profiles/default"}, false, ""},
		{"numbered and rest", []string{"lxc", "sh", "c1", "ls", "-l"}, []string{"lxc", "exec", "c1", "--", "sh", "-c", "ls", "-l"}, false, ""},
		{"numbered twice in one word", []string{"lxc", "glued", "k"}, []string{"lxc", "config", "get", "c1", "kk"}, false, ""},
		{"args in the middle", []string{"lxc", "mid", "--raw", "-X", "GET"}, []string{"lxc", "query", "--raw", "-X", "GET", "/1.0"}, false, ""},
		{"built-in shell", []string{"lxc", "shell", "c1"}, []string{"lxc", "exec", "c1", "--", "su", "-l"}, false, ""},
		{"split on single spaces", []string{"lxc", "double", "", ""}, []string{"lxc", "version"}, false, ""},
		{"not an alias", []string{"lxc", "info", "ll"}, nil, true, ""},
		{"only flags", []string{"lxc", "--help"}, nil, true, ""},
		{"missing numbered argument", []string{"lxc", "two", "default"}, nil, false, `found alias "two" references an argument outside the given number`},
		{"two words, missing argument", []string{"lxc", "snap", "ls"}, nil, false, `found alias "snap ls" references an argument outside the given number`},
		// The stock client panics on @ARG0@.
		{"argument zero", []string{"lxc", "zero", "x"}, nil, false, `found alias "zero" references an argument outside the given number`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, expanded, err := expandAlias(aliases, tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if expanded == tt.noAlias {
				t.Fatalf("got expanded %v, want %v", expanded, !tt.noAlias)
			}

			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExpandAliasUserShell checks that an alias of config.yml named like a built-in one replaces it.
func TestExpandAliasUserShell(t *testing.T) {
	got, _, err := expandAlias(map[string]string{"shell": "exec @ARGS@ -- bash"}, []string{"lxc", "shell", "c1"})
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"lxc", "exec", "c1", "--", "bash"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// aliasConf returns a configuration directory holding config.yml.
func aliasConf(t *testing.T, yml string) string {
	t.Helper()
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	return dir
}

// TestAliasListStockGolden compares "lxc alias list" with testdata/stock-alias-list*, printed by the stock 5.0.2
// client from config/testdata/stock-config-aliases.yml (and from a configuration without aliases).
func TestAliasListStockGolden(t *testing.T) {
	yml, err := os.ReadFile(filepath.Join("config", "testdata", "stock-config-aliases.yml"))
	if err != nil {
		t.Fatal(err)
	}

	full := aliasConf(t, string(yml))
	empty := aliasConf(t, "default-remote: local\nremotes: {}\naliases: {}\n")
	tests := []struct {
		golden string
		conf   string
		args   []string
	}{
		{"stock-alias-list.table", full, []string{"alias", "list"}},
		{"stock-alias-list.compact", full, []string{"alias", "list", "--format", "compact"}},
		{"stock-alias-list.csv", full, []string{"alias", "ls", "--format", "csv"}},
		{"stock-alias-list.json", full, []string{"alias", "list", "-f", "json"}},
		{"stock-alias-list.yaml", full, []string{"alias", "list", "--format=yaml"}},
		{"stock-alias-list-empty.table", empty, []string{"alias", "list"}},
		{"stock-alias-list-empty.json", empty, []string{"alias", "list", "-f", "json"}},
		{"stock-alias-list-empty.yaml", empty, []string{"alias", "list", "-f", "yaml"}},
	}

	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}

			got, stderr, err := runTree(t, tt.conf, tt.args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tt.args, err, stderr)
			}

			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestAliasManagement(t *testing.T) {
	dir := aliasConf(t, "default-remote: local\nremotes: {}\naliases: {}\n")
	run := func(args ...string) error {
		t.Helper()
		_, _, err := runTree(t, dir, append([]string{"alias"}, args...)...)
		return err
	}

	must := func(args ...string) {
		t.Helper()
		err := run(args...)
		if err != nil {
			t.Fatalf("alias %v: %v", args, err)
		}
	}

	must("add", "ll", "list -c ns46S")
	must("add", "snap ls", "info @ARG1@")
	must("rename", "ll", "l2")
	must("mv", "l2", "ll")
	must("add", "gone", "version")
	must("rm", "gone")

	// The file is the stock client's config.yml: it printed the same for the same commands.
	data, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	want := "default-remote: local\nremotes:\n  local:\n    addr: unix://\n    public: false\naliases:\n  ll: list -c ns46S\n  snap ls: info @ARG1@\n"
	if string(data) != want {
		t.Fatalf("config.yml:\n%s\nwant:\n%s", data, want)
	}

	failures := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"add", "ll", "version"}, "alias ll already exists"},
		{[]string{"rename", "nope", "x"}, "alias nope doesn't exist"},
		{[]string{"rename", "ll", "snap ls"}, "alias snap ls already exists"},
		{[]string{"rename", "ll", "ll"}, "alias ll already exists"},
		{[]string{"remove", "nope"}, "alias nope doesn't exist"},
		{[]string{"add", "only-one"}, "invalid number of arguments"},
		{[]string{"list", "extra"}, "invalid number of arguments"},
		{[]string{"list", "-f", "xml"}, `invalid format "xml"`},
		{[]string{"bogus"}, `unknown command "bogus" for "lxc alias"`},
	}

	for _, f := range failures {
		err := run(f.args...)
		if err == nil || err.Error() != f.wantErr {
			t.Fatalf("alias %v: got error %v, want %q", f.args, err, f.wantErr)
		}
	}

	after, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	if string(after) != want {
		t.Fatalf("failed commands changed config.yml:\n%s", after)
	}

	// Without arguments the subcommands print their help and succeed, as the stock client's do.
	out, _, err := runTree(t, dir, "alias", "remove")
	if err != nil || !strings.Contains(out, "Remove aliases") {
		t.Fatalf("got %v, %q; want the help", err, out)
	}
}
