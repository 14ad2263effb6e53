package oci

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestChunkPipe(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789"), 100000)
	for _, fail := range []error{nil, errors.New("download failed")} {
		p := newChunkPipe(4)
		got := make(chan []byte, 1)
		errc := make(chan error, 1)
		go func() {
			data, err := io.ReadAll(p)
			got <- data
			errc <- err
		}()

		// Writes of odd sizes, more than the capacity ahead.
		for off := 0; off < len(want); off += 7919 {
			end := min(off+7919, len(want))
			n, err := p.Write(want[off:end])
			if err != nil || n != end-off {
				t.Fatalf("write: %d %v", n, err)
			}
		}

		p.CloseWithError(fail)
		data, err := <-got, <-errc
		if !bytes.Equal(data, want) || !errors.Is(err, fail) {
			t.Fatalf("read %d bytes (want %d), %v (want %v)", len(data), len(want), err, fail)
		}
	}
}
