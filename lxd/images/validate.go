package images

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
)

// partInfo is what validating one image part found.
type partInfo struct {
	compression string

	// superblock holds the leading bytes of a squashfs part, for the size check once the file is complete.
	superblock []byte

	// metadata is the parsed metadata.yaml (unified and metadata parts).
	metadata *Metadata
}

// validatePart reads one image part to its end: it detects the compression from the leading bytes, decompresses
// the whole stream and checks every tar entry against the rules of l. A squashfs rootfs is only read through here;
// its listing is checked once the file is complete.
func validatePart(r io.Reader, part string, l layout) (*partInfo, error) {
	return validatePartVisit(r, part, l, nil)
}

// validatePartVisit is validatePart calling visit, if not nil, for each validated entry of a tarball (see
// scanTarball); a squashfs part is not visited.
func validatePartVisit(r io.Reader, part string, l layout, visit func(e *entry, r io.Reader) error) (*partInfo, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	compression, err := sniff(br)
	if errors.Is(err, errEmpty) {
		return nil, invalidf(part, "the upload is empty")
	}

	if errors.Is(err, errUnknownFormat) {
		return nil, invalidf(part, "not a tarball (plain, gzip, bzip2, xz, lzma or zstd) or squashfs")
	}

	if err != nil {
		return nil, err
	}

	info := &partInfo{compression: compression}
	if compression == CompressionSquashfs {
		if l != layoutRootfs {
			return nil, invalidf(part, "squashfs is only accepted as the rootfs of a split image")
		}

		head, _ := br.Peek(48)
		info.superblock = append([]byte(nil), head...)
		_, err = io.Copy(io.Discard, br)
		if err != nil {
			return nil, err
		}

		return info, nil
	}

	if compression == CompressionXz {
		head, _ := br.Peek(sniffLen)
		dict, ok := xzDictSize(head)
		if ok && dict > maxWindow {
			return nil, invalidf(part, "xz dictionary of %d bytes is larger than the %d allowed", dict, maxWindow)
		}
	}

	sc, err := scanTarball(br, compression, part, l, visit)
	if err != nil {
		return nil, err
	}

	info.metadata = sc.metadata

	return info, nil
}

// scanTarball decompresses r, scans its tar entries (calling visit for each, if not nil) and reads the compressed
// stream to its end, so a truncated or corrupt stream is refused even past the tar end marker.
func scanTarball(r io.Reader, compression string, part string, l layout, visit func(e *entry, r io.Reader) error) (*scanner, error) {
	dec, release, err := decompressor(compression, r)
	if err != nil {
		return nil, &InvalidError{Part: part, Reason: fmt.Sprintf("bad %s stream", compression), Err: err}
	}

	defer release()

	s := newScanner(part, l)
	err = s.scan(tar.NewReader(dec), visit)
	if err != nil {
		return nil, err
	}

	_, err = io.Copy(io.Discard, dec)
	if err != nil {
		return nil, &InvalidError{Part: part, Reason: fmt.Sprintf("%s stream does not decompress to its end", compression), Err: err}
	}

	err = s.finish()
	if err != nil {
		return nil, err
	}

	return s, nil
}
