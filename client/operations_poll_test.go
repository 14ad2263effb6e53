package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
)

// TestOperationWaitMissedEvent checks that a wait ends when the server never sends the operation's final event
// on the events connection (sent before that connection was registered), by reading the operation again.
func TestOperationWaitMissedEvent(t *testing.T) {
	var reads atomic.Int32
	upgrader := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/1.0/events":
			conn, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}

			// Silent until the client goes.
			_, _, _ = conn.ReadMessage()
			_ = conn.Close()
		case "/1.0/operations/op1":
			status := `"status":"Running","status_code":103`
			if reads.Add(1) > 2 {
				status = `"status":"Success","status_code":200`
			}

			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"type":"sync","status":"Success","status_code":200,"metadata":{"id":"op1","class":"task",` +
				status + `}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	c := &ProtocolLXD{httpBaseURL: mustParseURL(t, srv.URL), httpClient: srv.Client()}
	c.dialWS = func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}

	op := c.newOperation(api.Operation{ID: "op1", Class: "task", Status: "Running", StatusCode: api.Running})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := op.WaitContext(ctx)
	if err != nil {
		t.Fatalf("wait: %v, want success once the operation reads as done", err)
	}
}
