// Package ws mirrors byte streams over websockets as LXD's exec and console do, on the client and in the daemon
// alike: each chunk read from a stream travels as one binary message, and the end of the stream is an empty text
// message. A side that stops writing without that message (a close frame, a broken connection) ends the stream
// too. It imports the standard library and gorilla/websocket only.
//
// A connection is ended with the closing handshake of RFC 6455 (Close): a close frame, then the peer's close frame
// in answer, then the end of the TCP connection, so that clients that answer the close frame (ws4py,
// websocket-client) are not left writing to a connection already gone.
package ws

import (
	"io"
	"time"

	"github.com/gorilla/websocket"
)

// CloseTimeout is how long Close waits for the peer to answer the close frame by default.
const CloseTimeout = 5 * time.Second

// closeWriteTimeout bounds the write of the close frame.
const closeWriteTimeout = time.Second

// BufferSize is the largest chunk Send puts in one message.
const BufferSize = 32 << 10

// SendEnd sends the end-of-stream message: an empty text message.
func SendEnd(conn *websocket.Conn) error {
	return conn.WriteMessage(websocket.TextMessage, []byte{})
}

// IsEnd tells whether a message of the kind read is the end-of-stream message.
func IsEnd(kind int, data []byte) bool {
	return kind == websocket.TextMessage && len(data) == 0
}

// Send mirrors r to conn: each read becomes one binary message, and the end of r, or an error reading it, is sent
// as the end-of-stream message. A nil r sends only the end of the stream. It returns the error that kept a message
// from being sent, after which nothing more is sent. The caller is conn's only writer meanwhile (control frames
// excepted).
func Send(conn *websocket.Conn, r io.Reader) error {
	if r != nil {
		buf := make([]byte, BufferSize)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				werr := conn.WriteMessage(websocket.BinaryMessage, buf[:n])
				if werr != nil {
					return werr
				}
			}

			if err != nil {
				break
			}
		}
	}

	return SendEnd(conn)
}

// Receive mirrors conn to w: the payload of each message is written to w until the end-of-stream message, the end
// of the connection or a failed write to w. It returns the write error, or nil at the end of the stream however it
// came: a peer that closes the connection or goes away has finished sending. The caller is conn's only reader
// meanwhile.
func Receive(conn *websocket.Conn, w io.Writer) error {
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return nil
		}

		if IsEnd(kind, data) {
			return nil
		}

		_, err = w.Write(data)
		if err != nil {
			return err
		}
	}
}

// Drain reads and discards messages until the connection ends, which it then reports by returning. Reading is what
// makes the library answer pings and notice a close frame.
func Drain(conn *websocket.Conn) {
	for {
		_, _, err := conn.ReadMessage()
		if err != nil {
			return
		}
	}
}

// Close starts the closing handshake: it sends a normal close frame (nothing when one was already sent, as the
// answer to the peer's), then, in the background, waits until readerDone is closed or timeout has passed and closes
// the connection. readerDone is closed by the connection's reader when a read fails, which it does once the peer's
// close frame (or the end of the connection) arrives: the reader must go on reading, as Drain does, after it has
// consumed what it wanted. A nil readerDone (nobody reads) closes the connection at once. Close returns once the
// close frame is written, so everything written before it reaches the peer ahead of it.
func Close(conn *websocket.Conn, readerDone <-chan struct{}, timeout time.Duration) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	err := conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWriteTimeout))
	if readerDone == nil || (err != nil && err != websocket.ErrCloseSent) {
		_ = conn.Close()
		return
	}

	go func() {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-readerDone:
		case <-timer.C:
		}

		_ = conn.Close()
	}()
}
