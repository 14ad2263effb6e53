package oci

import (
	"io"
)

// chunkPipe passes what is written to it to a reader in another goroutine, up to a number of writes ahead, so that
// the download and the reading of a layer run side by side rather than in turns. The reader must read to the end
// (io.EOF or the writer's error): a writer ahead by the whole capacity waits for it.
type chunkPipe struct {
	ch  chan []byte
	err error
	cur []byte
}

func newChunkPipe(capacity int) *chunkPipe {
	return &chunkPipe{ch: make(chan []byte, capacity)}
}

// Write queues a copy of p.
func (c *chunkPipe) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}

	c.ch <- append([]byte(nil), p...)
	return len(p), nil
}

// CloseWithError ends the stream: the reader gets err after what was written, or io.EOF when err is nil.
func (c *chunkPipe) CloseWithError(err error) {
	c.err = err
	close(c.ch)
}

// Read reads what was written, in order.
func (c *chunkPipe) Read(p []byte) (int, error) {
	if len(c.cur) == 0 {
		b, ok := <-c.ch
		if !ok {
			if c.err != nil {
				return 0, c.err
			}

			return 0, io.EOF
		}

		c.cur = b
	}

	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}
