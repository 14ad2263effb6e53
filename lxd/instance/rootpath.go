package instance

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// maxSymlinks is how many symlinks one path may go through, as the kernel allows.
const maxSymlinks = 40

// ResolveParents resolves the symlinks in the directories of rel (a clean path relative to root, "." for the
// root) as the instance sees them, as a chroot does: an absolute target starts again at the instance's root and
// ".." stops at it. The last component is kept as it is (a symlink there is the caller's to read or replace).
// From a missing directory on, the rest is taken as written, for the operation to report it. Every later
// operation still goes through the os.Root, so a symlink changed in the meantime cannot lead out of it.
func ResolveParents(root *os.Root, rel string) (string, error) {
	if rel == "." || rel == "" {
		return ".", nil
	}

	dir, last := path.Split(rel)
	pending := strings.Split(dir, "/")
	resolved := []string{}
	links := 0
	missing := false
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) > 0 {
				resolved = resolved[:len(resolved)-1]
			}

			continue
		}

		if missing {
			resolved = append(resolved, c)
			continue
		}

		cur := path.Join(append(resolved, c)...)
		info, err := root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			missing = true
			resolved = append(resolved, c)
			continue
		}

		if err != nil {
			return "", err
		}

		if info.Mode()&fs.ModeSymlink == 0 {
			resolved = append(resolved, c)
			continue
		}

		links++
		if links > maxSymlinks {
			return "", &fs.PathError{Op: "resolve", Path: rel, Err: syscall.ELOOP}
		}

		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}

		if strings.HasPrefix(target, "/") {
			resolved = resolved[:0]
		}

		pending = append(strings.Split(target, "/"), pending...)
	}

	return path.Join(append(resolved, last)...), nil
}
