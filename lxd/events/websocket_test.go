package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/shared/api"
)

// serve runs the websocket entry point behind a test server that marks callers trusted or not.
func serve(t *testing.T, s *Server, trusted bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request.Requestor{Trusted: trusted, Protocol: "unix", Address: "@"}
		r = r.WithContext(request.WithRequestor(r.Context(), req))
		_ = s.ServeWebsocket(w, r)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/1.0/events"
}

// waitListeners waits until the server has n listeners.
func waitListeners(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for s.ListenerCount() != n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d listeners, want %d", s.ListenerCount(), n)
		}

		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebsocketUntrustedRefused(t *testing.T) {
	s := NewServer()
	url := serve(t, s, false)
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil {
		t.Fatal("untrusted handshake succeeded")
	}

	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got response %v, want 403", resp)
	}

	var body api.ResponseRaw
	err = json.NewDecoder(resp.Body).Decode(&body)
	if err != nil {
		t.Fatalf("403 body is not JSON: %v", err)
	}

	if body.Type != api.ErrorResponse || body.Code != http.StatusForbidden {
		t.Fatalf("got envelope %+v, want a 403 error envelope", body)
	}

	if s.ListenerCount() != 0 {
		t.Fatalf("got %d listeners after a refused handshake, want 0", s.ListenerCount())
	}
}

func TestWebsocketInvalidType(t *testing.T) {
	s := NewServer()
	_, resp, err := websocket.DefaultDialer.Dial(serve(t, s, true)+"?type=bogus", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("got err %v response %v, want 400", err, resp)
	}
}

func TestWebsocketStream(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		send     []string
		wantType []string
	}{
		{"all types", "", []string{"operation", "lifecycle", "logging"}, []string{"operation", "lifecycle", "logging"}},
		{"lifecycle only", "?type=lifecycle&project=default", []string{"operation", "lifecycle", "logging"},
			[]string{"lifecycle"}},
		{"operation and lifecycle", "?type=operation,lifecycle", []string{"logging", "lifecycle", "operation"},
			[]string{"lifecycle", "operation"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			conn, _, err := websocket.DefaultDialer.Dial(serve(t, s, true)+tt.query, nil)
			if err != nil {
				t.Fatal(err)
			}

			defer func() { _ = conn.Close() }()
			pinged := make(chan struct{}, 10)
			conn.SetPingHandler(func(data string) error {
				pinged <- struct{}{}
				return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			})

			waitListeners(t, s, 1)
			for _, typ := range tt.send {
				err = s.Send("", typ, map[string]string{"type": typ})
				if err != nil {
					t.Fatal(err)
				}
			}

			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			for i, want := range tt.wantType {
				kind, data, err := conn.ReadMessage()
				if err != nil {
					t.Fatalf("read frame %d: %v", i, err)
				}

				if i == 0 && len(pinged) == 0 {
					t.Fatal("no ping before the first frame, want one right after the upgrade")
				}

				if kind != websocket.TextMessage {
					t.Fatalf("got frame kind %d, want text", kind)
				}

				ev := decode(t, data)
				if ev.Type != want {
					t.Fatalf("frame %d: got type %q, want %q", i, ev.Type, want)
				}
			}

			// Nothing else was queued: the server closing now must end the stream with a close frame.
			s.Close(time.Second)
			_, _, err = conn.ReadMessage()
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("got %v after the server closed, want a normal close frame", err)
			}
		})
	}
}

func TestWebsocketPeriodicPing(t *testing.T) {
	s := NewServer()
	s.PingInterval = 20 * time.Millisecond
	conn, _, err := websocket.DefaultDialer.Dial(serve(t, s, true), nil)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = conn.Close() }()
	pings := 0
	conn.SetPingHandler(func(data string) error {
		pings++
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})

	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, _, _ = conn.ReadMessage()
	if pings < 3 {
		t.Fatalf("got %d pings in 200ms with a 20ms interval, want at least 3", pings)
	}

	// The listener answered every ping, so it is still registered.
	if s.ListenerCount() != 1 {
		t.Fatalf("got %d listeners, want 1", s.ListenerCount())
	}
}

func TestWebsocketClientGoneRemovesListener(t *testing.T) {
	s := NewServer()
	conn, _, err := websocket.DefaultDialer.Dial(serve(t, s, true), nil)
	if err != nil {
		t.Fatal(err)
	}

	waitListeners(t, s, 1)
	_ = conn.Close()
	waitListeners(t, s, 0)
}

func TestWebsocketSlowClientDoesNotBlock(t *testing.T) {
	s := NewServer()
	s.QueueSize = 4
	conn, _, err := websocket.DefaultDialer.Dial(serve(t, s, true), nil)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = conn.Close() }()
	waitListeners(t, s, 1)

	// The client never reads: once the socket buffers and the queue are full the listener must be dropped while
	// every Send returns at once.
	payload := strings.Repeat("x", 64<<10)
	start := time.Now()
	for i := 0; i < 400 && s.ListenerCount() > 0; i++ {
		err = s.Send("", api.EventTypeLifecycle, map[string]string{"p": payload})
		if err != nil {
			t.Fatal(err)
		}
	}

	if s.ListenerCount() != 0 {
		t.Fatal("slow websocket listener was never dropped")
	}

	if time.Since(start) > 5*time.Second {
		t.Fatalf("sending took %v, want no blocking", time.Since(start))
	}
}

func TestWebsocketCloseHandshake(t *testing.T) {
	s := NewServer()
	conn, _, err := websocket.DefaultDialer.Dial(serve(t, s, true), nil)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = conn.Close() }()
	waitListeners(t, s, 1)
	raw := conn.UnderlyingConn()
	var got []byte
	buf := make([]byte, 4096)
	readUntil := func(done func() bool, what string) {
		t.Helper()
		_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
		for !done() {
			n, err := raw.Read(buf)
			if err != nil {
				t.Fatalf("reading the frames: got %x then %v, want %s", got, err, what)
			}

			got = append(got, buf[:n]...)
		}
	}

	// An event read from the raw connection tells that the writer runs; then the server closes, and the close frame
	// is read without being answered.
	err = s.Send("", api.EventTypeLifecycle, map[string]string{"mark": "before-close"})
	if err != nil {
		t.Fatal(err)
	}

	readUntil(func() bool { return bytes.Contains(got, []byte("before-close")) }, "the event")
	go s.Close(5 * time.Second)
	closeFrame := []byte{0x88, 0x02, 0x03, 0xe8}
	readUntil(func() bool { return bytes.HasSuffix(got, closeFrame) }, "a close frame")

	// The server waits for the answer before it ends the connection.
	_ = raw.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := raw.Read(buf)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("before the answer: got %d bytes, %v, want the connection kept open", n, err)
	}

	// The answer, masked as a client's frames are (with a zero key): the server then ends the connection.
	_, err = raw.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
	if err != nil {
		t.Fatal(err)
	}

	_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err = raw.Read(buf)
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the answer: got %d bytes, %v, want the end of the connection", n, err)
	}
}
