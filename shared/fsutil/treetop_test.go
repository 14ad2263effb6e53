package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// treeTopDir returns a directory on a file system that keeps the mark, or skips the test.
func treeTopDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("setting directory flags needs root")
	}

	dir := filepath.Join(t.TempDir(), "trees")
	err := os.Mkdir(dir, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	err = MarkTreeTop(dir)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		t.Skipf("the file system of %s has no directory flags: %v", dir, err)
	}

	if err != nil {
		t.Fatal(err)
	}

	return dir
}

func TestMarkTreeTop(t *testing.T) {
	dir := treeTopDir(t)
	top, err := IsTreeTop(dir)
	if err != nil || !top {
		t.Fatalf("after MarkTreeTop: top=%v err=%v", top, err)
	}

	// A second mark keeps the first; the directory's other flags stay.
	err = MarkTreeTop(dir)
	if err != nil {
		t.Fatal(err)
	}

	sub := filepath.Join(dir, "sub")
	err = os.Mkdir(sub, 0o700)
	if err != nil {
		t.Fatal(err)
	}

	top, err = IsTreeTop(sub)
	if err != nil || top {
		t.Fatalf("a directory made in a marked one: top=%v err=%v, want an unmarked directory", top, err)
	}
}

func TestMarkTreeTopRefusesFilesAndLinks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	err := os.WriteFile(file, nil, 0o600)
	if err != nil {
		t.Fatal(err)
	}

	err = MarkTreeTop(file)
	if err == nil {
		t.Fatal("a regular file was marked")
	}

	link := filepath.Join(dir, "l")
	err = os.Symlink(dir, link)
	if err != nil {
		t.Fatal(err)
	}

	err = MarkTreeTop(link)
	if err == nil {
		t.Fatal("a symlink was followed")
	}
}
