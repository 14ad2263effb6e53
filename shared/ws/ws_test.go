package ws

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// pair returns the two ends of one websocket: the server's and the client's.
func pair(t *testing.T) (*websocket.Conn, *websocket.Conn) {
	t.Helper()
	upgrader := websocket.Upgrader{}
	serverSide := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
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
	var server *websocket.Conn
	select {
	case server = <-serverSide:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never got the connection")
	}

	t.Cleanup(func() { _ = server.Close() })
	return server, client
}

// chunks is a reader returning its parts one read at a time.
type chunks [][]byte

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}

	n := copy(p, (*c)[0])
	(*c)[0] = (*c)[0][n:]
	if len((*c)[0]) == 0 {
		*c = (*c)[1:]
	}

	return n, nil
}

type message struct {
	kind int
	data string
}

// readAll reads the raw messages until the connection ends.
func readAll(conn *websocket.Conn) []message {
	var out []message
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return out
		}

		out = append(out, message{kind, string(data)})
	}
}

func TestSendFraming(t *testing.T) {
	big := bytes.Repeat([]byte("x"), BufferSize+10)
	tests := []struct {
		name string
		r    io.Reader
		want []message
	}{
		{name: "nil reader", r: nil, want: []message{{websocket.TextMessage, ""}}},
		{name: "empty reader", r: strings.NewReader(""), want: []message{{websocket.TextMessage, ""}}},
		{
			name: "one message a read",
			r:    &chunks{[]byte("hello "), []byte("world")},
			want: []message{{websocket.BinaryMessage, "hello "}, {websocket.BinaryMessage, "world"}, {websocket.TextMessage, ""}},
		},
		{
			name: "a read larger than the buffer",
			r:    bytes.NewReader(big),
			want: []message{
				{websocket.BinaryMessage, string(big[:BufferSize])},
				{websocket.BinaryMessage, string(big[BufferSize:])},
				{websocket.TextMessage, ""},
			},
		},
		{
			name: "a read error ends the stream",
			r:    io.MultiReader(strings.NewReader("out"), errReader{errors.New("EIO")}),
			want: []message{{websocket.BinaryMessage, "out"}, {websocket.TextMessage, ""}},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := pair(t)
			err := Send(server, tt.r)
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}

			_ = server.Close()
			got := readAll(client)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(tt.want))
			}

			for i := range got {
				if got[i].kind != tt.want[i].kind || got[i].data != tt.want[i].data {
					t.Fatalf("message %d: got kind %d, %d bytes, want kind %d, %d bytes", i, got[i].kind,
						len(got[i].data), tt.want[i].kind, len(tt.want[i].data))
				}
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestSendBrokenConnection(t *testing.T) {
	server, client := pair(t)
	_ = client.Close()
	_ = server.Close()
	err := Send(server, strings.NewReader("data"))
	if err == nil {
		t.Fatal("got nil, want the write error")
	}
}

func TestReceive(t *testing.T) {
	tests := []struct {
		name string
		send func(conn *websocket.Conn)
		want string
	}{
		{
			name: "until the end message, not past it",
			send: func(conn *websocket.Conn) {
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte("a"))
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte("b"))
				_ = SendEnd(conn)
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte("after"))
			},
			want: "ab",
		},
		{
			name: "non-empty text is data",
			send: func(conn *websocket.Conn) {
				_ = conn.WriteMessage(websocket.TextMessage, []byte("text"))
				_ = SendEnd(conn)
			},
			want: "text",
		},
		{
			// The sender finished and hung up before the receiver read anything: nothing is lost.
			name: "everything before a close frame",
			send: func(conn *websocket.Conn) {
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte("last words"))
				msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
				_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
				_ = conn.Close()
			},
			want: "last words",
		},
		{
			name: "a ping read after the sender hung up",
			send: func(conn *websocket.Conn) {
				_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte("output"))
				_ = SendEnd(conn)
				_ = conn.Close()
			},
			want: "output",
		},
		{
			name: "a connection dropped without a close frame",
			send: func(conn *websocket.Conn) {
				_ = conn.WriteMessage(websocket.BinaryMessage, []byte("partial"))
				_ = conn.UnderlyingConn().Close()
			},
			want: "partial",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := pair(t)
			// Let a pong the sender can no longer take be dropped, as the client does.
			client.SetPingHandler(func(data string) error {
				_ = client.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
				return nil
			})

			tt.send(server)
			var out bytes.Buffer
			err := Receive(client, &out)
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}

			if out.String() != tt.want {
				t.Fatalf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestReceiveWriteError(t *testing.T) {
	server, client := pair(t)
	_ = server.WriteMessage(websocket.BinaryMessage, []byte("x"))
	boom := errors.New("disk full")
	err := Receive(client, failingWriter{boom})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

func TestSendReceiveBothWays(t *testing.T) {
	server, client := pair(t)
	input := bytes.Repeat([]byte("0123456789"), 20000)
	output := bytes.Repeat([]byte("abcdef"), 20000)

	serverGot := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		_ = Receive(server, &buf)
		serverGot <- buf.Bytes()
	}()

	go func() { _ = Send(server, bytes.NewReader(output)) }()
	sendErr := make(chan error, 1)
	go func() { sendErr <- Send(client, bytes.NewReader(input)) }()
	var clientGot bytes.Buffer
	err := Receive(client, &clientGot)
	if err != nil {
		t.Fatal(err)
	}

	if !bytes.Equal(clientGot.Bytes(), output) {
		t.Fatalf("client got %d bytes, want %d", clientGot.Len(), len(output))
	}

	select {
	case got := <-serverGot:
		if !bytes.Equal(got, input) {
			t.Fatalf("server got %d bytes, want %d", len(got), len(input))
		}

	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the end of the input")
	}

	err = <-sendErr
	if err != nil {
		t.Fatal(err)
	}
}

func TestIsEnd(t *testing.T) {
	tests := []struct {
		kind int
		data []byte
		want bool
	}{
		{websocket.TextMessage, nil, true},
		{websocket.TextMessage, []byte{}, true},
		{websocket.TextMessage, []byte("x"), false},
		{websocket.BinaryMessage, nil, false},
	}

	for _, tt := range tests {
		got := IsEnd(tt.kind, tt.data)
		if got != tt.want {
			t.Errorf("IsEnd(%d, %q): got %v, want %v", tt.kind, tt.data, got, tt.want)
		}
	}
}

func TestDrainEndsWithTheConnection(t *testing.T) {
	server, client := pair(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Drain(client)
	}()

	_ = server.WriteMessage(websocket.TextMessage, []byte(`{"command":"x"}`))
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = server.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return after the close frame")
	}
}

// readRaw reads the raw bytes the peer sends on conn until the connection ends, and the error that ended it.
func readRaw(conn *websocket.Conn) ([]byte, error) {
	raw := conn.UnderlyingConn()
	_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	return io.ReadAll(raw)
}

// closeFrame is the wire form of a normal close frame sent by a server (unmasked).
var closeFrame = []byte{0x88, 0x02, 0x03, 0xe8}

func TestCloseHandshake(t *testing.T) {
	server, client := pair(t)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		Drain(server)
	}()

	err := server.WriteMessage(websocket.BinaryMessage, []byte("out"))
	if err != nil {
		t.Fatal(err)
	}

	// The client answers the close frame (the library does it when it reads one); the server then closes the
	// connection without waiting for the timeout.
	Close(server, readerDone, time.Hour)
	kind, data, err := client.ReadMessage()
	if err != nil || kind != websocket.BinaryMessage || string(data) != "out" {
		t.Fatalf("first message: got %d %q %v, want the output", kind, data, err)
	}

	_, _, err = client.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("got %v, want a normal close", err)
	}

	rest, err := readRaw(client)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the close frames: got %q %v, want the end of the connection", rest, err)
	}

	select {
	case <-readerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's reader did not end")
	}
}

func TestCloseAnsweredByThePeer(t *testing.T) {
	server, client := pair(t)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		Drain(server)
	}()

	// The client closes first: the server's reader answers, and Close sends no second close frame.
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	err := client.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}

	select {
	case <-readerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's reader did not see the close frame")
	}

	Close(server, readerDone, time.Hour)
	got, err := readRaw(client)
	if err != nil || !bytes.Equal(got, closeFrame) {
		t.Fatalf("got %x %v, want one close frame %x and the end of the connection", got, err, closeFrame)
	}
}

func TestCloseUnanswered(t *testing.T) {
	tests := []struct {
		name       string
		readerDone chan struct{}
		timeout    time.Duration
	}{
		{"nobody reads", nil, time.Hour},
		{"the peer never answers", make(chan struct{}), 50 * time.Millisecond},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := pair(t)
			Close(server, tt.readerDone, tt.timeout)
			got, err := readRaw(client)
			if err != nil || !bytes.Equal(got, closeFrame) {
				t.Fatalf("got %x %v, want the close frame %x and the end of the connection", got, err, closeFrame)
			}
		})
	}
}
