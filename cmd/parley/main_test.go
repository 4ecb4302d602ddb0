package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parleyhq/parley/internal/pusher"
)

const (
	testKey    = "app-key"
	testSecret = "app-secret"
)

// startMain runs a whole server in process on a free port. yaml, when
// not empty, is the configuration file; env adds PARLEY_* variables.
func startMain(t *testing.T, yaml string, env map[string]string) *Main {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"PARLEY_ADDR":       "127.0.0.1:0",
		"PARLEY_DATA_DIR":   filepath.Join(dir, "data"),
		"PARLEY_LOG_LEVEL":  "warn",
		"PARLEY_JWT_SECRET": "test-jwt-secret-of-at-least-32-bytes",
	}
	if yaml != "" {
		p := filepath.Join(dir, "parley.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		vars["PARLEY_CONFIG"] = p
	}
	for k, v := range env {
		vars[k] = v
	}
	m, err := NewMain(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// frame is one decoded server frame.
type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
}

// dataString returns data as the string the server sent (double encoded)
// or the raw object text.
func (f frame) dataString() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return s
	}
	return string(f.Data)
}

// wsClient is a raw protocol-7 client: it sends frames as pusher-js does
// and collects what the server sends.
type wsClient struct {
	t        *testing.T
	conn     net.Conn
	frames   chan frame
	closed   chan wsutil.ClosedError
	socketID string
}

func dial(t *testing.T, m *Main, path string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+m.Addr()+path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c := &wsClient{t: t, conn: conn, frames: make(chan frame, 256), closed: make(chan wsutil.ClosedError, 1)}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	go c.readLoop(bufio.NewReader(r))
	t.Cleanup(func() { conn.Close() })
	return c
}

// connect dials the default app and waits for connection_established.
func connect(t *testing.T, m *Main) *wsClient {
	t.Helper()
	c := dial(t, m, "/app/"+testKey+"?protocol=7&client=js&version=8.4.0&flash=false")
	f := c.expect(pusher.EventConnectionEstablished)
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.dataString()), &d); err != nil {
		t.Fatalf("connection_established data %s: %v", f.Data, err)
	}
	c.socketID = d.SocketID
	return c
}

func (c *wsClient) readLoop(r io.Reader) {
	rw := struct {
		io.Reader
		io.Writer
	}{r, c.conn}
	for {
		b, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			var ce wsutil.ClosedError
			if errors.As(err, &ce) {
				c.closed <- ce
			}
			close(c.frames)
			return
		}
		if op != ws.OpText {
			continue
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.t.Errorf("server sent invalid JSON %q", b)
			continue
		}
		c.frames <- f
	}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// expect waits for the next frame with the given event, failing on any
// other frame in between or after the deadline.
func (c *wsClient) expect(event string) frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection closed while waiting for %s", event)
		}
		if f.Event != event {
			c.t.Fatalf("got %s %s %s, want %s", f.Event, f.Channel, f.Data, event)
		}
		return f
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no %s within 5s", event)
	}
	return frame{}
}

// expectNone fails if a frame arrives within a short window. It proves an
// absence, so it has to wait; the window is small and bounded.
func (c *wsClient) expectNone(window time.Duration) {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if ok {
			c.t.Fatalf("unexpected frame %s %s %s", f.Event, f.Channel, f.Data)
		}
	case <-time.After(window):
	}
}

// expectClose waits for a close frame with the given code.
func (c *wsClient) expectClose(code int) {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ce := <-c.closed:
			if int(ce.Code) != code {
				c.t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, code)
			}
			return
		case _, ok := <-c.frames:
			if !ok {
				select {
				case ce := <-c.closed:
					if int(ce.Code) != code {
						c.t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, code)
					}
					return
				default:
					c.t.Fatalf("connection ended without a close frame, want %d", code)
				}
			}
		case <-deadline:
			c.t.Fatalf("no close %d within 10s", code)
		}
	}
}

func (c *wsClient) subscribe(channel, auth string, channelData *string) {
	d := map[string]any{"channel": channel, "auth": auth}
	if channelData != nil {
		d["channel_data"] = *channelData
	}
	c.send(map[string]any{"event": "pusher:subscribe", "data": d})
}

// publish triggers an event through the signed HTTP API.
func publish(t *testing.T, m *Main, body map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	return signedRequest(t, m, "POST", "/apps/1/events", nil, b)
}

func signedRequest(t *testing.T, m *Main, method, path string, params pusher.Query, body []byte) (int, string) {
	t.Helper()
	q := pusher.SignRequest(method, path, params, body, testKey, testSecret, time.Now())
	req, err := http.NewRequest(method, "http://"+m.Addr()+path+"?"+q, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(out))
}

func ptr(s string) *string { return &s }
