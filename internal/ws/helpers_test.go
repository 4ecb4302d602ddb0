package ws

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// echoHandler is a small application: it greets each connection, echoes
// text messages, and closes when asked to ("close:<code>").
type echoHandler struct {
	mu      sync.Mutex
	conns   []*Conn
	refuse  func(r *http.Request) (int, string, bool) // optional
	touches atomic.Int64
	closed  atomic.Int64
	opened  atomic.Int64
	recv    atomic.Int64
	concur  atomic.Int64 // Receive calls in flight for one session at once > 1 is a bug
	overlap atomic.Bool
}

type echoSession struct {
	h      *echoHandler
	c      *Conn
	active atomic.Int32
	closes atomic.Int32
}

func (h *echoHandler) Open(c *Conn, r *http.Request) Session {
	if h.refuse != nil {
		if code, reason, bad := h.refuse(r); bad {
			c.Send(TextFrame([]byte(`{"event":"pusher:error"}`)))
			c.Close(code, reason)
			return nil
		}
	}
	h.opened.Add(1)
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	c.Send(TextFrame([]byte("welcome")))
	return &echoSession{h: h, c: c}
}

func (h *echoHandler) all() []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Conn(nil), h.conns...)
}

func (s *echoSession) Receive(msg []byte) {
	if s.active.Add(1) != 1 {
		s.h.overlap.Store(true)
	}
	defer s.active.Add(-1)
	s.h.recv.Add(1)
	if code, ok := strings.CutPrefix(string(msg), "close:"); ok {
		n := 0
		for _, d := range code {
			n = n*10 + int(d-'0')
		}
		s.c.Close(n, "asked to close")
		return
	}
	s.c.Send(TextFrame(msg))
}

func (s *echoSession) Touch() { s.h.touches.Add(1) }

func (s *echoSession) Closed() {
	if s.closes.Add(1) != 1 {
		s.h.overlap.Store(true) // Closed twice
	}
	s.h.closed.Add(1)
}

// startServer runs a Server behind an httptest server and stops both at
// the end of the test.
func startServer(t testing.TB, cfg Config, h Handler) (*Server, string) {
	t.Helper()
	s, err := NewServer(cfg, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/app/{key}", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, "ws://" + hs.Listener.Addr().String()
}

// client speaks raw frames, so tests can send what real clients never do.
type client struct {
	t  testing.TB
	nc net.Conn
	r  io.Reader
}

func dial(t testing.TB, url string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, br, _, err := ws.Dial(ctx, url+"/app/key?protocol=7")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, r: nc}
	if br != nil {
		c.r = io.MultiReader(br, nc)
	}
	return c
}

// send writes one masked frame.
func (c *client) send(op ws.OpCode, fin bool, payload []byte) {
	c.t.Helper()
	f := ws.MaskFrame(ws.NewFrame(op, fin, payload))
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteFrame(c.nc, f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

func (c *client) text(s string) { c.t.Helper(); c.send(ws.OpText, true, []byte(s)) }

// next reads one frame within 5 s.
func (c *client) next() ws.Frame {
	c.t.Helper()
	f, err := c.tryNext(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (c *client) tryNext(d time.Duration) (ws.Frame, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	f, err := ws.ReadFrame(c.r)
	if err == nil && f.Header.Masked {
		return f, errors.New("server frame is masked")
	}
	return f, err
}

func (c *client) expectText(want string) {
	c.t.Helper()
	f := c.next()
	if f.Header.OpCode != ws.OpText || string(f.Payload) != want || !f.Header.Fin {
		c.t.Fatalf("got op %v fin %v %.80q (%d bytes), want text %.80q (%d bytes)",
			f.Header.OpCode, f.Header.Fin, f.Payload, len(f.Payload), want, len(want))
	}
}

// expectClose reads until a close frame and checks its code.
func (c *client) expectClose(code int) string {
	c.t.Helper()
	for {
		f := c.next()
		if f.Header.OpCode != ws.OpClose {
			continue
		}
		got, reason := ws.ParseCloseFrameData(f.Payload)
		if int(got) != code {
			c.t.Fatalf("close code %d (%q), want %d", got, reason, code)
		}
		return reason
	}
}

// expectEOF checks that the server closed the TCP connection.
func (c *client) expectEOF() {
	c.t.Helper()
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := ws.ReadFrame(c.r)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return
		}
		c.t.Fatalf("want EOF, got %v", err)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var _ = bufio.NewReader
var _ = binary.BigEndian
