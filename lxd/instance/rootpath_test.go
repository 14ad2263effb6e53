package instance

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestResolveParents(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"run/systemd", "usr/share/zoneinfo", "etc"} {
		err := os.MkdirAll(filepath.Join(dir, d), 0o755)
		if err != nil {
			t.Fatal(err)
		}
	}

	links := map[string]string{
		"var":        "/usr/share",          // absolute: from the instance's root
		"etc/rel":    "../run/systemd",      // relative
		"etc/up":     "../../../../run",     // climbing above the root stops at it
		"etc/loop1":  "/etc/loop2",          // a loop
		"etc/loop2":  "loop1",               // ...
		"etc/gone":   "/nowhere/at/all",     // a missing directory
		"etc/target": "/run/systemd/x.conf", // the last component stays a symlink
	}

	for name, target := range links {
		err := os.Symlink(target, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = root.Close() }()
	tests := map[string]string{
		".":                        ".",
		"etc":                      "etc",
		"var/zoneinfo/UTC":         "usr/share/zoneinfo/UTC",
		"etc/rel/resolv.conf":      "run/systemd/resolv.conf",
		"etc/up/systemd/x":         "run/systemd/x",
		"etc/gone/x":               "nowhere/at/all/x",
		"etc/target":               "etc/target",
		"missing/dir/file":         "missing/dir/file",
		"var/zoneinfo/../../x/y/z": "usr/x/y/z",
	}

	for in, want := range tests {
		got, err := ResolveParents(root, in)
		if err != nil || got != want {
			t.Errorf("ResolveParents(%q): got %q %v, want %q", in, got, err, want)
		}
	}

	_, err = ResolveParents(root, "etc/loop1/x")
	if !errors.Is(err, syscall.ELOOP) {
		t.Errorf("a symlink loop: got %v, want ELOOP", err)
	}
}
