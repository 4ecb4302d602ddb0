package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// Config configures a Hub. Zero values take the defaults documented on
// each field.
type Config struct {
	Apps []*pusher.App
	// NodeID names this node in connection keys ("node/socket"); default a
	// random id. It must be unique in a cluster.
	NodeID string
	// Frame wraps an encoded Pusher frame for the transport (the WebSocket
	// framing); default identity.
	Frame func(payload []byte) []byte
	// ActivityTimeout is sent to clients and is how long the hub waits for
	// inbound traffic before it pings a client; default 120 s.
	ActivityTimeout time.Duration
	// PongTimeout is how long a pinged client has to answer; default 30 s.
	PongTimeout time.Duration
	// SweepInterval is how often liveness and authorization deadlines are
	// checked; default 1 s. One sweep replaces a timer per connection.
	SweepInterval time.Duration
	// SubscriptionCountInterval throttles subscription_count for channels
	// with more than 100 subscribers; default 5 s as Pusher.
	SubscriptionCountInterval time.Duration
	// Broker and State make the hub one node of a cluster; default memory
	// (a single node).
	Broker Broker
	State  State
	// Observer receives webhook events; UserObserver learns when a user's
	// last signed-in connection closes. Both optional.
	Observer     Observer
	UserObserver UserObserver
	Metrics      *Metrics
	Logger       *slog.Logger
}

// UserObserver learns about signed-in users going offline cluster-wide.
type UserObserver interface {
	UserOffline(app *pusher.App, userID string)
}

// Hub is one node's real-time engine.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	byID   map[string]*appState
	byKey  map[string]*appState
	state  State
	broker Broker

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closing atomic.Bool
	once    sync.Once
}

// New validates cfg and returns a hub; call Open to start it.
func New(cfg Config) (*Hub, error) {
	if len(cfg.Apps) == 0 {
		return nil, errors.New("hub: at least one app is required")
	}
	if cfg.NodeID == "" {
		cfg.NodeID = pusher.NewSocketID()
	}
	if cfg.Frame == nil {
		cfg.Frame = func(p []byte) []byte { return p }
	}
	if cfg.ActivityTimeout <= 0 {
		cfg.ActivityTimeout = 120 * time.Second
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = 30 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Second
	}
	if cfg.SubscriptionCountInterval <= 0 {
		cfg.SubscriptionCountInterval = 5 * time.Second
	}
	if cfg.State == nil {
		cfg.State = NewMemoryState()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = &Metrics{}
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, byID: map[string]*appState{}, byKey: map[string]*appState{}, state: cfg.State, broker: cfg.Broker}
	for _, app := range cfg.Apps {
		if app.ID == "" || app.Key == "" || app.Secret == "" {
			return nil, errors.New("hub: every app needs an id, a key and a secret")
		}
		if h.byID[app.ID] != nil || h.byKey[app.Key] != nil {
			return nil, errors.New("hub: duplicate app id or key " + app.ID)
		}
		a := newAppState(h, app)
		h.byID[app.ID] = a
		h.byKey[app.Key] = a
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Open starts the sweeper and the broker's receive loop.
func (h *Hub) Open() error {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.sweepLoop()
	}()
	if h.broker != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := h.broker.Run(h.ctx, h.deliverRemote); err != nil && h.ctx.Err() == nil {
				h.log.Error("broker stopped", "err", err)
			}
		}()
	}
	return nil
}

// Shutdown closes every connection with 4200 so clients reconnect to
// another node, then stops the hub. It is idempotent and waits.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.closing.Store(true)
	for _, a := range h.byID {
		for _, cl := range a.allClients() {
			cl.closeWith(pusher.ErrShuttingDown)
		}
	}
	h.once.Do(h.cancel)
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close is Shutdown without a deadline.
func (h *Hub) Close() error { return h.Shutdown(context.Background()) }

// NodeID returns this node's id.
func (h *Hub) NodeID() string { return h.cfg.NodeID }

// ActivityTimeout is the value sent to clients.
func (h *Hub) ActivityTimeout() time.Duration { return h.cfg.ActivityTimeout }

// App returns the app with the given id.
func (h *Hub) App(id string) (*pusher.App, bool) {
	a := h.byID[id]
	if a == nil {
		return nil, false
	}
	return a.app, true
}

// Connections returns the number of open connections on this node.
func (h *Hub) Connections() int {
	n := 0
	for _, a := range h.byID {
		n += int(a.conns.Load())
	}
	return n
}

func (h *Hub) appOf(app *pusher.App) (*appState, error) {
	a := h.byID[app.ID]
	if a == nil {
		return nil, errors.New("hub: unknown app " + app.ID)
	}
	return a, nil
}

// frame returns the transport framing of payload.
func (h *Hub) frame(payload []byte) []byte { return h.cfg.Frame(payload) }

// connKey names a connection cluster-wide.
func (h *Hub) connKey(socketID string) string { return h.cfg.NodeID + "/" + socketID }

// observe reports a webhook event.
func (h *Hub) observe(app *pusher.App, e pusher.WebhookEvent) {
	if h.cfg.Observer != nil {
		h.cfg.Observer.Observe(app, e)
	}
}

// stateCtx bounds a State call made on behalf of a client frame.
func (h *Hub) stateCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, 5*time.Second)
}

// Metrics returns the hub's counters.
func (h *Hub) Metrics() *Metrics { return h.cfg.Metrics }
