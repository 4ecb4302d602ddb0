package redisbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleyhq/parley/internal/hub"
)

// Options configure an Engine.
type Options struct {
	// URL is a Redis URL, e.g. redis://127.0.0.1:6379/0.
	URL string
	// NodeID must be unique in the cluster; it names this node's facts.
	NodeID string
	// Prefix namespaces every key and the pub/sub topic; default "parley".
	Prefix string
	// HeartbeatTTL is how long a silent node counts as alive; default 15 s.
	// A dead node's presence is reaped within HeartbeatTTL + ReapInterval.
	HeartbeatTTL time.Duration
	// ReapInterval is how often nodes look for dead peers; default 5 s.
	ReapInterval time.Duration
	Logger       *slog.Logger
}

// Hooks connect the engine to the hub after both exist.
type Hooks struct {
	// Forget announces facts reaped from dead nodes or found stale.
	Forget func(ctx context.Context, g hub.Gone)
	// Entries lists the local node's live facts (hub.Hub.Entries).
	Entries func() []hub.Entry
	// Arrived announces a sign-in restored after an outage that made the
	// user newly online (hub.Hub.Arrived).
	Arrived func(ctx context.Context, e hub.Entry)
}

// Engine is hub.Broker and hub.State on Redis.
type Engine struct {
	opts  Options
	rdb   *redis.Client
	log   *slog.Logger
	topic string

	hooks atomic.Pointer[Hooks]
	up    atomic.Bool // Redis answered the last health check
	// lastRunID is the Redis server's run_id; only maintain touches it.
	lastRunID string

	outages   atomic.Int64
	published atomic.Int64
	received  atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	// selfReap runs the restart cleanup once, from SetHooks.
	selfReap sync.Once
}

var (
	_ hub.Broker = (*Engine)(nil)
	_ hub.State  = (*Engine)(nil)
)

// ErrUnavailable is returned while Redis does not answer, at once rather
// than after a network timeout, so local clients are not held up.
var ErrUnavailable = errors.New("redis unavailable")

// Open connects, checks Redis answers, reaps this node id's facts left by
// an earlier run, and starts the heartbeat and the reaper.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.NodeID == "" {
		return nil, errors.New("redisbroker: NodeID is required")
	}
	if opts.Prefix == "" {
		opts.Prefix = "parley"
	}
	if opts.HeartbeatTTL <= 0 {
		opts.HeartbeatTTL = 15 * time.Second
	}
	if opts.ReapInterval <= 0 {
		opts.ReapInterval = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: %w", err)
	}
	// go-redis logs dial failures through the standard logger; the engine
	// reports outages itself, once, through slog.
	redis.SetLogger(quietLogger{})
	ro.DialTimeout = 2 * time.Second
	ro.ReadTimeout = 2 * time.Second
	ro.WriteTimeout = 2 * time.Second
	e := &Engine{opts: opts, rdb: redis.NewClient(ro), log: opts.Logger, topic: opts.Prefix + ":pub"}
	e.hooks.Store(&Hooks{})
	if err := e.rdb.Ping(ctx).Err(); err != nil {
		e.rdb.Close()
		return nil, fmt.Errorf("redisbroker: %w", err)
	}
	e.up.Store(true)
	e.lastRunID = e.runID(ctx)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if err := e.heartbeat(ctx); err != nil {
		e.rdb.Close()
		return nil, err
	}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); e.maintain() }()
	return e, nil
}

// SetHooks wires the hub once it exists. The first call drops what an
// earlier run under this node id left, now that the departures can be
// announced through h.Forget.
func (e *Engine) SetHooks(h Hooks) {
	e.hooks.Store(&h)
	e.selfReap.Do(func() { e.reapNode(e.ctx, e.opts.NodeID) })
}

// Close stops the background work, removes this node's facts (a clean
// leave), and closes the connection. Idempotent.
func (e *Engine) Close() error {
	var err error
	e.once.Do(func() {
		e.cancel()
		e.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		e.reapNode(ctx, e.opts.NodeID)
		e.rdb.SRem(ctx, e.key("nodes"), e.opts.NodeID)
		e.rdb.Del(ctx, e.nodeKey(e.opts.NodeID, "alive"))
		err = e.rdb.Close()
	})
	return err
}

// Stats are counters for the metrics endpoint.
type Stats struct {
	Up        bool
	Outages   int64
	Published int64
	Received  int64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Up: e.up.Load(), Outages: e.outages.Load(), Published: e.published.Load(), Received: e.received.Load()}
}

func (e *Engine) key(parts ...string) string {
	return e.opts.Prefix + ":" + strings.Join(parts, ":")
}

func (e *Engine) nodeKey(node, what string) string { return e.key("node", node, what) }

// check fails fast while Redis is known to be down.
func (e *Engine) check() error {
	if !e.up.Load() {
		return ErrUnavailable
	}
	return nil
}

// maintain heartbeats, watches Redis health, reaps dead nodes and
// reconciles after an outage.
func (e *Engine) maintain() {
	beat := time.NewTicker(e.opts.HeartbeatTTL / 3)
	defer beat.Stop()
	reap := time.NewTicker(e.opts.ReapInterval)
	defer reap.Stop()
	health := time.NewTicker(500 * time.Millisecond)
	defer health.Stop()
	backoff := 500 * time.Millisecond
	var nextTry time.Time
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-beat.C:
			if e.up.Load() {
				if err := e.heartbeat(e.ctx); err != nil {
					e.log.Warn("redis heartbeat failed", "err", err)
				}
				// A Redis that restarted between two health checks lost
				// every fact without ever looking down.
				if id := e.runID(e.ctx); id != "" && id != e.lastRunID {
					if e.lastRunID != "" {
						e.log.Warn("redis restarted: restoring this node's state")
						e.reconcile(e.ctx)
					}
					e.lastRunID = id
				}
			}
		case <-reap.C:
			if e.up.Load() {
				e.reapDead(e.ctx)
			}
		case now := <-health.C:
			if now.Before(nextTry) {
				continue
			}
			ctx, cancel := context.WithTimeout(e.ctx, time.Second)
			err := e.rdb.Ping(ctx).Err()
			cancel()
			switch {
			case err != nil && e.up.Load():
				e.up.Store(false)
				e.outages.Add(1)
				e.log.Error("redis unreachable: serving local clients only", "err", err)
				backoff = 500 * time.Millisecond
				nextTry = now.Add(backoff)
			case err != nil:
				backoff = min(backoff*2, 10*time.Second)
				nextTry = now.Add(backoff)
			case !e.up.Load():
				e.log.Info("redis reachable again: reconciling this node's state")
				if err := e.heartbeat(e.ctx); err == nil {
					e.up.Store(true)
					e.reconcile(e.ctx)
				}
			}
		}
	}
}

// runID returns the Redis server's run_id, which changes on restart.
func (e *Engine) runID(ctx context.Context) string {
	info, err := e.rdb.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "run_id:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (e *Engine) heartbeat(ctx context.Context) error {
	pipe := e.rdb.Pipeline()
	pipe.SAdd(ctx, e.key("nodes"), e.opts.NodeID)
	pipe.Set(ctx, e.nodeKey(e.opts.NodeID, "alive"), time.Now().UnixMilli(), e.opts.HeartbeatTTL)
	_, err := pipe.Exec(ctx)
	return err
}

// fact is how a node lists one of its facts; JSON keeps any user id or
// channel name unambiguous.
type fact struct {
	K    hub.EntryKind   `json:"k"`
	App  string          `json:"a"`
	Ch   string          `json:"c,omitempty"`
	User string          `json:"u,omitempty"`
	Conn string          `json:"n"`
	Info json.RawMessage `json:"i,omitempty"`
}

func (f fact) String() string {
	f.Info = nil // the index names a fact; its info lives in the members hash
	b, _ := json.Marshal(f)
	return string(b)
}

// nodeOf returns the node part of a "node/socket" connection key.
func nodeOf(conn string) string {
	node, _, _ := strings.Cut(conn, "/")
	return node
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
