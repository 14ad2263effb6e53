package migration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/shared/ws"
)

// The file system travels as LXD sends it: one rsync session per volume on the fs websocket, the sender's rsync a
// client whose remote shell is bridged to the websocket, the receiver's an "rsync --server" on the websocket. Each
// side ends its half of a session with an empty text message, so that sessions follow each other on one websocket.
// Both ends pass the same options, LXD's, so that either end may be a stock LXD.

// The options of both ends (the receiver's flags are those the sender's client would send). The receiver compares
// modification times to the nanosecond (--modify-window=-1, which only the receiving end uses), so that a refresh
// sees a file changed within the same second.
var (
	rsyncSendBase = []string{"-ar", "--devices", "--numeric-ids", "--partial", "--sparse"}
	rsyncRecvBase = []string{"--server", "-vlogDtpre.iLsfx", "--numeric-ids", "--devices", "--partial", "--sparse",
		"--modify-window=-1"}
)

// rsyncShell is the sender's remote shell: it copies rsync's output to the socket on fd 3 (in the background, from
// a copy of its input, since a background command's own input is /dev/null) and the socket to rsync's input; it
// ends when the socket's read side ends, which rsync waits for. The arguments rsync appends (the host and the
// server command line) are ignored.
const rsyncShell = "sh -c 'exec 4<&0; cat <&4 >&3 & exec cat <&3 4<&-'"

// wsReader reads the payload of a websocket's binary messages up to the end-of-stream message.
type wsReader struct {
	conn *websocket.Conn
	cur  io.Reader
	done bool
}

func (r *wsReader) Read(p []byte) (int, error) {
	for {
		if r.done {
			return 0, io.EOF
		}

		if r.cur != nil {
			n, err := r.cur.Read(p)
			if err == io.EOF {
				r.cur = nil
				if n > 0 {
					return n, nil
				}

				continue
			}

			return n, err
		}

		kind, reader, err := r.conn.NextReader()
		if err != nil {
			return 0, fmt.Errorf("reading the fs websocket: %w", err)
		}

		if kind == websocket.TextMessage {
			// The end of the session (LXD also ends it with any text message).
			_, _ = io.Copy(io.Discard, reader)
			r.done = true
			continue
		}

		r.cur = reader
	}
}

// pump copies the websocket to w up to the end of the session, then calls closeW. Once w fails, the rest of the
// session is read and dropped, so that the next session starts at its beginning.
func pump(conn *websocket.Conn, w io.Writer, closeW func(), count *counter) error {
	r := &wsReader{conn: conn}
	_, err := io.Copy(w, countingReader{r: r, c: count})
	closeW()
	if err != nil && !r.done {
		_, derr := io.Copy(io.Discard, r)
		if derr != nil {
			return derr
		}
	}

	return err
}

// rsyncSend sends the entries srcs (each arrives under its base name in the receiver's directory) over conn.
func rsyncSend(ctx context.Context, conn *websocket.Conn, srcs []string, features *RsyncFeatures, count *counter) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}

	ours := os.NewFile(uintptr(fds[0]), "rsync-bridge")
	theirs := os.NewFile(uintptr(fds[1]), "rsync-shell")
	sock, err := net.FileConn(ours)
	_ = ours.Close()
	if err != nil {
		_ = theirs.Close()
		return err
	}

	defer func() { _ = sock.Close() }()
	args := append([]string{}, rsyncSendBase...)
	args = append(args, features.Args()...)
	args = append(args, srcs...)
	args = append(args, "localhost:/tmp/foo", "-e", rsyncShell)
	cmd := exec.CommandContext(ctx, "rsync", args...)
	cmd.ExtraFiles = []*os.File{theirs}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Start()
	_ = theirs.Close()
	if err != nil {
		return fmt.Errorf("starting rsync: %w", err)
	}

	unixSock := sock.(*net.UnixConn)
	var wg sync.WaitGroup
	var recvErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		recvErr = pump(conn, unixSock, func() { _ = unixSock.CloseWrite() }, nil)
	}()

	sent := make(chan error, 1)
	go func() {
		err := ws.Send(conn, countingReader{r: unixSock, c: count})
		if err != nil {
			// Nothing reads rsync's output any more: its writes must fail rather than wait for ever, or rsync
			// never exits and the migration never ends.
			_ = unixSock.Close()
		}

		sent <- err
	}()
	waitErr := cmd.Wait()
	if waitErr != nil {
		// rsync failed: end the shell's input so that the socket ends and the session with it.
		_ = unixSock.CloseWrite()
	}

	sendErr := <-sent
	wg.Wait()
	return rsyncError("sending", waitErr, sendErr, recvErr, stderr.String())
}

// rsyncRecv receives one session over conn into the directory dst.
func rsyncRecv(ctx context.Context, conn *websocket.Conn, dst string, features *RsyncFeatures, count *counter) error {
	args := append([]string{}, rsyncRecvBase...)
	args = append(args, features.Args()...)
	args = append(args, ".", strings.TrimSuffix(dst, "/")+"/")
	cmd := exec.CommandContext(ctx, "rsync", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}

	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}

	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Start()
	if err != nil {
		return fmt.Errorf("starting rsync: %w", err)
	}

	var wg sync.WaitGroup
	var recvErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		recvErr = pump(conn, stdin, func() { _ = stdin.Close() }, count)
	}()

	sendErr := ws.Send(conn, stdout)
	if sendErr != nil {
		// As in rsyncSend: rsync's output must not wait for a reader that is gone.
		_ = stdout.Close()
	}

	waitErr := cmd.Wait()
	wg.Wait()
	if errors.Is(recvErr, os.ErrClosed) || errors.Is(recvErr, unix.EPIPE) {
		recvErr = nil
	}

	return rsyncError("receiving", waitErr, sendErr, recvErr, stderr.String())
}

func rsyncError(what string, waitErr error, sendErr error, recvErr error, stderr string) error {
	if waitErr == nil && sendErr == nil && recvErr == nil {
		return nil
	}

	msg := strings.TrimSpace(stderr)
	for _, err := range []error{waitErr, sendErr, recvErr} {
		if err != nil {
			return fmt.Errorf("rsync %s failed: %w (%s)", what, err, msg)
		}
	}

	return nil
}
