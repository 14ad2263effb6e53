package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestNormaliseName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  string
	}{
		{in: "rootfs/etc/passwd", want: "rootfs/etc/passwd"},
		{in: "/rootfs/etc/passwd", want: "rootfs/etc/passwd"},
		{in: "///rootfs//etc/", want: "rootfs/etc"},
		{in: "./rootfs/./etc", want: "rootfs/etc"},
		{in: "/./metadata.yaml", want: "metadata.yaml"},
		{in: "/", want: ""},
		{in: "./", want: ""},
		{in: "", want: ""},
		{in: "rootfs/..x", want: "rootfs/..x"},
		{in: "../x", err: `path contains ".."`},
		{in: "/../x", err: `path contains ".."`},
		{in: "rootfs/../x", err: `path contains ".."`},
		{in: "//rootfs/../../etc", err: `path contains ".."`},
		{in: "rootfs/..", err: `path contains ".."`},
		{in: "rootfs/a\x00b", err: "NUL byte"},
	} {
		got, err := normaliseName(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("normaliseName(%q): got %q, %v, want an error containing %q", tc.in, got, err, tc.err)
			}

			continue
		}

		if err != nil || got != tc.want {
			t.Errorf("normaliseName(%q): got %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// renamed returns entries with every name and hard link target passed through f.
func renamed(entries []tent, f func(string) string) []tent {
	out := make([]tent, 0, len(entries))
	for _, e := range entries {
		e.name = f(e.name)
		if e.typ == tar.TypeLink {
			e.link = f(e.link)
		}

		out = append(out, e)
	}

	return out
}

// strayEntries are entries no layout uses and none refuses: never extracted, so harmless even when they point
// outside (a symlink to /etc and a file written through it).
func strayEntries() []tent {
	return []tent{
		file("/README", "read me\n"), file("manifest.json", "{}\n"), file("etc/passwd", "stray\n"), dir("docs/"),
		file("docs/a", "a"), symlink("latest", "rootfs"), symlink("evil", "/etc"), file("evil/passwd", "x"),
		hardlink("README2", "/README"), {name: "pipe", typ: tar.TypeFifo, mode: 0o600},
	}
}

// treeListing describes every path under dir: type and mode, owner, and link target or content digest.
func treeListing(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}

		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d", rel, fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}

			line += " " + sha256Hex(data)
		}

		out = append(out, line)
		return nil
	})
	must(tb, err)
	return out
}

// unpackListing stores an image, unpacks it and returns the listing of the tree and the templates it read.
func unpackListing(t *testing.T, meta []byte, rootfs []byte) ([]string, *TemplateSet) {
	t.Helper()
	s := newTestStore(t)
	fp := storeImage(t, s, meta, rootfs)
	parent := t.TempDir()
	dest := filepath.Join(parent, "rootfs")
	set := &TemplateSet{}
	must(t, s.Unpack(context.Background(), fp, dest, UnpackOptions{Templates: set}))

	// Nothing lands beside the root filesystem either.
	entries, err := os.ReadDir(parent)
	must(t, err)
	if len(entries) != 1 {
		t.Errorf("got %d entries beside the root filesystem, want none", len(entries)-1)
	}

	m, files, err := s.Templates(context.Background(), fp)
	must(t, err)
	if !reflect.DeepEqual(set.Metadata, m) || !reflect.DeepEqual(set.Files, files) {
		t.Errorf("unpack read templates %q, Templates read %q", set.Files, files)
	}

	return treeListing(t, dest), set
}

// Member names as GNU tar reads them (leading slashes, "./", repeated slashes) and entries the layout does not use
// give the same root filesystem and templates as the plain image: import and unpack read names the same way.
func TestImportLenientNames(t *testing.T) {
	abs := func(name string) string { return "/" + name }
	messy := func(name string) string { return ".//" + strings.ReplaceAll(name, "/", "//./") }
	unified := unifiedEntries(goodMetadata)
	meta := metaEntries(goodMetadata)
	tree := rootfsTree()
	xz := func(entries []tent) []byte { return compressAs(t, CompressionXz, makeTar(t, entries)) }

	wantTree, wantSet := unpackListing(t, xz(unified), nil)
	if len(wantSet.Files) != 2 || wantSet.Metadata == nil {
		t.Fatalf("plain image read templates %q, metadata %+v", wantSet.Files, wantSet.Metadata)
	}

	wantSplit, _ := unpackListing(t, xz(meta), xz(tree))
	for _, tc := range []struct {
		name   string
		meta   []tent
		rootfs []tent
	}{
		{name: "unified absolute names", meta: renamed(unified, abs)},
		{name: "unified repeated slashes and dots", meta: renamed(unified, messy)},
		{name: "unified stray top-level entries", meta: append(append([]tent{file("/README", "x")}, unified...), strayEntries()...)},
		{name: "unified absolute with stray entries", meta: renamed(append(unified, strayEntries()...), abs)},
		{name: "split absolute names", meta: renamed(meta, abs), rootfs: renamed(tree, abs)},
		{name: "split repeated slashes and dots", meta: renamed(meta, messy), rootfs: renamed(tree, messy)},
		{name: "split metadata part with a rootfs tree", meta: append(unified, strayEntries()...), rootfs: tree},
		{name: "split metadata part with rootfs entries the rootfs part has", meta: append(meta, dir("/rootfs/etc"),
			file("rootfs/etc/passwd", "from the metadata part\n"), symlink("/rootfs/bin", "/etc")), rootfs: tree},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rootfs []byte
			if tc.rootfs != nil {
				rootfs = xz(tc.rootfs)
			}

			got, set := unpackListing(t, xz(tc.meta), rootfs)
			want := wantTree
			if rootfs != nil {
				want = wantSplit
			}

			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got tree\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			if !reflect.DeepEqual(set.Files, wantSet.Files) || !reflect.DeepEqual(set.Metadata, wantSet.Metadata) {
				t.Errorf("got templates %q, want %q", set.Files, wantSet.Files)
			}
		})
	}
}

// An image that bypassed import validation is read with the same names on unpack: a traversal after the leading
// slash is stripped is still refused, and nothing is written outside the destination.
func TestUnpackNormalisesNames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tent
		want    string
	}{
		{name: "absolute traversal", entries: append(renamed(rootfsTree(), func(n string) string { return "/" + n }), file("/../escape", "x")),
			want: `path contains ".."`},
		{name: "absolute hard link traversal", entries: append(rootfsTree(), hardlink("x", "/../../etc/passwd")), want: `path contains ".."`},
		{name: "write through an absolute symlink name", entries: append(rootfsTree(), symlink("/up", "/"), file("up/escape", "x")),
			want: `written through the symlink "up"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			rootfs := filepath.Join(parent, "rootfs.tar")
			must(t, os.WriteFile(rootfs, makeTar(t, tc.entries), 0o600))
			dest := filepath.Join(parent, "dest", "rootfs")
			err := Unpack(context.Background(), "", rootfs, dest, UnpackOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}

			for _, p := range []string{filepath.Join(parent, "escape"), filepath.Join(parent, "dest", "escape")} {
				_, err = os.Lstat(p)
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: got %v, want nothing written outside the destination", p, err)
				}
			}
		})
	}

	// A hard link's absolute target is the entry of that name in the archive, not a host path.
	parent := t.TempDir()
	rootfs := filepath.Join(parent, "rootfs.tar")
	must(t, os.WriteFile(rootfs, makeTar(t, []tent{dir("/"), file("/etc/passwd", "mine\n"), hardlink("/etc/copy", "/etc/passwd")}), 0o600))
	dest := filepath.Join(parent, "rootfs")
	must(t, Unpack(context.Background(), "", rootfs, dest, UnpackOptions{}))
	data, err := os.ReadFile(filepath.Join(dest, "etc/copy"))
	if err != nil || string(data) != "mine\n" {
		t.Fatalf("got etc/copy %q, %v, want the archive's etc/passwd", data, err)
	}
}

// Images written by GNU tar with absolute member names (tar -P, --transform) and a stray README import and unpack
// as the same image written with "./" names does.
func TestImportGNUTarAbsoluteNames(t *testing.T) {
	_, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("SKIP: tar is not installed")
	}

	src := t.TempDir()
	for _, e := range unifiedEntries(goodMetadata) {
		p := filepath.Join(src, e.name)
		switch e.typ {
		case tar.TypeDir:
			must(t, os.MkdirAll(p, 0o755))
		case tar.TypeReg:
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.WriteFile(p, []byte(e.body), 0o644))
		case tar.TypeSymlink:
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.Symlink(e.link, p))
		case tar.TypeLink:
			must(t, os.Link(filepath.Join(src, e.link), p))
		}
	}

	gnuTar := func(args ...string) []byte {
		t.Helper()
		out := filepath.Join(t.TempDir(), "image.tar")
		cmd := exec.Command("tar", append([]string{"-C", src, "--format=gnu", "--sort=name", "--mtime=@1700000000",
			"--owner=0", "--group=0", "--numeric-owner", "-cf", out}, args...)...)
		msg, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("SKIP: tar %v: %v: %s", args, err, msg)
		}

		data, err := os.ReadFile(out)
		must(t, err)
		return data
	}

	plain := gnuTar(".")
	want, _ := unpackListing(t, plain, nil)

	must(t, os.WriteFile(filepath.Join(src, "README"), []byte("stray\n"), 0o644))
	absolute := gnuTar("-P", `--transform=s,^\./,/,S;s,^\.$,/,S`, ".")
	names := tarNames(t, absolute)
	for _, name := range []string{"/", "/metadata.yaml", "/README", "/rootfs/bin/ls"} {
		if !strings.Contains(names, "\n"+name+"\n") {
			t.Fatalf("tar wrote names\n%s\nwant %q among them", names, name)
		}
	}

	if !strings.Contains(names, "/rootfs/bin/ls -> /rootfs/bin/busybox\n") {
		t.Fatalf("tar wrote names\n%s\nwant an absolute hard link target", names)
	}

	got, _ := unpackListing(t, absolute, nil)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got tree\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// tarNames lists the member names of a tarball, one a line, hard links with their targets.
func tarNames(t *testing.T, data []byte) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	names := "\n"
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}

		must(t, err)
		names += hdr.Name + "\n"
		if hdr.Typeflag == tar.TypeLink {
			names += hdr.Name + " -> " + hdr.Linkname + "\n"
		}
	}
}
