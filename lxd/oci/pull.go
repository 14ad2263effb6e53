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
	"strconv"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/images"
	registry "github.com/lxd-go/lxd/shared/oci"
)

// Progress receives a short description of where a pull is ("download_progress" text).
type Progress func(text string)

// Pull downloads the blobs of img the store does not hold (each checked against its digest and size as it
// streams), merges its layers in order into a root filesystem, and imports that as a split image into imgStore,
// validated as any import is, writing the image's base as it goes. The layers' headers are merged as they
// download; the merged tarball is then read from the stored blobs, with no tree written but the image's base. Layers
// that only an application on disk merges (see errNotFlat) are applied into a temporary tree, which is imported.
// A blob that does not match its digest fails the pull. The returned Pending carries the image's registry
// fingerprint; committing it is the caller's, and so is calling Forget(fingerprint) if it does not. The blobs are
// recorded for the image first, so that no concurrent prune removes them.
func (s *Store) Pull(ctx context.Context, img *registry.Image, imgStore *images.Store, progress Progress) (*images.Pending, error) {
	rec := record{Reference: img.Reference, Config: img.ConfigDigest}
	for _, l := range img.Layers {
		rec.Layers = append(rec.Layers, l.Digest.String())
	}

	err := s.Record(img.Fingerprint, rec)
	if err != nil {
		return nil, err
	}

	// Each layer is kept uncompressed while its headers are merged, for the merged tarball to copy from.
	plain, err := os.MkdirTemp(s.tmpDir(), "layers-")
	if err != nil {
		return nil, err
	}

	defer func() { _ = os.RemoveAll(plain) }()
	plan := newFlatPlan()
	total := img.Size()
	var done int64
	for i, l := range img.Layers {
		digest := l.Digest.String()
		consume := func(r io.Reader) error { return planLayer(ctx, plan, digest, r, plainLayer(plain, i)) }
		if s.Has(digest) {
			err = s.readBlob(digest, consume)
		} else {
			err = s.fetch(ctx, img, i, consume, func(n int64) {
				if progress != nil && total > 0 {
					progress(fmt.Sprintf("%d%%", (done+n)*100/total))
				}
			})
		}

		if err != nil {
			return nil, err
		}

		done += l.Size
	}

	if progress != nil {
		progress("Unpacking the OCI image")
	}

	entries, err := plan.entries()
	if err == nil {
		return importFlat(ctx, img, imgStore, entries, plan.nodes["."], plain)
	}

	t, err := s.newTree()
	if err != nil {
		return nil, err
	}

	defer t.remove()
	for _, l := range img.Layers {
		err = s.applyBlob(ctx, t.root, l.Digest.String())
		if err != nil {
			return nil, err
		}
	}

	return importRootfs(ctx, img, imgStore, func(w io.Writer) error { return writeTree(ctx, w, t.dir) })
}

// planLayer merges the headers of the layer blob digest read from r into plan, and writes the uncompressed layer
// to the file keep while the plan may still be used.
func planLayer(ctx context.Context, plan *flatPlan, digest string, r io.Reader, keep string) error {
	lr, closeFn, err := Decompress(r)
	if err != nil {
		return fmt.Errorf("layer %s: %w", digest, err)
	}

	defer closeFn()
	if plan.err != nil {
		return nil
	}

	f, err := os.OpenFile(keep, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	tee := io.TeeReader(lr, f)
	err = plan.layer(ctx, tee)
	if err == nil && plan.err == nil {
		// The rest of the stream (the end-of-archive padding) goes to the file too.
		_, err = io.Copy(io.Discard, tee)
	}

	if err != nil {
		return fmt.Errorf("layer %s: %w: %w", digest, err, errs.ErrInvalid)
	}

	return f.Close()
}

// plainLayer is where layer i is kept uncompressed, under dir.
func plainLayer(dir string, i int) string {
	return filepath.Join(dir, strconv.Itoa(i))
}

// readBlob gives the stored blob digest to consume.
func (s *Store) readBlob(digest string, consume func(io.Reader) error) error {
	f, err := s.Open(digest)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	return consume(f)
}

// fetch downloads layer i of img into the store and gives its bytes to consume as they stream: to the blob file,
// hashed, and through a chunkPipe to consume. The download goes to its end whatever consume does, so that a blob
// that does not match its digest is reported as such.
func (s *Store) fetch(ctx context.Context, img *registry.Image, i int, consume func(io.Reader) error, progress func(int64)) error {
	l := img.Layers[i]
	rc, err := img.OpenBlob(ctx, l)
	if err != nil {
		return err
	}

	defer func() { _ = rc.Close() }()
	// Up to 32 reads (8 MiB) ahead of consume.
	p := newChunkPipe(32)
	consumed := make(chan error, 1)
	go func() {
		err := consume(p)
		// What consume leaves unread (padding, or all of it after a failure) is read to the end.
		_, _ = io.Copy(io.Discard, p)
		consumed <- err
	}()

	err = s.Put(ctx, l.Digest.String(), l.Size, io.TeeReader(rc, p), progress)
	p.CloseWithError(err)
	consumeErr := <-consumed
	if err != nil {
		return err
	}

	return consumeErr
}

// importFlat imports the merged root filesystem of img's layers, as planned, read from their uncompressed copies
// under dir.
func importFlat(ctx context.Context, img *registry.Image, imgStore *images.Store, entries map[int]*flatNode, root *flatNode, dir string) (*images.Pending, error) {
	open := func(i int) (io.Reader, func(), error) {
		f, err := os.Open(plainLayer(dir, i))
		if err != nil {
			return nil, nil, err
		}

		return f, func() { _ = f.Close() }, nil
	}

	return importRootfs(ctx, img, imgStore, func(w io.Writer) error {
		return writeFlat(ctx, w, entries, root, len(img.Layers), open)
	})
}

// layerTree is the root filesystem an image's layers are applied to, in the store's temporary directory.
type layerTree struct {
	store *Store
	tmp   string
	dir   string
	root  *os.Root
}

// newTree makes an empty root filesystem.
func (s *Store) newTree() (*layerTree, error) {
	tmp, err := os.MkdirTemp(s.tmpDir(), "rootfs-")
	if err != nil {
		return nil, err
	}

	t := &layerTree{store: s, tmp: tmp, dir: filepath.Join(tmp, "rootfs")}
	err = os.Mkdir(t.dir, 0o755)
	if err == nil {
		t.root, err = os.OpenRoot(t.dir)
	}

	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}

	return t, nil
}

// remove closes the tree and removes it in the background: a pull does not wait for the deletion of thousands of
// files it no longer needs. What a stopped daemon leaves there, NewStore removes.
func (t *layerTree) remove() {
	_ = t.root.Close()
	t.store.bg.Add(1)
	go func() {
		defer t.store.bg.Done()
		_ = os.RemoveAll(t.tmp)
	}()
}

// importRootfs imports into imgStore a split image of the rootfs tarball write writes and a metadata part holding
// metadata.yaml and the image configuration (config.json), writing the image's base while it is validated.
func importRootfs(ctx context.Context, img *registry.Image, imgStore *images.Store, write func(w io.Writer) error) (*images.Pending, error) {
	meta, err := metadataTarball(img)
	if err != nil {
		return nil, err
	}

	pr, pw := io.Pipe()
	go func() {
		_ = pw.CloseWithError(write(pw))
	}()

	first := true
	next := func() (io.Reader, error) {
		if !first {
			return nil, io.EOF
		}

		first = false
		return pr, nil
	}

	pending, err := imgStore.ImportSplit(ctx, bytes.NewReader(meta), next, images.ImportOptions{WriteBase: true})
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
	return applyLayerBlob(ctx, root, digest, f)
}

// applyLayerBlob applies the layer blob digest read from r, gzip, zstd or uncompressed.
func applyLayerBlob(ctx context.Context, root *os.Root, digest string, r io.Reader) error {
	lr, closeFn, err := Decompress(r)
	if err != nil {
		return fmt.Errorf("layer %s: %w", digest, err)
	}

	defer closeFn()
	err = ApplyLayer(ctx, root, lr)
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
