package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// TypeContainer is the only image type this package produces.
const TypeContainer = "container"

// ImportOptions tune an import.
type ImportOptions struct {
	// ExpectedFingerprint, if set (the X-LXD-fingerprint header), must equal the computed fingerprint.
	ExpectedFingerprint string

	// Progress, if set, is called after each chunk with the number of bytes received so far (all parts).
	Progress func(bytes int64)

	// MaxSize, if positive, bounds the bytes received (all parts); a bigger upload is refused.
	MaxSize int64

	// WriteBase writes the image's base while validating it, through the store's base stager (see
	// SetBaseStager), for a unified image or a split one with a tarball rootfs; Pending.PublishBase publishes it.
	WriteBase bool
}

// Pending is a validated upload waiting in .tmp/ to be committed into the store or aborted.
type Pending struct {
	// Fingerprint is sha256 of the unified file, or of the metadata bytes followed by the rootfs bytes.
	Fingerprint string

	// Size is the total size in bytes (metadata plus rootfs for a split image).
	Size int64

	// MetaSize is the size of the unified file or of the metadata part.
	MetaSize int64

	// RootfsSize is the size of the rootfs part (0 for a unified image).
	RootfsSize int64

	// Metadata is the parsed metadata.yaml.
	Metadata *Metadata

	// Type is the image type: "container".
	Type string

	// Split is true for an image uploaded as metadata and rootfs parts.
	Split bool

	// MetaCompression is the compression of the unified file or of the metadata part.
	MetaCompression string

	// RootfsCompression is the compression of the rootfs part ("squashfs" included), "" for a unified image.
	RootfsCompression string

	store     *Store
	metaTmp   string
	rootfsTmp string

	// base is the base written while importing, nil for none.
	base *importBase

	mu   sync.Mutex
	done bool
}

// receiver streams one upload into temp files while validating it.
type receiver struct {
	store *Store
	opts  ImportOptions
	hash  hash.Hash
	total int64
	files []string

	// base writes the image's base as the rootfs is validated, nil for none.
	base *importBase
}

// part receives one image part into a new temp file and returns the file name, its size and what was found.
func (rc *receiver) part(ctx context.Context, r io.Reader, part string, l layout, visit func(e *entry, r io.Reader) error) (string, int64, *partInfo, error) {
	f, err := os.CreateTemp(rc.store.tmp, part+"-*")
	if err != nil {
		return "", 0, nil, fmt.Errorf("creating a temp file: %w", err)
	}

	rc.files = append(rc.files, f.Name())
	var size int64
	sink := func(b []byte) error {
		_, err := f.Write(b)
		if err != nil {
			return fmt.Errorf("writing %q: %w", f.Name(), err)
		}

		rc.hash.Write(b)
		size += int64(len(b))
		rc.total += int64(len(b))
		if rc.opts.MaxSize > 0 && rc.total > rc.opts.MaxSize {
			return invalidf(part, "the upload is larger than the %d bytes allowed", rc.opts.MaxSize)
		}

		if rc.opts.Progress != nil {
			rc.opts.Progress(rc.total)
		}

		return nil
	}

	var info *partInfo
	validate := func(r io.Reader) error {
		var err error
		info, err = validatePartVisit(r, part, l, visit)
		return err
	}

	err = teeValidate(ctx, r, sink, validate)
	if err != nil {
		_ = f.Close()
		return "", 0, nil, err
	}

	// The data must be durable before the rename that publishes it.
	err = f.Sync()
	if err != nil {
		_ = f.Close()
		return "", 0, nil, fmt.Errorf("syncing %q: %w", f.Name(), err)
	}

	err = f.Close()
	if err != nil {
		return "", 0, nil, fmt.Errorf("closing %q: %w", f.Name(), err)
	}

	return f.Name(), size, info, nil
}

// cleanup removes the temp files and the staged base of a failed import.
func (rc *receiver) cleanup() {
	rc.base.discard()
	for _, name := range rc.files {
		_ = os.Remove(name)
	}
}

// fingerprint computes the fingerprint and checks it against the expected one.
func (rc *receiver) fingerprint() (string, error) {
	fp := hex.EncodeToString(rc.hash.Sum(nil))
	want := strings.ToLower(strings.TrimSpace(rc.opts.ExpectedFingerprint))
	if want != "" && want != fp {
		return "", &InvalidError{Reason: fmt.Sprintf("fingerprint mismatch: computed %s, expected %s", fp, want)}
	}

	return fp, nil
}

// ImportUnified reads a unified image from r exactly once, storing it in .tmp/, hashing it and validating all of
// it on the way. A refused image wraps errs.ErrInvalid; nothing is left in the store on any error.
func (s *Store) ImportUnified(ctx context.Context, r io.Reader, opts ImportOptions) (*Pending, error) {
	rc := &receiver{store: s, opts: opts, hash: sha256.New()}
	if opts.WriteBase {
		rc.base = newImportBase(ctx, s.stager)
	}

	rc.base.begin(layoutUnified)
	name, size, info, err := rc.part(ctx, r, partImage, layoutUnified, rc.base.visitor())
	if err != nil {
		rc.cleanup()
		return nil, err
	}

	rc.base.end(info)

	p, err := rc.unified(name, size, info)
	if err != nil {
		rc.cleanup()
		return nil, err
	}

	return p, nil
}

// unified is the pending image of a received unified tarball.
func (rc *receiver) unified(name string, size int64, info *partInfo) (*Pending, error) {
	fp, err := rc.fingerprint()
	if err != nil {
		return nil, err
	}

	return &Pending{
		Fingerprint:     fp,
		Size:            size,
		MetaSize:        size,
		Metadata:        info.metadata,
		Type:            TypeContainer,
		MetaCompression: info.compression,
		store:           rc.store,
		metaTmp:         name,
		base:            rc.base,
	}, nil
}

// ImportSplit reads a split image: the metadata part from meta, then the rootfs part from the reader nextRootfs
// returns, each exactly once and in that order (as the parts of a multipart body arrive). The rootfs may be a
// tarball or a squashfs. A refused image wraps errs.ErrInvalid; nothing is left in the store on any error.
func (s *Store) ImportSplit(ctx context.Context, meta io.Reader, nextRootfs func() (io.Reader, error), opts ImportOptions) (*Pending, error) {
	rc := &receiver{store: s, opts: opts, hash: sha256.New()}
	if opts.WriteBase {
		rc.base = newImportBase(ctx, s.stager)
	}

	p, err := rc.split(ctx, meta, nextRootfs)
	if err != nil {
		rc.cleanup()
		return nil, err
	}

	return p, nil
}

func (rc *receiver) split(ctx context.Context, meta io.Reader, nextRootfs func() (io.Reader, error)) (*Pending, error) {
	metaName, metaSize, metaInfo, err := rc.part(ctx, meta, partMetadata, layoutMeta, nil)
	if err != nil {
		return nil, err
	}

	rootfs, err := nextRootfs()
	if err != nil {
		return nil, fmt.Errorf("reading the rootfs part: %w", err)
	}

	return rc.splitRootfs(ctx, metaName, metaSize, metaInfo, rootfs)
}

// splitRootfs reads the rootfs part of a split image whose metadata part was read.
func (rc *receiver) splitRootfs(ctx context.Context, metaName string, metaSize int64, metaInfo *partInfo, rootfs io.Reader) (*Pending, error) {
	rc.base.begin(layoutRootfs)
	rootfsName, rootfsSize, rootfsInfo, err := rc.part(ctx, rootfs, partRootfs, layoutRootfs, rc.base.visitor())
	if err != nil {
		return nil, err
	}

	rc.base.end(rootfsInfo)

	if rootfsInfo.compression == CompressionSquashfs {
		err = checkSquashfs(ctx, rootfsName, rootfsSize, rootfsInfo.superblock)
		if err != nil {
			return nil, err
		}
	}

	fp, err := rc.fingerprint()
	if err != nil {
		return nil, err
	}

	rc.base.overlayMeta(metaName)
	return &Pending{
		Fingerprint:       fp,
		Size:              metaSize + rootfsSize,
		MetaSize:          metaSize,
		RootfsSize:        rootfsSize,
		Metadata:          metaInfo.metadata,
		Type:              TypeContainer,
		Split:             true,
		MetaCompression:   metaInfo.compression,
		RootfsCompression: rootfsInfo.compression,
		store:             rc.store,
		metaTmp:           metaName,
		rootfsTmp:         rootfsName,
		base:              rc.base,
	}, nil
}

// ImportAuto reads an image whose kind the sender decides as it goes, as a download from another server does: the
// first part, then, when nextPart gives a second one, the rootfs of a split image; when nextPart returns io.EOF, the
// first part was a unified image. Each byte is read once, as with the other imports.
func (s *Store) ImportAuto(ctx context.Context, first io.Reader, nextPart func() (io.Reader, error), opts ImportOptions) (*Pending, error) {
	rc := &receiver{store: s, opts: opts, hash: sha256.New()}
	p, err := rc.auto(ctx, first, nextPart)
	if err != nil {
		rc.cleanup()
		return nil, err
	}

	return p, nil
}

func (rc *receiver) auto(ctx context.Context, first io.Reader, nextPart func() (io.Reader, error)) (*Pending, error) {
	// What follows decides whether the first part was a unified image or a metadata part, which are checked alike.
	// Its rootfs/ is written as a unified image's base.
	if rc.opts.WriteBase {
		rc.base = newImportBase(ctx, rc.store.stager)
	}

	rc.base.begin(layoutUnified)
	name, size, info, err := rc.part(ctx, first, partImage, layoutUnifiedOrMeta, rc.base.visitor())
	if err != nil {
		return nil, err
	}

	rc.base.end(info)
	second, err := nextPart()
	if errors.Is(err, io.EOF) {
		return rc.unified(name, size, info)
	}

	if err != nil {
		return nil, fmt.Errorf("reading the rootfs part: %w", err)
	}

	// A metadata part's rootfs/ goes under the rootfs part, not over it: the base is written again from the start.
	if rc.base != nil {
		rc.base.discard()
		rc.base = newImportBase(ctx, rc.store.stager)
	}

	return rc.splitRootfs(ctx, name, size, info, second)
}

// ErrImageExists is returned by Commit when the store already holds the fingerprint. It wraps errs.ErrConflict.
var ErrImageExists error = existsError{}

type existsError struct{}

func (existsError) Error() string { return "image with same fingerprint already exists" }

func (existsError) Unwrap() error { return errs.ErrConflict }

// errFinished is returned when a Pending is used after Commit or Abort.
var errFinished = errors.New("image import already committed or aborted")

// Commit moves the image into the store as images/<fp> (and images/<fp>.rootfs), read-only, and makes the renames
// durable. If the store already holds the fingerprint the error wraps errs.ErrConflict. Commit finishes the
// Pending either way: on any error its temp files are removed.
func (p *Pending) Commit() error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.done {
		return errFinished
	}

	p.done = true
	err := p.commit()
	if err != nil {
		p.removeTemp()
		return err
	}

	return nil
}

func (p *Pending) commit() error {
	s := p.store
	s.mu.Lock()
	defer s.mu.Unlock()

	meta, rootfs := s.finalPaths(p.Fingerprint)
	_, err := os.Lstat(meta)
	if err == nil {
		return ErrImageExists
	}

	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	// A rootfs without its metadata file is left over from a crash mid-commit.
	err = os.Remove(rootfs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	for _, name := range []string{p.metaTmp, p.rootfsTmp} {
		if name == "" {
			continue
		}

		err = os.Chmod(name, 0o400)
		if err != nil {
			return err
		}
	}

	// The rootfs goes first: the metadata file appearing is what publishes the image.
	if p.rootfsTmp != "" {
		err = os.Rename(p.rootfsTmp, rootfs)
		if err != nil {
			return fmt.Errorf("committing image %q: %w", p.Fingerprint, err)
		}
	}

	err = os.Rename(p.metaTmp, meta)
	if err != nil {
		if p.rootfsTmp != "" {
			_ = os.Remove(rootfs)
		}

		return fmt.Errorf("committing image %q: %w", p.Fingerprint, err)
	}

	return fsutil.SyncDir(s.dir)
}

// Abort removes the temp files. It is idempotent, and does nothing after Commit.
func (p *Pending) Abort() {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.done {
		return
	}

	p.done = true
	p.removeTemp()
}

func (p *Pending) removeTemp() {
	p.base.discard()
	for _, name := range []string{p.metaTmp, p.rootfsTmp} {
		if name != "" {
			_ = os.Remove(name)
		}
	}
}

// PublishBase publishes the base written while importing as the base of the committed image; call it once the
// image is recorded. Without a written base it does nothing, and a failure only leaves the base to the first
// launch.
func (p *Pending) PublishBase() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base.publish(p.Fingerprint)
	p.base = nil
}

// DiscardBase removes the base written while importing, as when the image could not be recorded.
func (p *Pending) DiscardBase() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base.discard()
	p.base = nil
}
