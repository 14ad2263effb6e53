package images

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tarball := makeTar(t, []tent{file("a", "b")})
	for _, compression := range allCompressions {
		t.Run(compression, func(t *testing.T) {
			got, err := detect(compressAs(t, compression, tarball))
			if err != nil || got != compression {
				t.Errorf("got %q, %v, want %q", got, err, compression)
			}
		})
	}

	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{name: "squashfs", in: append([]byte("hsqs"), make([]byte, 100)...), want: CompressionSquashfs},
		{name: "empty", in: nil, want: ""},
		{name: "text", in: []byte("hello world"), want: ""},
		{name: "zero block", in: make([]byte, 512), want: ""},
		{name: "bzip2 without level", in: []byte("BZhx"), want: ""},
		{name: "tar with a bad checksum", in: append(append([]byte(nil), tarball[:148]...), append([]byte("9999999\x00"), tarball[156:512]...)...), want: ""},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := detect(c.in)
			if got != c.want || (c.want == "") != (err != nil) {
				t.Errorf("got %q, %v, want %q", got, err, c.want)
			}
		})
	}
}

func TestFileExtension(t *testing.T) {
	want := map[string]string{
		CompressionNone: ".tar", CompressionGzip: ".tar.gz", CompressionBzip2: ".tar.bz2", CompressionXz: ".tar.xz",
		CompressionLzma: ".tar.lzma", CompressionZstd: ".tar.zst", CompressionSquashfs: ".squashfs",
	}

	for compression, ext := range want {
		got := FileExtension(compression)
		if got != ext {
			t.Errorf("FileExtension(%q): got %q, want %q", compression, got, ext)
		}
	}
}

func TestDetectFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "image.tar.gz")
	must(t, os.WriteFile(good, compressAs(t, CompressionXz, makeTar(t, []tent{file("a", "b")})), 0o600))
	got, err := DetectFile(good)
	if err != nil || got != CompressionXz {
		t.Errorf("got %q, %v, want xz whatever the name says", got, err)
	}

	bad := filepath.Join(dir, "bad")
	must(t, os.WriteFile(bad, []byte("nope"), 0o600))
	_, err = DetectFile(bad)
	if err == nil {
		t.Errorf("got no error for an unknown format")
	}

	_, err = DetectFile(filepath.Join(dir, "missing"))
	if err == nil {
		t.Errorf("got no error for a missing file")
	}
}

func TestXzDictSize(t *testing.T) {
	for _, preset := range []string{"-0", "-6", "-9"} {
		t.Run(preset, func(t *testing.T) {
			_, err := exec.LookPath("xz")
			if err != nil {
				t.Skip("SKIP: xz is not installed (Debian xz-utils)")
			}

			cmd := exec.Command("xz", preset, "-c")
			cmd.Stdin = bytes.NewReader(makeTar(t, []tent{file("a", "b")}))
			out, err := cmd.Output()
			must(t, err)
			want := map[string]uint64{"-0": 256 << 10, "-6": 8 << 20, "-9": 64 << 20}[preset]
			got, ok := xzDictSize(out)
			if !ok || got != want {
				t.Errorf("got %d, %v, want %d", got, ok, want)
			}
		})
	}

	// A forged header asking for a 3 GiB dictionary is refused before the decoder allocates it.
	forged := compressAs(t, CompressionXz, makeTar(t, unifiedEntries(goodMetadata)))
	dict, ok := xzDictSize(forged)
	if !ok || dict == 0 {
		t.Fatalf("got %d, %v for the library's own output", dict, ok)
	}

	forged = bytes.Clone(forged)
	blockLen := (int(forged[12]) + 1) * 4
	props := bytes.Index(forged[12:12+blockLen], []byte{0x21, 0x01}) + 12 + 2
	forged[props] = 39
	binary.LittleEndian.PutUint32(forged[12+blockLen-4:], crc32.ChecksumIEEE(forged[12:12+blockLen-4]))
	_, err := validatePart(bytes.NewReader(forged), partImage, layoutUnified)
	if err == nil || !strings.Contains(err.Error(), "xz dictionary of") {
		t.Errorf("got %v, want the dictionary refused", err)
	}
}
