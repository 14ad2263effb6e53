package images

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// helperPrograms are the only external decompressors ever run, each with fixed arguments: the C implementations
// decompress several times faster than the Go ones. They run as nobody, see only a pipe in and a pipe out, and their
// memory is bounded (xz by its own limit, igzip by design). Without them the Go decompressors are used.
var helperPrograms = map[string][]string{
	CompressionGzip: {"igzip", "-d", "-c"},
	CompressionXz:   {"xz", "-d", "-c", "-T2", "--memlimit-decompress=256MiB"},
}

// HelperDirs are where helper programs are looked for; the daemon's PATH is not consulted.
var HelperDirs = []string{"/usr/bin", "/bin"}

// FindProgram returns the path of the executable regular file name in the first of dirs that has one, or "".
func FindProgram(dirs []string, name string) string {
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return p
		}
	}

	return ""
}

var helperPaths = sync.OnceValue(func() map[string]string {
	paths := map[string]string{}
	for compression, argv := range helperPrograms {
		p := FindProgram(HelperDirs, argv[0])
		if p != "" {
			paths[compression] = p
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
	cmd.Env = []string{}
	cmd.Dir = "/"
	stderr := &bytes.Buffer{}
	cmd.Stderr = &limitedBuffer{buf: stderr, max: 4096}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}},
		Pdeathsig:  syscall.SIGKILL,
	}

	// The pipes are made here rather than by exec, to make them large: with the default 64 KiB, moving a few
	// hundred MB through them costs more context switches than the decompression itself.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		_ = inR.Close()
		_ = inW.Close()
		return nil, nil, err
	}

	growPipe(inW)
	growPipe(outR)
	cmd.Stdin = inR
	cmd.Stdout = outW
	err = cmd.Start()
	_ = inR.Close()
	_ = outW.Close()
	if err != nil {
		_ = inW.Close()
		_ = outR.Close()
		return nil, nil, fmt.Errorf("start %s: %w", argv[0], err)
	}

	// The tar reader asks for small pieces; a large buffer keeps the pipe reads few.
	h := &helperReader{cmd: cmd, out: outR, buf: bufio.NewReaderSize(outR, 1<<20), compression: compression,
		stderr: stderr, pumped: make(chan struct{})}

	// The pump feeds the helper; r implements io.WriterTo when it can hand over whole chunks. It stops at the
	// end of r, or when the helper exits early and the pipe breaks (what is left of r is then read by the caller).
	go func() {
		defer close(h.pumped)
		_, _ = io.Copy(inW, r)
		_ = inW.Close()
	}()

	release := func() {
		// Stop a helper whose output is no longer wanted, and reap it.
		_ = cmd.Process.Kill()
		_ = h.wait()
	}

	return h, release, nil
}

// growPipe raises a pipe's capacity to the system's maximum for unprivileged pipes (1 MiB by default); a failure
// leaves the pipe as it was, which only costs speed.
func growPipe(f *os.File) {
	size := 1 << 20
	data, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err == nil {
		n, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err == nil && n > 0 && n < size {
			size = n
		}
	}

	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, size)
}

// helperReader reads a helper's output; when the output ends, the helper's exit status decides between a clean end
// and a refused stream.
type helperReader struct {
	cmd         *exec.Cmd
	out         *os.File
	buf         *bufio.Reader
	compression string
	stderr      *bytes.Buffer

	// pumped is closed when the pump has stopped reading the input.
	pumped chan struct{}

	once    sync.Once
	waitErr error

	// end is what every Read returns once the output has ended.
	end error
}

// wait reaps the helper and waits for the pump, so that the input is no longer read by anyone else.
func (h *helperReader) wait() error {
	h.once.Do(func() {
		h.waitErr = h.cmd.Wait()
		_ = h.out.Close()
		<-h.pumped
	})

	return h.waitErr
}

func (h *helperReader) Read(p []byte) (int, error) {
	if h.end != nil {
		return 0, h.end
	}

	n, err := h.buf.Read(p)
	if !errors.Is(err, io.EOF) {
		return n, err
	}

	h.end = io.EOF
	waitErr := h.wait()
	if waitErr != nil {
		detail := strings.TrimSpace(h.stderr.String())
		if detail == "" {
			detail = waitErr.Error()
		}

		h.end = fmt.Errorf("%s: corrupt or truncated stream (%s)", h.compression, detail)
	}

	return n, h.end
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
