package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// tarEntry is one entry of a test layer.
type tarEntry struct {
	name     string
	typ      byte
	body     string
	link     string
	mode     int64
	maj, min int64
}

func dir(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func symlink(name, to string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeSymlink, link: to, mode: 0o777}
}
func hardlink(name, to string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeLink, link: to, mode: 0o644}
}

// layer builds an uncompressed layer tarball.
func layer(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body)),
			Devmajor: e.maj, Devminor: e.min}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}

		err := tw.WriteHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}

		_, err = tw.Write([]byte(e.body))
		if err != nil {
			t.Fatal(err)
		}
	}

	err := tw.Close()
	if err != nil {
		t.Fatal(err)
	}

	return buf.Bytes()
}

// apply applies the layers in order into a fresh directory and returns it.
func apply(t *testing.T, layers ...[]byte) (string, error) {
	t.Helper()
	d := filepath.Join(t.TempDir(), "rootfs")
	err := os.Mkdir(d, 0o755)
	if err != nil {
		t.Fatal(err)
	}

	root, err := os.OpenRoot(d)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = root.Close() }()
	for _, l := range layers {
		err = ApplyLayer(context.Background(), root, bytes.NewReader(l))
		if err != nil {
			return d, err
		}
	}

	return d, nil
}

// tree lists the paths under d, directories with a trailing slash.
func tree(t *testing.T, d string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(d, p)
		if rel == "." {
			return nil
		}

		if e.IsDir() {
			rel += "/"
		}

		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	slices.Sort(out)
	return out
}

func TestApplyLayerWhiteouts(t *testing.T) {
	base := layer(t,
		dir("etc"), file("etc/keep", "k"), file("etc/gone", "g"),
		dir("var"), dir("var/lib"), file("var/lib/data", "d"),
		dir("opq"), file("opq/old", "o"), dir("opq/sub"), file("opq/sub/old", "o"),
	)
	top := layer(t,
		file("etc/.wh.gone", ""),
		file(".wh.var", ""),
		dir("opq"), file("opq/.wh..wh..opq", ""), file("opq/new", "n"),
		file("etc/added", "a"),
	)

	d, err := apply(t, base, top)
	if err != nil {
		t.Fatal(err)
	}

	got := tree(t, d)
	want := []string{"etc/", "etc/added", "etc/keep", "opq/", "opq/new"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestApplyLayerOpaqueKeepsSameLayer(t *testing.T) {
	base := layer(t, dir("d"), file("d/old", "o"))
	// The opaque marker comes after an entry of the same layer: that entry stays.
	top := layer(t, file("d/new", "n"), dir("d/sub"), file("d/sub/x", "x"), file("d/.wh..wh..opq", ""))
	d, err := apply(t, base, top)
	if err != nil {
		t.Fatal(err)
	}

	got := tree(t, d)
	want := []string{"d/", "d/new", "d/sub/", "d/sub/x"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestApplyLayerReplaces(t *testing.T) {
	base := layer(t, dir("a"), file("a/f", "1"), file("b", "file"), symlink("c", "a"))
	top := layer(t, file("a", "now a file"), dir("b"), file("b/x", "x"), file("c", "plain"))
	d, err := apply(t, base, top)
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(filepath.Join(d, "a"))
	if err != nil || string(data) != "now a file" {
		t.Fatalf("got %q %v", data, err)
	}

	fi, err := os.Lstat(filepath.Join(d, "c"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("c: %v %v", fi, err)
	}

	_, err = os.Stat(filepath.Join(d, "b", "x"))
	if err != nil {
		t.Fatal(err)
	}
}

func TestApplyLayerHardLinks(t *testing.T) {
	l := layer(t, dir("bin"), file("bin/busybox", "bb"), hardlink("bin/sh", "bin/busybox"), hardlink("./bin/ls", "/bin/busybox"))
	d, err := apply(t, l)
	if err != nil {
		t.Fatal(err)
	}

	a, _ := os.Stat(filepath.Join(d, "bin/busybox"))
	b, _ := os.Stat(filepath.Join(d, "bin/sh"))
	c, _ := os.Stat(filepath.Join(d, "bin/ls"))
	if !os.SameFile(a, b) || !os.SameFile(a, c) {
		t.Fatal("hard links not shared")
	}
}

func TestApplyLayerRefuses(t *testing.T) {
	outside := t.TempDir()
	cases := map[string][]byte{
		"dotdot":        layer(t, file("../escape", "x")),
		"dotdot inside": layer(t, dir("a"), file("a/../../escape", "x")),
		"block device":  layer(t, tarEntry{name: "sda", typ: tar.TypeBlock, maj: 8, min: 0, mode: 0o600}),
		"char device":   layer(t, tarEntry{name: "mem", typ: tar.TypeChar, maj: 1, min: 1, mode: 0o600}),
		"link outside":  layer(t, hardlink("passwd", "../../etc/passwd")),
		"link missing":  layer(t, hardlink("x", "nothing")),
		"link to dir":   layer(t, dir("d"), hardlink("x", "d")),
		"symlink out":   layer(t, symlink("out", outside), file("out/written", "x")),
		"symlink rel":   layer(t, symlink("out", "../../../../../../../../"+outside), file("out/written", "x")),
		"whiteout dot":  layer(t, file(".wh..", "")),
	}

	for name, l := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := apply(t, l)
			if err == nil {
				t.Fatal("layer accepted")
			}
		})
	}

	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Fatalf("written outside the root: %v", entries)
	}
}

func TestApplyLayerDevicesAllowed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating device nodes needs root")
	}

	l := layer(t, dir("dev"), tarEntry{name: "dev/null", typ: tar.TypeChar, maj: 1, min: 3, mode: 0o666})
	d, err := apply(t, l)
	if err != nil {
		t.Fatal(err)
	}

	fi, err := os.Lstat(filepath.Join(d, "dev/null"))
	if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("dev/null: %v %v", fi, err)
	}
}

func TestApplyLayerWhiteoutThroughFile(t *testing.T) {
	// A whiteout under a path that is a file below deletes nothing and is not an error.
	d, err := apply(t, layer(t, file("f", "x")), layer(t, file("f/.wh.x", ""), file(".wh.missing", "")))
	if err != nil {
		t.Fatal(err)
	}

	got := tree(t, d)
	if !slices.Equal(got, []string{"f"}) {
		t.Fatalf("got %v", got)
	}
}

func FuzzApplyLayer(f *testing.F) {
	f.Add(layer(f, dir("a"), file("a/b", "x"), file("a/.wh.b", ""), file("a/.wh..wh..opq", "")))
	f.Add(layer(f, symlink("l", "/"), file("l/x", "x"), hardlink("h", "l/x")))
	f.Add(layer(f, file("../x", "x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		d := filepath.Join(parent, "rootfs")
		err := os.Mkdir(d, 0o755)
		if err != nil {
			t.Fatal(err)
		}

		root, err := os.OpenRoot(d)
		if err != nil {
			t.Fatal(err)
		}

		defer func() { _ = root.Close() }()
		_ = ApplyLayer(context.Background(), root, bytes.NewReader(data))

		// Whatever the layer, nothing is written next to the root.
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}

		if len(entries) != 1 || entries[0].Name() != "rootfs" {
			t.Fatalf("written outside the root: %v", entries)
		}
	})
}

func TestXattrsKept(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "ping", Typeflag: tar.TypeReg, Mode: 0o755, Size: 1, Format: tar.FormatPAX,
		PAXRecords: map[string]string{"SCHILY.xattr.user.lxdtest": "v1"}})
	_, _ = tw.Write([]byte("x"))
	_ = tw.Close()
	d, err := apply(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}

	value := make([]byte, 16)
	n, err := unix.Getxattr(filepath.Join(d, "ping"), "user.lxdtest", value)
	if errors.Is(err, unix.ENOTSUP) {
		t.Skip("no user extended attributes on this file system")
	}

	if err != nil || string(value[:n]) != "v1" {
		t.Fatalf("xattr: %q %v", value[:n], err)
	}

	var out bytes.Buffer
	err = writeTree(context.Background(), &out, d)
	if err != nil {
		t.Fatal(err)
	}

	plain, closeFn, err := Decompress(&out)
	if err != nil {
		t.Fatal(err)
	}

	defer closeFn()
	tr := tar.NewReader(plain)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("ping not archived with its xattr: %v", err)
		}

		if hdr.Name == "ping" {
			if hdr.PAXRecords["SCHILY.xattr.user.lxdtest"] != "v1" {
				t.Fatalf("archived without its xattr: %v", hdr.PAXRecords)
			}

			return
		}
	}
}
