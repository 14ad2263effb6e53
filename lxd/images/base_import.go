package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// BaseStage is a staged base on the storage pool new containers use: a directory that an import fills with the
// image's root filesystem, published as the image's base once the image is recorded, so that the first launch
// from the image finds its base ready.
type BaseStage interface {
	// Rootfs is the directory to fill.
	Rootfs() string

	// Options are the options of the unpack a first launch would make of the base (ownership shift, devices).
	Options() UnpackOptions

	// Publish makes the filled directory the base of image fp, with the image's templates.
	Publish(fp string, templates *TemplateSet) error

	// Discard removes the staged base.
	Discard()
}

// BaseStager returns a new staged base for an import, or nil when no base is to be written while importing (no
// storage pool for new containers).
type BaseStager func(ctx context.Context) (BaseStage, error)

// SetBaseStager sets how imports asking for it (ImportOptions.WriteBase) stage the image's base. Call it before any
// import.
func (s *Store) SetBaseStager(stager BaseStager) {
	s.stager = stager
}

// importBase writes the base of an image while it is imported: the entries the validation accepts are written as
// they are read, with the one writer a first-launch unpack uses. A failure to write does not fail the import: the
// base is then discarded and the first launch unpacks it.
type importBase struct {
	ctx   context.Context
	stage BaseStage
	opts  UnpackOptions
	root  *os.Root
	w     *treeWriter

	// templates receives the image's metadata.yaml and template files.
	templates *TemplateSet

	// err is the first write failure.
	err error
}

// newImportBase stages a base for an import, or returns nil when there is none to write.
func newImportBase(ctx context.Context, stager BaseStager) *importBase {
	if stager == nil {
		return nil
	}

	stage, err := stager(ctx)
	if err != nil {
		slog.Warn("not writing the image base while importing", "err", err)
		return nil
	}

	if stage == nil {
		return nil
	}

	b := &importBase{ctx: ctx, stage: stage, templates: &TemplateSet{}}
	b.opts = stage.Options()
	b.opts.Templates = b.templates
	err = os.MkdirAll(stage.Rootfs(), 0o755)
	if err == nil {
		b.root, err = os.OpenRoot(stage.Rootfs())
	}

	if err != nil {
		b.fail(err)
	}

	return b
}

// begin prepares the writer of one part of layout l.
func (b *importBase) begin(l layout) {
	if b == nil || b.err != nil {
		return
	}

	b.w = newTreeWriter(b.ctx, b.root, b.opts, l, false)
}

// visit writes one validated entry; after a failure it only lets the validation go on.
func (b *importBase) visit(e *entry, r io.Reader) error {
	if b.err != nil || b.w == nil {
		return nil
	}

	err := b.w.visit(e, r)
	if err != nil {
		b.fail(err)
	}

	return nil
}

// visitor returns the visit function of the validation, nil when no base is written.
func (b *importBase) visitor() func(e *entry, r io.Reader) error {
	if b == nil {
		return nil
	}

	return b.visit
}

// end finishes the tree of the part just validated (its directories' attributes, its templates).
func (b *importBase) end(info *partInfo) {
	if b == nil || b.err != nil || b.w == nil {
		return
	}

	w := b.w
	b.w = nil
	w.close()
	if info.compression == CompressionSquashfs {
		// A squashfs rootfs is not read as a stream: its base is left to the first launch.
		b.fail(nil)
		return
	}

	err := w.finish(info.metadata)
	if err != nil {
		b.fail(err)
	}
}

// overlayMeta lays the rootfs/ entries of a split image's stored metadata part over the written rootfs part,
// keeping what is there, and reads its templates: what Unpack does after the rootfs part.
func (b *importBase) overlayMeta(meta string) {
	if b == nil || b.err != nil {
		return
	}

	err := unpackTarball(b.ctx, b.root, meta, partMetadata, layoutMeta, b.opts, true)
	if err != nil {
		b.fail(err)
	}
}

// fail gives up the base; err, if not nil, is logged.
func (b *importBase) fail(err error) {
	if b.err != nil {
		return
	}

	b.err = errDiscarded
	if err != nil {
		b.err = fmt.Errorf("writing the image base while importing: %w", err)
		slog.Warn("not writing the image base while importing", "err", err)
	}

	b.close()
	b.stage.Discard()
}

func (b *importBase) close() {
	if b.w != nil {
		b.w.close()
		b.w = nil
	}

	if b.root != nil {
		_ = b.root.Close()
		b.root = nil
	}
}

// discard removes the staged base (an import refused or aborted).
func (b *importBase) discard() {
	if b == nil {
		return
	}

	b.fail(nil)
}

// publish makes the written base the base of image fp; a failure only leaves the base to the first launch.
func (b *importBase) publish(fp string) {
	if b == nil || b.err != nil {
		return
	}

	b.close()
	b.err = errPublished
	err := b.stage.Publish(fp, b.templates)
	if err != nil {
		slog.Warn("not publishing the image base written while importing", "fingerprint", fp, "err", err)
		b.stage.Discard()
	}
}

// errPublished and errDiscarded mark a base that is done with.
var (
	errPublished = errors.New("image base published")
	errDiscarded = errors.New("image base discarded")
)
