package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
	"golang.org/x/sys/unix"
)

// tent describes one tar entry of a test image.
type tent struct {
	name  string
	typ   byte
	body  string
	link  string
	mode  int64
	uid   int
	gid   int
	major int64
	minor int64
	pax   map[string]string
}

func file(name string, body string) tent {
	return tent{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}

func dir(name string) tent {
	return tent{name: name, typ: tar.TypeDir, mode: 0o755}
}

func symlink(name string, target string) tent {
	return tent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}

func hardlink(name string, target string) tent {
	return tent{name: name, typ: tar.TypeLink, link: target, mode: 0o644}
}

var testTime = time.Unix(1700000000, 0)

// makeTar builds a tarball from entries.
func makeTar(tb testing.TB, entries []tent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			Devmajor: e.major, Devminor: e.minor, ModTime: testTime, Format: tar.FormatPAX, PAXRecords: e.pax,
		}

		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}

		err := tw.WriteHeader(hdr)
		if err != nil {
			tb.Fatalf("tar header %q: %v", e.name, err)
		}

		if e.typ == tar.TypeReg {
			_, err = tw.Write([]byte(e.body))
			if err != nil {
				tb.Fatalf("tar body %q: %v", e.name, err)
			}
		}
	}

	err := tw.Close()
	if err != nil {
		tb.Fatal(err)
	}

	return buf.Bytes()
}

// compressAs compresses data with the named compression, with Go libraries or, for bzip2, the bzip2 program.
func compressAs(tb testing.TB, compression string, data []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	switch compression {
	case CompressionNone:
		return data
	case CompressionGzip:
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(data)
		must(tb, w.Close())
	case CompressionZstd:
		w, err := zstd.NewWriter(&buf)
		must(tb, err)
		_, _ = w.Write(data)
		must(tb, w.Close())
	case CompressionXz:
		w, err := xz.NewWriter(&buf)
		must(tb, err)
		_, _ = w.Write(data)
		must(tb, w.Close())
	case CompressionLzma:
		w, err := lzma.NewWriter(&buf)
		must(tb, err)
		_, _ = w.Write(data)
		must(tb, w.Close())
	case CompressionBzip2:
		_, err := exec.LookPath("bzip2")
		if err != nil {
			tb.Skip("SKIP: bzip2 is not installed (Debian bzip2)")
		}

		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		must(tb, err)
		return out
	default:
		tb.Fatalf("unknown compression %q", compression)
	}

	return buf.Bytes()
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func sha256Hex(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}

	return hex.EncodeToString(h.Sum(nil))
}

const goodMetadata = `architecture: amd64
creation_date: 1700000000
properties:
  os: busybox
  release: "1.36"
  description: Busybox x86_64
templates:
  /etc/hostname:
    when:
      - create
      - copy
    template: hostname.tpl
    properties:
      default: c1
  /etc/hosts:
    when: [start]
    create_only: true
    template: sub/hosts.tpl
`

// rootfsTree is a small but realistic filesystem, given relative to the rootfs root.
func rootfsTree() []tent {
	return []tent{
		dir("./"),
		dir("bin"),
		{name: "bin/busybox", typ: tar.TypeReg, body: "#!busybox\n", mode: 0o4755},
		symlink("bin/sh", "busybox"),
		hardlink("bin/ls", "bin/busybox"),
		dir("etc"),
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		{name: "etc/shadow", typ: tar.TypeReg, body: "root:*:19000::::::\n", mode: 0o640, gid: 42},
		symlink("etc/mtab", "/proc/self/mounts"),
		dir("dev"),
		{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
		{name: "run/initctl", typ: tar.TypeFifo, mode: 0o600},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		{name: "home/user/.profile", typ: tar.TypeReg, body: "PS1='$ '\n", mode: 0o644, uid: 1000, gid: 1000},
		symlink("lib64", "/lib"),
	}
}

// unifiedEntries is a valid unified image around rootfsTree.
func unifiedEntries(metadata string) []tent {
	entries := []tent{file("metadata.yaml", metadata), dir("templates"), file("templates/hostname.tpl", "{{ container.name }}\n"),
		file("templates/sub/hosts.tpl", "127.0.0.1 localhost\n"), dir("rootfs/")}
	for _, e := range rootfsTree() {
		e.name = prefixed("rootfs/", e.name)
		if e.typ == tar.TypeLink {
			e.link = prefixed("rootfs/", e.link)
		}

		entries = append(entries, e)
	}

	return entries
}

// metaEntries is a valid metadata part of a split image.
func metaEntries(metadata string) []tent {
	return []tent{file("metadata.yaml", metadata), dir("templates/"), file("templates/hostname.tpl", "{{ container.name }}\n"),
		file("templates/sub/hosts.tpl", "127.0.0.1 localhost\n")}
}

func prefixed(prefix string, name string) string {
	if name == "./" {
		return prefix
	}

	return prefix + name
}

// snapshot lists every path under dir with its mode, to check that a refused import changes nothing.
func snapshot(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+d.Type().String())
		return nil
	})
	must(tb, err)
	slices.Sort(out)
	return out
}

func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := NewStore(filepath.Join(tb.TempDir(), "images"))
	must(tb, err)
	return s
}

func tmpEntries(tb testing.TB, s *Store) []string {
	tb.Helper()
	entries, err := os.ReadDir(s.tmp)
	must(tb, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}

	return names
}

func lookSquashfs() (string, error) {
	return exec.LookPath("mksquashfs")
}

func mknod(path string, mode uint32, major uint32, minor uint32) error {
	return unix.Mknod(path, mode, int(unix.Mkdev(major, minor)))
}

func asInvalid(err error, target **InvalidError) bool {
	return errors.As(err, target)
}
