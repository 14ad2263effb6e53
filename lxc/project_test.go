package main

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxc/config"
)

// runApp runs one invocation of the whole command tree, global flags included, against the configuration in dir.
func runApp(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	app := newApp(&cmdGlobal{conf: conf})
	var out bytes.Buffer
	app.SetOut(&out)
	app.SetErr(&out)
	app.SetArgs(args)
	err = app.Execute()
	return out.String(), err
}

// projectsOf returns the ?project= of every request logged ("" for none).
func projectsOf(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, line := range lines {
		_, uri, _ := strings.Cut(line, " ")
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatalf("request %q: %v", line, err)
		}

		out = append(out, u.Query().Get("project"))
	}

	return out
}

// TestGlobalProjectFlag checks that lxc --project NAME names the project on every request of a command, over
// the project the remote is saved with, and that without it the remote's own project (or none) is named.
func TestGlobalProjectFlag(t *testing.T) {
	s, conf := newFakeImageServer(t)
	commands := [][]string{{"image", "list"}, {"image", "show", "bb"}, {"image", "alias", "list"}, {"image", "info", "c75e"}}
	check := func(args []string, project []string, want string) {
		t.Helper()
		s.resetLog()
		all := append(append([]string{}, project...), args...)
		out, err := runApp(t, conf, all...)
		if err != nil {
			t.Fatalf("lxc %s: %v\n%s", strings.Join(all, " "), err, out)
		}

		lines := s.log()
		if len(lines) == 0 {
			t.Fatalf("lxc %s sent no request", strings.Join(all, " "))
		}

		for i, got := range projectsOf(t, lines) {
			if got != want {
				t.Errorf("lxc %s: request %q names project %q, want %q", strings.Join(all, " "), lines[i], got, want)
			}
		}
	}

	for _, args := range commands {
		check(args, []string{"--project", "foo"}, "foo")
		check(args, []string{"--project=default"}, "default")
		check(args, nil, "")
	}

	// A remote saved with a project: its project, unless --project overrides it.
	path := filepath.Join(conf, "config.yml")
	yml, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(path, append(yml, []byte("    project: bar\n")...), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	check([]string{"image", "list"}, nil, "bar")
	check([]string{"image", "list"}, []string{"--project", "foo"}, "foo")

	// The override is not saved with the configuration by a command that saves it.
	out, err := runApp(t, conf, "--project", "foo", "alias", "add", "ll", "list")
	if err != nil {
		t.Fatalf("lxc alias add: %v\n%s", err, out)
	}

	loaded, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}

	if loaded.Aliases["ll"] != "list" || loaded.Remotes["local"].Project != "bar" || loaded.ProjectOverride != "" {
		t.Fatalf("got local remote %+v and override %q after --project foo", loaded.Remotes["local"], loaded.ProjectOverride)
	}
}
