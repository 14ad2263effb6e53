package images

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkUnpackFile unpacks the unified image named by LXD_BENCH_IMAGE, shifted as an unprivileged base.
func BenchmarkUnpackFile(b *testing.B) {
	file := os.Getenv("LXD_BENCH_IMAGE")
	if file == "" {
		b.Skip("LXD_BENCH_IMAGE not set")
	}

	for i := 0; i < b.N; i++ {
		dest := filepath.Join(b.TempDir(), "rootfs")
		err := Unpack(context.Background(), file, "", dest, UnpackOptions{Shift: func(uid, gid int) (int, int, error) { return uid + 1000000, gid + 1000000, nil }})
		if err != nil {
			b.Fatal(err)
		}
	}
}
