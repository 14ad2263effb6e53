package images

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Compression names, as LXD reports them and as FileExtension takes them.
const (
	CompressionNone     = "none"
	CompressionGzip     = "gzip"
	CompressionBzip2    = "bzip2"
	CompressionXz       = "xz"
	CompressionLzma     = "lzma"
	CompressionZstd     = "zstd"
	CompressionSquashfs = "squashfs"
)

// maxWindow bounds the dictionary or window a compressed stream may ask for, and so the memory its decoder uses:
// 128 MiB, twice what xz -9 and lzma -9 use, and what zstd --ultra -22 uses.
const maxWindow = 1 << 27

// sniffLen is how many leading bytes detection needs: one tar header block.
const sniffLen = 512

var (
	magicGzip     = []byte{0x1f, 0x8b}
	magicBzip2    = []byte("BZh")
	magicXz       = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicLzma     = []byte{0x5d, 0x00, 0x00}
	magicZstd     = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicSquashfs = []byte("hsqs")
)

// errUnknownFormat means the leading bytes match no supported format.
var errUnknownFormat = errors.New("unknown file format")

// errEmpty means there were no bytes at all.
var errEmpty = errors.New("empty file")

// detect names the format of data, the first bytes of a file (up to sniffLen of them).
func detect(data []byte) (string, error) {
	switch {
	case len(data) == 0:
		return "", errEmpty
	case bytes.HasPrefix(data, magicGzip):
		return CompressionGzip, nil
	case bytes.HasPrefix(data, magicBzip2) && len(data) > 3 && data[3] >= '1' && data[3] <= '9':
		return CompressionBzip2, nil
	case bytes.HasPrefix(data, magicXz):
		return CompressionXz, nil
	case bytes.HasPrefix(data, magicZstd):
		return CompressionZstd, nil
	case bytes.HasPrefix(data, magicSquashfs):
		return CompressionSquashfs, nil
	case isTarHeader(data):
		return CompressionNone, nil
	case bytes.HasPrefix(data, magicLzma):
		return CompressionLzma, nil
	}

	return "", errUnknownFormat
}

// isTarHeader reports whether block is a tar header with a valid checksum (ustar, GNU or v7).
func isTarHeader(block []byte) bool {
	if len(block) < sniffLen {
		return false
	}

	field := bytes.TrimRight(bytes.TrimSpace(bytes.TrimRight(block[148:156], "\x00")), "\x00")
	if len(field) == 0 {
		return false
	}

	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}

		want = want*8 + int64(c-'0')
	}

	var unsigned, signed int64
	for i, c := range block[:sniffLen] {
		if i >= 148 && i < 156 {
			c = ' '
		}

		unsigned += int64(c)
		signed += int64(int8(c))
	}

	return want == unsigned || want == signed
}

// sniff peeks at the start of br and names its format.
func sniff(br *bufio.Reader) (string, error) {
	data, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", err
	}

	return detect(data)
}

// decompressor returns a reader of the decompressed stream and a function releasing its resources.
func decompressor(compression string, r io.Reader) (io.Reader, func(), error) {
	helper, release, err := helperDecompressor(compression, r)
	if err != nil || helper != nil {
		return helper, release, err
	}

	return goDecompressor(compression, r)
}

// goDecompressor decompresses with the Go implementations.
func goDecompressor(compression string, r io.Reader) (io.Reader, func(), error) {
	noop := func() {}
	switch compression {
	case CompressionNone:
		return r, noop, nil
	case CompressionGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}

		return zr, func() { _ = zr.Close() }, nil
	case CompressionBzip2:
		return bzip2.NewReader(r), noop, nil
	case CompressionXz:
		// DictCap is only a floor here: each block's header sets its own size, which validatePart bounds.
		zr, err := xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(r)
		if err != nil {
			return nil, nil, err
		}

		return zr, noop, nil
	case CompressionLzma:
		zr, err := lzma.ReaderConfig{DictCap: maxWindow}.NewReader(r)
		if err != nil {
			return nil, nil, err
		}

		return zr, noop, nil
	case CompressionZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, nil, err
		}

		return zr, zr.Close, nil
	}

	return nil, nil, fmt.Errorf("no decompressor for %q", compression)
}

// FileExtension returns the file name extension LXD uses when exporting a file of this compression.
func FileExtension(compression string) string {
	switch compression {
	case CompressionGzip:
		return ".tar.gz"
	case CompressionBzip2:
		return ".tar.bz2"
	case CompressionXz:
		return ".tar.xz"
	case CompressionLzma:
		return ".tar.lzma"
	case CompressionZstd:
		return ".tar.zst"
	case CompressionSquashfs:
		return ".squashfs"
	}

	return ".tar"
}

// DetectFile names the compression of an existing file from its leading bytes.
func DetectFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}

	defer func() { _ = f.Close() }()

	data := make([]byte, sniffLen)
	n, err := io.ReadFull(f, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}

	compression, err := detect(data[:n])
	if err != nil {
		return "", fmt.Errorf("detecting the format of %q: %w", path, err)
	}

	return compression, nil
}

// squashfsBytesUsed reads the size the squashfs superblock claims the filesystem occupies.
func squashfsBytesUsed(superblock []byte) (uint64, bool) {
	if len(superblock) < 48 || !bytes.HasPrefix(superblock, magicSquashfs) {
		return 0, false
	}

	return binary.LittleEndian.Uint64(superblock[40:48]), true
}

// xzDictSize reads the LZMA2 dictionary size from the first block header of an xz stream, given its leading bytes.
// The xz library sizes its dictionary from that header, so a forged one could make it allocate gigabytes.
// ok is false when the bytes do not hold a complete first block header.
func xzDictSize(data []byte) (uint64, bool) {
	const streamHeaderLen = 12
	if len(data) < streamHeaderLen+1 || !bytes.HasPrefix(data, magicXz) {
		return 0, false
	}

	block := data[streamHeaderLen:]
	if block[0] == 0 {
		// The index comes first: the stream holds no block.
		return 0, true
	}

	size := (int(block[0]) + 1) * 4
	if len(block) < size || size < 2 {
		return 0, false
	}

	block = block[:size-4]
	flags := block[1]
	pos := 2
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if present {
			_, n := binary.Uvarint(block[pos:])
			if n <= 0 {
				return 0, false
			}

			pos += n
		}
	}

	var dict uint64
	for range int(flags&0x03) + 1 {
		id, n := binary.Uvarint(block[pos:])
		if n <= 0 {
			return 0, false
		}

		pos += n
		propsLen, n := binary.Uvarint(block[pos:])
		if n <= 0 || uint64(len(block)-pos-n) < propsLen {
			return 0, false
		}

		pos += n
		if id == 0x21 && propsLen == 1 {
			bits := uint64(block[pos])
			switch {
			case bits > 40:
				return 0, false
			case bits == 40:
				dict = 1<<32 - 1
			default:
				dict = (2 | (bits & 1)) << (bits/2 + 11)
			}
		}

		pos += int(propsLen)
	}

	return dict, true
}
