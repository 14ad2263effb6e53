package images

import (
	"bytes"
	"context"
	"errors"
	"io"
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

	t.Run("unified followed by a rootfs", func(t *testing.T) {
		s := newTestStore(t)
		before := snapshot(t, s.Dir())
		_, err := s.ImportAuto(context.Background(), bytes.NewReader(unified), parts(rootfs), ImportOptions{})
		if !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("got %v, want an invalid image", err)
		}

		after := snapshot(t, s.Dir())
		if len(after) != len(before) {
			t.Fatalf("store changed: %v -> %v", before, after)
		}
	})
}
