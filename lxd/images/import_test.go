package images

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/lxd/errs"
)

var allCompressions = []string{CompressionNone, CompressionGzip, CompressionBzip2, CompressionXz, CompressionLzma, CompressionZstd}

func TestImportUnified(t *testing.T) {
	tarball := makeTar(t, unifiedEntries(goodMetadata))
	for _, compression := range allCompressions {
		t.Run(compression, func(t *testing.T) {
			data := compressAs(t, compression, tarball)
			s := newTestStore(t)
			var progress int64
			p, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{
				ExpectedFingerprint: sha256Hex(data),
				Progress:            func(n int64) { progress = n },
			})
			if err != nil {
				t.Fatalf("import: %v", err)
			}

			checkPending(t, p, sha256Hex(data), int64(len(data)), false)
			if p.MetaCompression != compression {
				t.Errorf("got compression %q, want %q", p.MetaCompression, compression)
			}

			if progress != int64(len(data)) {
				t.Errorf("got progress %d, want %d", progress, len(data))
			}

			err = p.Commit()
			if err != nil {
				t.Fatalf("commit: %v", err)
			}

			meta, rootfs, err := s.Paths(p.Fingerprint)
			if err != nil {
				t.Fatalf("paths: %v", err)
			}

			if rootfs != "" {
				t.Errorf("got rootfs path %q for a unified image", rootfs)
			}

			checkStored(t, meta, data)
			got, err := DetectFile(meta)
			if err != nil || got != compression {
				t.Errorf("DetectFile: got %q, %v, want %q", got, err, compression)
			}

			if len(tmpEntries(t, s)) != 0 {
				t.Errorf("got leftovers in .tmp: %v", tmpEntries(t, s))
			}

			// The same bytes again are a conflict, and leave nothing behind.
			p2, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{})
			if err != nil {
				t.Fatalf("second import: %v", err)
			}

			err = p2.Commit()
			if !errors.Is(err, errs.ErrConflict) || err.Error() != "image with same fingerprint already exists" {
				t.Errorf("got %v, want a conflict", err)
			}

			if len(tmpEntries(t, s)) != 0 {
				t.Errorf("got leftovers in .tmp after a conflict: %v", tmpEntries(t, s))
			}
		})
	}
}

func checkPending(t *testing.T, p *Pending, fp string, size int64, split bool) {
	t.Helper()
	if p.Fingerprint != fp {
		t.Errorf("got fingerprint %s, want %s", p.Fingerprint, fp)
	}

	if p.Size != size {
		t.Errorf("got size %d, want %d", p.Size, size)
	}

	if p.Split != split || p.Type != TypeContainer {
		t.Errorf("got split %v type %q, want %v container", p.Split, p.Type, split)
	}

	m := p.Metadata
	if m == nil {
		t.Fatal("no metadata")
	}

	if m.Architecture != "x86_64" || m.CreationDate != 1700000000 || m.Properties["os"] != "busybox" || m.Properties["release"] != "1.36" {
		t.Errorf("got metadata %+v", m)
	}

	tpl := m.Templates["/etc/hostname"]
	if tpl == nil || tpl.Template != "hostname.tpl" || len(tpl.When) != 2 || tpl.Properties["default"] != "c1" {
		t.Errorf("got template %+v", tpl)
	}

	if !m.Templates["/etc/hosts"].CreateOnly {
		t.Errorf("got create_only false for /etc/hosts")
	}
}

func checkStored(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	if !bytes.Equal(got, want) {
		t.Errorf("stored %q differs from the upload", path)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	if fi.Mode().Perm() != 0o400 {
		t.Errorf("got mode %v for %q, want 0400", fi.Mode(), path)
	}
}

func TestImportSplit(t *testing.T) {
	metaTar := makeTar(t, metaEntries(goodMetadata))
	rootTar := makeTar(t, rootfsTree())
	for _, compression := range allCompressions {
		t.Run(compression, func(t *testing.T) {
			meta := compressAs(t, compression, metaTar)
			rootfs := compressAs(t, compression, rootTar)

			testSplit(t, meta, rootfs, compression, compression)
		})
	}

	t.Run("squashfs", func(t *testing.T) {
		rootfs := makeSquashfs(t, nil)
		testSplit(t, compressAs(t, CompressionXz, metaTar), rootfs, CompressionXz, CompressionSquashfs)
	})
}

func testSplit(t *testing.T, meta []byte, rootfs []byte, metaCompression string, rootfsCompression string) {
	t.Helper()
	s := newTestStore(t)
	p, err := s.ImportSplit(context.Background(), bytes.NewReader(meta), func() (io.Reader, error) {
		return bytes.NewReader(rootfs), nil
	}, ImportOptions{ExpectedFingerprint: sha256Hex(meta, rootfs)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}

	checkPending(t, p, sha256Hex(meta, rootfs), int64(len(meta)+len(rootfs)), true)
	if p.MetaCompression != metaCompression || p.RootfsCompression != rootfsCompression {
		t.Errorf("got compressions %q, %q, want %q, %q", p.MetaCompression, p.RootfsCompression, metaCompression, rootfsCompression)
	}

	if p.MetaSize != int64(len(meta)) || p.RootfsSize != int64(len(rootfs)) {
		t.Errorf("got sizes %d, %d, want %d, %d", p.MetaSize, p.RootfsSize, len(meta), len(rootfs))
	}

	err = p.Commit()
	if err != nil {
		t.Fatalf("commit: %v", err)
	}

	metaPath, rootfsPath, err := s.Paths(p.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}

	if metaPath != filepath.Join(s.Dir(), p.Fingerprint) || rootfsPath != metaPath+".rootfs" {
		t.Errorf("got paths %q, %q", metaPath, rootfsPath)
	}

	checkStored(t, metaPath, meta)
	checkStored(t, rootfsPath, rootfs)
	if len(tmpEntries(t, s)) != 0 {
		t.Errorf("got leftovers in .tmp: %v", tmpEntries(t, s))
	}

	err = p.Commit()
	if err == nil {
		t.Errorf("a second Commit succeeded")
	}

	err = s.Delete(p.Fingerprint)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}

	entries, _ := os.ReadDir(s.Dir())
	if len(entries) != 1 {
		t.Errorf("got %d entries after delete, want only .tmp", len(entries))
	}

	err = s.Delete(p.Fingerprint)
	if !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("got %v deleting twice, want not found", err)
	}
}

// makeSquashfs builds a squashfs of rootfsTree's shape with mksquashfs; extra runs on the source tree first.
func makeSquashfs(t testing.TB, extra func(dir string)) []byte {
	t.Helper()
	_, err := exec.LookPath("mksquashfs")
	if err != nil {
		t.Skip("SKIP: mksquashfs is not installed (Debian squashfs-tools)")
	}

	src := filepath.Join(t.TempDir(), "src")
	must(t, os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "bin/busybox"), []byte("#!busybox\n"), 0o755))
	must(t, os.Symlink("busybox", filepath.Join(src, "bin/sh")))
	must(t, os.Symlink("/etc", filepath.Join(src, "etcl")))
	must(t, os.WriteFile(filepath.Join(src, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	must(t, os.Chown(filepath.Join(src, "etc/passwd"), 1000, 1000))
	if extra != nil {
		extra(src)
	}

	out := filepath.Join(t.TempDir(), "rootfs.squashfs")
	cmd := exec.Command("mksquashfs", src, out, "-noappend", "-quiet", "-no-progress")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mksquashfs: %v: %s", err, msg)
	}

	data, err := os.ReadFile(out)
	must(t, err)
	return data
}

func TestPendingAbort(t *testing.T) {
	s := newTestStore(t)
	data := compressAs(t, CompressionGzip, makeTar(t, unifiedEntries(goodMetadata)))
	p, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if len(tmpEntries(t, s)) != 1 {
		t.Fatalf("got .tmp entries %v, want the pending file", tmpEntries(t, s))
	}

	p.Abort()
	p.Abort()
	if len(tmpEntries(t, s)) != 0 {
		t.Errorf("got leftovers after Abort: %v", tmpEntries(t, s))
	}

	err = p.Commit()
	if err == nil {
		t.Errorf("Commit after Abort succeeded")
	}

	_, _, err = s.Paths(p.Fingerprint)
	if !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("got %v, want not found", err)
	}
}

func TestCleanTemp(t *testing.T) {
	s := newTestStore(t)
	must(t, os.WriteFile(filepath.Join(s.tmp, "unified-123"), []byte("x"), 0o600))
	orphan := filepath.Join(s.Dir(), sha256Hex([]byte("a"))+".rootfs")
	must(t, os.WriteFile(orphan, []byte("x"), 0o400))
	kept := filepath.Join(s.Dir(), sha256Hex([]byte("b")))
	must(t, os.WriteFile(kept, []byte("x"), 0o400))
	must(t, os.WriteFile(kept+".rootfs", []byte("x"), 0o400))

	err := s.CleanTemp()
	if err != nil {
		t.Fatal(err)
	}

	got := snapshot(t, s.Dir())
	want := []string{". d---------", ".tmp d---------", filepath.Base(kept) + " ----------", filepath.Base(kept) + ".rootfs ----------"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	for i := range got {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got[i], want[i])
		}
	}
}

func TestPathsRejectsBadFingerprints(t *testing.T) {
	s := newTestStore(t)
	for _, fp := range []string{"", "abc", "../../etc/passwd", sha256Hex(nil)[:63] + "G", "A" + sha256Hex(nil)[1:]} {
		_, _, err := s.Paths(fp)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Paths(%q): got %v, want invalid", fp, err)
		}

		err = s.Delete(fp)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Delete(%q): got %v, want invalid", fp, err)
		}
	}
}

func TestImportMaxSize(t *testing.T) {
	s := newTestStore(t)
	data := makeTar(t, unifiedEntries(goodMetadata))
	_, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{MaxSize: 1024})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("got %v, want invalid", err)
	}

	if len(tmpEntries(t, s)) != 0 {
		t.Errorf("got leftovers: %v", tmpEntries(t, s))
	}
}

// failingReader returns its data and then an error, as a dropped client connection does.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}

	return n, err
}

func TestImportReadErrorIsNotInvalid(t *testing.T) {
	s := newTestStore(t)
	data := compressAs(t, CompressionGzip, makeTar(t, unifiedEntries(goodMetadata)))
	boom := errors.New("connection reset")
	_, err := s.ImportUnified(context.Background(), &failingReader{r: bytes.NewReader(data[:len(data)/2]), err: boom}, ImportOptions{})
	if !errors.Is(err, boom) || errors.Is(err, errs.ErrInvalid) {
		t.Errorf("got %v, want the read error, not an invalid image", err)
	}

	if len(tmpEntries(t, s)) != 0 {
		t.Errorf("got leftovers: %v", tmpEntries(t, s))
	}
}

func TestImportCancelled(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := makeTar(t, unifiedEntries(goodMetadata))
	_, err := s.ImportUnified(ctx, bytes.NewReader(data), ImportOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}

	if len(tmpEntries(t, s)) != 0 {
		t.Errorf("got leftovers: %v", tmpEntries(t, s))
	}
}

// TestImportGNUTar imports images made by GNU tar from a directory, with "./" prefixes and long names.
func TestImportGNUTar(t *testing.T) {
	_, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("SKIP: tar is not installed")
	}

	src := t.TempDir()
	long := filepath.Join("rootfs", "usr", strings.Repeat("long-directory-name-", 8), strings.Repeat("file-", 30))
	must(t, os.MkdirAll(filepath.Join(src, filepath.Dir(long)), 0o755))
	must(t, os.WriteFile(filepath.Join(src, long), []byte("x"), 0o644))
	must(t, os.MkdirAll(filepath.Join(src, "templates"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "templates", "hostname.tpl"), []byte("x"), 0o644))
	must(t, os.MkdirAll(filepath.Join(src, "templates", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "templates", "sub", "hosts.tpl"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "metadata.yaml"), []byte(goodMetadata), 0o644))
	must(t, os.Symlink("/bin/busybox", filepath.Join(src, "rootfs", "sh")))
	must(t, os.Link(filepath.Join(src, long), filepath.Join(src, "rootfs", "hard")))

	for _, flag := range []string{"-z", "-J", "-j", "--zstd", "--lzma"} {
		t.Run(flag, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image")
			cmd := exec.Command("tar", "-C", src, "--format=gnu", flag, "-cf", out, ".")
			msg, err := cmd.CombinedOutput()
			if err != nil {
				t.Skipf("SKIP: tar %s: %v: %s", flag, err, msg)
			}

			data, err := os.ReadFile(out)
			must(t, err)
			s := newTestStore(t)
			p, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{})
			if err != nil {
				t.Fatalf("import: %v", err)
			}

			if p.Fingerprint != sha256Hex(data) {
				t.Errorf("got fingerprint %s, want %s", p.Fingerprint, sha256Hex(data))
			}

			p.Abort()
		})
	}
}
