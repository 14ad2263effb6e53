package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/ws"
)

var instanceExecCmd = Endpoint{
	Path: "instances/{name}/exec",
	Post: Action{Handler: instanceExecPost, Access: allowTrusted},
}

var containerExecCmd = containerAlias(instanceExecCmd)

// execConnectTimeout bounds how long an exec or console waits for its required websockets after the operation
// starts; the operation then fails, as LXD's does after 5 s.
const execConnectTimeout = 5 * time.Second

// execDrainTimeout bounds how long output is still forwarded after the command exited (a background child may
// keep the pipes open).
const execDrainTimeout = 5 * time.Second

var execUpgrader = websocket.Upgrader{
	ReadBufferSize:  32 << 10,
	WriteBufferSize: 32 << 10,
	CheckOrigin:     func(r *http.Request) bool { return true },
}

// execControl is the name of the control websocket of an exec or console session.
const execControl = "control"

// execSession holds the websockets of one exec or console operation. Every websocket but the control one is
// required: the session starts once they are all connected. The control websocket is optional, as it is in LXD
// (pylxd never opens it): it may connect at any time while the session runs.
type execSession struct {
	secrets map[string]string

	mu        sync.Mutex
	conns     map[string]*websocket.Conn
	readers   map[string]chan struct{}
	closed    bool
	connected chan struct{}
	control   chan struct{}
	done      chan struct{}
}

// newExecSession returns a session with one new secret for each of fds.
func newExecSession(fds ...string) *execSession {
	e := &execSession{
		secrets:   map[string]string{},
		conns:     map[string]*websocket.Conn{},
		readers:   map[string]chan struct{}{},
		connected: make(chan struct{}),
		control:   make(chan struct{}),
		done:      make(chan struct{}),
	}

	for _, fd := range fds {
		e.secrets[fd] = newSecret()
	}

	return e
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// connect upgrades one websocket of the session, identified by its secret.
func (e *execSession) connect(op *operations.Operation, r *http.Request, w http.ResponseWriter) error {
	secret := r.FormValue("secret")
	fd := ""
	for k, v := range e.secrets {
		if v == secret {
			fd = k
		}
	}

	if fd == "" {
		return api.StatusErrorf(http.StatusForbidden, "unknown websocket secret")
	}

	e.mu.Lock()
	_, taken := e.conns[fd]
	closed := e.closed
	e.mu.Unlock()
	if taken {
		return api.StatusErrorf(http.StatusBadRequest, "websocket %s is already connected", fd)
	}

	if closed {
		return api.StatusErrorf(http.StatusBadRequest, "the session has ended")
	}

	conn, err := execUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.conns[fd] != nil {
		closeConn(conn)
		return nil
	}

	e.conns[fd] = conn
	if fd == execControl {
		close(e.control)
	}

	for k := range e.secrets {
		if k != execControl && e.conns[k] == nil {
			return nil
		}
	}

	if fd != execControl {
		close(e.connected)
	}

	return nil
}

// waitConnected waits for every required websocket of the session, the context or the timeout.
func (e *execSession) waitConnected(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.connected:
		return nil
	case <-timer.C:
		return errors.New("timed out waiting for the websockets to connect")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *execSession) conn(fd string) *websocket.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conns[fd]
}

// controlConn waits for the control websocket and returns it, or nil once the session ends or stop is closed.
func (e *execSession) controlConn(stop <-chan struct{}) *websocket.Conn {
	select {
	case <-e.control:
		return e.conn(execControl)
	case <-e.done:
		return nil
	case <-stop:
		return nil
	}
}

// serve starts the reader of the websocket fd: read (nil reads nothing) consumes what it wants, then the messages
// are drained until the connection ends, so the peer's pings and its answer to the close frame are read. A websocket
// that is not connected, or a session that has ended, starts nothing.
func (e *execSession) serve(fd string, read func(conn *websocket.Conn)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	conn := e.conns[fd]
	if conn == nil || e.closed || e.readers[fd] != nil {
		return
	}

	done := make(chan struct{})
	e.readers[fd] = done
	go func() {
		defer close(done)
		if read != nil {
			read(conn)
		}

		ws.Drain(conn)
	}()
}

// closeAll ends the session: every websocket gets a close frame, after everything written before it, and is closed
// once the client answers it (or after ws.CloseTimeout); a websocket connecting later is refused.
func (e *execSession) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}

	e.closed = true
	close(e.done)
	for fd, c := range e.conns {
		done := e.readers[fd]
		if done == nil {
			// Nobody reads this websocket yet (the control one is served only once the command runs): read it
			// now, or the client's answer to the close frame would find the connection gone.
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				ws.Drain(c)
			}()
			done = drained
		}

		ws.Close(c, done, ws.CloseTimeout)
	}
}

// closeConn refuses a websocket: a normal close frame, then the end of the connection.
func closeConn(c *websocket.Conn) {
	ws.Close(c, nil, 0)
}

func instanceExecPost(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceExecPost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if len(req.Command) == 0 {
		return response.BadRequest(errors.New("no command given"))
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	if s.Instances.Status(name) != api.Running {
		return response.BadRequest(errors.New("the instance is not running"))
	}

	requestor := request.GetRequestor(r)
	if !req.WaitForWS {
		// As on LXD, a command with no websockets has no metadata until it ends: then its exit status and output.
		op, err := s.Ops.Create(operations.Args{
			Class:       api.OperationClassTask,
			Description: "Executing command",
			Resources:   instanceResources(name),
			Requestor:   requestor,
			Run: func(ctx context.Context, op *operations.Operation) error {
				return runDetachedExec(ctx, s, op, name, req)
			},
		})
		if err != nil {
			return response.SmartError(err)
		}

		return operations.Response(op)
	}

	env, err := s.Instances.ExecEnv(r.Context(), name, req.Environment, req.User)
	if err != nil {
		return response.SmartError(err)
	}

	metadata := map[string]any{"command": req.Command, "interactive": req.Interactive, "environment": env}
	session := newExecSession("0", "1", "2", execControl)
	if req.Interactive {
		session = newExecSession("0", execControl)
	}

	metadata["fds"] = session.secrets
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassWebsocket,
		Description: "Executing command",
		Resources:   instanceResources(name),
		Metadata:    metadata,
		Requestor:   requestor,
		OnConnect:   session.connect,
		Run: func(ctx context.Context, op *operations.Operation) error {
			defer session.closeAll()
			err := session.waitConnected(ctx, execConnectTimeout)
			if err != nil {
				return err
			}

			code, err := runExec(ctx, s, session, name, req)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-exec", instance.URL(name), map[string]any{"command": req.Command})
			md := op.Metadata()
			md["return"] = code
			return op.UpdateMetadata(md)
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// runDetachedExec runs a command with no websockets: output is discarded, or recorded in the instance's log
// directory when asked, and the exit status kept.
func runDetachedExec(ctx context.Context, s *state.State, op *operations.Operation, name string, req api.InstanceExecPost) error {
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}

	defer func() { _ = devNull.Close() }()
	stdout, stderr := devNull, devNull
	var output map[string]string
	if req.RecordOutput {
		output = map[string]string{}
		files := map[string]**os.File{"1": &stdout, "2": &stderr}
		for fd, ext := range map[string]string{"1": "stdout", "2": "stderr"} {
			file := "exec_" + op.ID() + "." + ext
			f, err := os.OpenFile(filepath.Join(s.Instances.LogPath(name), file), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("recording the output: %w", err)
			}

			defer func() { _ = f.Close() }()
			*files[fd] = f
			output[fd] = logURL(name, file)
		}
	}

	pid, _, err := s.Instances.Exec(ctx, name, instance.ExecRequest{
		Command: req.Command, Env: req.Environment, Cwd: req.Cwd, UID: req.User, GID: req.Group,
		Stdin: devNull, Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
		return err
	}

	code, err := instance.WaitExit(pid)
	if err != nil {
		return err
	}

	md := map[string]any{"return": code}
	if output != nil {
		md["output"] = output
	}

	return op.UpdateMetadata(md)
}

// runExec runs the command with its standard streams on the session's websockets and returns its exit status.
func runExec(ctx context.Context, s *state.State, session *execSession, name string, req api.InstanceExecPost) (int, error) {
	var stdin, stdout, stderr *os.File
	var parentFiles []*os.File
	var outputs sync.WaitGroup
	var master *os.File

	if req.Interactive {
		var tty *os.File
		var err error
		master, tty, err = s.Instances.OpenPty(ctx, name)
		if err != nil {
			return -1, err
		}

		defer func() { _ = master.Close() }()
		err = s.Instances.SetPtyOwner(ctx, name, tty, req.User)
		if err != nil {
			_ = tty.Close()
			return -1, err
		}

		if req.Width > 0 && req.Height > 0 {
			_ = instance.SetPtySize(master, req.Width, req.Height)
		}

		stdin, stdout, stderr = tty, tty, tty
		parentFiles = []*os.File{tty}
		conn := session.conn("0")
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			_ = ws.Send(conn, master)
		}()

		// At the end of the input the terminal stays open: the command may still write to it.
		session.serve("0", func(conn *websocket.Conn) { _ = ws.Receive(conn, master) })
	} else {
		inR, inW, err := os.Pipe()
		if err != nil {
			return -1, err
		}

		outR, outW, err := os.Pipe()
		if err != nil {
			return -1, err
		}

		errR, errW, err := os.Pipe()
		if err != nil {
			return -1, err
		}

		defer func() {
			for _, f := range []*os.File{inW, outR, errR} {
				_ = f.Close()
			}
		}()

		stdin, stdout, stderr = inR, outW, errW
		parentFiles = []*os.File{inR, outW, errW}
		session.serve("0", func(conn *websocket.Conn) {
			_ = ws.Receive(conn, inW)
			_ = inW.Close()
		})

		for fd, r := range map[string]*os.File{"1": outR, "2": errR} {
			conn := session.conn(fd)
			session.serve(fd, nil)
			outputs.Add(1)
			go func() {
				defer outputs.Done()
				_ = ws.Send(conn, r)
			}()
		}
	}

	pid, _, err := s.Instances.Exec(ctx, name, instance.ExecRequest{
		Command: req.Command, Env: req.Environment, Cwd: req.Cwd, UID: req.User, GID: req.Group,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
	})
	for _, f := range parentFiles {
		_ = f.Close()
	}

	if err != nil {
		return -1, err
	}

	go func() {
		if session.controlConn(nil) != nil {
			session.serve(execControl, func(conn *websocket.Conn) { controlLoop(conn, pid, master, nil) })
		}
	}()
	code, err := instance.WaitExit(pid)
	if err != nil {
		return -1, err
	}

	drained := make(chan struct{})
	go func() {
		outputs.Wait()
		close(drained)
	}()

	select {
	case <-drained:
	case <-time.After(execDrainTimeout):
		slog.Warn("exec output still open after the command exited", "instance", name, "pid", pid)
	}

	return code, nil
}

// controlLoop applies window-resize and signal messages until the control socket closes; signals are dropped when
// pid is 0. resized, when set, is told each new size. A nil conn (no control socket) returns at once.
func controlLoop(conn *websocket.Conn, pid int, master *os.File, resized func(width int, height int)) {
	if conn == nil {
		return
	}

	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}

		msg := api.InstanceExecControl{}
		err = json.Unmarshal(data, &msg)
		if err != nil {
			slog.Debug("bad exec control message", "err", err)
			continue
		}

		switch msg.Command {
		case "window-resize":
			if master == nil {
				continue
			}

			width, errW := strconv.Atoi(msg.Args["width"])
			height, errH := strconv.Atoi(msg.Args["height"])
			if errW == nil && errH == nil {
				_ = instance.SetPtySize(master, width, height)
				if resized != nil {
					resized(width, height)
				}
			}

		case "signal":
			if msg.Signal > 0 && pid > 0 {
				err = unix.Kill(pid, unix.Signal(msg.Signal))
				if err != nil {
					slog.Debug("forwarding signal failed", "pid", pid, "signal", msg.Signal, "err", err)
				}
			}

		default:
			slog.Debug("unknown exec control command", "command", fmt.Sprint(msg.Command))
		}
	}
}
