package rest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsPair returns the two ends of one websocket: the server's and the client's.
func wsPair(t *testing.T) (*websocket.Conn, *websocket.Conn) {
	t.Helper()
	serverSide := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := execUpgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}

		serverSide <- conn
	}))
	t.Cleanup(srv.Close)

	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = client.Close() })
	select {
	case server := <-serverSide:
		t.Cleanup(func() { _ = server.Close() })
		return server, client
	case <-time.After(10 * time.Second):
		t.Fatal("the server never got the connection")
	}

	return nil, nil
}

// A websocket nobody reads yet when the session ends (the control one before the command runs) still waits for
// the client's answer to the close frame instead of dropping the connection under it.
func TestExecSessionCloseWaitsForTheAnswerOfAnUnreadWebsocket(t *testing.T) {
	server, client := wsPair(t)
	e := newExecSession("0", execControl)
	e.conns[execControl] = server
	e.closeAll()

	raw := client.UnderlyingConn()
	want := []byte{0x88, 0x02, 0x03, 0xe8}
	got := make([]byte, len(want))
	_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadFull(raw, got)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x %v, want the close frame %x", got, err, want)
	}

	// The connection stays open while the client has not answered.
	_ = raw.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := raw.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("before the answer: read %d bytes, %v; want the connection still open", n, err)
	}

	// The answer goes through, and the server then ends the connection.
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	err = client.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	if err != nil {
		t.Fatalf("answering the close frame: %v", err)
	}

	_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = raw.Read(make([]byte, 1))
	var netErr net.Error
	if err != io.EOF && !(errors.As(err, &netErr) && !netErr.Timeout()) {
		t.Fatalf("after the answer: got %v, want the end of the connection", err)
	}
}
