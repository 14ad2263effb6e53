package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
)

// EventListener is a connection to the events websocket that dispatches each event to its handlers.
type EventListener struct {
	conn *websocket.Conn

	mu      sync.Mutex
	targets []*EventTarget
	err     error

	// done is closed when the connection has ended; err then tells why (nil after Disconnect).
	done      chan struct{}
	closeOnce sync.Once
	closing   bool
}

// EventTarget is one handler registered on an EventListener.
type EventTarget struct {
	types    []string
	function func(api.Event)
	listener *EventListener
}

// GetEvents connects to the events websocket. The server sends every event type; handlers filter.
func (c *ProtocolLXD) GetEvents() (*EventListener, error) {
	conn, err := c.websocket(c.withProject("/1.0/events"))
	if err != nil {
		return nil, err
	}

	l := &EventListener{conn: conn, done: make(chan struct{})}
	go l.readLoop()
	return l, nil
}

// AddHandler registers function for the given event types (all types when types is empty).
func (l *EventListener) AddHandler(types []string, function func(api.Event)) (*EventTarget, error) {
	if function == nil {
		return nil, errors.New("event handler function is nil")
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isDoneLocked() {
		return nil, l.doneErrLocked()
	}

	target := &EventTarget{types: slices.Clone(types), function: function, listener: l}
	l.targets = append(l.targets, target)
	return target, nil
}

// RemoveHandler unregisters a handler.
func (l *EventListener) RemoveHandler(target *EventTarget) error {
	if target == nil || target.listener != l {
		return errors.New("event target is not registered on this listener")
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.targets, target)
	if i < 0 {
		return errors.New("event target is not registered on this listener")
	}

	l.targets = slices.Delete(l.targets, i, i+1)
	return nil
}

// Disconnect closes the connection without waiting for the reader (so a handler may call it); Wait then returns nil.
func (l *EventListener) Disconnect() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()

	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = l.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = l.conn.Close()
}

// Wait blocks until the connection ends and returns why: nil after Disconnect, the read error otherwise.
func (l *EventListener) Wait() error {
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Done returns a channel closed when the connection has ended.
func (l *EventListener) Done() <-chan struct{} {
	return l.done
}

func (l *EventListener) isDoneLocked() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *EventListener) doneErrLocked() error {
	if l.err != nil {
		return l.err
	}

	return errors.New("event listener is disconnected")
}

// readLoop decodes frames and calls the matching handlers in order, from this goroutine only.
func (l *EventListener) readLoop() {
	var err error
	for {
		var data []byte
		_, data, err = l.conn.ReadMessage()
		if err != nil {
			break
		}

		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			continue
		}

		var ev api.Event
		err = json.Unmarshal(data, &ev)
		if err != nil {
			err = fmt.Errorf("invalid event from server: %w", err)
			break
		}

		l.mu.Lock()
		targets := slices.Clone(l.targets)
		l.mu.Unlock()
		for _, t := range targets {
			if len(t.types) == 0 || slices.Contains(t.types, ev.Type) {
				t.function(ev)
			}
		}
	}

	_ = l.conn.Close()
	l.mu.Lock()
	if !l.closing {
		if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
			err = errors.New("server closed the event connection")
		}

		l.err = fmt.Errorf("event listener: %w", err)
	}

	l.mu.Unlock()
	l.closeOnce.Do(func() { close(l.done) })
}

// websocket opens a websocket on an API path, over the unix socket or over HTTPS with the connection's TLS setup.
func (c *ProtocolLXD) websocket(path string) (*websocket.Conn, error) {
	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	u := *c.httpBaseURL
	if c.dialWS != nil {
		u.Scheme = "ws"
		dialer.NetDialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.dialWS(ctx)
		}
	} else {
		u.Scheme = "wss"
		dialer.TLSClientConfig = c.tlsConfig
		dialer.Proxy = http.ProxyFromEnvironment
	}

	rawURL := strings.TrimSuffix(u.String(), "/") + path
	header := http.Header{}
	if c.userAgent != "" {
		header.Set("User-Agent", c.userAgent)
	}

	conn, resp, err := dialer.Dial(rawURL, header)
	if err != nil {
		if resp != nil {
			defer func() { _ = resp.Body.Close() }()
			_, _, perr := parseResponse(resp)
			if perr != nil {
				return nil, perr
			}

			return nil, api.StatusErrorf(resp.StatusCode, "websocket upgrade refused: %s", resp.Status)
		}

		return nil, fmt.Errorf("connect to websocket %s: %w", path, err)
	}

	return conn, nil
}
