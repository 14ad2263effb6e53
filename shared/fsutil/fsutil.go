// Package fsutil holds the durable file operations every writer of state files uses: a file replaced whole or not
// at all, and a directory fsync that makes a rename in it survive a crash; and the mark of the directories under which
// whole trees are written.
package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data: readers and a crash see the old content or the new one, never a mix.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return WriteAtomic(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic replaces path with what write produces, under the same guarantee as WriteFileAtomic: the content is
// written to a temporary file beside path, synced, given mode, renamed over path, and the directory is synced. On
// error path is left as it was and the temporary file is removed.
func WriteAtomic(path string, mode os.FileMode, write func(w io.Writer) error) error {
	return WriteAtomicTemp(path, TempPrefix(path), mode, write)
}

// TempPrefix is the name prefix of the temporary files WriteAtomic and WriteFileAtomic create beside path, which a
// crash may leave behind.
func TempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp-"
}

// WriteAtomicTemp is WriteAtomic with the temporary file named prefix followed by random characters, for a writer
// whose start-up cleanup removes the leftovers of a crash by a prefix of its own.
func WriteAtomicTemp(path string, prefix string, mode os.FileMode, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return err
	}

	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()

	err = write(f)
	if err != nil {
		return err
	}

	err = f.Chmod(mode)
	if err != nil {
		return err
	}

	err = f.Sync()
	if err != nil {
		return err
	}

	err = f.Close()
	if err != nil {
		return err
	}

	err = os.Rename(f.Name(), path)
	if err != nil {
		return err
	}

	renamed = true
	return SyncDir(dir)
}

// SyncDir makes the renames and creations in dir durable. File systems that cannot sync a directory are not an
// error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}

	defer func() { _ = d.Close() }()
	err = d.Sync()
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}

	return nil
}
