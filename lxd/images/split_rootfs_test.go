package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// metaWithRootfs is a metadata part with a rootfs/ tree of its own: files the rootfs part lacks, a file and a
// directory it has too, a hard link, and an entry under a symlink the rootfs part lays out of the root.
func metaWithRootfs() []tent {
	return append(metaEntries(goodMetadata),
		dir("rootfs/"),
		tent{name: "rootfs/etc/", typ: tar.TypeDir, mode: 0o700},
		file("rootfs/etc/from-meta", "from the metadata part\n"),
		hardlink("rootfs/etc/from-meta-link", "rootfs/etc/from-meta"),
		file("rootfs/etc/passwd", "from the metadata part\n"),
		tent{name: "rootfs/opt/tool", typ: tar.TypeReg, body: "tool\n", mode: 0o750, uid: 5, gid: 6},
		symlink("rootfs/opt/tool-link", "tool"),
		file("rootfs/lib64/escaped", "x"),
	)
}

// TestUnpackSplitMetadataRootfs unpacks a split image whose metadata part has a rootfs/ tree, as LXD does: the
// metadata part's entries land in the root filesystem, the rootfs part's win where both have a path.
func TestUnpackSplitMetadataRootfs(t *testing.T) {
	meta := compressAs(t, CompressionXz, makeTar(t, metaWithRootfs()))
	rootfsParts := map[string]func() []byte{
		"tarball":  func() []byte { return compressAs(t, CompressionGzip, makeTar(t, rootfsTree())) },
		"squashfs": func() []byte { return makeSquashfs(t, nil) },
	}

	for name, rootfs := range rootfsParts {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t)
			fp := storeImage(t, s, meta, rootfs())
			parent := t.TempDir()
			dest := filepath.Join(parent, "rootfs")
			set := &TemplateSet{}
			shift := func(uid, gid int) (int, int, error) { return uid + 100000, gid + 100000, nil }
			must(t, s.Unpack(context.Background(), fp, dest, UnpackOptions{Shift: shift, Templates: set}))

			if set.Metadata == nil || len(set.Files) != 2 {
				t.Fatalf("got metadata %+v and templates %q, want both read from the metadata part", set.Metadata, set.Files)
			}

			listing := strings.Join(treeListing(t, dest), "\n")
			for _, want := range []string{
				"etc drwxr-xr-x 100000:100000",
				"etc/from-meta -rw-r--r-- 100000:100000",
				"opt/tool -rwxr-x--- 100005:100006",
				"opt/tool-link Lrwxrwxrwx 100000:100000 -> tool",
			} {
				if !strings.Contains(listing, want) {
					t.Errorf("got tree\n%s\nwant it to contain %q (the etc/ of the rootfs part, shifted once)", listing, want)
				}
			}

			data, err := os.ReadFile(filepath.Join(dest, "etc", "passwd"))
			if err != nil || strings.Contains(string(data), "metadata part") {
				t.Errorf("got etc/passwd %q %v, want the rootfs part's", data, err)
			}

			a, errA := os.Stat(filepath.Join(dest, "etc", "from-meta"))
			b, errB := os.Stat(filepath.Join(dest, "etc", "from-meta-link"))
			if errA != nil || errB != nil || !os.SameFile(a, b) {
				t.Errorf("hard link of the metadata part not kept: %v %v", errA, errB)
			}

			// Nothing lands beside the root filesystem, nor where the rootfs part's lib64 -> /lib leads.
			entries, err := os.ReadDir(parent)
			if err != nil || len(entries) != 1 {
				t.Errorf("got %d entries beside the root filesystem (%v), want none", len(entries)-1, err)
			}

			_, err = os.Lstat("/lib/escaped")
			if !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("an entry was written out of the root: %v", err)
			}
		})
	}
}

// TestImportSplitMetadataRootfsRules checks that the rootfs/ tree of a metadata part is held to the rules of a
// unified image's, as it is unpacked too: no write through a symlink, no hard link out of rootfs/ or to a path not
// seen before.
func TestImportSplitMetadataRootfsRules(t *testing.T) {
	rootfs := compressAs(t, CompressionXz, makeTar(t, rootfsTree()))
	for _, tc := range []struct {
		name  string
		extra []tent
		want  string
	}{
		{name: "write through a symlink", extra: []tent{symlink("rootfs/etc2", "/etc"), file("rootfs/etc2/passwd", "x")},
			want: `entry "rootfs/etc2/passwd": written through the symlink "rootfs/etc2"`},
		{name: "hard link to a path not seen", extra: []tent{hardlink("rootfs/y", "rootfs/nope")},
			want: `entry "rootfs/y": hard link target "rootfs/nope" does not appear earlier in the archive`},
		{name: "hard link to a template", extra: []tent{hardlink("rootfs/y", "templates/hostname.tpl")},
			want: `hard link target "templates/hostname.tpl" is outside rootfs/`},
		{name: "rootfs not a directory", extra: []tent{file("rootfs", "x")}, want: `entry "rootfs": must be a directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta := compressAs(t, CompressionGzip, makeTar(t, append(metaEntries(goodMetadata), tc.extra...)))
			s := newTestStore(t)
			before := snapshot(t, s.Dir())
			imports := map[string]func() error{
				"split": func() error {
					_, err := s.ImportSplit(context.Background(), bytes.NewReader(meta), func() (io.Reader, error) {
						return bytes.NewReader(rootfs), nil
					}, ImportOptions{})
					return err
				},
				"auto": func() error {
					second := func() (io.Reader, error) { return bytes.NewReader(rootfs), nil }
					_, err := s.ImportAuto(context.Background(), bytes.NewReader(meta), second, ImportOptions{})
					return err
				},
			}

			for how, imp := range imports {
				err := imp()
				if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: got %v, want an invalid image error containing %q", how, err, tc.want)
				}

				after := snapshot(t, s.Dir())
				if strings.Join(after, "\n") != strings.Join(before, "\n") {
					t.Fatalf("%s: store changed: %v -> %v", how, before, after)
				}
			}
		})
	}
}
