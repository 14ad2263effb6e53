package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// storeImage imports and commits an image, returning its fingerprint.
func storeImage(t *testing.T, s *Store, meta []byte, rootfs []byte) string {
	t.Helper()
	var p *Pending
	var err error
	if rootfs == nil {
		p, err = s.ImportUnified(context.Background(), bytes.NewReader(meta), ImportOptions{})
	} else {
		p, err = s.ImportSplit(context.Background(), bytes.NewReader(meta), func() (io.Reader, error) {
			return bytes.NewReader(rootfs), nil
		}, ImportOptions{})
	}

	if err != nil {
		t.Fatalf("import: %v", err)
	}

	must(t, p.Commit())
	return p.Fingerprint
}

type wantNode struct {
	path string
	mode fs.FileMode
	uid  int
	gid  int
	body string
	link string
}

func checkTree(t *testing.T, dest string, want []wantNode) {
	t.Helper()
	for _, w := range want {
		p := filepath.Join(dest, w.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}

		if fi.Mode() != w.mode {
			t.Errorf("%s: got mode %v, want %v", w.path, fi.Mode(), w.mode)
		}

		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != w.uid || int(st.Gid) != w.gid {
			t.Errorf("%s: got owner %d:%d, want %d:%d", w.path, st.Uid, st.Gid, w.uid, w.gid)
		}

		if w.body != "" {
			got, err := os.ReadFile(p)
			if err != nil || string(got) != w.body {
				t.Errorf("%s: got content %q, %v, want %q", w.path, got, err, w.body)
			}
		}

		if w.link != "" {
			got, err := os.Readlink(p)
			if err != nil || got != w.link {
				t.Errorf("%s: got link %q, %v, want %q", w.path, got, err, w.link)
			}
		}

		if fi.Mode()&fs.ModeSymlink == 0 && !fi.ModTime().Equal(testTime) && w.path != "." {
			t.Errorf("%s: got mtime %v, want %v", w.path, fi.ModTime(), testTime)
		}
	}
}

// expectedTree is rootfsTree as unpacked, with ownership shifted by shift.
func expectedTree(shift int) []wantNode {
	return []wantNode{
		{path: "bin", mode: fs.ModeDir | 0o755, uid: shift, gid: shift},
		{path: "bin/busybox", mode: fs.ModeSetuid | 0o755, uid: shift, gid: shift, body: "#!busybox\n"},
		{path: "bin/ls", mode: fs.ModeSetuid | 0o755, uid: shift, gid: shift, body: "#!busybox\n"},
		{path: "bin/sh", mode: fs.ModeSymlink | 0o777, uid: shift, gid: shift, link: "busybox"},
		{path: "etc/passwd", mode: 0o644, uid: shift, gid: shift, body: "root:x:0:0:root:/root:/bin/sh\n"},
		{path: "etc/shadow", mode: 0o640, uid: shift, gid: shift + 42},
		{path: "etc/mtab", mode: fs.ModeSymlink | 0o777, uid: shift, gid: shift, link: "/proc/self/mounts"},
		{path: "run/initctl", mode: fs.ModeNamedPipe | 0o600, uid: shift, gid: shift},
		{path: "tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777, uid: shift, gid: shift},
		{path: "home/user/.profile", mode: 0o644, uid: shift + 1000, gid: shift + 1000, body: "PS1='$ '\n"},
		{path: "lib64", mode: fs.ModeSymlink | 0o777, uid: shift, gid: shift, link: "/lib"},
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: unpacking with ownership and device nodes needs root")
	}
}

func TestUnpackUnified(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	fp := storeImage(t, s, compressAs(t, CompressionGzip, makeTar(t, unifiedEntries(goodMetadata))), nil)

	dest := filepath.Join(t.TempDir(), "rootfs")
	err := s.Unpack(context.Background(), fp, dest, UnpackOptions{Devices: true})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}

	want := append(expectedTree(0), wantNode{path: "dev/null", mode: fs.ModeDevice | fs.ModeCharDevice | 0o666})
	checkTree(t, dest, want)

	var a, b syscall.Stat_t
	must(t, syscall.Stat(filepath.Join(dest, "bin/busybox"), &a))
	must(t, syscall.Stat(filepath.Join(dest, "bin/ls"), &b))
	if a.Ino != b.Ino {
		t.Errorf("bin/ls is not a hard link of bin/busybox")
	}

	if a.Rdev != 0 {
		t.Errorf("got rdev %d for a regular file", a.Rdev)
	}

	var null syscall.Stat_t
	must(t, syscall.Stat(filepath.Join(dest, "dev/null"), &null))
	if unix.Major(null.Rdev) != 1 || unix.Minor(null.Rdev) != 3 {
		t.Errorf("got dev/null %d:%d, want 1:3", unix.Major(null.Rdev), unix.Minor(null.Rdev))
	}

	// Templates and metadata.yaml are not part of the root filesystem.
	for _, name := range []string{"metadata.yaml", "templates", "rootfs", "hostname.tpl"} {
		_, err = os.Lstat(filepath.Join(dest, name))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: got %v, want it absent", name, err)
		}
	}
}

func TestUnpackSplitShifted(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	meta := compressAs(t, CompressionXz, makeTar(t, metaEntries(goodMetadata)))
	fp := storeImage(t, s, meta, compressAs(t, CompressionZstd, makeTar(t, rootfsTree())))

	const base = 100000
	dest := filepath.Join(t.TempDir(), "rootfs")
	shift := func(uid, gid int) (int, int, error) { return uid + base, gid + base, nil }
	err := s.Unpack(context.Background(), fp, dest, UnpackOptions{Shift: shift})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}

	checkTree(t, dest, expectedTree(base))
	_, err = os.Lstat(filepath.Join(dest, "dev/null"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dev/null: got %v, want it skipped without Devices", err)
	}

	// A failing shift stops the unpack.
	bad := func(uid, gid int) (int, int, error) { return 0, 0, errors.New("uid outside the map") }
	err = s.Unpack(context.Background(), fp, filepath.Join(t.TempDir(), "r2"), UnpackOptions{Shift: bad})
	if err == nil || !strings.Contains(err.Error(), "uid outside the map") {
		t.Errorf("got %v, want the shift error", err)
	}
}

func TestUnpackSquashfs(t *testing.T) {
	requireRoot(t)
	rootfs := makeSquashfs(t, func(dir string) {
		must(t, mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, 1, 3))
	})

	s := newTestStore(t)
	fp := storeImage(t, s, compressAs(t, CompressionXz, makeTar(t, metaEntries(goodMetadata))), rootfs)
	dest := filepath.Join(t.TempDir(), "rootfs")
	err := s.Unpack(context.Background(), fp, dest, UnpackOptions{Shift: func(uid, gid int) (int, int, error) {
		return uid + 1000000, gid + 1000000, nil
	}})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}

	got, err := os.ReadFile(filepath.Join(dest, "bin/busybox"))
	if err != nil || string(got) != "#!busybox\n" {
		t.Errorf("bin/busybox: got %q, %v", got, err)
	}

	link, err := os.Readlink(filepath.Join(dest, "etcl"))
	if err != nil || link != "/etc" {
		t.Errorf("etcl: got %q, %v, want the absolute symlink kept", link, err)
	}

	for path, want := range map[string]uint32{"etc/passwd": 1001000, "bin/busybox": 1000000, "etcl": 1000000} {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(dest, path), &st))
		if st.Uid != want || st.Gid != want {
			t.Errorf("%s: got owner %d:%d, want %d", path, st.Uid, st.Gid, want)
		}
	}

	_, err = os.Lstat(filepath.Join(dest, "null"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("null: got %v, want the device removed without Devices", err)
	}
}

// TestUnpackRefusesWriteThroughSymlink unpacks files that were never validated by an import.
func TestUnpackRefusesWriteThroughSymlink(t *testing.T) {
	outside := t.TempDir()
	cases := []struct {
		name    string
		entries []tent
		want    string
	}{
		{name: "absolute", entries: []tent{symlink("etc", outside), file("etc/passwd", "pwned")}, want: "written through the symlink"},
		{name: "relative", entries: []tent{symlink("up", "../../../../../../.."+outside), file("up/passwd", "pwned")}, want: "written through the symlink"},
		{name: "dotdot", entries: []tent{file("../passwd", "pwned")}, want: `path contains ".."`},
		{name: "hardlink", entries: []tent{hardlink("x", "../../passwd")}, want: `path contains ".."`},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
			must(t, os.WriteFile(rootfs, makeTar(t, c.entries), 0o600))
			err := Unpack(context.Background(), "", rootfs, filepath.Join(t.TempDir(), "dest"), UnpackOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}

			_, err = os.Lstat(filepath.Join(outside, "passwd"))
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a file was written outside the destination")
			}
		})
	}
}

// TestUnpackerStaysInRoot bypasses the archive checks: os.Root alone must keep writes inside the destination.
func TestUnpackerStaysInRoot(t *testing.T) {
	outside := t.TempDir()
	dest := t.TempDir()
	root, err := os.OpenRoot(dest)
	must(t, err)
	defer func() { _ = root.Close() }()

	u := newUnpacker(context.Background(), root, UnpackOptions{})
	write := func(typ byte, rel string, link string) error {
		hdr := &tar.Header{Name: rel, Typeflag: typ, Linkname: link, Mode: 0o644, ModTime: testTime, Uid: os.Geteuid(), Gid: os.Getegid()}
		return u.write(&entry{hdr: hdr, name: rel, section: sectionRootfs, rel: rel, linkRel: link}, strings.NewReader("pwned"))
	}

	must(t, write(tar.TypeSymlink, "abs", outside))
	must(t, write(tar.TypeSymlink, "rel", "../../../../../../.."+outside))
	must(t, write(tar.TypeSymlink, "etc", "/etc"))
	for _, rel := range []string{"abs/passwd", "rel/passwd", "etc/passwd-test"} {
		err = write(tar.TypeReg, rel, "")
		if err == nil {
			t.Errorf("%s: writing through a symlink out of the root succeeded", rel)
		}
	}

	err = write(tar.TypeLink, "hl", "../"+filepath.Base(outside))
	if err == nil {
		t.Errorf("a hard link out of the root succeeded")
	}

	entries, err := os.ReadDir(outside)
	must(t, err)
	if len(entries) != 0 {
		t.Errorf("got %d entries written outside the root", len(entries))
	}

	_, err = os.Lstat("/etc/passwd-test")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("/etc/passwd-test was written")
	}

	// The symlinks themselves stay as they were.
	link, err := os.Readlink(filepath.Join(dest, "abs"))
	if err != nil || link != outside {
		t.Errorf("got %q, %v, want the symlink kept", link, err)
	}
}

func TestUnpackReplacesEntries(t *testing.T) {
	entries := []tent{
		symlink("etc", "/etc"),
		dir("etc"),
		file("etc/passwd", "first"),
		file("etc/passwd", "second"),
		symlink("etc/passwd", "shadow"),
	}

	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	must(t, os.WriteFile(rootfs, makeTar(t, entries), 0o600))
	dest := filepath.Join(t.TempDir(), "dest")
	err := Unpack(context.Background(), "", rootfs, dest, UnpackOptions{})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}

	fi, err := os.Lstat(filepath.Join(dest, "etc"))
	if err != nil || !fi.IsDir() {
		t.Errorf("etc: got %v, %v, want a directory replacing the symlink", fi, err)
	}

	link, err := os.Readlink(filepath.Join(dest, "etc/passwd"))
	if err != nil || link != "shadow" {
		t.Errorf("etc/passwd: got %q, %v, want the last entry", link, err)
	}
}

func TestUnpackXattrs(t *testing.T) {
	entries := []tent{
		dir("./"),
		{name: "f", typ: tar.TypeReg, body: "x", mode: 0o644, pax: map[string]string{"SCHILY.xattr.user.lxdtest": "value"}},
	}

	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	must(t, os.WriteFile(rootfs, makeTar(t, entries), 0o600))
	dest := filepath.Join(t.TempDir(), "dest")
	probe := filepath.Join(t.TempDir(), "probe")
	must(t, os.WriteFile(probe, nil, 0o600))
	err := unix.Setxattr(probe, "user.probe", []byte("1"), 0)
	if err != nil {
		t.Skipf("SKIP: the temp filesystem has no user xattrs: %v", err)
	}

	must(t, Unpack(context.Background(), "", rootfs, dest, UnpackOptions{}))
	buf := make([]byte, 64)
	n, err := unix.Getxattr(filepath.Join(dest, "f"), "user.lxdtest", buf)
	if err != nil || string(buf[:n]) != "value" {
		t.Errorf("got xattr %q, %v, want %q", buf[:n], err, "value")
	}
}

func TestReadTemplates(t *testing.T) {
	s := newTestStore(t)
	unified := storeImage(t, s, compressAs(t, CompressionXz, makeTar(t, unifiedEntries(goodMetadata))), nil)
	split := storeImage(t, s, compressAs(t, CompressionGzip, makeTar(t, metaEntries(goodMetadata))),
		compressAs(t, CompressionGzip, makeTar(t, rootfsTree())))

	for _, fp := range []string{unified, split} {
		m, files, err := s.Templates(context.Background(), fp)
		if err != nil {
			t.Fatalf("templates: %v", err)
		}

		if m.Architecture != "x86_64" || len(m.Templates) != 2 {
			t.Errorf("got metadata %+v", m)
		}

		if string(files["hostname.tpl"]) != "{{ container.name }}\n" || string(files["sub/hosts.tpl"]) != "127.0.0.1 localhost\n" || len(files) != 2 {
			t.Errorf("got template files %q", files)
		}

		m2, err := s.Metadata(context.Background(), fp)
		if err != nil || m2.Properties["os"] != "busybox" {
			t.Errorf("metadata: got %+v, %v", m2, err)
		}
	}
}

func TestUnpackReadsTemplates(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t)
	unified := storeImage(t, s, compressAs(t, CompressionGzip, makeTar(t, unifiedEntries(goodMetadata))), nil)
	split := storeImage(t, s, compressAs(t, CompressionGzip, makeTar(t, metaEntries(goodMetadata))),
		compressAs(t, CompressionGzip, makeTar(t, rootfsTree())))

	for _, fp := range []string{unified, split} {
		set := &TemplateSet{}
		err := s.Unpack(context.Background(), fp, filepath.Join(t.TempDir(), "rootfs"), UnpackOptions{Templates: set})
		if err != nil {
			t.Fatalf("unpack: %v", err)
		}

		m, files, err := s.Templates(context.Background(), fp)
		if err != nil {
			t.Fatalf("templates: %v", err)
		}

		if !reflect.DeepEqual(set.Metadata, m) || !reflect.DeepEqual(set.Files, files) {
			t.Errorf("unpack read %+v %q, want %+v %q", set.Metadata, set.Files, m, files)
		}
	}
}
