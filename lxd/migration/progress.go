package migration

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Progress receives the operation metadata of a migration's progress: {"fs_progress": "c1: 12.34MB (5.67MB/s)"},
// as LXD reports it, about once a second while a volume travels.
type Progress func(metadata map[string]any)

// progressInterval is how often the progress of a volume is reported.
const progressInterval = time.Second

// counter counts the bytes of a volume's session.
type counter struct {
	n atomic.Int64
}

func (c *counter) add(n int) {
	if c != nil {
		c.n.Add(int64(n))
	}
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	c *counter
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.c.add(n)
	return n, err
}

// track reports the progress of the volume name, counted by the returned counter, until stop is called.
func track(progress Progress, name string) (*counter, func()) {
	c := &counter{}
	if progress == nil {
		return c, func() {}
	}

	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		ticker := time.NewTicker(progressInterval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				n := c.n.Load()
				rate := float64(n) / time.Since(start).Seconds()
				progress(map[string]any{"fs_progress": fmt.Sprintf("%s: %s (%s/s)", name, byteSize(float64(n)),
					byteSize(rate))})
			}
		}
	}()

	return c, func() {
		close(done)
		<-stopped
	}
}

// byteSize prints a size with decimal units, as LXD's progress does (12.34MB).
func byteSize(n float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}

	if i == 0 {
		return fmt.Sprintf("%.0f%s", n, units[i])
	}

	return fmt.Sprintf("%.2f%s", n, units[i])
}
