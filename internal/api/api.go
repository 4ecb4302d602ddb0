package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/docs"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
)

// Messenger is what the HTTP edge needs from the domain; *messenger.Service
// implements it.
type Messenger interface {
	CreateThread(ctx context.Context, actor messenger.Actor, in messenger.NewThread) (*messenger.Thread, error)
	GetThread(ctx context.Context, actor messenger.Actor, threadID string) (*messenger.Thread, error)
	ListThreads(ctx context.Context, actor messenger.Actor, cursor string, limit int) (*messenger.ThreadPage, error)
	SendMessage(ctx context.Context, actor messenger.Actor, threadID string, in messenger.NewMessage) (*messenger.Message, bool, error)
	ListMessages(ctx context.Context, actor messenger.Actor, threadID string, q messenger.MessageQuery) (*messenger.MessagePage, error)
	EditMessage(ctx context.Context, actor messenger.Actor, threadID, messageID, content string) (*messenger.Message, error)
	DeleteMessage(ctx context.Context, actor messenger.Actor, threadID, messageID string) (*messenger.Message, error)
	MarkRead(ctx context.Context, actor messenger.Actor, threadID string, seq int64) (*messenger.Receipt, error)
	Sync(ctx context.Context, actor messenger.Actor, cursor string, limit int) (*messenger.SyncPage, error)
	Wait(ctx context.Context, userID, cursor string) error
	IsParticipant(ctx context.Context, userID, threadID string) (bool, error)
	SharesThread(ctx context.Context, a, b string) (bool, error)
	Partners(ctx context.Context, userID string) ([]string, error)
	GetUser(ctx context.Context, userID string) (*messenger.User, error)
	Touch(ctx context.Context, actor messenger.Actor) error
}

var _ Messenger = (*messenger.Service)(nil)

// Publisher triggers an event on real-time channels. Typing indicators go
// through it directly: they are ephemeral and never stored.
type Publisher interface {
	Publish(ctx context.Context, channels []string, event string, data []byte) error
}

// Config configures the HTTP edge. Zero values take the documented
// defaults; Messenger, Verifier, AppKey and AppSecret are required.
type Config struct {
	Messenger Messenger
	Verifier  *auth.Verifier
	// Publisher receives typing-start/typing-stop; nil disables the typing
	// endpoint's events (the endpoint still validates and answers 204).
	Publisher Publisher

	// AppKey and AppSecret sign channel and user authorizations for the
	// Pusher app the messenger publishes on.
	AppKey    string
	AppSecret string
	// EncryptionMasterKey (32 bytes) enables private-encrypted-thread-{id}
	// with a per-channel shared_secret; nil refuses those channels.
	EncryptionMasterKey []byte

	// MaxBodyBytes bounds JSON and form request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// TypingTTL is how long after the last refresh typing-stop is sent.
	// Default 5s.
	TypingTTL time.Duration
	// MaxSyncWait caps the wait of GET /api/v1/sync. Default 30s.
	MaxSyncWait time.Duration
	// SendRate (messages per second) and SendBurst bound each user's sends
	// with a token bucket. Defaults 10/s and 30; a negative SendRate
	// disables the limit.
	SendRate  float64
	SendBurst int
	// MaxChannelNameLength for channel auth. Default 164 (Pusher's).
	MaxChannelNameLength int
	// MaxWatchlist caps the watchlist in user-auth. Default 100 (Pusher's).
	MaxWatchlist int

	// Logger receives the access log and internal errors. Default
	// slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.TypingTTL <= 0 {
		c.TypingTTL = 5 * time.Second
	}
	if c.MaxSyncWait <= 0 {
		c.MaxSyncWait = 30 * time.Second
	}
	if c.SendRate == 0 {
		c.SendRate = 10
	}
	if c.SendBurst <= 0 {
		c.SendBurst = 30
	}
	if c.MaxChannelNameLength <= 0 {
		c.MaxChannelNameLength = 164
	}
	if c.MaxWatchlist <= 0 {
		c.MaxWatchlist = 100
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// API serves the messenger's HTTP endpoints.
type API struct {
	cfg    Config
	svc    Messenger
	log    *slog.Logger
	edge   *httpx.Edge
	typing *typing
	sends  *rateLimiter

	// base is cancelled by Close so that long-polls end at shutdown
	// instead of holding http.Server.Shutdown for up to MaxSyncWait.
	base      context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// New returns the handler for /api/v1/... and /api/pusher/....
func New(cfg Config) (*API, error) {
	cfg.setDefaults()
	var errs []error
	if cfg.Messenger == nil {
		errs = append(errs, errors.New("api: Messenger is required"))
	}
	if cfg.Verifier == nil {
		errs = append(errs, errors.New("api: Verifier is required"))
	}
	if cfg.AppKey == "" || cfg.AppSecret == "" {
		errs = append(errs, errors.New("api: AppKey and AppSecret are required to sign channel authorizations"))
	}
	if cfg.EncryptionMasterKey != nil && len(cfg.EncryptionMasterKey) != 32 {
		errs = append(errs, errors.New("api: EncryptionMasterKey must be 32 bytes"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := &API{cfg: cfg, svc: cfg.Messenger, log: cfg.Logger.With("component", "api")}
	mux := http.NewServeMux()
	a.edge = httpx.New(mux, cfg.Verifier, a.log)
	a.base, a.cancel = context.WithCancel(context.Background())
	a.typing = newTyping(cfg.Publisher, cfg.TypingTTL, a.log)
	a.sends = newRateLimiter(cfg.SendRate, cfg.SendBurst)
	for _, rt := range a.routeTable() {
		mux.Handle(rt.Pattern, rt.handler)
	}
	return a, nil
}

// Close ends pending long-polls and typing timers. Idempotent; waits for
// the typing-stop events it sends.
func (a *API) Close() error {
	a.closeOnce.Do(func() {
		a.cancel()
		a.typing.close()
	})
	return nil
}

// route is one registered endpoint.
type route struct {
	Pattern string // "METHOD /path/{param}"
	handler http.Handler
}

// Routes lists the registered patterns. The OpenAPI test walks them and
// checks each one is documented.
func (a *API) Routes() []string {
	var out []string
	for _, rt := range a.routeTable() {
		out = append(out, rt.Pattern)
	}
	return out
}

func (a *API) routeTable() []route {
	return []route{
		{"GET /api/v1/openapi.yaml", http.HandlerFunc(serveOpenAPI)},
		{"GET /api/v1/me", a.edge.Authed(a.me)},
		{"POST /api/v1/threads", a.edge.Authed(a.createThread)},
		{"GET /api/v1/threads", a.edge.Authed(a.listThreads)},
		{"GET /api/v1/threads/{id}", a.edge.Authed(a.getThread)},
		{"POST /api/v1/threads/{id}/messages", a.edge.Authed(a.sendMessage)},
		{"GET /api/v1/threads/{id}/messages", a.edge.Authed(a.listMessages)},
		{"PATCH /api/v1/threads/{id}/messages/{mid}", a.edge.Authed(a.editMessage)},
		{"DELETE /api/v1/threads/{id}/messages/{mid}", a.edge.Authed(a.deleteMessage)},
		{"POST /api/v1/threads/{id}/read", a.edge.Authed(a.markRead)},
		{"POST /api/v1/threads/{id}/typing", a.edge.Authed(a.setTyping)},
		{"GET /api/v1/sync", a.edge.Authed(a.sync)},
		{"POST /api/pusher/auth", a.edge.Authed(a.channelAuth)},
		{"POST /api/pusher/user-auth", a.edge.Authed(a.userAuth)},
	}
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(docs.OpenAPI)
}

// ServeHTTP serves the endpoints through the shared edge: request id,
// access log, panic recovery and JSON 404/405.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.edge.ServeHTTP(w, r) }
