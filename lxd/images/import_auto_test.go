package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

func TestImportAuto(t *testing.T) {
	unified := compressAs(t, CompressionGzip, makeTar(t, unifiedEntries(goodMetadata)))
	meta := compressAs(t, CompressionXz, makeTar(t, metaEntries(goodMetadata)))
	rootfs := compressAs(t, CompressionZstd, makeTar(t, rootfsTree()))

	parts := func(second []byte) func() (io.Reader, error) {
		return func() (io.Reader, error) {
			if second == nil {
				return nil, io.EOF
			}

			return bytes.NewReader(second), nil
		}
	}

	t.Run("unified", func(t *testing.T) {
		s := newTestStore(t)
		p, err := s.ImportAuto(context.Background(), bytes.NewReader(unified), parts(nil), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}

		checkPending(t, p, sha256Hex(unified), int64(len(unified)), false)
		p.Abort()
	})

	t.Run("split", func(t *testing.T) {
		s := newTestStore(t)
		p, err := s.ImportAuto(context.Background(), bytes.NewReader(meta), parts(rootfs),
			ImportOptions{ExpectedFingerprint: sha256Hex(meta, rootfs)})
		if err != nil {
			t.Fatal(err)
		}

		checkPending(t, p, sha256Hex(meta, rootfs), int64(len(meta)+len(rootfs)), true)
		p.Abort()
	})

	// A metadata part may carry a rootfs/ tree (a unified image given as the metadata part), as ImportSplit takes it.
	t.Run("unified followed by a rootfs", func(t *testing.T) {
		s := newTestStore(t)
		p, err := s.ImportAuto(context.Background(), bytes.NewReader(unified), parts(rootfs), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}

		checkPending(t, p, sha256Hex(unified, rootfs), int64(len(unified)+len(rootfs)), true)
		p.Abort()
	})

	// The rootfs/ rules refuse the first part as a unified image and as a metadata part alike: the rootfs/ tree of a
	// metadata part is unpacked too.
	writeThrough := compressAs(t, CompressionGzip, makeTar(t, append(unifiedEntries(goodMetadata),
		symlink("rootfs/etc2", "/etc"), file("rootfs/etc2/passwd", "x"))))
	blockDev := compressAs(t, CompressionGzip, makeTar(t, append(unifiedEntries(goodMetadata),
		tent{name: "rootfs/dev/sda", typ: tar.TypeBlock, mode: 0o660, major: 8})))
	for _, tc := range []struct {
		name   string
		first  []byte
		second []byte
		want   string
	}{
		{name: "rootfs refusal as unified", first: writeThrough, want: `entry "rootfs/etc2/passwd": written through the symlink "rootfs/etc2"`},
		{name: "rootfs refusal as metadata part", first: writeThrough, second: rootfs, want: `entry "rootfs/etc2/passwd": written through the symlink "rootfs/etc2"`},
		{name: "hostile as unified", first: blockDev, want: `entry "rootfs/dev/sda": block device 8:0 is not allowed`},
		{name: "hostile as metadata part", first: blockDev, second: rootfs, want: `entry "rootfs/dev/sda": block device 8:0 is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			before := snapshot(t, s.Dir())
			p, err := s.ImportAuto(context.Background(), bytes.NewReader(tc.first), parts(tc.second), ImportOptions{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want the split image accepted", err)
				}

				p.Abort()
				return
			}

			if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an invalid image error containing %q", err, tc.want)
			}

			after := snapshot(t, s.Dir())
			if strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatalf("store changed: %v -> %v", before, after)
			}
		})
	}
}
