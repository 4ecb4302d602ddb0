package ws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/parleyhq/parley/internal/pusher"
)

func TestEcho(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	for _, msg := range []string{"hello", strings.Repeat("x", 200), strings.Repeat("é", 30000)} {
		c.text(msg)
		c.expectText(msg)
	}
	if st := s.Stats(); st.Open != 1 || st.Accepted != 1 || st.MessagesIn != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFragmentedMessageWithPingInBetween(t *testing.T) {
	h := &echoHandler{}
	_, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	c.send(ws.OpText, false, []byte("hel"))
	c.send(ws.OpPing, true, []byte("p1"))
	c.send(ws.OpContinuation, false, []byte("lo "))
	c.send(ws.OpContinuation, true, []byte("world"))
	f := c.next()
	if f.Header.OpCode != ws.OpPong || string(f.Payload) != "p1" {
		t.Fatalf("want pong p1, got %v %q", f.Header.OpCode, f.Payload)
	}
	c.expectText("hello world")
}

func TestFrameSplitAcrossWrites(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	var buf bytes.Buffer
	msg := strings.Repeat("split", 5000)
	if err := ws.WriteFrame(&buf, ws.MaskFrame(ws.NewTextFrame([]byte(msg)))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, chunk := range [][]byte{b[:1], b[1:7], b[7:9000], b[9000:]} {
		before := s.Stats().BytesIn
		if _, err := c.nc.Write(chunk); err != nil {
			t.Fatal(err)
		}
		// Each chunk arrives as its own read, so the frame is reassembled
		// across reads.
		eventually(t, "chunk read", func() bool { return s.Stats().BytesIn == before+uint64(len(chunk)) })
	}
	c.expectText(msg)
}

func TestPingPongTouch(t *testing.T) {
	h := &echoHandler{}
	_, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	c.send(ws.OpPing, true, []byte("abc"))
	f := c.next()
	if f.Header.OpCode != ws.OpPong || string(f.Payload) != "abc" {
		t.Fatalf("want pong abc, got %v %q", f.Header.OpCode, f.Payload)
	}
	c.send(ws.OpPong, true, nil)
	eventually(t, "two touches", func() bool { return h.touches.Load() == 2 })
}

func TestClientCloseHandshake(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	c.send(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
	c.expectClose(StatusNormal)
	c.expectEOF()
	eventually(t, "Closed", func() bool { return h.closed.Load() == 1 })
	eventually(t, "no open connections", func() bool { return s.Stats().Open == 0 })
}

func TestServerCloseWithCode(t *testing.T) {
	h := &echoHandler{}
	_, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	c.text("echo me first")
	c.text("close:4009")
	c.expectText("echo me first")
	if reason := c.expectClose(4009); reason != "asked to close" {
		t.Fatalf("reason %q", reason)
	}
	c.text("ignored after close")
	c.send(ws.OpClose, true, ws.NewCloseFrameBody(4009, ""))
	c.expectEOF()
	eventually(t, "Closed", func() bool { return h.closed.Load() == 1 })
	if h.recv.Load() != 2 {
		t.Fatalf("Receive called %d times, want 2 (nothing after Close)", h.recv.Load())
	}
}

func TestRefusedInOpen(t *testing.T) {
	h := &echoHandler{refuse: func(r *http.Request) (int, string, bool) {
		return pusher.ErrAppNotFound.Code, pusher.ErrAppNotFound.Message, r.PathValue("key") == "key"
	}}
	s, url := startServer(t, Config{CloseTimeout: 300 * time.Millisecond}, h)
	c := dial(t, url)
	c.expectText(`{"event":"pusher:error"}`)
	if reason := c.expectClose(4001); reason != pusher.ErrAppNotFound.Message {
		t.Fatalf("reason %q", reason)
	}
	c.expectEOF() // the server's FIN follows its close frame
	// The client never answers: the sweep closes the socket after CloseTimeout.
	eventually(t, "sweep", func() bool { return s.Stats().Open == 0 })
}

func TestCloseReasonIsCut(t *testing.T) {
	h := &echoHandler{}
	_, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	conn := h.all()[0]
	conn.Close(4200, strings.Repeat("ü", 100)) // 200 bytes
	reason := c.expectClose(4200)
	if len(reason) > 123 || !strings.HasPrefix(strings.Repeat("ü", 100), reason) || len(reason) < 120 {
		t.Fatalf("reason cut wrong: %d bytes", len(reason))
	}
	conn.Close(1000, "again") // idempotent: nothing more is sent
	c.send(ws.OpClose, true, ws.NewCloseFrameBody(4200, ""))
	c.expectEOF()
}

func TestRejectedFrames(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		send func(c *client)
		code int
	}{
		{
			name: "binary",
			send: func(c *client) { c.send(ws.OpBinary, true, []byte{1, 2, 3}) },
			code: StatusUnsupported,
		},
		{
			name: "oversize single frame",
			cfg:  Config{MaxMessageSize: 1024},
			send: func(c *client) { c.text(strings.Repeat("a", 1025)) },
			code: StatusTooBig,
		},
		{
			name: "oversize in fragments",
			cfg:  Config{MaxMessageSize: 1024},
			send: func(c *client) {
				c.send(ws.OpText, false, bytes.Repeat([]byte("a"), 600))
				c.send(ws.OpContinuation, true, bytes.Repeat([]byte("a"), 600))
			},
			code: StatusTooBig,
		},
		{
			name: "unmasked",
			send: func(c *client) { _ = ws.WriteFrame(c.nc, ws.NewTextFrame([]byte("x"))) },
			code: StatusProtocol,
		},
		{
			name: "continuation without start",
			send: func(c *client) { c.send(ws.OpContinuation, true, []byte("x")) },
			code: StatusProtocol,
		},
		{
			name: "text inside fragmented message",
			send: func(c *client) {
				c.send(ws.OpText, false, []byte("a"))
				c.send(ws.OpText, true, []byte("b"))
			},
			code: StatusProtocol,
		},
		{
			name: "invalid utf-8",
			send: func(c *client) { c.send(ws.OpText, true, []byte{0xff, 0xfe}) },
			code: StatusInvalidData,
		},
		{
			name: "bad close code",
			send: func(c *client) { c.send(ws.OpClose, true, []byte{0x03, 0xE4}) }, // 996
			code: StatusProtocol,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &echoHandler{}
			s, url := startServer(t, tc.cfg, h)
			c := dial(t, url)
			c.expectText("welcome")
			tc.send(c)
			c.expectClose(tc.code)
			c.expectEOF() // failed connections do not wait for the client
			eventually(t, "Closed", func() bool { return h.closed.Load() == 1 })
			if s.Stats().ProtocolErrors != 1 || h.recv.Load() != 0 {
				t.Fatalf("stats %+v, received %d", s.Stats(), h.recv.Load())
			}
		})
	}
}

func TestNotAWebSocket(t *testing.T) {
	s, url := startServer(t, Config{}, &echoHandler{})
	httpURL := "http" + strings.TrimPrefix(url, "ws") + "/app/key"
	resp, err := http.Get(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("status %d, want 4xx", resp.StatusCode)
	}
	s.Close()
	resp, err = http.Get(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: status %d, want 503", resp.StatusCode)
	}
}

// A client may send its first frame in the same packet as the handshake;
// those bytes sit in the HTTP server's buffer and must not be lost.
func TestFrameRightAfterHandshake(t *testing.T) {
	_, url := startServer(t, Config{}, &echoHandler{})
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET /app/key?protocol=7 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	_ = ws.WriteFrame(&req, ws.MaskFrame(ws.NewTextFrame([]byte("early"))))
	if _, err := nc.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	all := make([]byte, 0, 512)
	for !bytes.Contains(all, []byte("early")) {
		buf := make([]byte, 512)
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, all)
		}
		all = append(all, buf[:n]...)
	}
	if !bytes.HasPrefix(all, []byte("HTTP/1.1 101")) || !bytes.Contains(all, []byte("welcome")) {
		t.Fatalf("unexpected response %q", all)
	}
}

func TestSlowConsumerClosedFastOneKeepsReceiving(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{SendQueue: 16, WriteTimeout: time.Minute}, h)
	slow, fast := dial(t, url), dial(t, url)
	slow.expectText("welcome")
	fast.expectText("welcome")
	eventually(t, "two sessions", func() bool { return len(h.all()) == 2 })

	payload := bytes.Repeat([]byte("f"), 16<<10)
	frame := TextFrame(payload)
	sent := 0
	for s.Stats().SlowConsumers == 0 {
		if sent == 20000 {
			t.Fatal("slow consumer never detected")
		}
		for _, c := range h.all() {
			c.Send(frame)
		}
		sent++
		f := fast.next() // paces the publisher by the fast client only
		if !bytes.Equal(f.Payload, payload) {
			t.Fatalf("fast client got %d bytes", len(f.Payload))
		}
	}
	// The fast connection is unaffected.
	for _, c := range h.all() {
		c.Send(TextFrame([]byte("after")))
	}
	fast.expectText("after")
	// The slow client, reading at last, finds the frames that fit and
	// then the 4100 close.
	if reason := slow.expectClose(pusher.CodeOverCapacity); reason != pusher.ErrSlowConsumer.Message {
		t.Fatalf("reason %q", reason)
	}
	if st := s.Stats(); st.SlowConsumers != 1 || st.Open != 2 && st.Open != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWriteTimeoutDropsStuckSocket(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{SendQueue: 1 << 20, WriteTimeout: 200 * time.Millisecond}, h)
	c := dial(t, url)
	c.expectText("welcome")
	eventually(t, "session", func() bool { return len(h.all()) == 1 })
	frame := TextFrame(bytes.Repeat([]byte("s"), 64<<10))
	conn := h.all()[0]
	for range 1000 { // 64 MiB: more than both loopback socket buffers hold
		conn.Send(frame)
	}
	eventually(t, "write timeout", func() bool { return s.Stats().WriteTimeouts == 1 })
	eventually(t, "Closed", func() bool { return h.closed.Load() == 1 })
}

func TestManyConnectionsBroadcast(t *testing.T) {
	const n = 2000
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	clients := make([]*client, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			clients[i] = dial(t, url)
		}()
	}
	wg.Wait()
	eventually(t, "all sessions", func() bool { return s.Stats().Open == n && len(h.all()) == n })
	frame := TextFrame([]byte(`{"event":"broadcast","channel":"c","data":"{}"}`))
	for _, c := range h.all() {
		c.Send(frame)
	}
	for _, c := range clients {
		c.expectText("welcome")
		c.expectText(`{"event":"broadcast","channel":"c","data":"{}"}`)
	}
	if got := s.Stats().FramesOut; got != 2*n {
		t.Fatalf("frames out %d, want %d", got, 2*n)
	}
}

func TestShutdownClosesWith4200(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	clients := []*client{dial(t, url), dial(t, url), dial(t, url)}
	for _, c := range clients {
		c.expectText("welcome")
	}
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errc <- s.Shutdown(ctx)
	}()
	for _, c := range clients {
		if reason := c.expectClose(pusher.CodeReconnect); reason != pusher.ErrShuttingDown.Message {
			t.Fatalf("reason %q", reason)
		}
		c.send(ws.OpClose, true, ws.NewCloseFrameBody(pusher.CodeReconnect, ""))
		c.expectEOF()
	}
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if h.closed.Load() != 3 {
		t.Fatalf("Closed called %d times, want 3", h.closed.Load())
	}
}

func TestCloseWithOpenConnections(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	c := dial(t, url)
	c.expectText("welcome")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.expectEOF()
	if h.closed.Load() != 1 || s.Stats().Open != 0 {
		t.Fatalf("closed %d, open %d", h.closed.Load(), s.Stats().Open)
	}
}

// Concurrent messages from many clients while the server broadcasts and
// closes: mostly a job for the race detector, plus the serial-Receive rule.
func TestConcurrentTraffic(t *testing.T) {
	h := &echoHandler{}
	s, url := startServer(t, Config{}, h)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		c := dial(t, url)
		c.expectText("welcome")
		wg.Add(1)
		go func() {
			defer wg.Done()
			go func() { _, _ = io.Copy(io.Discard, c.r) }()
			for j := range 200 {
				c.send(ws.OpText, true, []byte(fmt.Sprint("m", j)))
			}
		}()
	}
	frame := TextFrame([]byte("tick"))
	for range 200 {
		for _, c := range h.all() {
			c.Send(frame)
		}
	}
	wg.Wait()
	eventually(t, "all messages", func() bool { return h.recv.Load() == n*200 })
	if h.overlap.Load() {
		t.Fatal("Receive overlapped for one session, or Closed ran twice")
	}
	s.Close()
	if h.closed.Load() != n {
		t.Fatalf("Closed %d, want %d", h.closed.Load(), n)
	}
}
