package images

import (
	"context"
	"errors"
	"io"
)

// Sizes of the buffers handed from the receiving goroutine to the validating one: a few MiB at most in flight.
const (
	relayChunk   = 256 << 10
	relayBuffers = 4
)

// relay hands chunks from the receiving goroutine to the validating goroutine without copying them again.
// Buffers cycle through free and full; both channels can hold every buffer, so sends never block.
type relay struct {
	full chan []byte
	free chan []byte

	// done is closed when the validating goroutine has returned.
	done chan struct{}

	// err is set by the receiving goroutine before it closes full; it is what Read returns instead of io.EOF.
	err error

	cur  []byte
	held []byte
}

// next makes the current chunk non-empty, giving the previous one back; false at the end of the stream.
func (r *relay) next() (bool, error) {
	for len(r.cur) == 0 {
		if r.held != nil {
			r.free <- r.held[:cap(r.held)]
			r.held = nil
		}

		b, ok := <-r.full
		if !ok {
			return false, r.err
		}

		r.cur, r.held = b, b
	}

	return true, nil
}

// Read implements io.Reader for the validating goroutine.
func (r *relay) Read(p []byte) (int, error) {
	ok, err := r.next()
	if !ok {
		if err != nil {
			return 0, err
		}

		return 0, io.EOF
	}

	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: each chunk goes to w in one write, with no copy in between (a decompressor's
// input pipe takes a whole chunk per system call).
func (r *relay) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		ok, err := r.next()
		if !ok {
			return total, err
		}

		n, err := w.Write(r.cur)
		r.cur = r.cur[n:]
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// teeValidate reads src once to its end. On the calling goroutine each chunk goes to sink (the temp file and the
// hash); the same bytes are read by validate on another goroutine, which must consume its reader to the end.
// A read or write failure is returned as is; otherwise the validation error, if any.
func teeValidate(ctx context.Context, src io.Reader, sink func([]byte) error, validate func(io.Reader) error) error {
	rl := &relay{
		full: make(chan []byte, relayBuffers),
		free: make(chan []byte, relayBuffers),
		done: make(chan struct{}),
	}

	for range relayBuffers {
		rl.free <- make([]byte, relayChunk)
	}

	var validateErr error
	go func() {
		defer close(rl.done)
		validateErr = validate(rl)
		if validateErr == nil {
			// Bytes after the end of the compressed stream are kept in the file but carry nothing.
			_, validateErr = io.Copy(io.Discard, rl)
		}
	}()

	var srcErr error
loop:
	for {
		err := ctx.Err()
		if err != nil {
			srcErr = err
			break
		}

		var buf []byte
		select {
		case buf = <-rl.free:
		case <-rl.done:
			break loop
		}

		n, err := io.ReadFull(src, buf)
		if n > 0 {
			werr := sink(buf[:n])
			if werr != nil {
				srcErr = werr
				break
			}

			rl.full <- buf[:n]
		}

		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}

		if err != nil {
			srcErr = err
			break
		}
	}

	rl.err = srcErr
	close(rl.full)
	<-rl.done

	if srcErr != nil {
		return srcErr
	}

	return validateErr
}
