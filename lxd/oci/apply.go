package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Whiteout names of the OCI layer format: ".wh.NAME" deletes NAME of the layers below, ".wh..wh..opq" empties
// the directory it is in of what the layers below put there.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// allowedCharDevices are the character devices a layer may hold, as an image may (null, zero, full, random,
// urandom, tty, console, ptmx); others and block devices are refused.
var allowedCharDevices = map[[2]int64]bool{
	{1, 3}: true, {1, 5}: true, {1, 7}: true, {1, 8}: true, {1, 9}: true, {5, 0}: true, {5, 1}: true, {5, 2}: true,
}

// layerDir is a directory whose mode and times are set once the layer is applied.
type layerDir struct {
	rel   string
	mode  fs.FileMode
	mtime time.Time
}

// applier writes the entries of one layer under an os.Root: no name, symlink or hard link resolves outside it.
type applier struct {
	ctx  context.Context
	root *os.Root

	// written holds the paths this layer wrote; whiteouts remove only what the layers below laid.
	written map[string]bool
	dirs    []layerDir
	buf     []byte
	chown   bool
}

// ApplyLayer applies one uncompressed layer tarball to the tree under root: entries are written in order over what
// is there, whiteouts delete what the layers below laid, hard links point inside the tree, and names with ".." or
// outside the tree, block devices and character devices other than the harmless ones are refused.
func ApplyLayer(ctx context.Context, root *os.Root, r io.Reader) error {
	a := &applier{ctx: ctx, root: root, written: map[string]bool{}, buf: make([]byte, 128<<10),
		chown: os.Geteuid() == 0}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}

		err = ctx.Err()
		if err != nil {
			return err
		}

		err = a.entry(hdr, tr)
		if err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}

	return a.finish()
}

// cleanName turns an entry name into a path relative to the root, refusing what could leave it. The root itself is
// ".".
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", errors.New("name contains a NUL byte")
	}

	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", errors.New(`path contains ".."`)
		}
	}

	clean := strings.TrimLeft(path.Clean("/"+name), "/")
	if clean == "" {
		return ".", nil
	}

	return clean, nil
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}

	base := path.Base(rel)
	dir := path.Dir(rel)
	if base == whiteoutOpaque {
		return a.opaque(dir)
	}

	if target, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if target == "" || target == "." || target == ".." {
			return errors.New("invalid whiteout")
		}

		return a.whiteout(path.Join(dir, target))
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		err = a.mkdir(rel)
		if err != nil {
			return err
		}

		a.dirs = append(a.dirs, layerDir{rel: rel, mode: mode(hdr), mtime: hdr.ModTime})
		a.mark(rel)
		return a.lchown(rel, hdr)
	case tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeChar:
	case tar.TypeBlock:
		return fmt.Errorf("block device %d:%d is not allowed", hdr.Devmajor, hdr.Devminor)
	default:
		return fmt.Errorf("unsupported entry type %q", string(rune(hdr.Typeflag)))
	}

	if rel == "." {
		return errors.New("the root must be a directory")
	}

	err = a.replace(rel)
	if err != nil {
		return err
	}

	a.mark(rel)
	return a.create(rel, hdr, r)
}

// create writes a non-directory entry at rel, where nothing is.
func (a *applier) create(rel string, hdr *tar.Header, r io.Reader) error {
	var err error
	switch hdr.Typeflag {
	case tar.TypeReg:
		err = a.writeFile(rel, hdr, r)
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.ContainsRune(hdr.Linkname, 0) {
			return errors.New("invalid symlink target")
		}

		err = a.root.Symlink(hdr.Linkname, rel)
	case tar.TypeLink:
		var target string
		target, err = cleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link target: %w", err)
		}

		if target == "." || target == rel {
			return errors.New("invalid hard link target")
		}

		// The target must be a file already in the tree; os.Root keeps it inside.
		var fi fs.FileInfo
		fi, err = a.root.Lstat(target)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
		}

		if fi.IsDir() {
			return fmt.Errorf("hard link target %q is a directory", hdr.Linkname)
		}

		return a.root.Link(target, rel)
	case tar.TypeFifo:
		err = a.mknod(rel, unix.S_IFIFO, 0)
	case tar.TypeChar:
		if !allowedCharDevices[[2]int64{hdr.Devmajor, hdr.Devminor}] {
			return fmt.Errorf("character device %d:%d is not one of null, zero, full, random, urandom, tty, console, ptmx", hdr.Devmajor, hdr.Devminor)
		}

		err = a.mknod(rel, unix.S_IFCHR, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	}

	if err != nil {
		return err
	}

	err = a.lchown(rel, hdr)
	if err != nil {
		return err
	}

	if hdr.Typeflag == tar.TypeSymlink {
		return nil
	}

	// After chown, which clears setuid and setgid.
	err = a.root.Chmod(rel, mode(hdr))
	if err != nil {
		return err
	}

	return a.root.Chtimes(rel, hdr.ModTime, hdr.ModTime)
}

// lchown gives rel the entry's owner when running as root (unprivileged, files stay the caller's).
func (a *applier) lchown(rel string, hdr *tar.Header) error {
	if !a.chown {
		return nil
	}

	return a.root.Lchown(rel, hdr.Uid, hdr.Gid)
}

// mark records rel and its parents as written by this layer.
func (a *applier) mark(rel string) {
	for p := rel; p != "." && p != "/" && !a.written[p]; p = path.Dir(p) {
		a.written[p] = true
	}
}

// parents creates the missing parent directories of rel.
func (a *applier) parents(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}

	fi, err := a.root.Lstat(dir)
	if err == nil && fi.IsDir() {
		return nil
	}

	return a.root.MkdirAll(dir, 0o755)
}

// mkdir makes rel a directory, keeping one that is there (layers merge directories) and replacing anything else.
func (a *applier) mkdir(rel string) error {
	if rel == "." {
		return nil
	}

	fi, err := a.root.Lstat(rel)
	if err == nil && fi.IsDir() {
		return nil
	}

	if err == nil {
		err = a.root.RemoveAll(rel)
		if err != nil {
			return err
		}
	}

	err = a.parents(rel)
	if err != nil {
		return err
	}

	return a.root.Mkdir(rel, 0o755)
}

// replace removes what is at rel, a directory with its contents included.
func (a *applier) replace(rel string) error {
	_, err := a.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return a.parents(rel)
	}

	if err != nil {
		return err
	}

	return a.root.RemoveAll(rel)
}

// whiteout deletes rel, unless this layer wrote it.
func (a *applier) whiteout(rel string) error {
	if a.written[rel] {
		return nil
	}

	_, err := a.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}

	if err != nil {
		return err
	}

	return a.root.RemoveAll(rel)
}

// opaque empties the directory dir of what the layers below put there, creating it if it is missing.
func (a *applier) opaque(dir string) error {
	err := a.mkdir(dir)
	if err != nil {
		return err
	}

	a.mark(dir)
	return a.prune(dir)
}

// prune removes what this layer did not write under dir.
func (a *applier) prune(dir string) error {
	f, err := a.root.Open(dir)
	if err != nil {
		return err
	}

	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return err
	}

	for _, n := range names {
		rel := path.Join(dir, n)
		if !a.written[rel] {
			err = a.root.RemoveAll(rel)
			if err != nil {
				return err
			}

			continue
		}

		fi, err := a.root.Lstat(rel)
		if err != nil {
			return err
		}

		if fi.IsDir() {
			err = a.prune(rel)
			if err != nil {
				return err
			}
		}
	}

	return nil
}

func (a *applier) writeFile(rel string, hdr *tar.Header, r io.Reader) error {
	f, err := a.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}

	_, err = io.CopyBuffer(f, r, a.buf)
	if err != nil {
		_ = f.Close()
		return err
	}

	// Extended attributes (file capabilities among them) go with the file; one the file system refuses is left out,
	// as image imports do.
	for key, value := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if ok {
			_ = unix.Fsetxattr(int(f.Fd()), name, []byte(value), 0)
		}
	}

	return f.Close()
}

// mknod creates a FIFO or a device node at rel, its directory resolved under the root.
func (a *applier) mknod(rel string, kind uint32, dev int) error {
	dir, err := a.root.Open(path.Dir(rel))
	if err != nil {
		return err
	}

	defer func() { _ = dir.Close() }()

	err = unix.Mknodat(int(dir.Fd()), path.Base(rel), kind|0o600, dev)
	if err != nil {
		return &fs.PathError{Op: "mknod", Path: rel, Err: err}
	}

	return nil
}

// finish sets the modes and times of the layer's directories, deepest last written first, each from its last entry.
func (a *applier) finish() error {
	done := map[string]bool{}
	for i := len(a.dirs) - 1; i >= 0; i-- {
		d := a.dirs[i]
		if done[d.rel] {
			continue
		}

		done[d.rel] = true
		if !a.isDir(d.rel) {
			// Removed or replaced later in the same layer, itself or a parent.
			continue
		}

		err := a.root.Chmod(d.rel, d.mode)
		if err != nil {
			return err
		}

		err = a.root.Chtimes(d.rel, d.mtime, d.mtime)
		if err != nil {
			return err
		}
	}

	return nil
}

// isDir tells whether rel and each of its parents are directories, none a symbolic link.
func (a *applier) isDir(rel string) bool {
	if rel == "." {
		return true
	}

	parts := strings.Split(rel, "/")
	for i := range parts {
		fi, err := a.root.Lstat(strings.Join(parts[:i+1], "/"))
		if err != nil || !fi.IsDir() {
			return false
		}
	}

	return true
}

// mode is an entry's permission, setuid, setgid and sticky bits.
func mode(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
