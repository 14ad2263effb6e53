// Package ws mirrors byte streams over websockets as LXD's exec and console do, on the client and in the daemon
// alike: each chunk read from a stream travels as one binary message, and the end of the stream is an empty text
// message. A side that stops writing without that message (a close frame, a broken connection) ends the stream
// too. It imports the standard library and gorilla/websocket only.
package ws

import (
	"io"

	"github.com/gorilla/websocket"
)

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
