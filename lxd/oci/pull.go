package oci

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// Progress receives a short description of where a pull is ("download_progress" text).
type Progress func(text string)

// Pull downloads the blobs of img the store does not hold (each checked against its digest and size as it
// streams), applies its layers in order into a root filesystem, and imports that as a split image into imgStore,
// validated as any import is. The returned Pending carries the image's registry fingerprint; committing it is the
// caller's, and so is calling Forget(fingerprint) if it does not. The blobs are recorded for the image first, so
// that no concurrent prune removes them.
func (s *Store) Pull(ctx context.Context, img *registry.Image, imgStore *images.Store, progress Progress) (*images.Pending, error) {
	rec := record{Reference: img.Reference, Config: img.ConfigDigest}
	for _, l := range img.Layers {
		rec.Layers = append(rec.Layers, l.Digest.String())
	}

	err := s.Record(img.Fingerprint, rec)
	if err != nil {
		return nil, err
	}

	total := img.Size()
	var done int64
	for i, l := range img.Layers {
		digest := l.Digest.String()
		if s.Has(digest) {
			done += l.Size
			continue
		}

		err = s.fetch(ctx, img, i, func(n int64) {
			if progress != nil && total > 0 {
				progress(fmt.Sprintf("%d%%", (done+n)*100/total))
			}
		})
		if err != nil {
			return nil, err
		}

		done += l.Size
	}

	if progress != nil {
		progress("Unpacking the OCI image")
	}

	return s.Build(ctx, img, imgStore)
}

// fetch downloads layer i of img into the store.
func (s *Store) fetch(ctx context.Context, img *registry.Image, i int, progress func(int64)) error {
	l := img.Layers[i]
	rc, err := img.OpenBlob(ctx, l)
	if err != nil {
		return err
	}

	defer func() { _ = rc.Close() }()
	return s.Put(ctx, l.Digest.String(), l.Size, rc, progress)
}

// Build applies the layers of img, all in the store, into a root filesystem and imports it into imgStore with a
// metadata part holding metadata.yaml and the image configuration (config.json).
func (s *Store) Build(ctx context.Context, img *registry.Image, imgStore *images.Store) (*images.Pending, error) {
	tmp, err := os.MkdirTemp(s.tmpDir(), "rootfs-")
	if err != nil {
		return nil, err
	}

	defer func() { _ = os.RemoveAll(tmp) }()

	rootfs := filepath.Join(tmp, "rootfs")
	err = os.Mkdir(rootfs, 0o755)
	if err != nil {
		return nil, err
	}

	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}

	defer func() { _ = root.Close() }()
	for _, l := range img.Layers {
		err = s.applyBlob(ctx, root, l.Digest.String())
		if err != nil {
			return nil, err
		}
	}

	meta, err := metadataTarball(img)
	if err != nil {
		return nil, err
	}

	pr, pw := io.Pipe()
	go func() {
		_ = pw.CloseWithError(writeTree(ctx, pw, rootfs))
	}()

	first := true
	next := func() (io.Reader, error) {
		if !first {
			return nil, io.EOF
		}

		first = false
		return pr, nil
	}

	pending, err := imgStore.ImportSplit(ctx, bytes.NewReader(meta), next, images.ImportOptions{})
	_ = pr.CloseWithError(errors.New("import ended"))
	if err != nil {
		return nil, err
	}

	// An OCI image is known by its layers, not by the bytes of the parts built here.
	pending.Fingerprint = img.Fingerprint
	return pending, nil
}

// applyBlob applies one stored layer blob, gzip, zstd or uncompressed.
func (s *Store) applyBlob(ctx context.Context, root *os.Root, digest string) error {
	f, err := s.Open(digest)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	r, closeFn, err := Decompress(f)
	if err != nil {
		return fmt.Errorf("layer %s: %w", digest, err)
	}

	defer closeFn()
	err = ApplyLayer(ctx, root, r)
	if err != nil {
		return fmt.Errorf("layer %s: %w: %w", digest, err, errs.ErrInvalid)
	}

	return nil
}

var (
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Decompress returns the uncompressed stream of a layer blob: gzip and zstd are recognised by their magic bytes,
// anything else is read as an uncompressed tarball.
func Decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}

	switch {
	case bytes.HasPrefix(head, magicGzip):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, errs.Invalid("invalid gzip layer: %v", err)
		}

		return gz, func() { _ = gz.Close() }, nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(1<<27), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, errs.Invalid("invalid zstd layer: %v", err)
		}

		return zr, zr.Close, nil
	}

	return br, func() {}, nil
}
