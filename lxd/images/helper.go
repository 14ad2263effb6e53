package images

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// helperPrograms are the only external decompressors ever run, each with fixed arguments: the C implementations
// decompress several times faster than the Go ones. They run as nobody, see only a pipe in and a pipe out, and their
// memory is bounded (xz by its own limit, igzip by design). Without them the Go decompressors are used.
var helperPrograms = map[string][]string{
	CompressionGzip: {"igzip", "-d", "-c"},
	CompressionXz:   {"xz", "-d", "-c", "-T2", "--memlimit-decompress=256MiB"},
}

// helperDirs are where helper programs are looked for; the daemon's PATH is not consulted.
var helperDirs = []string{"/usr/bin", "/bin"}

var helperPaths = sync.OnceValue(func() map[string]string {
	paths := map[string]string{}
	for compression, argv := range helperPrograms {
		for _, dir := range helperDirs {
			p := dir + "/" + argv[0]
			info, err := os.Stat(p)
			if err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
				paths[compression] = p
				break
			}
		}
	}

	return paths
})

// nobody is who helper programs run as.
const nobody = 65534

// helperDecompressor starts the helper program for compression on r, or returns nil when there is none (or the
// daemon is not root, and cannot drop to nobody).
func helperDecompressor(compression string, r io.Reader) (io.Reader, func(), error) {
	path, ok := helperPaths()[compression]
	if !ok || os.Geteuid() != 0 {
		return nil, nil, nil
	}

	argv := helperPrograms[compression]
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin = r
	cmd.Env = []string{}
	cmd.Dir = "/"
	stderr := &bytes.Buffer{}
	cmd.Stderr = &limitedBuffer{buf: stderr, max: 4096}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}},
		Pdeathsig:  syscall.SIGKILL,
	}

	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}

	err = cmd.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", argv[0], err)
	}

	// The tar reader asks for small pieces; a large buffer keeps the pipe reads few.
	h := &helperReader{cmd: cmd, out: out, buf: bufio.NewReaderSize(out, 1<<20), compression: compression, stderr: stderr}
	release := func() {
		// Stop a helper whose output is no longer wanted, and reap it.
		_ = cmd.Process.Kill()
		h.wait()
	}

	return h, release, nil
}

// helperReader reads a helper's output; when the output ends, the helper's exit status decides between a clean end
// and a refused stream.
type helperReader struct {
	cmd         *exec.Cmd
	out         io.ReadCloser
	buf         *bufio.Reader
	compression string
	stderr      *bytes.Buffer

	once    sync.Once
	waitErr error
}

func (h *helperReader) wait() error {
	h.once.Do(func() {
		h.waitErr = h.cmd.Wait()
	})

	return h.waitErr
}

func (h *helperReader) Read(p []byte) (int, error) {
	n, err := h.buf.Read(p)
	if !errors.Is(err, io.EOF) {
		return n, err
	}

	waitErr := h.wait()
	if waitErr != nil {
		detail := strings.TrimSpace(h.stderr.String())
		if detail == "" {
			detail = waitErr.Error()
		}

		return n, fmt.Errorf("%s: corrupt or truncated stream (%s)", h.compression, detail)
	}

	return n, io.EOF
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	room := l.max - l.buf.Len()
	if room > 0 {
		if len(p) < room {
			room = len(p)
		}

		l.buf.Write(p[:room])
	}

	return len(p), nil
}
