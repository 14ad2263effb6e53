package events

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/shared/ws"
)

// DefaultPingInterval is how often a websocket listener is pinged when Server.PingInterval is zero.
const DefaultPingInterval = 10 * time.Second

// writeTimeout bounds one frame write to a listener.
const writeTimeout = 10 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	// The API is not served to browsers; callers are authenticated by certificate or socket credentials.
	CheckOrigin: func(r *http.Request) bool { return true },
}

// ServeWebsocket answers GET /1.0/events: it refuses untrusted callers with a JSON 403, validates ?type=, upgrades to
// a websocket and streams events until the client goes away or the server closes. It returns once the connection
// is handed to its goroutines.
func (s *Server) ServeWebsocket(w http.ResponseWriter, r *http.Request) error {
	req := request.GetRequestor(r)
	if !req.Trusted {
		return response.Forbidden(nil).Render(w, r)
	}

	types := ParseTypes(r.FormValue("type"))
	project := r.FormValue("project")
	if r.FormValue("all-projects") == "true" {
		project = ""
	}

	l, err := s.Subscribe(ListenerArgs{Types: types, Project: project, Trusted: req.Trusted})
	if err != nil {
		return response.BadRequest(err).Render(w, r)
	}

	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has already answered with an HTTP error.
		l.Close()
		return err
	}

	pingInterval := s.PingInterval
	if pingInterval <= 0 {
		pingInterval = DefaultPingInterval
	}

	// Register the writer under the lock Close takes, so Close either waits for it or has already removed l.
	s.mu.Lock()
	if l.removed {
		s.mu.Unlock()
		_ = conn.Close()
		return nil
	}

	s.writers.Add(1)
	s.mu.Unlock()

	slog.Debug("event listener connected", "address", req.Address, "types", types)
	readDone := make(chan struct{})
	go s.writeLoop(conn, l, pingInterval, readDone)
	go readLoop(conn, l, pingInterval, readDone)
	return nil
}

// readLoop consumes what the client sends (pongs, close) and removes the listener when the connection ends or stops
// answering pings. It closes done when it returns.
func readLoop(conn *websocket.Conn, l *Listener, pingInterval time.Duration, done chan<- struct{}) {
	defer close(done)
	defer l.Close()
	conn.SetReadLimit(4096)
	deadline := func() time.Time { return time.Now().Add(3 * pingInterval) }
	_ = conn.SetReadDeadline(deadline())
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(deadline())
	})

	for {
		_, _, err := conn.ReadMessage()
		if err != nil {
			return
		}

		_ = conn.SetReadDeadline(deadline())
	}
}

// writeLoop sends the listener's frames and the pings. It ends when the listener is removed: after flushing the queue
// with the closing handshake on a regular removal (the connection ends once the client answers the close frame, as
// readLoop sees, or after ws.CloseTimeout), at once when the listener was dropped for being too slow.
func (s *Server) writeLoop(conn *websocket.Conn, l *Listener, pingInterval time.Duration, readDone <-chan struct{}) {
	defer s.writers.Done()
	defer l.Close()

	err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
	if err != nil {
		_ = conn.Close()
		return
	}

	ticker := time.NewTicker(pingInterval)
	defer ticker.Stop()
	for {
		select {
		case frame, ok := <-l.queue:
			if !ok {
				if l.Dropped() {
					slog.Debug("closing dropped event listener", "address", conn.RemoteAddr().String())
					_ = conn.Close()
					return
				}

				ws.Close(conn, readDone, ws.CloseTimeout)
				return
			}

			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			err = conn.WriteMessage(websocket.TextMessage, frame)
			if err != nil {
				_ = conn.Close()
				return
			}

		case <-ticker.C:
			err = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
			if err != nil {
				_ = conn.Close()
				return
			}
		}
	}
}
