package storage

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestIsMountPoint tells mount points from plain directories, a missing path and a symlink to a mount point.
func TestIsMountPoint(t *testing.T) {
	dir := t.TempDir()
	for path, want := range map[string]bool{"/": true, "/proc": true, dir: false, filepath.Join(dir, "missing"): false} {
		got, err := IsMountPoint(path)
		if err != nil || got != want {
			t.Fatalf("IsMountPoint(%q) = %v, %v; want %v", path, got, err, want)
		}
	}

	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: mounting a tmpfs needs root")
	}

	mnt := filepath.Join(dir, "mnt")
	err := os.Mkdir(mnt, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	err = unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	err = os.Mkdir(filepath.Join(mnt, "sub"), 0o700)
	if err != nil {
		t.Fatal(err)
	}

	err = os.Symlink(mnt, filepath.Join(dir, "link"))
	if err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]bool{mnt: true, filepath.Join(mnt, "sub"): false, filepath.Join(dir, "link"): false} {
		got, err := IsMountPoint(path)
		if err != nil || got != want {
			t.Fatalf("IsMountPoint(%q) = %v, %v; want %v", path, got, err, want)
		}
	}
}
