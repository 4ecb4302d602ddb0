package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/pusher"
)

// Client is one WebSocket connection to the target, after the protocol's
// handshake. Subscribe is called before Run; SendSubscribe/SendUnsubscribe
// while Run reads.
type Client struct {
	t      *Target
	ws     *wsConn
	ID     string // Pusher socket_id or Centrifugo client id
	UserID string
	cmdID  atomic.Uint32
}

// MsgKind classifies what Run received.
type MsgKind int

const (
	MsgOther      MsgKind = iota
	MsgBench              // a benchmark publish; Stamp is set
	MsgJoin               // presence member added / Centrifugo join
	MsgLeave              // presence member removed / Centrifugo leave
	MsgSubscribed         // subscription succeeded (asynchronous subscribe)
	MsgError              // pusher:error, subscription error or Centrifugo error reply
)

// Msg is one received message. Raw is valid only during the callback.
type Msg struct {
	Kind  MsgKind
	Stamp stamp
	Raw   []byte
	At    int64 // receive time, Unix nanoseconds
}

// Connect dials the target and completes the handshake: Pusher's
// connection_established, or Centrifugo's connect command (with a token
// for userID when the target has a token secret).
func Connect(ctx context.Context, t *Target, src net.IP, userID string) (*Client, error) {
	w, err := dialWS(ctx, t.wsURL(), src)
	if err != nil {
		return nil, err
	}
	c := &Client{t: t, ws: w, UserID: userID}
	if dl, ok := ctx.Deadline(); ok {
		_ = w.conn.SetReadDeadline(dl)
	}
	if err := c.handshake(); err != nil {
		_ = w.close()
		return nil, err
	}
	_ = w.conn.SetReadDeadline(time.Time{})
	return c, nil
}

func (c *Client) handshake() error {
	if c.t.Protocol == ProtoCentrifugo {
		connect := map[string]any{"name": "parley-bench"}
		if c.t.TokenSecret != "" {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"sub": c.UserID, "exp": time.Now().Add(24 * time.Hour).Unix(),
			}).SignedString([]byte(c.t.TokenSecret))
			if err != nil {
				return err
			}
			connect["token"] = tok
		}
		id := c.cmdID.Add(1)
		if err := c.sendJSON(map[string]any{"id": id, "connect": connect}); err != nil {
			return err
		}
		var reply struct {
			ID      uint32 `json:"id"`
			Connect *struct {
				Client string `json:"client"`
			} `json:"connect"`
			Error *centrifugoError `json:"error"`
		}
		if err := c.awaitReply(id, &reply); err != nil {
			return err
		}
		if reply.Error != nil {
			return fmt.Errorf("centrifugo connect: %d %s", reply.Error.Code, reply.Error.Message)
		}
		c.ID = reply.Connect.Client
		return nil
	}
	for {
		m, err := c.ws.readMessage()
		if err != nil {
			return err
		}
		var f struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(m, &f); err != nil {
			return fmt.Errorf("pusher handshake: %w", err)
		}
		switch f.Event {
		case "pusher:connection_established":
			var d struct {
				SocketID string `json:"socket_id"`
			}
			if err := pusher.DecodeData(f.Data, &d); err != nil {
				return fmt.Errorf("connection_established data: %w", err)
			}
			c.ID = d.SocketID
			return nil
		case "pusher:error":
			return fmt.Errorf("pusher error before connect: %s", f.Data)
		}
	}
}

type centrifugoError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// awaitReply reads Centrifugo messages (several per frame, one per line)
// until the reply with id arrives; used only before Run.
func (c *Client) awaitReply(id uint32, v any) error {
	for {
		m, err := c.ws.readMessage()
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(m, []byte{'\n'}) {
			if rid, ok := numberAfter(line, []byte(`"id`)); ok && uint32(rid) == id {
				return json.Unmarshal(line, v)
			}
		}
	}
}

func (c *Client) sendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.ws.writeText(b)
}

// channelAuth signs a private or presence subscription the way an app's
// auth endpoint would, with the app secret.
func (c *Client) channelAuth(channel, channelData string) string {
	return pusher.ChannelAuth(c.t.AppKey, c.t.AppSecret, c.ID, channel, channelData)
}

// SendSubscribe sends a subscription request without waiting for the
// answer; Run reports it as MsgSubscribed or MsgError. For Pusher private
// and presence channels it signs the request; channelData is the presence
// member JSON.
func (c *Client) SendSubscribe(channel, channelData string) (uint32, error) {
	if c.t.Protocol == ProtoCentrifugo {
		id := c.cmdID.Add(1)
		return id, c.sendJSON(map[string]any{"id": id, "subscribe": map[string]any{"channel": channel}})
	}
	data := map[string]string{"channel": channel}
	if ch := pusher.Classify(channel); ch.NeedsAuth() {
		data["auth"] = c.channelAuth(channel, channelData)
		if channelData != "" {
			data["channel_data"] = channelData
		}
	}
	return 0, c.sendJSON(map[string]any{"event": "pusher:subscribe", "data": data})
}

// SendUnsubscribe leaves a channel.
func (c *Client) SendUnsubscribe(channel string) error {
	if c.t.Protocol == ProtoCentrifugo {
		return c.sendJSON(map[string]any{"id": c.cmdID.Add(1), "unsubscribe": map[string]any{"channel": channel}})
	}
	return c.sendJSON(map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": channel}})
}

// Subscribe subscribes and waits for the answer; call it before Run.
func (c *Client) Subscribe(ctx context.Context, channel, channelData string) error {
	id, err := c.SendSubscribe(channel, channelData)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.ws.conn.SetReadDeadline(dl)
		defer c.ws.conn.SetReadDeadline(time.Time{})
	}
	if c.t.Protocol == ProtoCentrifugo {
		var reply struct {
			Error *centrifugoError `json:"error"`
		}
		if err := c.awaitReply(id, &reply); err != nil {
			return err
		}
		if reply.Error != nil {
			return fmt.Errorf("subscribe %s: %d %s", channel, reply.Error.Code, reply.Error.Message)
		}
		return nil
	}
	quoted := []byte(strconv.Quote(channel))
	for {
		m, err := c.ws.readMessage()
		if err != nil {
			return err
		}
		if !bytes.Contains(m, quoted) && !bytes.Contains(m, []byte("pusher:error")) {
			continue
		}
		switch {
		case bytes.Contains(m, []byte("pusher_internal:subscription_succeeded")):
			return nil
		case bytes.Contains(m, []byte("pusher:subscription_error")), bytes.Contains(m, []byte("pusher:error")):
			return fmt.Errorf("subscribe %s: %s", channel, m)
		}
	}
}

var (
	pusherPing = []byte(`"pusher:ping"`)
	pusherPong = []byte(`{"event":"pusher:pong","data":{}}`)
)

// Run reads until the connection ends, passing each message to fn; it
// answers protocol pings itself. It returns the read error (a *CloseError
// when the server closed the connection, net.ErrClosed after Close).
func (c *Client) Run(fn func(Msg)) error {
	for {
		m, err := c.ws.readMessage()
		if err != nil {
			return err
		}
		at := nowNano()
		if c.t.Protocol == ProtoCentrifugo {
			for len(m) > 0 {
				line := m
				if i := bytes.IndexByte(m, '\n'); i >= 0 {
					line, m = m[:i], m[i+1:]
				} else {
					m = nil
				}
				if err := c.dispatchCentrifugo(line, at, fn); err != nil {
					return err
				}
			}
			continue
		}
		if bytes.Contains(m, pusherPing) && len(m) < 100 {
			if err := c.ws.writeText(pusherPong); err != nil {
				return err
			}
			continue
		}
		fn(classifyPusher(m, at))
	}
}

func classifyPusher(m []byte, at int64) Msg {
	if s, ok := parseStamp(m); ok {
		return Msg{Kind: MsgBench, Stamp: s, Raw: m, At: at}
	}
	kind := MsgOther
	switch {
	case bytes.Contains(m, []byte("pusher_internal:member_added")):
		kind = MsgJoin
	case bytes.Contains(m, []byte("pusher_internal:member_removed")):
		kind = MsgLeave
	case bytes.Contains(m, []byte("pusher_internal:subscription_succeeded")):
		kind = MsgSubscribed
	case bytes.Contains(m, []byte("pusher:error")), bytes.Contains(m, []byte("pusher:subscription_error")):
		kind = MsgError
	}
	return Msg{Kind: kind, Raw: m, At: at}
}

func (c *Client) dispatchCentrifugo(line []byte, at int64, fn func(Msg)) error {
	if len(line) == 0 {
		return nil
	}
	if bytes.Equal(line, []byte("{}")) {
		return c.ws.writeText([]byte("{}")) // ping → pong
	}
	if s, ok := parseStamp(line); ok {
		fn(Msg{Kind: MsgBench, Stamp: s, Raw: line, At: at})
		return nil
	}
	kind := MsgOther
	switch {
	case bytes.Contains(line, []byte(`"join":`)):
		kind = MsgJoin
	case bytes.Contains(line, []byte(`"leave":`)):
		kind = MsgLeave
	case bytes.Contains(line, []byte(`"error":`)):
		kind = MsgError
	case bytes.Contains(line, []byte(`"subscribe":`)):
		kind = MsgSubscribed
	}
	fn(Msg{Kind: kind, Raw: line, At: at})
	return nil
}

// SendClientEvent sends a Pusher client event (client-*) on a channel.
func (c *Client) SendClientEvent(channel, event, data string) error {
	return c.sendJSON(map[string]any{"event": event, "channel": channel, "data": data})
}

// Close closes the connection; Run then returns.
func (c *Client) Close() error { return c.ws.close() }
