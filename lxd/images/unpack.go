package images

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UnpackOptions tune Unpack.
type UnpackOptions struct {
	// Shift, if set, maps each entry's uid and gid to the ones written (user namespace shifting).
	// Without it, ownership is kept as in the image when running as root and left alone otherwise.
	Shift func(uid, gid int) (int, int, error)

	// Devices creates the allowed character devices (null, zero, full, random, urandom, tty, console, ptmx).
	// Without it they are skipped: an unprivileged container cannot create device nodes either.
	Devices bool

	// NoXattrs skips extended attributes.
	NoXattrs bool

	// Templates, if set, receives the image's metadata.yaml and template files, read in the same pass as the
	// root filesystem for a unified image.
	Templates *TemplateSet
}

// Unpack extracts an image's root filesystem into dest (created if missing): the rootfs/ subtree of a unified image
// (rootfs == ""), or the rootfs part of a split image, tarball or squashfs, with what its metadata part has under
// rootfs/ where the rootfs part put nothing (LXD extracts the metadata part, then the rootfs part over it). Tarballs
// are written through an os.Root on dest, so no entry, symlink or hard link can reach outside it, and they are
// checked again with the import rules on the way.
func Unpack(ctx context.Context, meta string, rootfs string, dest string, opts UnpackOptions) error {
	err := os.MkdirAll(dest, 0o755)
	if err != nil {
		return fmt.Errorf("creating %q: %w", dest, err)
	}

	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()
	if rootfs == "" {
		return unpackTarball(ctx, root, meta, partImage, layoutUnified, opts, false)
	}

	compression, err := DetectFile(rootfs)
	if err != nil {
		return err
	}

	if compression == CompressionSquashfs {
		err = unsquash(ctx, rootfs, dest, !opts.NoXattrs)
		if err != nil {
			return err
		}

		err = newUnpacker(ctx, root, opts).fixTree()
	} else {
		rootfsOpts := opts
		rootfsOpts.Templates = nil
		err = unpackTarball(ctx, root, rootfs, partRootfs, layoutRootfs, rootfsOpts, false)
	}

	if err != nil || (meta == "" && opts.Templates == nil) {
		return err
	}

	return unpackTarball(ctx, root, meta, partMetadata, layoutMeta, opts, true)
}

// unpackTarball extracts the root filesystem entries of the tarball file into root, and reads its metadata.yaml and
// templates into opts.Templates when asked. With keep, an entry whose path exists already is left out.
func unpackTarball(ctx context.Context, root *os.Root, file string, part string, l layout, opts UnpackOptions, keep bool) error {
	compression, err := DetectFile(file)
	if err != nil {
		return err
	}

	if compression == CompressionSquashfs {
		return fmt.Errorf("unpacking %q: squashfs is only valid as a split rootfs", file)
	}

	f, err := os.Open(file)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()

	w := newTreeWriter(ctx, root, opts, l, keep)
	defer w.close()
	sc, err := scanTarball(bufio.NewReaderSize(f, 256<<10), compression, part, l, w.visit)
	if err != nil {
		return fmt.Errorf("unpacking %q: %w", file, err)
	}

	return w.finish(sc.metadata)
}

// treeWriter writes the root filesystem entries of one tarball scan under a root and, when asked, collects the
// image's template files: the one writer of an unpack at first launch and of a base written while importing.
type treeWriter struct {
	u    *unpacker
	opts UnpackOptions
	tpl  *templateFiles
}

// newTreeWriter makes the writer of a tarball of layout l; with keep, an entry whose path exists is left out.
func newTreeWriter(ctx context.Context, root *os.Root, opts UnpackOptions, l layout, keep bool) *treeWriter {
	u := newUnpacker(ctx, root, opts)
	u.keep = keep
	w := &treeWriter{u: u, opts: opts}
	if opts.Templates != nil && l != layoutRootfs {
		w.tpl = &templateFiles{files: map[string][]byte{}}
	}

	return w
}

// visit writes one validated entry, or keeps it as a template file.
func (w *treeWriter) visit(e *entry, r io.Reader) error {
	if w.tpl != nil && e.section == sectionTemplates {
		return w.tpl.add(e, r)
	}

	return w.u.visit(e, r)
}

// finish applies the directories' attributes once every entry is written, and hands the templates over with the
// tarball's metadata.
func (w *treeWriter) finish(metadata *Metadata) error {
	err := w.u.finish()
	if err != nil {
		return err
	}

	if w.tpl != nil {
		w.opts.Templates.Metadata, w.opts.Templates.Files = metadata, w.tpl.files
	}

	return nil
}

// close releases the directory the unpacker keeps open.
func (w *treeWriter) close() {
	w.u.dropParent()
}

// Unpack extracts the root filesystem of a stored image into dest; see the package function Unpack.
func (s *Store) Unpack(ctx context.Context, fp string, dest string, opts UnpackOptions) error {
	meta, rootfs, err := s.Paths(fp)
	if err != nil {
		return err
	}

	return Unpack(ctx, meta, rootfs, dest, opts)
}

// dirAttrs are applied to directories once everything inside them has been written.
type dirAttrs struct {
	rel   string
	mode  fs.FileMode
	mtime time.Time
}

// unpacker writes validated entries under an os.Root.
type unpacker struct {
	ctx   context.Context
	root  *os.Root
	opts  UnpackOptions
	chown bool
	buf   []byte
	dirs  []dirAttrs

	// keep leaves out the entries whose path exists already, and the attributes of directories that do.
	keep bool

	// xattrErrs counts extended attributes that could not be set.
	xattrErrs int

	// parentRel and parentRoot are the directory parent keeps open.
	parentRel  string
	parentRoot *os.Root
}

func newUnpacker(ctx context.Context, root *os.Root, opts UnpackOptions) *unpacker {
	return &unpacker{
		ctx:   ctx,
		root:  root,
		opts:  opts,
		chown: opts.Shift != nil || os.Geteuid() == 0,
		buf:   make([]byte, 256<<10),
	}
}

// visit writes one entry of the rootfs section; template and top-level entries are skipped.
func (u *unpacker) visit(e *entry, r io.Reader) error {
	err := u.ctx.Err()
	if err != nil {
		return err
	}

	if e.section != sectionRootfs {
		return nil
	}

	err = u.write(e, r)
	if err != nil {
		return fmt.Errorf("entry %q: %w", e.hdr.Name, err)
	}

	return nil
}

// write creates one entry at e.rel under the root.
func (u *unpacker) write(e *entry, r io.Reader) error {
	hdr := e.hdr
	rel := e.rel
	if rel == "" {
		rel = "."
	}

	if hdr.Typeflag == tar.TypeChar && !u.opts.Devices {
		return nil
	}

	if u.keep {
		// What exists is kept, and so is what cannot be reached inside the root (a path through a file, or through
		// a symlink the other part laid that leads out of the root).
		_, err := u.root.Lstat(rel)
		if !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}

	if hdr.Typeflag == tar.TypeDir {
		err := u.mkdir(rel)
		if err != nil {
			return err
		}

		u.dirs = append(u.dirs, dirAttrs{rel: rel, mode: tarMode(hdr), mtime: hdr.ModTime})
		return u.owner(rel, hdr)
	}

	if hdr.Typeflag == tar.TypeReg {
		// Created, owned, moded and timed through one descriptor: one resolution of its path under the root.
		return u.withParent(rel, func() error { return u.writeFile(rel, hdr, r) })
	}

	err := u.clear(rel)
	if err != nil {
		return err
	}

	switch hdr.Typeflag {
	case tar.TypeSymlink:
		err = u.withParent(rel, func() error { return u.root.Symlink(hdr.Linkname, rel) })
	case tar.TypeLink:
		err = u.withParent(rel, func() error { return u.root.Link(e.linkRel, rel) })
	case tar.TypeFifo:
		err = u.withParent(rel, func() error { return u.mknod(rel, unix.S_IFIFO, 0) })
	case tar.TypeChar:
		err = u.withParent(rel, func() error {
			return u.mknod(rel, unix.S_IFCHR, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
		})
	default:
		return fmt.Errorf("unsupported entry type %q", string(rune(hdr.Typeflag)))
	}

	if err != nil {
		return err
	}

	if hdr.Typeflag == tar.TypeLink {
		return nil
	}

	err = u.owner(rel, hdr)
	if err != nil {
		return err
	}

	if hdr.Typeflag == tar.TypeSymlink {
		return u.symlinkTimes(rel, hdr.ModTime)
	}

	// The mode is set after chown, which clears setuid and setgid bits.
	err = u.root.Chmod(rel, tarMode(hdr))
	if err != nil {
		return err
	}

	return u.root.Chtimes(rel, accessTime(hdr), hdr.ModTime)
}

// tarMode converts a tar mode to permission, setuid, setgid and sticky bits.
func tarMode(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}

	return hdr.AccessTime
}

// withParent runs create, creating missing parent directories and retrying once if they were missing.
func (u *unpacker) withParent(rel string, create func() error) error {
	err := create()
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	parent := path.Dir(rel)
	err = u.root.MkdirAll(parent, 0o755)
	if err != nil {
		return err
	}

	return create()
}

// mkdir creates a directory, replacing a non-directory (a symlink included) found at its place.
func (u *unpacker) mkdir(rel string) error {
	if rel == "." {
		return nil
	}

	fi, err := u.root.Lstat(rel)
	if err == nil && fi.IsDir() {
		return nil
	}

	if err == nil {
		u.dropParent()
		err = u.root.Remove(rel)
		if err != nil {
			return err
		}
	}

	return u.withParent(rel, func() error { return u.root.Mkdir(rel, 0o700) })
}

// clear removes what a non-directory entry replaces; a non-empty directory is not replaced.
func (u *unpacker) clear(rel string) error {
	if rel == "." {
		return errors.New("the root must be a directory")
	}

	_, err := u.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}

	if err != nil {
		return err
	}

	u.dropParent()
	return u.root.Remove(rel)
}

// parent returns the directory holding rel, opened under the root, and rel's last component. The directory of the
// previous call is kept open: a tarball lists the entries of a directory together, and each file created through
// it is one lookup rather than one per component of its path. Every removal drops it (see dropParent).
func (u *unpacker) parent(rel string) (*os.Root, string, error) {
	dir, name := path.Dir(rel), path.Base(rel)
	if dir == "." {
		return u.root, name, nil
	}

	if u.parentRoot != nil && u.parentRel == dir {
		return u.parentRoot, name, nil
	}

	u.dropParent()
	r, err := u.root.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}

	u.parentRel, u.parentRoot = dir, r
	return r, name, nil
}

// dropParent closes the directory parent keeps: what it names may be about to be replaced.
func (u *unpacker) dropParent() {
	if u.parentRoot != nil {
		_ = u.parentRoot.Close()
		u.parentRel, u.parentRoot = "", nil
	}
}

// writeFile creates a regular file, replacing what a previous entry left at its place, and gives it its contents,
// extended attributes, owner, mode and times through its descriptor.
func (u *unpacker) writeFile(rel string, hdr *tar.Header, r io.Reader) error {
	dir, name, err := u.parent(rel)
	if err != nil {
		return err
	}

	f, err := dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		err = u.clear(rel)
		if err != nil {
			return err
		}

		dir, name, err = u.parent(rel)
		if err != nil {
			return err
		}

		f, err = dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}

	if err != nil {
		return err
	}

	err = u.fillFile(f, hdr, r)
	if err != nil {
		_ = f.Close()
		return err
	}

	return f.Close()
}

func (u *unpacker) fillFile(f *os.File, hdr *tar.Header, r io.Reader) error {
	_, err := io.CopyBuffer(f, r, u.buf)
	if err != nil {
		return err
	}

	if !u.opts.NoXattrs {
		u.setXattrs(f, hdr)
	}

	if u.chown {
		uid, gid, err := u.shifted(hdr)
		if err != nil {
			return err
		}

		err = f.Chown(uid, gid)
		if err != nil {
			return err
		}
	}

	// The mode is set after chown, which clears setuid and setgid bits.
	err = f.Chmod(tarMode(hdr))
	if err != nil {
		return err
	}

	return futimens(f, accessTime(hdr), hdr.ModTime)
}

// futimens sets the access and modification times of an open file.
func futimens(f *os.File, atime time.Time, mtime time.Time) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, f.Fd(), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return &fs.PathError{Op: "futimens", Path: f.Name(), Err: errno}
	}

	return nil
}

// setXattrs copies the SCHILY.xattr.* records of hdr; failures (an unsupported namespace) are counted, not fatal.
func (u *unpacker) setXattrs(f *os.File, hdr *tar.Header) {
	for key, value := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok {
			continue
		}

		err := unix.Fsetxattr(int(f.Fd()), name, []byte(value), 0)
		if err != nil {
			u.xattrErrs++
		}
	}
}

// mknod creates a FIFO or a device node in the directory of rel, resolved under the root.
func (u *unpacker) mknod(rel string, kind uint32, dev int) error {
	dir, err := u.root.Open(path.Dir(rel))
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

func (u *unpacker) symlinkTimes(rel string, mtime time.Time) error {
	dir, err := u.root.Open(path.Dir(rel))
	if err != nil {
		return err
	}

	defer func() { _ = dir.Close() }()

	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	err = unix.UtimesNanoAt(int(dir.Fd()), path.Base(rel), ts, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &fs.PathError{Op: "utimes", Path: rel, Err: err}
	}

	return nil
}

// owner sets the entry's ownership, shifted if asked.
func (u *unpacker) owner(rel string, hdr *tar.Header) error {
	if !u.chown {
		return nil
	}

	uid, gid, err := u.shifted(hdr)
	if err != nil {
		return err
	}

	return u.root.Lchown(rel, uid, gid)
}

// shifted returns the owner an entry is written with.
func (u *unpacker) shifted(hdr *tar.Header) (int, int, error) {
	if u.opts.Shift == nil {
		return hdr.Uid, hdr.Gid, nil
	}

	uid, gid, err := u.opts.Shift(hdr.Uid, hdr.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("shifting %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}

	return uid, gid, nil
}

// finish applies directory modes and times, deepest first, now that their contents are written.
func (u *unpacker) finish() error {
	u.dropParent()
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		err := u.root.Chmod(d.rel, d.mode)
		if err != nil {
			return err
		}

		err = u.root.Chtimes(d.rel, d.mtime, d.mtime)
		if err != nil {
			return err
		}
	}

	if u.xattrErrs > 0 {
		slog.Debug("extended attributes not restored", "count", u.xattrErrs)
	}

	return nil
}

// fixTree applies the ownership shift and the device rule to a tree unsquashfs wrote.
func (u *unpacker) fixTree() error {
	return fs.WalkDir(u.root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		err = u.ctx.Err()
		if err != nil {
			return err
		}

		if d.Type()&fs.ModeCharDevice != 0 && !u.opts.Devices {
			return u.root.Remove(rel)
		}

		if u.opts.Shift == nil {
			return nil
		}

		fi, err := u.root.Lstat(rel)
		if err != nil {
			return err
		}

		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%q: no ownership information", rel)
		}

		uid, gid, err := u.opts.Shift(int(st.Uid), int(st.Gid))
		if err != nil {
			return fmt.Errorf("%q: shifting %d:%d: %w", rel, st.Uid, st.Gid, err)
		}

		err = u.root.Lchown(rel, uid, gid)
		if err != nil {
			return err
		}

		special := fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid)
		if special != 0 && fi.Mode().IsRegular() {
			return u.root.Chmod(rel, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		}

		return nil
	})
}
