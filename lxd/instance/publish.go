package instance

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/pgzip"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/shared/api"
)

// PublishArgs describe an image made from an instance or one of its snapshots.
type PublishArgs struct {
	// Instance is the source instance; Snapshot, if set, one of its snapshots.
	Instance string
	Snapshot string

	// Properties of the image; when nil, the instance's image.* keys are used.
	Properties map[string]string

	// Compression is the algorithm of the unified tarball: none, gzip, bzip2, xz, lzma or zstd.
	Compression string

	// Progress, if set, receives the share of the root filesystem packed so far, in percent, and the bytes packed.
	Progress func(percent int, bytes int64)
}

// Publish packs an instance (which must be stopped) or a snapshot into a unified image tarball - metadata.yaml,
// templates/ and rootfs/ - compressed as asked, and imports it into the image store like an upload. The caller
// commits or aborts the result.
func (m *Manager) Publish(ctx context.Context, args PublishArgs) (*images.Pending, error) {
	unlock := m.lock(args.Instance)
	defer unlock()

	inst, err := m.load(ctx, args.Instance)
	if err != nil {
		return nil, err
	}

	var root string
	if args.Snapshot != "" {
		err = m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
			_, err := tx.GetSnapshot(ctx, args.Instance, args.Snapshot)
			return err
		})
		if err != nil {
			return nil, errs.NotFound("snapshot %q of instance %q not found", args.Snapshot, args.Instance)
		}

		root = filepath.Join(m.pool.SnapshotPath(args.Instance, args.Snapshot), "rootfs")
	} else {
		if m.driver.Status(args.Instance) != api.Stopped {
			return nil, errs.Invalid("the instance is running, stop it first")
		}

		root, err = m.pool.Mount(args.Instance)
		if err != nil {
			return nil, err
		}

		defer func() { _ = m.pool.Unmount(args.Instance) }()
	}

	config, _, err := m.expand(ctx, inst)
	if err != nil {
		return nil, err
	}

	var unshift [2]int
	idmap := m.diskIDMap(config)
	if idmap != nil {
		unshift = [2]int{int(idmap.HostUID), int(idmap.HostGID)}
	}

	props := args.Properties
	if props == nil {
		props = map[string]string{}
		for k, v := range inst.Config {
			name, ok := strings.CutPrefix(k, "image.")
			if ok {
				props[name] = v
			}
		}
	}

	saved, err := loadTemplatesIn(m.templatesSource(args.Instance, args.Snapshot))
	if err != nil {
		return nil, err
	}

	meta := &images.Metadata{
		Architecture: inst.Architecture,
		CreationDate: time.Now().Unix(),
		Properties:   props,
		Templates:    map[string]*images.Template{},
	}

	for path, tpl := range saved.Templates {
		meta.Templates[path] = &images.Template{When: tpl.When, Template: tpl.Template, Properties: maps.Clone(tpl.Properties)}
	}

	// A published application container is an OCI image too: its configuration goes with it.
	var ociConfig []byte
	if props["type"] == "oci" && IsOCI(config) {
		ociConfig, err = ociPublishConfig(config)
		if err != nil {
			return nil, err
		}
	}

	pr, pw := io.Pipe()
	packErr := make(chan error, 1)
	go func() {
		err := writeImage(pw, args.Compression, meta, saved.Sources, ociConfig, root, unshift, args.Progress)
		_ = pw.CloseWithError(err)
		packErr <- err
	}()

	pending, err := m.images.ImportUnified(ctx, pr, images.ImportOptions{})
	_ = pr.CloseWithError(errors.New("import finished"))
	perr := <-packErr
	if perr != nil {
		if pending != nil {
			pending.Abort()
		}

		return nil, fmt.Errorf("packing the image: %w", perr)
	}

	if err != nil {
		return nil, err
	}

	return pending, nil
}

// writeImage writes a compressed unified image tarball to w.
func writeImage(w io.Writer, compression string, meta *images.Metadata, sources map[string][]byte, ociConfig []byte,
	root string, unshift [2]int, progress func(int, int64)) error {
	cw, err := compressWriter(compression, w)
	if err != nil {
		return err
	}

	tw := tar.NewWriter(cw)
	err = PackImage(tw, meta, sources, ociConfig, root, unshift, progress)
	if err != nil {
		_ = cw.Close()
		return err
	}

	err = tw.Close()
	if err != nil {
		_ = cw.Close()
		return err
	}

	return cw.Close()
}

// nopWriteCloser is a writer whose Close does nothing.
type nopWriteCloser struct {
	io.Writer
}

func (nopWriteCloser) Close() error { return nil }

// commandWriteCloser compresses through an external program.
type commandWriteCloser struct {
	stdin io.WriteCloser
	cmd   *exec.Cmd
}

func (c *commandWriteCloser) Write(p []byte) (int, error) { return c.stdin.Write(p) }

func (c *commandWriteCloser) Close() error {
	err := c.stdin.Close()
	waitErr := c.cmd.Wait()
	if err != nil {
		return err
	}

	return waitErr
}

// compressWriter returns a writer compressing into w with an image compression algorithm.
func compressWriter(compression string, w io.Writer) (io.WriteCloser, error) {
	switch compression {
	case "none":
		return nopWriteCloser{w}, nil
	case "", "gzip":
		return newGzipWriter(w)
	case "xz":
		return xz.NewWriter(w)
	case "lzma":
		return lzma.NewWriter(w)
	case "zstd":
		return zstd.NewWriter(w)
	case "bzip2":
		path, err := exec.LookPath("bzip2")
		if err != nil {
			return nil, errs.Invalid("bzip2 compression needs the bzip2 program")
		}

		cmd := exec.Command(path, "-c")
		cmd.Stdout = w
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}

		err = cmd.Start()
		if err != nil {
			return nil, err
		}

		return &commandWriteCloser{stdin: stdin, cmd: cmd}, nil
	}

	return nil, errs.Invalid("unsupported compression algorithm %q", compression)
}

// newGzipWriter returns a gzip writer into w that compresses 1 MiB blocks on every core at once (klauspost's pgzip,
// at the default level): one stream, as any gzip reader reads it, of about the size one core would write, in less
// than half the time on two cores. Packing a tree leaves the cores mostly to the compression.
func newGzipWriter(w io.Writer) (io.WriteCloser, error) {
	zw, err := pgzip.NewWriterLevel(w, pgzip.DefaultCompression)
	if err != nil {
		return nil, err
	}

	err = zw.SetConcurrency(1<<20, 2*runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}

	return zw, nil
}

// PackImage writes the entries of a unified image to tw: metadata.yaml, the OCI image configuration (config.json)
// when ociConfig is not nil, the templates and the root filesystem under rootfs/, with owners shifted down by
// unshift (uid, gid) and hard links, symlinks, devices and extended attributes kept. Sockets are left out, as tar
// cannot hold them.
func PackImage(tw *tar.Writer, meta *images.Metadata, sources map[string][]byte, ociConfig []byte, root string,
	unshift [2]int, progress func(int, int64)) error {
	now := time.Now()
	data, err := meta.Marshal()
	if err != nil {
		return err
	}

	err = writeTarFile(tw, "metadata.yaml", data, now)
	if err != nil {
		return err
	}

	if ociConfig != nil {
		err = writeTarFile(tw, images.OCIConfigName, ociConfig, now)
		if err != nil {
			return err
		}
	}

	if len(sources) > 0 {
		err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "templates/", Mode: 0o755, ModTime: now})
		if err != nil {
			return err
		}

		names := make([]string, 0, len(sources))
		for name := range sources {
			names = append(names, name)
		}

		sort.Strings(names)
		for _, name := range names {
			err = writeTarFile(tw, "templates/"+name, sources[name], now)
			if err != nil {
				return err
			}
		}
	}

	var total int64
	seen := map[[2]uint64]bool{}
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}

		info, err := d.Info()
		if err != nil {
			return nil
		}

		st, ok := info.Sys().(*syscall.Stat_t)
		if ok && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if seen[key] {
				return nil
			}

			seen[key] = true
		}

		total += info.Size()
		return nil
	})

	p := &packer{tw: tw, root: root, unshift: unshift, links: map[[2]uint64]string{}, total: total, progress: progress}
	return filepath.WalkDir(root, p.add)
}

func writeTarFile(tw *tar.Writer, name string, data []byte, mtime time.Time) error {
	err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime})
	if err != nil {
		return err
	}

	_, err = tw.Write(data)
	return err
}

// packer adds a root filesystem to a tarball.
type packer struct {
	tw       *tar.Writer
	root     string
	unshift  [2]int
	links    map[[2]uint64]string
	total    int64
	done     int64
	percent  int
	progress func(int, int64)
}

func (p *packer) add(path string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}

	rel, err := filepath.Rel(p.root, path)
	if err != nil {
		return err
	}

	name := "rootfs"
	if rel != "." {
		name = "rootfs/" + filepath.ToSlash(rel)
	}

	info, err := d.Info()
	if err != nil {
		return err
	}

	if info.Mode()&fs.ModeSocket != 0 {
		return nil
	}

	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		link, err = os.Readlink(path)
		if err != nil {
			return err
		}
	}

	hdr, err := images.TarHeader(info, link)
	if err != nil {
		return fmt.Errorf("packing %s: %w", path, err)
	}

	hdr.Name = name
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	st, ok := info.Sys().(*syscall.Stat_t)
	if ok {
		hdr.Uid = unshiftID(int(st.Uid), p.unshift[0])
		hdr.Gid = unshiftID(int(st.Gid), p.unshift[1])
		if !info.IsDir() && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			first, seen := p.links[key]
			if seen {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				hdr.Size = 0
				return p.tw.WriteHeader(hdr)
			}

			p.links[key] = name
		}
	}

	if info.IsDir() {
		hdr.Name += "/"
	}

	// The mode bits tar.FileInfoHeader derives miss nothing, but keep setuid, setgid and sticky from the stat.
	if ok {
		hdr.Mode = int64(st.Mode & 0o7777)
	}

	xattrs, err := readXattrs(path)
	if err != nil {
		return err
	}

	for k, v := range xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}

		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}

	err = p.tw.WriteHeader(hdr)
	if err != nil {
		return err
	}

	if !info.Mode().IsRegular() {
		return nil
	}

	f, err := os.Open(path)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	n, err := io.Copy(p.tw, f)
	if err != nil {
		return fmt.Errorf("packing %s: %w", path, err)
	}

	p.done += n
	if p.progress != nil && p.total > 0 {
		percent := int(p.done * 100 / p.total)
		if percent != p.percent {
			p.percent = percent
			p.progress(percent, p.done)
		}
	}

	return nil
}

// unshiftID maps a host id back into the container's range; ids outside it are kept.
func unshiftID(id int, base int) int {
	if base > 0 && id >= base {
		return id - base
	}

	return id
}

// readXattrs returns the extended attributes of a file, without following symlinks.
func readXattrs(path string) (map[string]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}

	out := map[string]string{}
	for _, name := range strings.Split(string(buf[:size]), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}

		n, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}

		v := make([]byte, n)
		n, err = unix.Lgetxattr(path, name, v)
		if err != nil {
			return nil, err
		}

		out[name] = string(v[:n])
	}

	return out, nil
}
