package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
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

var instanceConsoleCmd = Endpoint{
	Path:   "instances/{name}/console",
	Get:    Action{Handler: instanceConsoleLogGet, Access: allowTrusted},
	Post:   Action{Handler: instanceConsolePost, Access: allowTrusted},
	Delete: Action{Handler: instanceConsoleLogDelete, Access: allowTrusted},
}

var containerConsoleCmd = containerAlias(instanceConsoleCmd)

// consoleDetachTimeout bounds how long a detach waits for the console attachment to let go.
const consoleDetachTimeout = 10 * time.Second

func instanceConsoleLogGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	data, err := s.Instances.ConsoleLog(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycleBy(s, request.GetRequestor(r), "instance-console-retrieved", instance.URL(name), nil)
	return serveBytes(data, instance.ConsoleLogFile)
}

func instanceConsoleLogDelete(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.ClearConsoleLog(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycleBy(s, request.GetRequestor(r), "instance-console-reset", instance.URL(name), nil)
	return response.EmptySyncResponse
}

func instanceConsolePost(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	req := api.InstanceConsolePost{}
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Type == "" {
		req.Type = "console"
	}

	if req.Type != "console" {
		return response.BadRequest(fmt.Errorf("unknown console type %q", req.Type))
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	switch s.Instances.Status(name) {
	case api.Running:
	case api.Frozen:
		return response.BadRequest(errors.New("instance is frozen"))
	default:
		return response.BadRequest(errors.New("instance is not running"))
	}

	session := newExecSession("0", execControl)

	requestor := request.GetRequestor(r)
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassWebsocket,
		Description: "Showing console",
		Resources:   instanceResources(name),
		Metadata:    map[string]any{"fds": session.secrets},
		Requestor:   requestor,
		OnConnect:   session.connect,
		Run: func(ctx context.Context, op *operations.Operation) error {
			defer session.closeAll()
			err := session.waitConnected(ctx, execConnectTimeout)
			if err != nil {
				return err
			}

			lifecycleBy(s, requestor, "instance-console", instance.URL(name), map[string]any{"type": req.Type})
			return runConsole(ctx, s, session, name, req)
		},
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// openConsolePty opens a pty pair whose master side can be closed while it is read.
func openConsolePty() (*os.File, *os.File, error) {
	master, tty, err := instance.OpenPty(0, 0)
	if err != nil {
		return nil, nil, err
	}

	defer func() { _ = master.Close() }()
	fd, err := unix.Dup(int(master.Fd()))
	if err != nil {
		_ = tty.Close()
		return nil, nil, err
	}

	unix.CloseOnExec(fd)
	err = makeRaw(tty)
	if err != nil {
		_ = unix.Close(fd)
		_ = tty.Close()
		return nil, nil, err
	}

	err = unix.SetNonblock(fd, true)
	if err != nil {
		_ = unix.Close(fd)
		_ = tty.Close()
		return nil, nil, err
	}

	return os.NewFile(uintptr(fd), "ptmx"), tty, nil
}

// makeRaw turns off the line discipline of a terminal: the console's own terminal already has one.
func makeRaw(tty *os.File) error {
	fd := int(tty.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}

	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// runConsole bridges the session's data websocket to the instance's console until the client detaches, the instance
// stops or the operation is cancelled. A client detaches by closing the control websocket or, when it never opened
// one, the data websocket.
func runConsole(ctx context.Context, s *state.State, session *execSession, name string, req api.InstanceConsolePost) error {
	master, tty, err := openConsolePty()
	if err != nil {
		return err
	}

	defer func() { _ = master.Close() }()
	if req.Width > 0 && req.Height > 0 {
		_ = instance.SetPtySize(master, req.Width, req.Height)
	}

	attached := make(chan error, 1)
	go func() {
		attached <- s.Instances.Console(context.WithoutCancel(ctx), name, tty)
	}()

	// The console's own terminal follows the size of the client's.
	resize := func(width int, height int) {
		err := s.Instances.ResizeConsole(ctx, name, width, height)
		if err != nil {
			slog.Debug("resizing the console", "instance", name, "err", err)
		}
	}

	if req.Width > 0 && req.Height > 0 {
		resize(req.Width, req.Height)
	}

	conn := session.conn("0")
	output := make(chan struct{})
	go func() {
		defer close(output)
		_ = ws.Send(conn, master)
	}()

	detached := make(chan struct{})
	var detachOnce sync.Once
	detach := func() { detachOnce.Do(func() { close(detached) }) }
	session.serve("0", func(conn *websocket.Conn) {
		_ = ws.Receive(conn, master)
		if session.conn(execControl) == nil {
			detach()
		}
	})

	go func() {
		if session.controlConn(detached) != nil {
			session.serve(execControl, func(conn *websocket.Conn) {
				controlLoop(conn, 0, master, resize)
				detach()
			})
		}
	}()

	var attachErr error
	ended := false
	select {
	case <-detached:
	case <-ctx.Done():
	case attachErr = <-attached:
		ended = true
	}

	// Hanging up the pty ends the attachment.
	_ = master.Close()
	if !ended {
		select {
		case attachErr = <-attached:
			ended = true
		case <-time.After(consoleDetachTimeout):
			slog.Warn("console attachment did not end", "instance", name)
		}
	}

	// The attachment uses the terminal side until it ends; it is left open otherwise.
	if ended {
		_ = tty.Close()
	}

	select {
	case <-output:
	case <-time.After(execDrainTimeout):
	}

	if attachErr != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return attachErr
	}

	return nil
}
