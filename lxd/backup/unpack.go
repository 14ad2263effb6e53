package backup

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
)

// maxEntries bounds the number of entries of a backup.
const maxEntries = 10_000_000

// harmlessDevices are the character devices a backup may carry, as an image may: those every container's /dev has.
var harmlessDevices = map[[2]int64]bool{
	{1, 3}: true, {1, 5}: true, {1, 7}: true, {1, 8}: true, {1, 9}: true, {5, 0}: true, {5, 1}: true, {5, 2}: true,
}

// kinds of the paths written so far.
const (
	kindDir = iota + 1
	kindFile
	kindSymlink
)

// dirAttrs are the mode and time of a directory, applied once its content is written.
type dirAttrs struct {
	rel   string
	mode  fs.FileMode
	mtime time.Time
}

// unpacker extracts a backup tarball under a directory, refusing what could leave it or harm the host.
type unpacker struct {
	root    *os.Root
	kinds   map[string]int
	dirs    []dirAttrs
	entries int
}

// invalid is the refusal of a backup, with the entry that made it.
func invalid(name string, format string, args ...any) error {
	return errs.Invalid("invalid backup: %s: %s", name, fmt.Sprintf(format, args...))
}

// unpackTarball extracts the tar stream r under dest (an existing, empty directory).
func unpackTarball(ctx context.Context, r io.Reader, dest string) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()
	u := &unpacker{root: root, kinds: map[string]int{"": kindDir}}
	tr := tar.NewReader(r)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}

		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return truncated(err)
		}

		u.entries++
		if u.entries > maxEntries {
			return errs.Invalid("invalid backup: more than %d entries", maxEntries)
		}

		err = u.extract(hdr, tr)
		if err != nil {
			return err
		}
	}

	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		err = root.Chmod(d.rel, d.mode)
		if err == nil {
			err = root.Chtimes(d.rel, d.mtime, d.mtime)
		}

		if err != nil {
			return err
		}
	}

	return nil
}

// truncated reads an error of the tar or compressed stream as a damaged backup.
func truncated(err error) error {
	if errors.Is(err, errs.ErrInvalid) {
		return err
	}

	return errs.Invalid("invalid backup: the tarball is truncated or corrupt (%v)", err)
}

// cleanName reads an entry name as GNU tar extracts it, refusing one that would leave the directory.
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", errors.New("name contains a NUL byte")
	}

	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New(`path contains ".."`)
		}
	}

	clean := strings.TrimLeft(path.Clean("/"+name), "/")
	if clean == "" {
		return "", nil
	}

	if !filepath.IsLocal(clean) {
		return "", errors.New("path is not local")
	}

	return clean, nil
}

// tree returns the top of the tree holding name: backup/container or backup/snapshots/<name>, where hard links
// must stay.
func tree(name string) string {
	parts := strings.SplitN(name, "/", 4)
	if len(parts) >= 3 && parts[1] == "snapshots" {
		return strings.Join(parts[:3], "/")
	}

	if len(parts) >= 2 {
		return strings.Join(parts[:2], "/")
	}

	return name
}

// extract writes one entry.
func (u *unpacker) extract(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return invalid(hdr.Name, "%v", err)
	}

	if name == "" || name == "backup" {
		return nil
	}

	if !strings.HasPrefix(name, "backup/") {
		return invalid(hdr.Name, "entry outside backup/")
	}

	if hdr.Typeflag != tar.TypeDir && u.kinds[name] != 0 {
		return invalid(hdr.Name, "entry appears twice")
	}

	if u.kinds[name] != 0 && u.kinds[name] != kindDir {
		return invalid(hdr.Name, "directory replaces another entry")
	}

	err = u.parents(name, hdr.Name)
	if err != nil {
		return err
	}

	limit := sizeLimit(name)
	if limit > 0 && hdr.Size > limit {
		return invalid(hdr.Name, "larger than %d bytes", limit)
	}

	err = u.write(name, hdr, r)
	if err != nil {
		if errors.Is(err, errs.ErrInvalid) {
			return err
		}

		if errors.Is(err, io.ErrUnexpectedEOF) {
			return truncated(err)
		}

		return fmt.Errorf("unpacking %s: %w", hdr.Name, err)
	}

	if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeDir {
		return nil
	}

	err = u.root.Lchown(name, hdr.Uid, hdr.Gid)
	if err != nil {
		return err
	}

	// chown clears the set-id bits: the mode comes after.
	if hdr.Typeflag == tar.TypeReg {
		err = u.root.Chmod(name, fs.FileMode(hdr.Mode&0o777)|setIDBits(hdr.Mode))
		if err != nil {
			return err
		}

		return u.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
	}

	return nil
}

// sizeLimit returns the largest size of the file name of a backup, 0 for no limit: the descriptions, and the
// metadata and templates of the instance and its snapshots, bounded as an image's are.
func sizeLimit(name string) int64 {
	parts := strings.Split(name, "/")
	if name == "backup/index.yaml" || path.Base(name) == "backup.yaml" {
		return maxYAMLSize
	}

	meta := len(parts) > 2 && parts[1] == "container" || len(parts) > 3 && parts[1] == "snapshots"
	if !meta {
		return 0
	}

	rest := parts[2:]
	if parts[1] == "snapshots" {
		rest = parts[3:]
	}

	if rest[0] == "metadata.yaml" || rest[0] == "templates" {
		return images.MaxMetadataSize
	}

	return 0
}

// setIDBits returns the set-user-id, set-group-id and sticky bits of a tar mode.
func setIDBits(mode int64) fs.FileMode {
	var out fs.FileMode
	if mode&0o4000 != 0 {
		out |= fs.ModeSetuid
	}

	if mode&0o2000 != 0 {
		out |= fs.ModeSetgid
	}

	if mode&0o1000 != 0 {
		out |= fs.ModeSticky
	}

	return out
}

// parents creates the missing parents of name and refuses one that is not a directory of the archive.
func (u *unpacker) parents(name string, orig string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}

		parent := name[:i]
		switch u.kinds[parent] {
		case kindDir:
			continue
		case 0:
			err := u.root.Mkdir(parent, 0o755)
			if err != nil {
				return err
			}

			u.kinds[parent] = kindDir
		default:
			return invalid(orig, "written through %q, which is not a directory", parent)
		}
	}

	return nil
}

// write creates the file, directory, link or node of an entry.
func (u *unpacker) write(name string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if u.kinds[name] == 0 {
			err := u.root.Mkdir(name, 0o700)
			if err != nil {
				return err
			}
		}

		u.kinds[name] = kindDir
		u.dirs = append(u.dirs, dirAttrs{rel: name, mode: fs.FileMode(hdr.Mode&0o777) | setIDBits(hdr.Mode),
			mtime: hdr.ModTime})
		err := u.root.Lchown(name, hdr.Uid, hdr.Gid)
		if err != nil {
			return err
		}

		return u.setXattrs(name, hdr)
	case tar.TypeReg:
		if hdr.Size < 0 {
			return invalid(hdr.Name, "negative size")
		}

		f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}

		_, err = io.CopyN(f, r, hdr.Size)
		if err != nil {
			_ = f.Close()
			return truncated(err)
		}

		u.kinds[name] = kindFile
		err = f.Close()
		if err != nil {
			return err
		}

		return u.setXattrs(name, hdr)
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.ContainsRune(hdr.Linkname, 0) {
			return invalid(hdr.Name, "symlink with an empty target or a NUL byte")
		}

		u.kinds[name] = kindSymlink
		err := u.root.Symlink(hdr.Linkname, name)
		if err != nil {
			return err
		}

		return u.root.Lchown(name, hdr.Uid, hdr.Gid)
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return invalid(hdr.Name, "hard link target %q: %v", hdr.Linkname, err)
		}

		if u.kinds[target] != kindFile || target == name {
			return invalid(hdr.Name, "hard link target %q is not a file appearing earlier in the archive", hdr.Linkname)
		}

		if tree(target) != tree(name) {
			return invalid(hdr.Name, "hard link target %q is outside %s", hdr.Linkname, tree(name))
		}

		u.kinds[name] = kindFile
		return u.root.Link(target, name)
	case tar.TypeChar:
		if !harmlessDevices[[2]int64{hdr.Devmajor, hdr.Devminor}] {
			return invalid(hdr.Name, "character device %d:%d is not one of null, zero, full, random, urandom, tty, console, ptmx",
				hdr.Devmajor, hdr.Devminor)
		}

		u.kinds[name] = kindFile
		return u.mknod(name, unix.S_IFCHR|uint32(hdr.Mode&0o777), int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	case tar.TypeFifo:
		u.kinds[name] = kindFile
		return u.mknod(name, unix.S_IFIFO|uint32(hdr.Mode&0o777), 0)
	case tar.TypeBlock:
		return invalid(hdr.Name, "block device %d:%d is not allowed", hdr.Devmajor, hdr.Devminor)
	}

	return invalid(hdr.Name, "unsupported entry type %q", string(rune(hdr.Typeflag)))
}

// mknod creates a FIFO or a device node in the directory of rel, resolved under the root.
func (u *unpacker) mknod(rel string, mode uint32, dev int) error {
	dir, err := u.root.Open(path.Dir(rel))
	if err != nil {
		return err
	}

	defer func() { _ = dir.Close() }()
	err = unix.Mknodat(int(dir.Fd()), path.Base(rel), mode, dev)
	if err != nil {
		return &fs.PathError{Op: "mknod", Path: rel, Err: err}
	}

	return nil
}

// setXattrs sets the extended attributes of the user and security namespaces recorded for an entry; others (and
// a file system refusing them) are skipped.
func (u *unpacker) setXattrs(name string, hdr *tar.Header) error {
	var f *os.File
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok || !(strings.HasPrefix(attr, "user.") || strings.HasPrefix(attr, "security.")) {
			continue
		}

		if f == nil {
			var err error
			f, err = u.root.Open(name)
			if err != nil {
				return err
			}

			defer func() { _ = f.Close() }()
		}

		_ = unix.Fsetxattr(int(f.Fd()), attr, []byte(value), 0)
	}

	return nil
}
