package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomicReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	err := os.WriteFile(p, []byte("old"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = WriteFileAtomic(p, []byte("new"), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}

	if string(got) != "new" {
		t.Fatalf("got %q, want %q", got, "new")
	}

	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}

	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("got mode %v, want 0600", fi.Mode().Perm())
	}

	assertOnly(t, dir, "f")
}

func TestWriteAtomicFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	err := os.WriteFile(p, []byte("old"), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	err = WriteAtomic(p, 0o644, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}

	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}

	if string(got) != "old" {
		t.Fatalf("got %q, want %q", got, "old")
	}

	assertOnly(t, dir, "f")
}

func TestSyncDirMissing(t *testing.T) {
	err := SyncDir(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want not exist", err)
	}
}

func assertOnly(t *testing.T, dir string, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	if len(entries) != 1 || entries[0].Name() != name {
		t.Fatalf("directory holds %v, want only %s", entries, name)
	}
}

func TestWriteAtomicTempPrefix(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.json")
	var tmpName string
	err := WriteAtomicTemp(p, ".export-", 0o644, func(w io.Writer) error {
		tmpName = filepath.Base(w.(*os.File).Name())
		_, err := w.Write([]byte("{}"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if !strings.HasPrefix(tmpName, ".export-") || tmpName == ".export-" {
		t.Fatalf("got temporary file %q, want .export- and a random suffix", tmpName)
	}

	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}

	if string(got) != "{}" {
		t.Fatalf("got %q, want %q", got, "{}")
	}

	assertOnly(t, dir, "doc.json")
}

func TestWriteAtomicTempName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yml")
	var tmpName string
	err := WriteAtomic(p, 0o644, func(w io.Writer) error {
		tmpName = filepath.Base(w.(*os.File).Name())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if !strings.HasPrefix(tmpName, TempPrefix(p)) {
		t.Fatalf("got temporary file %q, want prefix %q", tmpName, TempPrefix(p))
	}
}

func TestWriteAtomicTempBadPrefix(t *testing.T) {
	dir := t.TempDir()
	err := WriteFileAtomic(filepath.Join(dir, "f"), nil, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	err = WriteAtomicTemp(filepath.Join(dir, "f"), "sub/x", 0o644, func(w io.Writer) error { return nil })
	if err == nil {
		t.Fatal("got no error for a prefix with a path separator")
	}

	assertOnly(t, dir, "f")
}
