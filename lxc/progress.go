package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// progressRenderer shows the progress of a long command on one terminal line that each update rewrites, then
// replaces it with a final message. Updates are shown only on a terminal and never in quiet mode.
type progressRenderer struct {
	out      io.Writer
	format   string
	quiet    bool
	terminal bool

	// width returns the terminal width (0 when unknown); updates are cut to fit on one line.
	width func() int

	// now is the clock transfer updates are timed with.
	now func() time.Time

	mu      sync.Mutex
	maxLen  int
	stopped bool
}

// newProgress returns a renderer writing to out; format has one %s for the status ("Transferring image: %s").
func newProgress(out io.Writer, format string, quiet bool) *progressRenderer {
	p := &progressRenderer{out: out, format: format, quiet: quiet, width: func() int { return 0 }, now: time.Now}
	f, ok := out.(*os.File)
	if ok && isTerminal(int(f.Fd())) {
		p.terminal = true
		fd := int(f.Fd())
		p.width = func() int {
			ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
			if err != nil {
				return 0
			}

			return int(ws.Col)
		}
	}

	return p
}

// active reports whether updates are shown.
func (p *progressRenderer) active() bool {
	return p.terminal && !p.quiet
}

// update rewrites the progress line with status.
func (p *progressRenderer) update(status string) {
	if !p.active() {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}

	msg := fmt.Sprintf(p.format, status)
	width := p.width()
	if width > 1 && utf8.RuneCountInString(msg) > width-1 {
		msg = string([]rune(msg)[:width-1])
	}

	n := utf8.RuneCountInString(msg)
	pad := ""
	if n < p.maxLen {
		pad = strings.Repeat(" ", p.maxLen-n)
	} else {
		p.maxLen = n
	}

	_, _ = fmt.Fprint(p.out, "\r"+msg+pad)
}

// done clears the progress line and prints msg on a line of its own (nothing in quiet mode, and nothing at all for
// an empty msg when no progress was shown). As the stock client does, the message starts with a carriage return
// even when the output is not a terminal.
func (p *progressRenderer) done(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}

	p.stopped = true
	if p.quiet {
		msg = ""
	}

	if msg == "" && p.maxLen == 0 {
		return
	}

	if p.maxLen > 0 {
		_, _ = fmt.Fprint(p.out, "\r"+strings.Repeat(" ", p.maxLen))
	}

	_, _ = fmt.Fprint(p.out, "\r")
	if msg != "" {
		_, _ = fmt.Fprintln(p.out, msg)
	}
}

// transferHandler returns a client progress handler that shows "45% (12.34MB/s)", or the bytes so far and the rate
// when the total is unknown; nil when updates are not shown. It redraws at most every 100ms.
func (p *progressRenderer) transferHandler() func(done int64, total int64) {
	if !p.active() {
		return nil
	}

	// The first redraw waits 100ms too: the rate of the first buffered writes means nothing.
	start := p.now()
	last := start
	return func(done int64, total int64) {
		now := p.now()
		if now.Sub(last) < 100*time.Millisecond && (total <= 0 || done < total) {
			return
		}

		last = now
		rate := int64(0)
		elapsed := now.Sub(start).Seconds()
		if elapsed > 0 {
			rate = int64(float64(done) / elapsed)
		}

		if total > 0 {
			p.update(fmt.Sprintf("%d%% (%s/s)", done*100/total, byteSize(rate)))
			return
		}

		p.update(fmt.Sprintf("%s (%s/s)", byteSize(done), byteSize(rate)))
	}
}

// wait waits for op, showing the progress the server reports in the operation metadata (keys ending in
// "_progress").
func (p *progressRenderer) wait(op client.Operation) error {
	if p.active() {
		_, _ = op.AddHandler(func(o api.Operation) {
			for key, value := range o.Metadata {
				s, ok := value.(string)
				if ok && strings.HasSuffix(key, "_progress") {
					p.update(s)
				}
			}
		})
	}

	return op.Wait()
}

// byteSize formats a byte count with decimal units and two decimals ("12.34MB"), as transfer rates are shown.
func byteSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%dB", n)
	}

	value := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB", "PB", "EB"} {
		value /= 1000
		if value < 1000 || unit == "EB" {
			return fmt.Sprintf("%.2f%s", value, unit)
		}
	}

	return ""
}
