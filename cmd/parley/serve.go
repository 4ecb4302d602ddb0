package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/pusherapi"
	"github.com/parleyhq/parley/internal/redisbroker"
	"github.com/parleyhq/parley/internal/webhook"
	"github.com/parleyhq/parley/internal/ws"
	"github.com/parleyhq/parley/web"
)

// Main is one running server: every component, wired. Tests run it in
// process; main runs it until a signal.
type Main struct {
	Config config.Config
	Log    *slog.Logger

	hub       *hub.Hub
	redis     *redisbroker.Engine
	webhooks  *webhook.Sender
	offline   offlineTracker // records lastSeen; wraps the webhook observer
	jwtSecret []byte         // HS256 secret, for demo tokens
	ws        *ws.Server
	http      *http.Server
	listener  net.Listener
	ready     atomic.Bool
	closers   []func(context.Context) error // run in reverse order on Close
}

// NewMain loads the configuration from args and the environment.
func NewMain(args []string, getenv func(string) string, stderr io.Writer) (*Main, error) {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return nil, err
	}
	return &Main{Config: cfg, Log: newLogger(cfg, stderr)}, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Open binds the listener synchronously and starts serving.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	apps := cfg.PusherApps()

	engine, err := m.openEngine(ctx, apps)
	if err != nil {
		m.closeAll()
		return err
	}
	mux := http.NewServeMux()
	m.routes(mux, engine)
	if err := m.openMessenger(ctx, mux, apps); err != nil {
		m.closeAll()
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		m.closeAll()
		return err
	}
	m.listener = ln
	m.http = &http.Server{
		// Browser apps on the origins in cors_origins may call /api/.
		Handler:           httpx.NewCORS("/api/", cfg.CORSOriginList()).Wrap(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("http server stopped", "err", err)
		}
	}()
	m.ready.Store(true)
	m.Log.Info("parley listening", "addr", ln.Addr().String(), "apps", len(apps), "version", version)
	return nil
}

// Addr is the bound address (useful with port 0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

// openEngine starts the hub, its transport and the webhook sender.
func (m *Main) openEngine(ctx context.Context, apps []*pusher.App) (*hub.Hub, error) {
	cfg := m.Config
	hcfg := hub.Config{
		Apps:            apps,
		NodeID:          cfg.NodeID,
		Frame:           ws.TextFrame,
		ActivityTimeout: cfg.ActivityTimeout,
		PongTimeout:     cfg.PongTimeout,
		Logger:          m.Log,
	}
	if err := m.openCluster(ctx, &hcfg); err != nil {
		return nil, err
	}
	if err := m.openWebhooks(&hcfg); err != nil {
		return nil, err
	}
	m.offline.next, m.offline.log = hcfg.Observer, m.Log
	hcfg.Observer, hcfg.UserObserver = &m.offline, &m.offline
	h, err := hub.New(hcfg)
	if err != nil {
		return nil, err
	}
	if err := h.Open(); err != nil {
		return nil, err
	}
	m.hub = h
	m.wireCluster(h)
	srv, err := ws.NewServer(ws.Config{MaxMessageSize: cfg.MaxMessageBytes, SendQueue: cfg.SendQueue}, sessions{hub: h, prefix: cfg.WSPathPrefix}, m.Log)
	if err != nil {
		_ = h.Close()
		return nil, err
	}
	m.ws = srv
	// Closers run in reverse: the hub first closes every socket with 4200,
	// then the transport flushes those close frames and stops.
	m.closers = append(m.closers, srv.Shutdown, h.Shutdown)
	return h, nil
}

// routes mounts the engine's endpoints and the operational ones.
func (m *Main) routes(mux *http.ServeMux, h *hub.Hub) {
	prefix := strings.TrimRight(m.Config.WSPathPrefix, "/")
	mux.Handle(prefix+"/app/", m.ws)
	mux.Handle("/apps/", pusherapi.New(h, pusherapi.Options{Logger: m.Log, OnRequest: apiMetrics.observe}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if !m.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "starting or draining\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	// Built on first scrape: the messenger opens after the routes exist.
	var metrics http.Handler
	var metricsOnce sync.Once
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		metricsOnce.Do(func() { metrics = m.metricsHandler() })
		metrics.ServeHTTP(w, r)
	})
	mux.Handle("/", web.Handler())
}

// Close drains: readiness goes false, every socket is closed with 4200,
// then the HTTP server and the stores stop, all within ShutdownTimeout.
func (m *Main) Close() error {
	m.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	if m.http != nil {
		// Shutdown does not wait for hijacked WebSockets; the hub closes them.
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, m.closeAllCtx(ctx))
	m.Log.Info("parley stopped")
	return errors.Join(errs...)
}

func (m *Main) closeAll() { _ = m.closeAllCtx(context.Background()) }

func (m *Main) closeAllCtx(ctx context.Context) error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	m.closers = nil
	return errors.Join(errs...)
}

// sessions adapts the hub to the transport: one hub client per socket.
type sessions struct {
	hub    *hub.Hub
	prefix string
}

func (s sessions) Open(c *ws.Conn, r *http.Request) ws.Session {
	path := strings.TrimPrefix(r.URL.Path, strings.TrimRight(s.prefix, "/"))
	key, ok := strings.CutPrefix(path, "/app/")
	if !ok || key == "" || strings.Contains(key, "/") {
		e := pusher.ErrPathNotFound
		c.Send(ws.TextFrame(pusher.ErrorFrame(e.Code, e.Message)))
		c.Close(e.Code, e.Message)
		return nil
	}
	q, err := pusher.ParseQuery(r.URL.RawQuery)
	if err != nil {
		q = pusher.Query{}
	}
	cl := s.hub.Connect(c, key, q)
	if cl == nil {
		return nil // a nil *Client must not become a non-nil Session
	}
	return cl
}
