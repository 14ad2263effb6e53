package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/storage/drivers"
)

// tombstonePrefix starts the name a directory is renamed to before it is removed: whatever a crash leaves of a
// removal is under such a name, never under the live one, and the next start finishes the removal.
const tombstonePrefix = ".deleted-"

// crashPointEnv names the environment variable that makes the daemon kill itself with SIGKILL at one named point
// of a storage change, so that integration tests crash it exactly there. It is read once, at start.
const crashPointEnv = "LXD_CRASH_POINT"

// crashAt is the crash point set in the environment at start; read-only afterwards.
var crashAt = os.Getenv(crashPointEnv)

// CrashPoint kills the process with SIGKILL when name is the crash point set in LXD_CRASH_POINT at start (a test
// hook: it does nothing otherwise).
func CrashPoint(name string) {
	if crashAt == "" || crashAt != name {
		return
	}

	slog.Warn("killing the daemon at a crash point", "point", name)
	_ = unix.Kill(os.Getpid(), unix.SIGKILL)
	select {}
}

// entomb renames path to a tombstone next to it (.deleted-<name>.<unix nanoseconds>) and returns the tombstone's
// path; a missing path returns "" and no error.
func entomb(path string) (string, error) {
	dest := filepath.Join(filepath.Dir(path), fmt.Sprintf("%s%s.%d", tombstonePrefix, filepath.Base(path), time.Now().UnixNano()))
	err := os.Rename(path, dest)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}

	if err != nil {
		return "", fmt.Errorf("moving %s out of the way: %w", path, err)
	}

	return dest, nil
}

// removeEntombed renames path to a tombstone, then removes it: a crash in between leaves the tombstone, which the
// next start removes, and nothing half-removed under the live name. point names the crash point between the two.
func removeEntombed(path string, point string) error {
	tomb, err := entomb(path)
	if err != nil || tomb == "" {
		return err
	}

	CrashPoint(point)
	return removeTree(tomb)
}

// tombstoneOwner returns the name a tombstone was made from (.deleted-<name>.<nanoseconds>), and false for any
// other name.
func tombstoneOwner(entry string) (string, bool) {
	rest, ok := strings.CutPrefix(entry, tombstonePrefix)
	if !ok {
		return "", false
	}

	i := strings.LastIndex(rest, ".")
	if i <= 0 {
		return "", false
	}

	return rest[:i], true
}

// tombstones lists the tombstones in dir by full path, with the name each was made from.
func tombstones(dir string) map[string]string {
	out := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		owner, ok := tombstoneOwner(e.Name())
		if ok {
			out[filepath.Join(dir, e.Name())] = owner
		}
	}

	return out
}

// removeAll removes each path, logging what it removes as why.
func removeAll(paths []string, why string) error {
	var errs []error
	for _, path := range paths {
		slog.Warn(why, "path", path)
		err := removeTree(path)
		if err != nil {
			slog.Error("failed removing storage", "path", path, "err", err)
			errs = append(errs, err)
		}
	}

	return errors.Join(errs...)
}

// DeletedContainers returns the names of the containers whose deletion a crash interrupted: their storage, or
// that of their snapshots, is still under a tombstone. The instance manager finishes these deletions at start
// (their rows too), then calls RemoveTombstones.
func (p *Pool) DeletedContainers() map[string]bool {
	out := map[string]bool{}
	for _, dir := range []string{filepath.Join(p.dir, "containers"), filepath.Join(p.dir, "containers-snapshots")} {
		for _, owner := range tombstones(dir) {
			out[owner] = true
		}
	}

	return out
}

// RemoveTombstones removes the tombstones of the named containers and of their snapshots, or every container's
// when no name is given.
func (p *Pool) RemoveTombstones(names ...string) error {
	only := map[string]bool{}
	for _, name := range names {
		only[name] = true
	}

	var paths []string
	for _, dir := range []string{filepath.Join(p.dir, "containers"), filepath.Join(p.dir, "containers-snapshots")} {
		for path, owner := range tombstones(dir) {
			if len(only) == 0 || only[owner] {
				paths = append(paths, path)
			}
		}
	}

	var errs []error
	for _, path := range paths {
		err := removeTree(path)
		if err != nil {
			errs = append(errs, err)
		}
	}

	return errors.Join(errs...)
}

// removeTree removes path and everything under it, btrfs subvolumes included; a missing path is not an error.
func removeTree(path string) error {
	return drivers.RemoveTree(path)
}
