package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

// corpusDirEnv names a directory the malformed-image corpus is written to, for the integration suite to POST.
const corpusDirEnv = "IMAGES_CORPUS_DIR"

// badImage is one malformed upload and a piece of the error it must be refused with.
type badImage struct {
	name string

	// unified is the upload of a unified image; meta and rootfs are the parts of a split one.
	unified []byte
	meta    []byte
	rootfs  []byte

	// fingerprint is sent as the expected fingerprint, if set.
	fingerprint string

	want string
}

func (b badImage) split() bool {
	return b.meta != nil
}

// unifiedWith builds a gzip unified image from the valid one with extra entries appended.
func unifiedWith(tb testing.TB, extra ...tent) []byte {
	return compressAs(tb, CompressionGzip, makeTar(tb, append(unifiedEntries(goodMetadata), extra...)))
}

// unifiedMeta builds a gzip unified image with the given metadata.yaml.
func unifiedMeta(tb testing.TB, metadata string) []byte {
	return compressAs(tb, CompressionGzip, makeTar(tb, unifiedEntries(metadata)))
}

// withoutMetadata drops metadata.yaml from entries.
func withoutMetadata(entries []tent) []tent {
	var out []tent
	for _, e := range entries {
		if e.name != "metadata.yaml" {
			out = append(out, e)
		}
	}

	return out
}

// bigUnified is a valid unified tarball with an incompressible file, so truncation lands inside the data.
func bigUnified(tb testing.TB) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 256<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}

	return makeTar(tb, append(unifiedEntries(goodMetadata), file("rootfs/noise", string(noise))))
}

// flipMiddle returns a copy of data with bytes around its middle inverted.
func flipMiddle(data []byte) []byte {
	out := bytes.Clone(data)
	for i := len(out) / 2; i < len(out)/2+16; i++ {
		out[i] ^= 0xff
	}

	return out
}

// retype rewrites the type flag of the first tar header and fixes its checksum.
func retype(tarball []byte, flag byte) []byte {
	out := bytes.Clone(tarball)
	out[156] = flag
	copy(out[148:156], "        ")
	sum := 0
	for _, c := range out[:512] {
		sum += int(c)
	}

	copy(out[148:156], []byte(strings.Repeat("0", 6-len(octal(sum)))+octal(sum)+"\x00 "))
	return out
}

func octal(n int) string {
	if n == 0 {
		return "0"
	}

	var s string
	for ; n > 0; n /= 8 {
		s = string(rune('0'+n%8)) + s
	}

	return s
}

const metaNoTemplates = "architecture: x86_64\ncreation_date: 1700000000\n"

// badImages is the malformed-image corpus.
func badImages(tb testing.TB) []badImage {
	goodRootfs := compressAs(tb, CompressionXz, makeTar(tb, rootfsTree()))
	goodMeta := compressAs(tb, CompressionXz, makeTar(tb, metaEntries(goodMetadata)))
	big := bigUnified(tb)
	gz := compressAs(tb, CompressionGzip, big)
	zst := compressAs(tb, CompressionZstd, big)
	xzed := compressAs(tb, CompressionXz, big)
	bz := compressAs(tb, CompressionBzip2, big)
	oversized := "architecture: x86_64\ncreation_date: 1700000000\n#" + strings.Repeat("x", MaxMetadataSize) + "\n"

	images := []badImage{
		{name: "traversal-rootfs-dotdot", unified: unifiedWith(tb, file("rootfs/../x", "x")), want: `entry "rootfs/../x": path contains ".."`},
		{name: "traversal-dotdot-etc", unified: unifiedWith(tb, file("../../etc/x", "x")), want: `entry "../../etc/x": path contains ".."`},
		{name: "absolute-traversal", unified: unifiedWith(tb, file("/../etc/passwd", "x")), want: `entry "/../etc/passwd": path contains ".."`},
		{name: "absolute-rootfs-traversal", unified: unifiedWith(tb, file("//rootfs/../../x", "x")), want: `entry "//rootfs/../../x": path contains ".."`},
		{name: "absolute-write-through", unified: unifiedWith(tb, symlink("/rootfs/etc2", "/etc"), file("rootfs/etc2/passwd", "x")),
			want: `entry "rootfs/etc2/passwd": written through the symlink "rootfs/etc2"`},
		{name: "symlink-escape-write-through", unified: unifiedWith(tb, symlink("rootfs/etc2", "/etc"), file("rootfs/etc2/passwd", "x")),
			want: `entry "rootfs/etc2/passwd": written through the symlink "rootfs/etc2"`},
		{name: "symlink-relative-write-through", unified: unifiedWith(tb, symlink("rootfs/up", "../../.."), dir("rootfs/up/tmp")),
			want: `written through the symlink "rootfs/up"`},
		{name: "hardlink-escape", unified: unifiedWith(tb, hardlink("rootfs/x", "../../etc/shadow")), want: `entry "rootfs/x": hard link target "../../etc/shadow": path contains ".."`},
		{name: "hardlink-absolute", unified: unifiedWith(tb, hardlink("rootfs/x", "/etc/shadow")), want: `hard link target "/etc/shadow" is outside rootfs/`},
		{name: "hardlink-absolute-traversal", unified: unifiedWith(tb, hardlink("/rootfs/x", "/../etc/shadow")),
			want: `hard link target "/../etc/shadow": path contains ".."`},
		{name: "hardlink-to-ignored", unified: unifiedWith(tb, file("README", "x"), hardlink("rootfs/x", "/README")),
			want: `hard link target "/README" is outside rootfs/`},
		{name: "hardlink-outside-rootfs", unified: unifiedWith(tb, hardlink("rootfs/x", "templates/hostname.tpl")),
			want: `hard link target "templates/hostname.tpl" is outside rootfs/`},
		{name: "hardlink-unseen-target", unified: unifiedWith(tb, hardlink("rootfs/x", "rootfs/later"), file("rootfs/later", "x")),
			want: `hard link target "rootfs/later" does not appear earlier in the archive`},
		{name: "hardlink-to-directory", unified: unifiedWith(tb, hardlink("rootfs/x", "rootfs/etc")), want: `hard link target "rootfs/etc" is a directory`},
		{name: "metadata-missing", unified: compressAs(tb, CompressionGzip, makeTar(tb, withoutMetadata(unifiedEntries(goodMetadata)))),
			want: "metadata.yaml is missing"},
		{name: "metadata-symlink", unified: compressAs(tb, CompressionGzip, makeTar(tb, append([]tent{symlink("metadata.yaml", "/etc/passwd")},
			withoutMetadata(unifiedEntries(goodMetadata))...))), want: `entry "metadata.yaml": metadata.yaml is not a regular file`},
		{name: "metadata-directory", unified: compressAs(tb, CompressionGzip, makeTar(tb, append([]tent{dir("metadata.yaml")},
			withoutMetadata(unifiedEntries(goodMetadata))...))), want: "metadata.yaml is not a regular file"},
		{name: "metadata-duplicate", unified: unifiedWith(tb, file("./metadata.yaml", goodMetadata)), want: `entry "./metadata.yaml": duplicate metadata.yaml`},
		{name: "metadata-invalid-yaml", unified: unifiedMeta(tb, "architecture: [x86_64\n"), want: "parsing metadata.yaml"},
		{name: "metadata-oversized", unified: unifiedMeta(tb, oversized), want: "metadata.yaml is larger than 1 MiB"},
		{name: "metadata-no-architecture", unified: unifiedMeta(tb, "creation_date: 1700000000\n"), want: "metadata.yaml has no architecture"},
		{name: "metadata-unknown-architecture", unified: unifiedMeta(tb, "architecture: pdp11\ncreation_date: 1700000000\n"),
			want: `unknown architecture "pdp11"`},
		{name: "metadata-no-creation-date", unified: unifiedMeta(tb, "architecture: x86_64\n"), want: "metadata.yaml has no valid creation_date"},
		{name: "metadata-bad-when", unified: unifiedMeta(tb, metaNoTemplates+"templates:\n  /etc/hostname:\n    when: [boot]\n    template: hostname.tpl\n"),
			want: `unknown trigger "boot"`},
		{name: "template-file-missing", unified: unifiedMeta(tb, metaNoTemplates+"templates:\n  /etc/hostname:\n    when: [create]\n    template: nope.tpl\n"),
			want: `entry "templates/nope.tpl": template file for "/etc/hostname" listed in metadata.yaml is missing`},
		{name: "template-target-relative", unified: unifiedMeta(tb, metaNoTemplates+"templates:\n  etc/hostname:\n    when: [create]\n    template: hostname.tpl\n"),
			want: `template for "etc/hostname": target path is not absolute`},
		{name: "template-target-dotdot", unified: unifiedMeta(tb, metaNoTemplates+"templates:\n  /etc/../../hostname:\n    when: [create]\n    template: hostname.tpl\n"),
			want: `target path contains ".."`},
		{name: "template-name-escape", unified: unifiedMeta(tb, metaNoTemplates+"templates:\n  /etc/hostname:\n    when: [create]\n    template: ../rootfs/etc/shadow\n"),
			want: `template file name "../rootfs/etc/shadow" is not a plain relative name`},
		{name: "template-symlink", unified: unifiedWith(tb, symlink("templates/evil.tpl", "/etc/shadow")),
			want: "templates/ may only hold regular files and directories"},
		{name: "truncated-gzip", unified: gz[:len(gz)*6/10], want: "malformed or truncated archive"},
		{name: "truncated-gzip-trailer", unified: gz[:len(gz)-4], want: "gzip stream does not decompress to its end"},
		{name: "corrupt-gzip", unified: flipMiddle(gz), want: "gzip: "},
		{name: "corrupt-xz", unified: flipMiddle(xzed), want: "xz: "},
		{name: "truncated-xz", unified: xzed[:len(xzed)-8], want: "xz stream does not decompress to its end"},
		{name: "truncated-zstd", unified: zst[:len(zst)*6/10], want: "malformed or truncated archive"},
		{name: "truncated-bzip2", unified: bz[:len(bz)*6/10], want: "malformed or truncated archive"},
		{name: "truncated-tar", unified: big[:len(big)/2], want: "malformed or truncated archive"},
		{name: "garbage", unified: []byte(strings.Repeat("this is not an image\n", 100)), want: "not a tarball"},
		{name: "empty", unified: []byte{}, want: "the upload is empty"},
		{name: "wrong-fingerprint", unified: unifiedWith(tb), fingerprint: sha256Hex([]byte("something else")), want: "fingerprint mismatch"},
		{name: "ignored-traversal", unified: unifiedWith(tb, file("docs/../../x", "x")), want: `entry "docs/../../x": path contains ".."`},
		{name: "ignored-hardlink-escape", unified: unifiedWith(tb, hardlink("README", "../../etc/shadow")),
			want: `entry "README": hard link target "../../etc/shadow": path contains ".."`},
		{name: "ignored-char-device", unified: unifiedWith(tb, tent{name: "/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3}),
			want: `entry "/null": character device 1:3 is outside rootfs/`},
		{name: "ignored-block-device", unified: unifiedWith(tb, tent{name: "dev/sda", typ: tar.TypeBlock, mode: 0o660, major: 8}),
			want: `entry "dev/sda": block device 8:0 is not allowed`},
		{name: "ignored-unsupported-type", unified: unifiedWith(tb, tent{name: "manifest.json", typ: 'X', mode: 0o644}),
			want: `entry "manifest.json": unsupported entry type "X"`},
		{name: "ignored-symlink-empty", unified: unifiedWith(tb, symlink("latest", "")), want: `entry "latest": symlink with an empty target`},
		{name: "rootfs-is-symlink", unified: compressAs(tb, CompressionGzip, makeTar(tb, []tent{file("metadata.yaml", metaNoTemplates),
			symlink("rootfs", "/"), file("rootfs/etc/passwd", "x")})), want: `entry "rootfs": must be a directory`},
		{name: "unsupported-type-contiguous", unified: unifiedWith(tb, tent{name: "rootfs/contig", typ: tar.TypeCont, mode: 0o644}),
			want: `entry "rootfs/contig": contiguous files are not supported`},
		{name: "unsupported-type-unknown", unified: unifiedWith(tb, tent{name: "rootfs/weird", typ: 'X', mode: 0o644}),
			want: `entry "rootfs/weird": unsupported entry type "X"`},
		{name: "unsupported-gnu-sparse", unified: retype(makeTar(tb, []tent{file("rootfs/sparse", strings.Repeat("x", 1024))}), tar.TypeGNUSparse),
			want: "malformed or truncated archive"},
		{name: "block-device", unified: unifiedWith(tb, tent{name: "rootfs/dev/sda", typ: tar.TypeBlock, mode: 0o660, major: 8}),
			want: `entry "rootfs/dev/sda": block device 8:0 is not allowed`},
		{name: "char-device-mem", unified: unifiedWith(tb, tent{name: "rootfs/dev/mem", typ: tar.TypeChar, mode: 0o640, major: 1, minor: 1}),
			want: `entry "rootfs/dev/mem": character device 1:1 is not one of`},
		{name: "split-rootfs-traversal", meta: goodMeta, rootfs: compressAs(tb, CompressionXz, makeTar(tb, append(rootfsTree(), file("../x", "x")))),
			want: `invalid image rootfs: entry "../x": path contains ".."`},
		{name: "split-rootfs-write-through", meta: goodMeta, rootfs: compressAs(tb, CompressionXz, makeTar(tb, append(rootfsTree(), file("lib64/libc.so", "x")))),
			want: `invalid image rootfs: entry "lib64/libc.so": written through the symlink "lib64"`},
		{name: "split-meta-rootfs-traversal", meta: compressAs(tb, CompressionXz, makeTar(tb, append(metaEntries(goodMetadata), file("/rootfs/../../x", "x")))),
			rootfs: goodRootfs, want: `invalid image metadata: entry "/rootfs/../../x": path contains ".."`},
		{name: "split-meta-rootfs-block-device", meta: compressAs(tb, CompressionXz, makeTar(tb, append(metaEntries(goodMetadata),
			tent{name: "rootfs/dev/sda", typ: tar.TypeBlock, mode: 0o660, major: 8}))),
			rootfs: goodRootfs, want: `invalid image metadata: entry "rootfs/dev/sda": block device 8:0 is not allowed`},
		{name: "split-meta-rootfs-char-device", meta: compressAs(tb, CompressionXz, makeTar(tb, append(metaEntries(goodMetadata),
			tent{name: "rootfs/dev/mem", typ: tar.TypeChar, mode: 0o640, major: 1, minor: 1}))),
			rootfs: goodRootfs, want: `invalid image metadata: entry "rootfs/dev/mem": character device 1:1 is not one of`},
		{name: "split-meta-device-outside-rootfs", meta: compressAs(tb, CompressionXz, makeTar(tb, append(metaEntries(goodMetadata),
			tent{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3}))),
			rootfs: goodRootfs, want: `invalid image metadata: entry "dev/null": character device 1:3 is outside rootfs/`},
		{name: "split-meta-nested-metadata", meta: compressAs(tb, CompressionXz, makeTar(tb, []tent{dir("image/"), file("image/metadata.yaml", goodMetadata)})),
			rootfs: goodRootfs, want: "invalid image metadata: metadata.yaml is missing"},
		{name: "split-rootfs-absolute-traversal", meta: goodMeta, rootfs: compressAs(tb, CompressionXz, makeTar(tb, append(rootfsTree(), file("/../x", "x")))),
			want: `invalid image rootfs: entry "/../x": path contains ".."`},
		{name: "split-rootfs-hardlink-absolute-unseen", meta: goodMeta, rootfs: compressAs(tb, CompressionXz, makeTar(tb, append(rootfsTree(), hardlink("x", "/etc/nope")))),
			want: `invalid image rootfs: entry "x": hard link target "/etc/nope" does not appear earlier in the archive`},
		{name: "split-meta-missing-metadata", meta: compressAs(tb, CompressionXz, makeTar(tb, withoutMetadata(metaEntries(goodMetadata)))),
			rootfs: goodRootfs, want: "invalid image metadata: metadata.yaml is missing"},
		{name: "split-rootfs-empty", meta: goodMeta, rootfs: []byte{}, want: "invalid image rootfs: the upload is empty"},
		{name: "split-meta-squashfs", meta: append([]byte("hsqs"), make([]byte, 200)...), rootfs: goodRootfs,
			want: "squashfs is only accepted as the rootfs of a split image"},
		{name: "split-wrong-fingerprint", meta: goodMeta, rootfs: goodRootfs, fingerprint: sha256Hex(goodMeta), want: "fingerprint mismatch"},
	}

	return images
}

// badSquashfsImages are the malformed squashfs rootfs cases; they need squashfs-tools.
func badSquashfsImages(tb testing.TB) []badImage {
	goodMeta := compressAs(tb, CompressionXz, makeTar(tb, metaEntries(goodMetadata)))
	sq := makeSquashfs(tb, nil)
	used, _ := squashfsBytesUsed(sq)
	withBlock := makeSquashfs(tb, func(dir string) {
		must(tb, mknod(filepath.Join(dir, "sda"), 0o060000|0o660, 8, 0))
	})

	return []badImage{
		{name: "squashfs-truncated", meta: goodMeta, rootfs: sq[:used-1], want: "squashfs is truncated"},
		{name: "squashfs-block-device", meta: goodMeta, rootfs: withBlock, want: `entry "sda": block device 8,0 is not allowed`},
		{name: "squashfs-as-unified", unified: sq, want: "squashfs is only accepted as the rootfs of a split image"},
	}
}

// importBad imports one corpus image.
func importBad(s *Store, b badImage) error {
	opts := ImportOptions{ExpectedFingerprint: b.fingerprint}
	if b.split() {
		_, err := s.ImportSplit(context.Background(), bytes.NewReader(b.meta), func() (io.Reader, error) {
			return bytes.NewReader(b.rootfs), nil
		}, opts)
		return err
	}

	_, err := s.ImportUnified(context.Background(), bytes.NewReader(b.unified), opts)
	return err
}

func TestMalformedCorpus(t *testing.T) {
	images := badImages(t)
	_, err := lookSquashfs()
	if err != nil {
		t.Logf("SKIP: squashfs corpus cases: %v", err)
	} else {
		images = append(images, badSquashfsImages(t)...)
	}

	if len(images) < 25 {
		t.Fatalf("corpus has %d images, want at least 25", len(images))
	}

	writeCorpus(t, images)
	s := newTestStore(t)
	before := snapshot(t, s.Dir())
	for _, b := range images {
		t.Run(b.name, func(t *testing.T) {
			err := importBad(s, b)
			if err == nil {
				t.Fatalf("import succeeded, want an error containing %q", b.want)
			}

			if !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("got %v, want an error wrapping errs.ErrInvalid", err)
			}

			if !strings.Contains(err.Error(), b.want) {
				t.Errorf("got %q, want it to contain %q", err, b.want)
			}

			after := snapshot(t, s.Dir())
			if strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("store changed: got %v, want %v", after, before)
			}
		})
	}
}

// writeCorpus writes each image to $IMAGES_CORPUS_DIR: NAME.img (unified) or NAME.meta and NAME.rootfs (split),
// NAME.expect with the error substring, and NAME.fingerprint with the X-LXD-fingerprint to send, if any.
func writeCorpus(t *testing.T, images []badImage) {
	dir := os.Getenv(corpusDirEnv)
	if dir == "" {
		return
	}

	must(t, os.MkdirAll(dir, 0o755))
	for _, b := range images {
		base := filepath.Join(dir, b.name)
		if b.split() {
			must(t, os.WriteFile(base+".meta", b.meta, 0o644))
			must(t, os.WriteFile(base+".rootfs", b.rootfs, 0o644))
		} else {
			must(t, os.WriteFile(base+".img", b.unified, 0o644))
		}

		must(t, os.WriteFile(base+".expect", []byte(b.want+"\n"), 0o644))
		if b.fingerprint != "" {
			must(t, os.WriteFile(base+".fingerprint", []byte(b.fingerprint+"\n"), 0o644))
		}
	}

	t.Logf("wrote %d corpus images to %s", len(images), dir)
}
