package images

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the processor time of this process and its reaped children (the decompression helpers).
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		_ = syscall.Getrusage(who, &ru)
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}

	return total
}

// BenchmarkImportBase imports the unified image named by LXD_BENCH_IMAGE from its file, without and with its base
// written while importing (shifted as an unprivileged base), and unpacks it as a first launch would.
func BenchmarkImportBase(b *testing.B) {
	file := os.Getenv("LXD_BENCH_IMAGE")
	if file == "" {
		b.Skip("LXD_BENCH_IMAGE not set")
	}

	opts := UnpackOptions{Shift: testShift}
	run := func(b *testing.B, writeBase bool, unpack bool) {
		before := cpuTime()
		defer func() { b.ReportMetric((cpuTime()-before).Seconds()/float64(b.N), "cpu-s/op") }()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := NewStore(filepath.Join(b.TempDir(), "images"))
			must(b, err)
			var stages []*testStage
			s.SetBaseStager(testStager(b, b.TempDir(), opts, &stages))
			f, err := os.Open(file)
			must(b, err)
			b.StartTimer()
			p, err := s.ImportUnified(context.Background(), f, ImportOptions{WriteBase: writeBase})
			must(b, err)
			must(b, p.Commit())
			p.PublishBase()
			if unpack {
				must(b, s.Unpack(context.Background(), p.Fingerprint, filepath.Join(b.TempDir(), "rootfs"), opts))
			}

			b.StopTimer()
			_ = f.Close()
			b.StartTimer()
		}
	}

	b.Run("import", func(b *testing.B) { run(b, false, false) })
	b.Run("import+unpack", func(b *testing.B) { run(b, false, true) })
	b.Run("import-with-base", func(b *testing.B) { run(b, true, false) })
}
