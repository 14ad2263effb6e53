package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNewDirPoolRemovesUnfinished(t *testing.T) {
	dir := t.TempDir()
	unfinished := []string{
		filepath.Join(dir, "images", ".tmp-1"),
		filepath.Join(dir, "containers", ".tmp-2"),
		filepath.Join(dir, "containers-snapshots", "c1", ".tmp-3"),
	}

	kept := []string{
		filepath.Join(dir, "containers", "c1"),
		filepath.Join(dir, "containers-snapshots", "c1", "snap0"),
	}

	for _, d := range append(unfinished, kept...) {
		err := os.MkdirAll(filepath.Join(d, "rootfs"), 0o700)
		if err != nil {
			t.Fatal(err)
		}
	}

	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	for _, d := range unfinished {
		_, err = os.Stat(d)
		if !os.IsNotExist(err) {
			t.Errorf("got %v for %s, want it removed", err, d)
		}
	}

	for _, d := range kept {
		_, err = os.Stat(d)
		if err != nil {
			t.Errorf("got %v for %s, want it kept", err, d)
		}
	}

	names, err := p.Containers()
	if err != nil || len(names) != 1 || names[0] != "c1" {
		t.Fatalf("got containers %v %v, want c1", names, err)
	}
}

func TestCreateContainerIsAtomic(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	src := t.TempDir()
	err = os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	// A copy that fails leaves nothing under the name, nor any temporary directory.
	err = p.CreateContainerFrom("c1", filepath.Join(src, "missing"), false)
	if err == nil {
		t.Fatal("got no error copying a missing tree")
	}

	entries, err := os.ReadDir(filepath.Join(dir, "containers"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("got %v %v in containers/, want nothing after a failed creation", entries, err)
	}

	err = p.CreateContainerFrom("c1", src, false)
	if err != nil {
		t.Fatal(err)
	}

	base, err := p.ContainerBase("c1")
	if err != nil || base != "" {
		t.Fatalf("got base %q %v, want a complete container without a base", base, err)
	}

	err = p.CreateContainerFrom("c1", src, false)
	if err == nil {
		t.Fatal("got no error creating c1 twice")
	}

	entries, err = os.ReadDir(filepath.Join(dir, "containers"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("got %v %v in containers/, want c1 only", entries, err)
	}
}

// TestCreateContainerMovesStaging checks that a staging tree on a dir pool's file system is moved into place, not
// copied, and that a tree another file system holds is copied.
func TestCreateContainerMovesStaging(t *testing.T) {
	dir := t.TempDir()
	p, err := NewDirPool("default", dir)
	if err != nil {
		t.Fatal(err)
	}

	src := filepath.Join(dir, "stage", "rootfs")
	err = os.MkdirAll(src, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	}

	if err != nil {
		t.Fatal(err)
	}

	var before unix.Stat_t
	err = unix.Stat(filepath.Join(src, "f"), &before)
	if err != nil {
		t.Fatal(err)
	}

	err = p.CreateContainerFrom("c1", src, true)
	if err != nil {
		t.Fatal(err)
	}

	var after unix.Stat_t
	err = unix.Stat(filepath.Join(p.ContainerRootfs("c1"), "f"), &after)
	if err != nil || after.Ino != before.Ino {
		t.Fatalf("got %v, inode %d; want the staged file itself (inode %d)", err, after.Ino, before.Ino)
	}

	_, err = os.Stat(src)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v for the staging tree, want it moved away", err)
	}
}
