package hub

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// Client is one connection's protocol state.
type Client struct {
	hub      *Hub
	app      *appState
	conn     Conn
	socketID string

	lastActive atomic.Int64 // unix nanos of the last inbound traffic
	pingedAt   atomic.Int64 // unix nanos of an unanswered server ping, or 0
	opened     int64
	closed     atomic.Bool
	closing    atomic.Bool // a close was requested

	mu     sync.Mutex
	subs   map[string]*subscription
	userID string // signed in as, or ""
	// userKnown is whether the State confirmed the sign-in, so watchers
	// were told if it was the user's first connection. A sign-in during a
	// State outage is announced when the State takes it back (Arrived).
	userKnown  bool
	authorized bool      // signed in or holds a private/presence subscription
	signed     *signedIn // user_info and watchlist of a signed-in connection
	rateSecond int32     // low bits of the unix second of rateCount
	rateCount  int32     // client events in that second
}

// signedIn is what only a signed-in connection holds; most connections
// never sign in, so it lives behind a pointer to keep Client small (the
// per-socket memory budget is about 2 KiB).
type signedIn struct {
	userInfo  json.RawMessage
	watchlist []string
}

// key names this connection in the cluster State: "node/socket". It is
// derived rather than stored; it is needed only on subscription changes.
func (cl *Client) key() string { return cl.hub.connKey(cl.socketID) }

type subscription struct {
	kind       pusher.Channel
	member     string          // presence: the member's user id
	memberInfo json.RawMessage // presence: the member's user_info
}

// Connect starts a client for a connection that asked for app key with
// the given query. On a bad key, a disabled app, a bad protocol or a full
// app it sends pusher:error, closes the connection and returns nil.
func (h *Hub) Connect(c Conn, appKey string, query pusher.Query) *Client {
	reject := func(e *pusher.Error) *Client {
		h.cfg.Metrics.Rejected.Add(1)
		c.Send(h.frame(pusher.ErrorFrame(e.Code, e.Message)))
		c.Close(e.Code, e.Message)
		return nil
	}
	if h.closing.Load() {
		return reject(pusher.ErrShuttingDown)
	}
	a := h.byKey[appKey]
	if a == nil {
		return reject(pusher.ErrAppNotFound)
	}
	if !a.app.Enabled {
		return reject(pusher.ErrAppDisabled)
	}
	proto, ok := query["protocol"]
	if err := pusher.CheckProtocol(proto, ok); err != nil {
		return reject(err)
	}
	if max := a.app.Limits.MaxConnections; max > 0 && a.conns.Load() >= int64(max) {
		return reject(pusher.ErrOverQuota)
	}
	now := time.Now().UnixNano()
	cl := &Client{hub: h, app: a, conn: c, socketID: pusher.NewSocketID(), opened: now}
	cl.lastActive.Store(now)
	a.mu.Lock()
	a.clients[cl] = struct{}{}
	a.mu.Unlock()
	a.conns.Add(1)
	h.cfg.Metrics.Connections.Add(1)
	cl.send(pusher.ConnectionEstablished(cl.socketID, int(h.cfg.ActivityTimeout/time.Second)))
	return cl
}

// SocketID returns the client's socket id.
func (cl *Client) SocketID() string { return cl.socketID }

// Touch records inbound traffic that is not a text message (WebSocket
// ping and pong frames).
func (cl *Client) Touch() {
	cl.lastActive.Store(time.Now().UnixNano())
	cl.pingedAt.Store(0)
}

// Receive handles one text message from the client. The transport calls
// it serially for one client.
func (cl *Client) Receive(msg []byte) {
	cl.Touch()
	if cl.closed.Load() {
		return
	}
	in, err := pusher.ParseInbound(msg)
	if err != nil {
		cl.sendError(0, err.Error())
		return
	}
	switch in.Event {
	case pusher.EventPing:
		cl.send(pusher.PongFrame)
	case pusher.EventPong:
	case pusher.EventSubscribe:
		cl.subscribe(in.Data)
	case pusher.EventUnsubscribe:
		cl.unsubscribeFrame(in.Data)
	case pusher.EventSignin:
		cl.signin(in.Data)
	default:
		if pusher.IsClientEvent(in.Event) {
			cl.clientEvent(in)
		}
		// Other events, pusher:* included, are ignored as the protocol
		// recommends: newer clients may send events this server predates.
	}
}

// Closed releases everything the client held. The transport calls it once
// when the socket is gone.
func (cl *Client) Closed() {
	if cl.closed.Swap(true) {
		return
	}
	a := cl.app
	a.mu.Lock()
	delete(a.clients, cl)
	a.mu.Unlock()
	a.conns.Add(-1)

	cl.mu.Lock()
	subs := cl.subs
	cl.subs = nil
	user := cl.userID
	var watchlist []string
	if cl.signed != nil {
		watchlist = cl.signed.watchlist
	}
	cl.mu.Unlock()

	ctx, cancel := cl.hub.stateCtx()
	defer cancel()
	for name, s := range subs {
		cl.leave(ctx, name, s)
	}
	if user != "" {
		cl.signout(ctx, user, watchlist)
	}
}

// send frames and queues one payload for this client.
func (cl *Client) send(payload []byte) {
	cl.conn.Send(cl.hub.frame(payload))
}

func (cl *Client) sendError(code int, msg string) {
	cl.send(pusher.ErrorFrame(code, msg))
}

// closeWith sends pusher:error and closes with the error's code.
func (cl *Client) closeWith(e *pusher.Error) {
	if cl.closing.Swap(true) {
		return
	}
	cl.send(pusher.ErrorFrame(e.Code, e.Message))
	cl.conn.Close(e.Code, e.Message)
}

// publish delivers a payload on a channel locally and to other nodes.
func (h *Hub) publish(ctx context.Context, a *appState, channel string, payload []byte, except string) {
	a.deliverLocal(channel, h.frame(payload), except)
	h.toBroker(ctx, Publication{Kind: PubEvent, App: a.app.ID, Channel: channel, Payload: payload, Except: except})
}

func (h *Hub) toBroker(ctx context.Context, p Publication) {
	if h.broker == nil {
		return
	}
	if err := h.broker.Publish(ctx, p); err != nil {
		h.cfg.Metrics.BrokerErrors.Add(1)
		h.log.Warn("broker publish failed", "app", p.App, "kind", p.Kind, "err", err)
	}
}

// deliverRemote handles a publication from another node.
func (h *Hub) deliverRemote(p Publication) {
	a := h.byID[p.App]
	if a == nil {
		return
	}
	switch p.Kind {
	case PubEvent:
		if pusher.Classify(p.Channel).Kind == pusher.ServerToUser {
			a.deliverUser(p.Channel[len(pusher.ServerToUserPrefix):], h.frame(p.Payload), p.Except)
			return
		}
		a.deliverLocal(p.Channel, h.frame(p.Payload), p.Except)
	case PubUserOnline, PubUserOffline:
		a.notifyWatchers(p.UserID, p.Kind == PubUserOnline)
	case PubTerminate:
		for _, c := range a.userClients(p.UserID) {
			c.closeWith(pusher.ErrTerminated)
		}
	}
}
