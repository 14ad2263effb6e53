package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// benchTar builds a ~96 MiB unified tarball: text-like files and incompressible ones, so the compressed image
// is around 64 MiB.
var benchTar = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	words := []string{"lorem ", "ipsum ", "dolor ", "sit ", "amet ", "busybox ", "root ", "/usr/lib/ ", "\n", "0x7f "}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, body []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: testTime})
		_, _ = tw.Write(body)
	}

	write("metadata.yaml", []byte(goodMetadata))
	write("templates/hostname.tpl", []byte("x"))
	write("templates/sub/hosts.tpl", []byte("x"))
	body := make([]byte, 256<<10)
	for i := 0; buf.Len() < 96<<20; i++ {
		if i%3 == 0 {
			var text []byte
			for len(text) < len(body) {
				text = append(text, words[rng.IntN(len(words))]...)
			}

			write("rootfs/usr/share/doc/f"+itoa(i), text[:len(body)])
			continue
		}

		for j := range body {
			body[j] = byte(rng.Uint32())
		}

		write("rootfs/usr/lib/f"+itoa(i), body)
	}

	_ = tw.Close()
	return buf.Bytes()
})

func itoa(i int) string {
	return string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
}

var benchImages sync.Map

// benchImage compresses benchTar once per compression, with the xz program when it is there (much faster).
func benchImage(b *testing.B, compression string) []byte {
	v, ok := benchImages.Load(compression)
	if ok {
		return v.([]byte)
	}

	data := benchTar()
	var out []byte
	_, err := exec.LookPath("xz")
	if compression == CompressionXz && err == nil {
		cmd := exec.Command("xz", "-1", "-T2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err = cmd.Output()
		must(b, err)
	} else {
		out = compressAs(b, compression, data)
	}

	benchImages.Store(compression, out)
	return out
}

func BenchmarkImportUnified(b *testing.B) {
	for _, compression := range []string{CompressionGzip, CompressionXz} {
		b.Run(compression, func(b *testing.B) {
			benchImport(b, benchImage(b, compression))
		})
	}
}

func BenchmarkSHA256(b *testing.B) {
	for _, compression := range []string{CompressionGzip, CompressionXz} {
		b.Run(compression, func(b *testing.B) {
			data := benchImage(b, compression)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h := sha256.New()
				_, _ = io.Copy(h, bytes.NewReader(data))
				_ = h.Sum(nil)
			}
		})
	}
}

// zeroImage streams a gzip unified image whose rootfs holds size bytes of zeros, generated on the fly.
func zeroImage(size int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		tw := tar.NewWriter(zw)
		_ = tw.WriteHeader(&tar.Header{Name: "metadata.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(metaNoTemplates))})
		_, _ = tw.Write([]byte(metaNoTemplates))
		const fileSize = 64 << 20
		for i := int64(0); i*fileSize < size; i++ {
			_ = tw.WriteHeader(&tar.Header{Name: "rootfs/zero" + itoa(int(i)), Typeflag: tar.TypeReg, Mode: 0o644, Size: fileSize})
			_, err := io.CopyN(tw, zeroReader{}, fileSize)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}

		_ = tw.Close()
		pw.CloseWithError(zw.Close())
	}()

	return pr
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestImportBoundedMemory imports a 1 GiB rootfs and checks the heap stays within a few MiB of where it started.
func TestImportBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: imports a 1 GiB rootfs")
	}

	s := newTestStore(t)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var highest uint64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- highest
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				highest = max(highest, ms.HeapAlloc)
			}
		}
	}()

	p, err := s.ImportUnified(context.Background(), zeroImage(1<<30), ImportOptions{})
	close(stop)
	peakHeap := <-peak
	if err != nil {
		t.Fatal(err)
	}

	p.Abort()
	grew := int64(peakHeap) - int64(base)
	t.Logf("heap grew by at most %d KiB while importing a 1 GiB rootfs", grew>>10)
	if grew > 24<<20 {
		t.Errorf("heap grew by %d MiB, want at most 24 MiB", grew>>20)
	}
}

// BenchmarkImportFile imports the unified image named by LXD_BENCH_IMAGE (for instance the Debian fixture), to
// compare the store alone with the import through the API.
func BenchmarkImportFile(b *testing.B) {
	path := os.Getenv("LXD_BENCH_IMAGE")
	if path == "" {
		b.Skip("SKIPPED: set LXD_BENCH_IMAGE to a unified image")
	}

	data, err := os.ReadFile(path)
	must(b, err)
	benchImport(b, data)
}

// benchImport imports the unified image data into a new store once per iteration.
func benchImport(b *testing.B, data []byte) {
	s := newTestStore(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := s.ImportUnified(context.Background(), bytes.NewReader(data), ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}

		p.Abort()
	}
}
