package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parleyhq/parley/internal/pusher"
)

// frame is one server→client protocol message.
type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
	raw     string
}

// data returns the event's data: the protocol sends it as a JSON string.
func (f frame) data() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return s
	}
	return string(f.Data)
}

// decode unmarshals the event's data into v.
func (f frame) decode(v any) error { return json.Unmarshal([]byte(f.data()), v) }

// userOf returns user_id of a member_added or member_removed frame.
func (f frame) userOf() string {
	var m struct {
		UserID string `json:"user_id"`
	}
	_ = f.decode(&m)
	return m.UserID
}

// client is a raw protocol-7 connection to one node. It keeps every frame
// it receives so tests can count, not only wait.
type client struct {
	t        *testing.T
	name     string
	node     *node
	conn     net.Conn
	r        io.Reader
	wmu      sync.Mutex
	socketID string

	mu       sync.Mutex
	frames   []frame
	closeErr error // set when the read loop ends
	done     chan struct{}
}

// dial connects to a node and waits for pusher:connection_established.
func dial(t *testing.T, n *node, name string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+n.addr+"/app/"+appKey+"?protocol=7&client=go-cluster&version=1.0")
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, n.name, err)
	}
	c := &client{t: t, name: name, node: n, conn: conn, r: conn, done: make(chan struct{})}
	if br != nil {
		c.r = br // frames that arrived with the handshake
	}
	go c.readLoop()
	t.Cleanup(c.close)
	f := c.wait("connection_established", func(f frame) bool { return f.Event == "pusher:connection_established" })
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if err := f.decode(&est); err != nil || est.SocketID == "" {
		t.Fatalf("%s: bad connection_established %s", name, f.raw)
	}
	c.socketID = est.SocketID
	return c
}

type clientRW struct{ c *client }

func (rw clientRW) Read(p []byte) (int, error) { return rw.c.r.Read(p) }
func (rw clientRW) Write(p []byte) (int, error) {
	rw.c.wmu.Lock()
	defer rw.c.wmu.Unlock()
	return rw.c.conn.Write(p)
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		// ReadServerData answers pings and returns a ClosedError on close.
		data, op, err := wsutil.ReadServerData(clientRW{c})
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			return
		}
		if op != ws.OpText {
			continue
		}
		f := frame{raw: string(data)}
		if json.Unmarshal(data, &f) != nil {
			f.Event = "<unparsable>"
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
	}
}

func (c *client) close() {
	_ = c.conn.Close()
	<-c.done
}

// snapshot returns a copy of every frame received so far.
func (c *client) snapshot() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]frame(nil), c.frames...)
}

// count returns how many received frames match pred.
func (c *client) count(pred func(frame) bool) int {
	n := 0
	for _, f := range c.snapshot() {
		if pred(f) {
			n++
		}
	}
	return n
}

// wait returns the first received frame matching pred, polling until
// waitTimeout.
func (c *client) wait(what string, pred func(frame) bool) frame {
	c.t.Helper()
	return c.waitFor(waitTimeout, what, pred)
}

func (c *client) waitFor(d time.Duration, what string, pred func(frame) bool) frame {
	c.t.Helper()
	return c.waitFrom(0, d, what, pred)
}

// mark returns the number of frames received so far, for waitFrom.
func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// waitFrom is waitFor that looks only at frames after the first from.
func (c *client) waitFrom(from int, d time.Duration, what string, pred func(frame) bool) frame {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, f := range c.snapshot()[from:] {
			if pred(f) {
				return f
			}
		}
		select {
		case <-c.done:
			// Check once more: the frame may have come just before the close.
			for _, f := range c.snapshot()[from:] {
				if pred(f) {
					return f
				}
			}
			c.t.Fatalf("%s on %s: socket ended (%v) while waiting for %s\n%s", c.name, c.node.name, c.err(), what, c.transcript())
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s on %s: no %s within %s\n%s", c.name, c.node.name, what, d, c.transcript())
		}
		time.Sleep(10 * time.Millisecond) // polling the frame log with a deadline
	}
}

func (c *client) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

func (c *client) transcript() string {
	var b strings.Builder
	for _, f := range c.snapshot() {
		b.WriteString("  S→C ")
		b.WriteString(f.raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// send writes one JSON text frame.
func (c *client) send(msg any) {
	c.t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.wmu.Lock()
	err = wsutil.WriteClientText(c.conn, b)
	c.wmu.Unlock()
	if err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// subscribe subscribes to a channel, signing private and presence ones,
// and returns pusher_internal:subscription_succeeded.
func (c *client) subscribe(channel string) frame {
	c.t.Helper()
	return c.subscribeData(channel, "")
}

// joinPresence subscribes as a member with the given user id.
func (c *client) joinPresence(channel, userID string) frame {
	c.t.Helper()
	cd := fmt.Sprintf(`{"user_id":%q,"user_info":{"name":%q}}`, userID, "user "+userID)
	return c.subscribeData(channel, cd)
}

// pusherAuth signs a subscription for c as an app server would.
func pusherAuth(c *client, channel, channelData string) string {
	return pusher.ChannelAuth(appKey, appSecret, c.socketID, channel, channelData)
}

func (c *client) subscribeData(channel, channelData string) frame {
	c.t.Helper()
	data := map[string]string{"channel": channel}
	if strings.HasPrefix(channel, "private-") || strings.HasPrefix(channel, "presence-") {
		data["auth"] = pusherAuth(c, channel, channelData)
	}
	if channelData != "" {
		data["channel_data"] = channelData
	}
	from := c.mark()
	c.send(map[string]any{"event": "pusher:subscribe", "data": data})
	return c.waitFrom(from, waitTimeout, "subscription_succeeded on "+channel, func(f frame) bool {
		if f.Channel == channel && f.Event == "pusher:subscription_error" {
			c.t.Fatalf("%s: subscription to %s refused: %s", c.name, channel, f.raw)
		}
		return f.Channel == channel && f.Event == "pusher_internal:subscription_succeeded"
	})
}

// signin signs the connection in as userID watching watchlist.
func (c *client) signin(userID string, watchlist ...string) {
	c.t.Helper()
	ud := map[string]any{"id": userID}
	if len(watchlist) > 0 {
		ud["watchlist"] = watchlist
	}
	b, _ := json.Marshal(ud)
	userData := string(b)
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]string{
		"user_data": userData, "auth": pusher.UserAuth(appKey, appSecret, c.socketID, userData),
	}})
	c.wait("signin_success", func(f frame) bool { return f.Event == "pusher:signin_success" })
}

// waitClosed waits until the server closes the socket and returns the code.
func (c *client) waitClosed() ws.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s on %s: socket still open after %s\n%s", c.name, c.node.name, waitTimeout, c.transcript())
	}
	var ce wsutil.ClosedError
	if !errors.As(c.err(), &ce) {
		c.t.Fatalf("%s: socket ended with %v, not a close frame", c.name, c.err())
	}
	return ce.Code
}

// isEvent matches an event on a channel.
func isEvent(event, channel string) func(frame) bool {
	return func(f frame) bool { return f.Event == event && f.Channel == channel }
}

// isMember matches member_added or member_removed of user on channel.
func isMember(event, channel, user string) func(frame) bool {
	return func(f frame) bool { return f.Event == event && f.Channel == channel && f.userOf() == user }
}

// watchlistHas matches a watchlist frame that reports user with name
// ("online" or "offline").
func watchlistHas(name, user string) func(frame) bool {
	return func(f frame) bool {
		if f.Event != "pusher_internal:watchlist_events" {
			return false
		}
		var d struct {
			Events []struct {
				Name    string   `json:"name"`
				UserIDs []string `json:"user_ids"`
			} `json:"events"`
		}
		if f.decode(&d) != nil {
			return false
		}
		for _, e := range d.Events {
			if e.Name != name {
				continue
			}
			for _, id := range e.UserIDs {
				if id == user {
					return true
				}
			}
		}
		return false
	}
}
