package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// eventTimeout bounds every wait for a frame. Passing runs never wait this
// long; it only decides how soon a broken server fails the test.
const eventTimeout = 10 * time.Second

var socketIDPattern = regexp.MustCompile(`^\d+\.\d+$`)

func wsStatus(code int) ws.StatusCode { return ws.StatusCode(code) }

// frame is one server→client protocol message, kept raw for failure reports.
type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
	raw     string
}

// DataString returns data when the server sent it as a JSON string (the
// protocol's "double encoding"), and ok=false otherwise.
func (f frame) DataString() (string, bool) {
	var s string
	if err := json.Unmarshal(f.Data, &s); err != nil {
		return "", false
	}
	return s, true
}

// DataObject decodes data whether it was sent as a JSON string holding JSON
// or as an object.
func (f frame) DataObject(v any) error {
	if s, ok := f.DataString(); ok {
		return json.Unmarshal([]byte(s), v)
	}
	return json.Unmarshal(f.Data, v)
}

// wsClient speaks raw protocol-7 frames so that failures can show exactly
// what was sent and received.
type wsClient struct {
	t        *testing.T
	name     string
	conn     net.Conn
	r        io.Reader
	wmu      sync.Mutex
	frames   chan frame
	done     chan struct{} // closed when the read loop ends
	closeErr error         // why it ended; a wsutil.ClosedError for a close frame
	SocketID string

	lmu sync.Mutex
	log []string
}

// dial connects to /app/{key} and, unless the key is expected to be refused,
// waits for pusher:connection_established.
func dial(t *testing.T, s *server, name, key string) *wsClient {
	t.Helper()
	c := dialRaw(t, s, name, "/app/"+key+"?protocol=7&client=go-conformance&version=1.0&flash=false")
	f := c.expect("pusher:connection_established", func(f frame) bool { return f.Event == "pusher:connection_established" })
	var est struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if _, ok := f.DataString(); !ok {
		t.Errorf("%s: connection_established data must be a JSON string, got %s", name, f.raw)
	}
	if err := f.DataObject(&est); err != nil {
		t.Fatalf("%s: connection_established data: %v in %s", name, err, f.raw)
	}
	if est.ActivityTimeout <= 0 {
		t.Errorf("%s: activity_timeout missing or 0 (pusher-js refuses the handshake): %s", name, f.raw)
	}
	c.SocketID = est.SocketID
	return c
}

func dialRaw(t *testing.T, s *server, name, path string) *wsClient {
	t.Helper()
	ctx := testContext(t, eventTimeout)
	conn, br, _, err := ws.Dial(ctx, "ws://"+s.Addr+path)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, path, err)
	}
	c := &wsClient{t: t, name: name, conn: conn, r: conn, frames: make(chan frame, 1024), done: make(chan struct{})}
	if br != nil {
		// The server's first frames may have arrived with the handshake.
		c.r = br
	}
	go c.readLoop(br)
	t.Cleanup(c.close)
	return c
}

type clientRW struct{ c *wsClient }

func (rw clientRW) Read(p []byte) (int, error) { return rw.c.r.Read(p) }
func (rw clientRW) Write(p []byte) (int, error) {
	rw.c.wmu.Lock()
	defer rw.c.wmu.Unlock()
	return rw.c.conn.Write(p)
}

func (c *wsClient) readLoop(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.frames)
	for {
		data, op, err := wsutil.ReadServerData(clientRW{c})
		if err != nil {
			c.closeErr = err
			c.record("closed: %v", err)
			if br != nil {
				ws.PutReader(br)
			}
			return
		}
		if op != ws.OpText {
			c.record("S→C non-text frame op=%v %q", op, data)
			continue
		}
		var f frame
		f.raw = string(data)
		c.record("S→C %s", data)
		if err := json.Unmarshal(data, &f); err != nil {
			f.Event = "<unparsable>"
		}
		c.frames <- f
	}
}

func (c *wsClient) record(format string, args ...any) {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *wsClient) transcript() string {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	return "  " + strings.Join(c.log, "\n  ")
}

// send writes one text frame with the JSON encoding of msg (a string is
// sent as is).
func (c *wsClient) send(msg any) {
	c.t.Helper()
	var b []byte
	switch m := msg.(type) {
	case string:
		b = []byte(m)
	default:
		var err error
		if b, err = json.Marshal(m); err != nil {
			c.t.Fatal(err)
		}
	}
	c.record("C→S %s", b)
	var buf bytes.Buffer
	if err := wsutil.WriteClientText(&buf, b); err != nil {
		c.t.Fatal(err)
	}
	c.wmu.Lock()
	_, err := c.conn.Write(buf.Bytes())
	c.wmu.Unlock()
	if err != nil {
		c.t.Fatalf("%s: write: %v\n%s", c.name, err, c.transcript())
	}
}

// expect returns the first frame matching pred, skipping others; it fails
// the test with the transcript if none arrives in time or the socket closes.
func (c *wsClient) expect(what string, pred func(frame) bool) frame {
	c.t.Helper()
	f, _ := c.until(what, pred)
	return f
}

// until is expect that also returns the frames skipped before the match, so
// a test can assert what did not arrive before a marker.
func (c *wsClient) until(what string, pred func(frame) bool) (frame, []frame) {
	c.t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	var skipped []frame
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("%s: socket closed (%v) while waiting for %s\ntranscript:\n%s", c.name, c.closeErr, what, c.transcript())
			}
			if pred(f) {
				return f, skipped
			}
			skipped = append(skipped, f)
		case <-timer.C:
			c.t.Fatalf("%s: no %s within %s\ntranscript:\n%s", c.name, what, eventTimeout, c.transcript())
		}
	}
}

// expectEvent waits for event on channel.
func (c *wsClient) expectEvent(event, channel string) frame {
	c.t.Helper()
	return c.expect(fmt.Sprintf("%s on %q", event, channel), func(f frame) bool {
		return f.Event == event && f.Channel == channel
	})
}

// expectClose waits for the server to close the socket with code.
func (c *wsClient) expectClose(code ws.StatusCode) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(eventTimeout):
		c.t.Fatalf("%s: socket not closed within %s (want close %d)\ntranscript:\n%s", c.name, eventTimeout, code, c.transcript())
	}
	var ce wsutil.ClosedError
	if !errors.As(c.closeErr, &ce) {
		c.t.Fatalf("%s: socket ended with %v, want a close frame with code %d\ntranscript:\n%s", c.name, c.closeErr, code, c.transcript())
	}
	if ce.Code != code {
		c.t.Fatalf("%s: close code %d (%q), want %d\ntranscript:\n%s", c.name, ce.Code, ce.Reason, code, c.transcript())
	}
}

// subscribe sends pusher:subscribe with the given auth fields and waits for
// subscription_succeeded.
func (c *wsClient) subscribe(channel, auth, channelData string) frame {
	c.t.Helper()
	c.sendSubscribe(channel, auth, channelData)
	return c.expect("subscription_succeeded on "+channel, func(f frame) bool {
		if f.Channel == channel && f.Event == "pusher:subscription_error" {
			c.t.Fatalf("%s: subscription to %s refused: %s\ntranscript:\n%s", c.name, channel, f.raw, c.transcript())
		}
		return f.Channel == channel && f.Event == "pusher_internal:subscription_succeeded"
	})
}

func (c *wsClient) sendSubscribe(channel, auth, channelData string) {
	data := map[string]string{"auth": auth, "channel": channel}
	if channelData != "" {
		data["channel_data"] = channelData
	}
	c.send(map[string]any{"event": "pusher:subscribe", "data": data})
}

// ping checks the socket is alive: pusher:ping must be answered with pusher:pong.
func (c *wsClient) ping() {
	c.t.Helper()
	c.send(`{"event":"pusher:ping","data":{}}`)
	c.expect("pusher:pong", func(f frame) bool { return f.Event == "pusher:pong" })
}

// drain returns the frames received so far without waiting.
func (c *wsClient) drain() []frame {
	var out []frame
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return out
			}
			out = append(out, f)
		default:
			return out
		}
	}
}

func (c *wsClient) close() {
	_ = c.conn.Close()
	<-c.done
}
