package instance

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/images"
)

func TestPackImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ownership and device nodes")
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	root := t.TempDir()
	base := 1000000
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("c1\n"), 0o644))
	must(os.Link(filepath.Join(root, "etc", "hostname"), filepath.Join(root, "etc", "hardlink")))
	must(os.Symlink("hostname", filepath.Join(root, "etc", "symlink")))
	must(os.WriteFile(filepath.Join(root, "suid"), []byte("x"), 0o755))
	must(unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	for _, p := range []string{".", "etc", "etc/hostname", "null"} {
		must(os.Lchown(filepath.Join(root, p), base, base))
	}

	must(os.Lchown(filepath.Join(root, "etc", "symlink"), base+5, base+6))
	must(os.Lchown(filepath.Join(root, "suid"), base+1000, base+1000))
	must(unix.Chmod(filepath.Join(root, "suid"), 0o4755))
	must(unix.Chmod(filepath.Join(root, "null"), 0o666))
	must(unix.Lsetxattr(filepath.Join(root, "suid"), "security.capability", []byte{0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0))
	must(unix.Chmod(filepath.Join(root, "suid"), 0o4755))

	meta := &images.Metadata{Architecture: "x86_64", CreationDate: 1, Properties: map[string]string{"os": "busybox"},
		Templates: map[string]*images.Template{"/etc/hostname": {When: []string{"create", "copy"}, Template: "hostname.tpl"}}}
	sources := map[string][]byte{"hostname.tpl": []byte("{{ container.name }}\n")}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var lastPercent int
	must(PackImage(tw, meta, sources, nil, root, [2]int{base, base}, func(p int, _ int64) { lastPercent = p }))
	must(tw.Close())
	if lastPercent != 100 {
		t.Errorf("last progress: got %d%%, want 100%%", lastPercent)
	}

	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}

		must(err)
		if hdr.Name == "metadata.yaml" {
			m, err := images.ParseMetadata(tr)
			must(err)
			if m.Properties["os"] != "busybox" || m.Templates["/etc/hostname"].Template != "hostname.tpl" {
				t.Errorf("metadata: got %+v", m)
			}
		}

		got[hdr.Name] = hdr
	}

	tests := []struct {
		name     string
		typeflag byte
		mode     int64
		uid, gid int
		link     string
	}{
		{"rootfs/", tar.TypeDir, 0o755, 0, 0, ""},
		{"rootfs/etc/", tar.TypeDir, 0o755, 0, 0, ""},
		{"rootfs/etc/hardlink", tar.TypeReg, 0o644, 0, 0, ""},
		{"rootfs/etc/hostname", tar.TypeLink, 0o644, 0, 0, "rootfs/etc/hardlink"},
		{"rootfs/etc/symlink", tar.TypeSymlink, 0o777, 5, 6, "hostname"},
		{"rootfs/suid", tar.TypeReg, 0o4755, 1000, 1000, ""},
		{"rootfs/null", tar.TypeChar, 0o666, 0, 0, ""},
		{"templates/hostname.tpl", tar.TypeReg, 0o644, 0, 0, ""},
	}

	for _, tt := range tests {
		hdr, ok := got[tt.name]
		if !ok {
			t.Errorf("%s: missing from the tarball", tt.name)
			continue
		}

		if hdr.Typeflag != tt.typeflag || hdr.Mode != tt.mode || hdr.Uid != tt.uid || hdr.Gid != tt.gid || hdr.Linkname != tt.link {
			t.Errorf("%s: got type %c mode %o owner %d:%d link %q", tt.name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Linkname)
		}
	}

	if got["rootfs/null"] != nil && (got["rootfs/null"].Devmajor != 1 || got["rootfs/null"].Devminor != 3) {
		t.Errorf("device numbers: got %d:%d", got["rootfs/null"].Devmajor, got["rootfs/null"].Devminor)
	}

	if got["rootfs/suid"] != nil && got["rootfs/suid"].PAXRecords["SCHILY.xattr.security.capability"] == "" {
		t.Error("the capability xattr was not packed")
	}
}

func TestCompressWriter(t *testing.T) {
	data := bytes.Repeat([]byte("image data "), 1000)
	tests := []struct {
		name   string
		decode func(io.Reader) (io.Reader, error)
	}{
		{"none", func(r io.Reader) (io.Reader, error) { return r, nil }},
		{"gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		{"xz", func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }},
		{"zstd", func(r io.Reader) (io.Reader, error) { return zstd.NewReader(r) }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := compressWriter(tt.name, &buf)
			if err != nil {
				t.Fatal(err)
			}

			_, err = w.Write(data)
			if err != nil {
				t.Fatal(err)
			}

			err = w.Close()
			if err != nil {
				t.Fatal(err)
			}

			r, err := tt.decode(&buf)
			if err != nil {
				t.Fatal(err)
			}

			out, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("round trip: got %d bytes, %v", len(out), err)
			}
		})
	}

	_, err := compressWriter("rar", io.Discard)
	if err == nil {
		t.Fatal("an unknown algorithm was accepted")
	}
}
