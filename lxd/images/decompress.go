package images

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Decompress names the compression of the stream r from its first bytes (gzip, bzip2, xz, lzma, zstd, or a plain
// tarball) and returns the decompressed stream, read with the same bounds as image imports, and a function
// releasing its resources. Squashfs and unknown formats are refused as invalid.
func Decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	compression, err := sniff(br)
	if errors.Is(err, errEmpty) || errors.Is(err, errUnknownFormat) {
		return nil, nil, fmt.Errorf("%w: %w", err, errs.ErrInvalid)
	}

	if err != nil {
		return nil, nil, err
	}

	if compression == CompressionSquashfs {
		return nil, nil, errs.Invalid("a squashfs file is not a tarball")
	}

	return decompressor(compression, br)
}
