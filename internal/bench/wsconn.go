package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// wsConn is a minimal client-side WebSocket: whole text frames in, masked
// text frames out, pings answered. It reads into one reused buffer so the
// generator spends as little CPU per delivery as possible: it shares the
// machine's two cores with the server it measures.
type wsConn struct {
	conn net.Conn
	br   *bufio.Reader
	buf  []byte

	wmu sync.Mutex
}

// errClosed is returned by readMessage after a close frame.
var errClosed = errors.New("websocket closed by server")

// CloseError carries the close code the server sent.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("closed by server: %d %s", e.Code, e.Reason) }
func (e *CloseError) Unwrap() error { return errClosed }

// dialWS opens a WebSocket to rawURL, binding the local end to src when
// set (spreading source addresses past one address's ~28 000 ports).
func dialWS(ctx context.Context, rawURL string, src net.IP) (*wsConn, error) {
	d := ws.Dialer{
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{}
			if src != nil {
				nd.LocalAddr = &net.TCPAddr{IP: src}
			}
			return nd.DialContext(ctx, network, addr)
		},
	}
	conn, br, _, err := d.Dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 1024)
	}
	return &wsConn{conn: conn, br: br}, nil
}

// readMessage returns the next data message. The slice is valid until the
// next call. Control frames are handled here.
func (c *wsConn) readMessage() ([]byte, error) {
	c.buf = c.buf[:0]
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return nil, err
		}
		if h.Length > 1<<24 {
			return nil, fmt.Errorf("frame of %d bytes: refusing", h.Length)
		}
		n := int(h.Length)
		var payload []byte
		if h.OpCode.IsControl() {
			// Control frames may arrive between the fragments of a
			// message: keep them out of the message buffer.
			payload = make([]byte, n)
		} else {
			start := len(c.buf)
			if cap(c.buf)-start < n {
				nb := make([]byte, start, start+n+512)
				copy(nb, c.buf)
				c.buf = nb
			}
			c.buf = c.buf[:start+n]
			payload = c.buf[start:]
		}
		if _, err := io.ReadFull(c.br, payload); err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			if err := c.write(ws.OpPong, payload); err != nil {
				return nil, err
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(payload)
			_ = c.write(ws.OpClose, payload)
			return nil, &CloseError{Code: int(code), Reason: reason}
		}
		if h.Fin {
			return c.buf, nil
		}
	}
}

// write sends one masked frame; safe for concurrent use.
func (c *wsConn) write(op ws.OpCode, p []byte) error {
	f := ws.NewFrame(op, true, append([]byte(nil), p...))
	f = ws.MaskFrameInPlace(f)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteFrame(c.conn, f)
}

func (c *wsConn) writeText(p []byte) error { return c.write(ws.OpText, p) }

func (c *wsConn) close() error {
	c.wmu.Lock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	c.wmu.Unlock()
	return c.conn.Close()
}
