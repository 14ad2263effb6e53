package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/images"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// metadataTarball builds the metadata part of an OCI image: metadata.yaml (architecture, creation date and the
// image properties) and config.json (the image configuration as the registry served it).
func metadataTarball(img *registry.Image) ([]byte, error) {
	created := img.Created
	if created.IsZero() {
		created = time.Now()
	}

	meta := &images.Metadata{Architecture: img.Architecture, CreationDate: created.Unix(), Properties: img.Properties()}
	yaml, err := meta.Marshal()
	if err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"metadata.yaml", yaml}, {images.OCIConfigName, img.RawConfig}} {
		err = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: created, Typeflag: tar.TypeReg})
		if err != nil {
			return nil, err
		}

		_, err = tw.Write(f.data)
		if err != nil {
			return nil, err
		}
	}

	err = tw.Close()
	if err != nil {
		return nil, err
	}

	return buf.Bytes(), nil
}

// writeTree writes the tree under dir as a zstd-compressed tarball to w, with owners, modes, times, hard links,
// FIFOs and device nodes. zstd at its fastest level costs the pull a fraction of what gzip would, and the import
// decompresses it in-process.
func writeTree(ctx context.Context, w io.Writer, dir string) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return err
	}

	tw := tar.NewWriter(zw)
	links := map[[2]uint64]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		err = ctx.Err()
		if err != nil {
			return err
		}

		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}

		return writeEntry(tw, p, rel, links)
	})
	if err != nil {
		return err
	}

	err = tw.Close()
	if err != nil {
		return err
	}

	return zw.Close()
}

// writeEntry writes the file p, named rel in the tarball.
func writeEntry(tw *tar.Writer, p string, rel string, links map[[2]uint64]string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}

	target := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err = os.Readlink(p)
		if err != nil {
			return err
		}
	}

	hdr, err := images.TarHeader(fi, target)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}

	hdr.Format = tar.FormatPAX
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name = rel + "/"
	}

	hdr.Uname, hdr.Gname = "", ""
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			first, seen := links[key]
			if seen {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				hdr.Size = 0
				return tw.WriteHeader(hdr)
			}

			links[key] = rel
		}
	}

	if rel == "." {
		hdr.Name = "./"
	}

	if !fi.Mode().IsRegular() {
		return tw.WriteHeader(hdr)
	}

	f, err := os.Open(p)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	xattrs, err := fileXattrs(f)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}

	for name, value := range xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}

		hdr.PAXRecords["SCHILY.xattr."+name] = value
	}

	err = tw.WriteHeader(hdr)
	if err != nil {
		return err
	}

	n, err := io.Copy(tw, f)
	if err != nil {
		return err
	}

	if n != hdr.Size {
		return fmt.Errorf("%s changed while being archived", rel)
	}

	return nil
}

// fileXattrs returns the extended attributes of an open file.
func fileXattrs(f *os.File) (map[string]string, error) {
	size, err := unix.Flistxattr(int(f.Fd()), nil)
	if err != nil || size == 0 {
		// A file system without extended attributes has none to keep.
		return nil, nil
	}

	buf := make([]byte, size)
	size, err = unix.Flistxattr(int(f.Fd()), buf)
	if err != nil {
		return nil, err
	}

	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}

		n, err := unix.Fgetxattr(int(f.Fd()), name, nil)
		if err != nil {
			continue
		}

		value := make([]byte, n)
		n, err = unix.Fgetxattr(int(f.Fd()), name, value)
		if err != nil {
			continue
		}

		out[name] = string(value[:n])
	}

	return out, nil
}
