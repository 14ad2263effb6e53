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
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/errs"
)

// testStage is a staged base in a temporary directory, published by a rename to dir/<fp>.
type testStage struct {
	dir       string
	tmp       string
	opts      UnpackOptions
	published string
	templates *TemplateSet
	discarded bool
}

func (s *testStage) Rootfs() string         { return filepath.Join(s.tmp, "rootfs") }
func (s *testStage) Options() UnpackOptions { return s.opts }
func (s *testStage) Discard()               { s.discarded = true; _ = os.RemoveAll(s.tmp) }
func (s *testStage) Publish(fp string, tpl *TemplateSet) error {
	s.published, s.templates = fp, tpl
	return os.Rename(s.tmp, filepath.Join(s.dir, fp))
}

// testStager stages bases under dir, recording each stage it makes.
func testStager(tb testing.TB, dir string, opts UnpackOptions, stages *[]*testStage) BaseStager {
	return func(ctx context.Context) (BaseStage, error) {
		tmp, err := os.MkdirTemp(dir, ".tmp-")
		if err != nil {
			return nil, err
		}

		s := &testStage{dir: dir, tmp: tmp, opts: opts}
		*stages = append(*stages, s)
		return s, nil
	}
}

var testShift = func(uid, gid int) (int, int, error) { return uid + 100000, gid + 100000, nil }

// baseTreeListing describes every path under dir: type, mode, owner, size, content hash, link target, xattrs and
// which paths share an inode; times of directories and files too.
func baseTreeListing(tb testing.TB, dir string) []string {
	tb.Helper()
	inodes := map[uint64]string{}
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
		// A directory the image does not list, or that the metadata part adds to, has the time it was written.
		mtime := "image"
		if !fi.ModTime().Equal(testTime) {
			mtime = "written"
		}

		line := fmt.Sprintf("%s %v %d:%d mtime=%s", rel, fi.Mode(), st.Uid, st.Gid, mtime)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}

			line += fmt.Sprintf(" size=%d sha=%s", len(data), sha256Hex(data)[:12])
			if st.Nlink > 1 {
				first, ok := inodes[st.Ino]
				if ok {
					line += " link=" + first
				} else {
					inodes[st.Ino] = rel
				}
			}
		case fi.Mode()&fs.ModeCharDevice != 0:
			line += fmt.Sprintf(" dev=%d", st.Rdev)
		}

		line += " xattrs=" + strings.Join(xattrList(p), ",")
		out = append(out, line)
		return nil
	})
	must(tb, err)
	slices.Sort(out)
	return out
}

func xattrList(p string) []string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return nil
	}

	var out []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		v := make([]byte, 4096)
		m, _ := unix.Lgetxattr(p, name, v)
		if m < 0 {
			m = 0
		}

		out = append(out, name+"="+string(v[:m]))
	}

	slices.Sort(out)
	return out
}

// richTree is a root filesystem with what a base must keep alike: modes, owners, setuid, symlinks, hard links,
// xattrs, a device node and nested directories with odd modes.
func richTree() []tent {
	return []tent{
		{name: "bin", typ: tar.TypeDir, mode: 0o755},
		{name: "bin/sh", typ: tar.TypeReg, body: "#!shell", mode: 0o755},
		{name: "bin/su", typ: tar.TypeReg, body: "su", mode: 0o4755},
		{name: "bin/sh2", typ: tar.TypeLink, link: "bin/sh", mode: 0o755},
		{name: "bin/bash", typ: tar.TypeSymlink, link: "sh", mode: 0o777},
		{name: "etc", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/shadow", typ: tar.TypeReg, body: "root:*", mode: 0o640, gid: 42},
		{name: "home", typ: tar.TypeDir, mode: 0o755},
		{name: "home/user", typ: tar.TypeDir, mode: 0o700, uid: 1000, gid: 1000},
		{name: "home/user/.profile", typ: tar.TypeReg, body: "export X=1", mode: 0o644, uid: 1000, gid: 1000},
		{name: "tmp", typ: tar.TypeDir, mode: 0o1777},
		{name: "usr-ping", typ: tar.TypeReg, body: "ping", mode: 0o755,
			pax: map[string]string{"SCHILY.xattr.user.test": "value", "SCHILY.xattr.trusted.x": "y"}},
		{name: "dev", typ: tar.TypeDir, mode: 0o755},
		{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
	}
}

// prefixedTent puts an entry (and a hard link's target) under prefix.
func prefixedTent(e tent, prefix string) tent {
	e.name = prefix + e.name
	if e.typ == tar.TypeLink {
		e.link = prefix + e.link
	}

	return e
}

func TestImportWritesBaseAsFirstLaunchUnpack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to set owners, devices and security xattrs")
	}

	for _, shift := range []bool{false, true} {
		for _, kind := range []string{"unified", "split", "auto-unified", "auto-split"} {
			t.Run(fmt.Sprintf("%s shift=%v", kind, shift), func(t *testing.T) {
				opts := UnpackOptions{Devices: true}
				if shift {
					opts = UnpackOptions{Shift: testShift}
				}

				s := newTestStore(t)
				bases := t.TempDir()
				var stages []*testStage
				s.SetBaseStager(testStager(t, bases, opts, &stages))
				p := importRich(t, s, kind)
				if len(stages) == 0 {
					t.Fatal("no base was staged")
				}

				// The one written last is kept (a download's first part turns out to be a metadata part only after it).
				kept := stages[len(stages)-1]
				for _, st := range stages[:len(stages)-1] {
					if !st.discarded {
						t.Fatal("an earlier staged base was kept")
					}
				}

				if kept.discarded {
					t.Fatal("the staged base was discarded")
				}

				must(t, p.Commit())
				p.PublishBase()
				if kept.published != p.Fingerprint {
					t.Fatalf("published %q, want %q", kept.published, p.Fingerprint)
				}

				// The first launch's unpack of the same image, with the same options.
				first := filepath.Join(t.TempDir(), "rootfs")
				firstOpts := opts
				firstTpl := &TemplateSet{}
				firstOpts.Templates = firstTpl
				must(t, s.Unpack(context.Background(), p.Fingerprint, first, firstOpts))
				got := baseTreeListing(t, filepath.Join(bases, p.Fingerprint, "rootfs"))
				want := baseTreeListing(t, first)
				if !slices.Equal(got, want) {
					t.Fatalf("base written at import differs from the first launch's:\n got %q\nwant %q", got, want)
				}

				if len(got) < 10 {
					t.Fatalf("the tree is too small to compare: %q", got)
				}

				tpl := kept.templates
				if tpl == nil || tpl.Metadata == nil || tpl.Metadata.Architecture != firstTpl.Metadata.Architecture ||
					len(tpl.Files) != len(firstTpl.Files) {
					t.Fatalf("templates %+v, want %+v", tpl, firstTpl)
				}
			})
		}
	}
}

// importRich imports the rich tree as a unified or split image, asking for the base.
func importRich(t *testing.T, s *Store, kind string) *Pending {
	t.Helper()
	ctx := context.Background()
	opts := ImportOptions{WriteBase: true}
	meta := "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/hostname:\n    when: [create]\n    template: hostname.tpl\n"
	if kind == "unified" || kind == "auto-unified" {
		entries := []tent{file("metadata.yaml", meta), dir("templates"), file("templates/hostname.tpl", "{{ container.name }}")}
		for _, e := range richTree() {
			entries = append(entries, prefixedTent(e, "rootfs/"))
		}

		data := compressAs(t, CompressionGzip, makeTar(t, entries))
		if kind == "auto-unified" {
			p, err := s.ImportAuto(ctx, bytes.NewReader(data), func() (io.Reader, error) { return nil, io.EOF }, opts)
			must(t, err)
			return p
		}

		p, err := s.ImportUnified(ctx, bytes.NewReader(data), opts)
		must(t, err)
		return p
	}

	// The metadata part carries a rootfs/ file the rootfs part lacks, and one it has (the rootfs part's wins).
	metaTar := makeTar(t, []tent{file("metadata.yaml", meta), dir("templates"), file("templates/hostname.tpl", "x"),
		dir("rootfs"), dir("rootfs/etc"), file("rootfs/etc/from-meta", "meta"), file("rootfs/etc/shadow", "meta")})
	rootfs := compressAs(t, CompressionGzip, makeTar(t, richTree()))
	next := func() (io.Reader, error) { return bytes.NewReader(rootfs), nil }
	metaData := compressAs(t, CompressionXz, metaTar)
	if kind == "auto-split" {
		p, err := s.ImportAuto(ctx, bytes.NewReader(metaData), next, opts)
		must(t, err)
		return p
	}

	p, err := s.ImportSplit(ctx, bytes.NewReader(metaData), next, opts)
	must(t, err)
	return p
}

func TestImportBaseDiscarded(t *testing.T) {
	ctx := context.Background()
	meta := "architecture: x86_64\ncreation_date: 1\n"
	good := compressAs(t, CompressionGzip, makeTar(t, unifiedEntries(meta)))
	cases := map[string]func(t *testing.T, s *Store) *Pending{
		"refused": func(t *testing.T, s *Store) *Pending {
			bad := append([]tent{}, unifiedEntries(meta)...)
			bad = append(bad, file("rootfs/../escape", "x"))
			_, err := s.ImportUnified(ctx, bytes.NewReader(compressAs(t, CompressionGzip, makeTar(t, bad))), ImportOptions{WriteBase: true})
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want an invalid image", err)
			}

			return nil
		},
		"truncated": func(t *testing.T, s *Store) *Pending {
			_, err := s.ImportUnified(ctx, bytes.NewReader(good[:len(good)-20]), ImportOptions{WriteBase: true})
			if err == nil {
				t.Fatal("a truncated image was accepted")
			}

			return nil
		},
		"fingerprint mismatch": func(t *testing.T, s *Store) *Pending {
			_, err := s.ImportUnified(ctx, bytes.NewReader(good), ImportOptions{WriteBase: true, ExpectedFingerprint: strings.Repeat("0", 64)})
			if err == nil {
				t.Fatal("a wrong fingerprint was accepted")
			}

			return nil
		},
		"aborted": func(t *testing.T, s *Store) *Pending {
			p, err := s.ImportUnified(ctx, bytes.NewReader(good), ImportOptions{WriteBase: true})
			must(t, err)
			p.Abort()
			return nil
		},
		"not recorded": func(t *testing.T, s *Store) *Pending {
			p, err := s.ImportUnified(ctx, bytes.NewReader(good), ImportOptions{WriteBase: true})
			must(t, err)
			must(t, p.Commit())
			p.DiscardBase()
			p.PublishBase()
			return p
		},
		"already stored": func(t *testing.T, s *Store) *Pending {
			p, err := s.ImportUnified(ctx, bytes.NewReader(good), ImportOptions{})
			must(t, err)
			must(t, p.Commit())
			p, err = s.ImportUnified(ctx, bytes.NewReader(good), ImportOptions{WriteBase: true})
			must(t, err)
			if p.Commit() == nil {
				t.Fatal("a second commit succeeded")
			}

			return nil
		},
	}

	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t)
			bases := t.TempDir()
			var stages []*testStage
			s.SetBaseStager(testStager(t, bases, UnpackOptions{}, &stages))
			run(t, s)
			for _, st := range stages {
				if st.published != "" || !st.discarded {
					t.Fatalf("stage published %q, discarded %v; want discarded", st.published, st.discarded)
				}
			}

			left, err := os.ReadDir(bases)
			must(t, err)
			if len(left) != 0 {
				t.Fatalf("left %v, want nothing", left)
			}
		})
	}
}

func TestImportBaseNotAsked(t *testing.T) {
	s := newTestStore(t)
	var stages []*testStage
	s.SetBaseStager(testStager(t, t.TempDir(), UnpackOptions{}, &stages))
	data := compressAs(t, CompressionGzip, makeTar(t, unifiedEntries("architecture: x86_64\ncreation_date: 1\n")))
	p, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{})
	must(t, err)
	must(t, p.Commit())
	p.PublishBase()
	if len(stages) != 0 {
		t.Fatalf("got %d stages, want none without WriteBase", len(stages))
	}
}
