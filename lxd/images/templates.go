package images

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Bounds on the template files ReadTemplates keeps in memory.
const (
	maxTemplateSize   = 1 << 20
	maxTemplatesTotal = 16 << 20
)

// errStop ends a scan early once what was looked for has been found.
var errStop = errors.New("stop")

// ReadMetadata returns the metadata.yaml of a stored unified image or metadata part.
func ReadMetadata(ctx context.Context, meta string) (*Metadata, error) {
	m, _, err := readMetaFile(ctx, meta, false)
	return m, err
}

// ReadTemplates returns the metadata.yaml of a stored unified image or metadata part, and the content of every
// regular file under templates/, keyed by its name relative to templates/ (as Template.Template names it).
// Each file may hold at most 1 MiB and all of them 16 MiB.
func ReadTemplates(ctx context.Context, meta string) (*Metadata, map[string][]byte, error) {
	return readMetaFile(ctx, meta, true)
}

// Metadata returns the metadata.yaml of a stored image.
func (s *Store) Metadata(ctx context.Context, fp string) (*Metadata, error) {
	meta, _, err := s.Paths(fp)
	if err != nil {
		return nil, err
	}

	return ReadMetadata(ctx, meta)
}

// Templates returns the metadata.yaml and the template files of a stored image; see ReadTemplates.
func (s *Store) Templates(ctx context.Context, fp string) (*Metadata, map[string][]byte, error) {
	meta, _, err := s.Paths(fp)
	if err != nil {
		return nil, nil, err
	}

	return ReadTemplates(ctx, meta)
}

func readMetaFile(ctx context.Context, file string, withTemplates bool) (*Metadata, map[string][]byte, error) {
	compression, err := DetectFile(file)
	if err != nil {
		return nil, nil, err
	}

	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}

	defer func() { _ = f.Close() }()

	dec, release, err := decompressor(compression, bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return nil, nil, err
	}

	defer release()

	files := &templateFiles{files: map[string][]byte{}}
	visit := func(e *entry, r io.Reader) error {
		err := ctx.Err()
		if err != nil {
			return err
		}

		if !withTemplates {
			return nil
		}

		return files.add(e, r)
	}

	// The metadata layout reads metadata.yaml and templates/ the same way in both kinds of image.
	s := newScanner(partImage, layoutMeta)
	s.stopAfterMetadata = !withTemplates
	err = s.scan(tar.NewReader(dec), visit)
	if err != nil && !errors.Is(err, errStop) {
		return nil, nil, fmt.Errorf("reading %q: %w", file, err)
	}

	if s.metadata == nil {
		return nil, nil, fmt.Errorf("reading %q: %w", file, invalidf(partImage, "metadata.yaml is missing"))
	}

	if !withTemplates {
		return s.metadata, nil, nil
	}

	return s.metadata, files.files, nil
}

// TemplateSet is an image's metadata.yaml and its template files, as ReadTemplates returns them.
type TemplateSet struct {
	Metadata *Metadata
	Files    map[string][]byte
}

// templateFiles collects the regular files under templates/ within the bounds on their sizes.
type templateFiles struct {
	files map[string][]byte
	total int64
}

// add keeps e if it is a template file.
func (t *templateFiles) add(e *entry, r io.Reader) error {
	if e.section != sectionTemplates || e.hdr.Typeflag != tar.TypeReg {
		return nil
	}

	if e.hdr.Size > maxTemplateSize || t.total+e.hdr.Size > maxTemplatesTotal {
		return fmt.Errorf("template %q is too large", e.rel)
	}

	data, err := io.ReadAll(io.LimitReader(r, maxTemplateSize))
	if err != nil {
		return err
	}

	t.total += int64(len(data))
	t.files[e.rel] = data
	return nil
}
