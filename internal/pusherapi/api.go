package pusherapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
)

// Engine is what the HTTP API needs from the real-time engine. *hub.Hub
// satisfies it; tests use a recording fake.
type Engine interface {
	// App returns the app with the given id (enabled or not).
	App(id string) (*pusher.App, bool)
	// Publish queues ev for every subscriber of its channels.
	Publish(ctx context.Context, app *pusher.App, ev hub.Event) error
	// Channel answers a single channel's state, cluster-wide.
	Channel(ctx context.Context, app *pusher.App, name string) (hub.ChannelInfo, error)
	// Channels lists occupied channels whose names start with prefix.
	Channels(ctx context.Context, app *pusher.App, prefix string) (map[string]hub.ChannelInfo, error)
	// Users lists the distinct user ids of a presence channel.
	Users(ctx context.Context, app *pusher.App, channel string) ([]string, error)
	// TerminateUser closes every connection signed in as userID.
	TerminateUser(ctx context.Context, app *pusher.App, userID string) error
}

var _ Engine = (*hub.Hub)(nil)

// DefaultMaxBodyBytes caps a request body. A full batch (10 events of
// 10 KiB) can grow up to six-fold when a client JSON-escapes every byte
// (go-sdk writes '<' as \u003c), so 256 KiB would refuse legal requests.
const DefaultMaxBodyBytes = 1 << 20

// Options configure the handler. The zero value is usable.
type Options struct {
	// MaxBodyBytes caps the raw request body; larger bodies get 413.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock used for the auth_timestamp window; nil = time.Now.
	Now func() time.Time
	// Logger receives server-side failures (engine errors). Request
	// payloads are never logged. Nil = slog.Default().
	Logger *slog.Logger
	// OnRequest, if set, is called once per request with the endpoint
	// name (see the Endpoint* constants), the status code written and the
	// time spent. It must be cheap and safe for concurrent use; the lead's
	// Prometheus counters hang here.
	OnRequest func(endpoint string, status int, elapsed time.Duration)
}

// Endpoint names reported to Options.OnRequest.
const (
	EndpointEvents       = "events"
	EndpointBatchEvents  = "batch_events"
	EndpointChannels     = "channels"
	EndpointChannel      = "channel"
	EndpointChannelUsers = "channel_users"
	EndpointTerminate    = "terminate_connections"
	EndpointLegacyEvents = "channel_events" // deprecated single-channel publish
	EndpointUnknown      = "unknown"
)

// New returns the HTTP API handler. Mount it at "/apps/" on the root mux.
func New(engine Engine, opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handler{engine: engine, opts: opts}
}

type handler struct {
	engine Engine
	opts   Options
}

// request is one authenticated API call as the endpoint functions see it.
type request struct {
	app   *pusher.App
	lim   pusher.Limits
	query pusher.Query
	body  []byte
	param string // channel name or user id taken from the path
}

type endpoint struct {
	name   string
	method string
	serve  func(h *handler, ctx context.Context, req *request) (any, int, error)
}

var (
	epEvents    = endpoint{EndpointEvents, http.MethodPost, (*handler).events}
	epBatch     = endpoint{EndpointBatchEvents, http.MethodPost, (*handler).batchEvents}
	epChannels  = endpoint{EndpointChannels, http.MethodGet, (*handler).channels}
	epChannel   = endpoint{EndpointChannel, http.MethodGet, (*handler).channel}
	epUsers     = endpoint{EndpointChannelUsers, http.MethodGet, (*handler).users}
	epTerminate = endpoint{EndpointTerminate, http.MethodPost, (*handler).terminate}
	epLegacy    = endpoint{EndpointLegacyEvents, http.MethodPost, (*handler).legacyEvents}
)

// route maps the path segments after "/apps/" to an endpoint, the app id
// and the path parameter.
func route(segs []string) (ep endpoint, appID, param string, ok bool) {
	if len(segs) < 2 || segs[0] == "" {
		return ep, "", "", false
	}
	appID = segs[0]
	switch {
	case len(segs) == 2 && segs[1] == "events":
		return epEvents, appID, "", true
	case len(segs) == 2 && segs[1] == "batch_events":
		return epBatch, appID, "", true
	case len(segs) == 2 && segs[1] == "channels":
		return epChannels, appID, "", true
	case len(segs) == 3 && segs[1] == "channels":
		return epChannel, appID, segs[2], true
	case len(segs) == 4 && segs[1] == "channels" && segs[3] == "users":
		return epUsers, appID, segs[2], true
	case len(segs) == 4 && segs[1] == "channels" && segs[3] == "events":
		return epLegacy, appID, segs[2], true
	case len(segs) == 4 && segs[1] == "users" && segs[3] == "terminate_connections":
		return epTerminate, appID, segs[2], true
	}
	return ep, "", "", false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, status := h.serve(w, r)
	if h.opts.OnRequest != nil {
		h.opts.OnRequest(name, status, time.Since(start))
	}
}

// serve runs one request and returns the endpoint name and status written.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) (string, int) {
	// The signature covers the path as the client sent it.
	path := r.URL.EscapedPath()
	rest, found := strings.CutPrefix(path, "/apps/")
	if !found {
		return EndpointUnknown, writeError(w, http.StatusNotFound, "not found: the API lives under /apps/{app_id}/")
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return EndpointUnknown, writeError(w, http.StatusBadRequest, "malformed path escape")
		}
		segs[i] = u
	}
	ep, appID, param, ok := route(segs)
	if !ok {
		return EndpointUnknown, writeError(w, http.StatusNotFound, "unknown API endpoint "+r.Method+" "+path)
	}
	app, ok := h.engine.App(appID)
	if !ok || app == nil {
		return ep.name, writeError(w, http.StatusNotFound, "the app "+appID+" does not exist")
	}
	if r.Method != ep.method {
		w.Header().Set("Allow", ep.method)
		return ep.name, writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed here; use "+ep.method)
	}
	// The body is read whole and capped before anything parses it:
	// body_md5 is over the raw bytes.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return ep.name, writeError(w, http.StatusRequestEntityTooLarge, "request body is larger than the limit")
		}
		return ep.name, writeError(w, http.StatusBadRequest, "could not read the request body")
	}
	// Never r.URL.Query(): net/url drops pairs holding a raw ';', which
	// is legal in channel names and which the SDKs send unescaped.
	q, err := pusher.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return ep.name, writeError(w, http.StatusBadRequest, err.Error())
	}
	if err := pusher.VerifyRequest(r.Method, path, q, body, app.Key, app.Secret, h.opts.Now()); err != nil {
		return ep.name, writeError(w, http.StatusUnauthorized, err.Error())
	}
	if !app.Enabled {
		return ep.name, writeError(w, http.StatusForbidden, "the app "+appID+" is disabled")
	}
	req := &request{app: app, lim: limitsOf(app), query: q, body: body, param: param}
	resp, status, err := ep.serve(h, r.Context(), req)
	if err != nil {
		return ep.name, h.writeFailure(w, r, ep.name, app, err)
	}
	return ep.name, writeJSON(w, status, resp)
}

// limitsOf fills limits an app left at zero with Pusher's defaults, so a
// hand-built App cannot switch a check off by accident.
func limitsOf(app *pusher.App) pusher.Limits {
	l, d := app.Limits, pusher.DefaultLimits()
	if l.MaxChannelNameLength <= 0 {
		l.MaxChannelNameLength = d.MaxChannelNameLength
	}
	if l.MaxEventNameLength <= 0 {
		l.MaxEventNameLength = d.MaxEventNameLength
	}
	if l.MaxEventDataBytes <= 0 {
		l.MaxEventDataBytes = d.MaxEventDataBytes
	}
	if l.MaxUserIDLength <= 0 {
		l.MaxUserIDLength = d.MaxUserIDLength
	}
	if l.MaxChannelsPerEvent <= 0 {
		l.MaxChannelsPerEvent = d.MaxChannelsPerEvent
	}
	if l.MaxBatchSize <= 0 {
		l.MaxBatchSize = d.MaxBatchSize
	}
	return l
}

// apiError is a client mistake with the status that reports it.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, msg} }

// StatusError lets an Engine error choose its HTTP status (for example a
// hub refusing an event it considers malformed). Other engine errors are
// server faults and answered with 500.
type StatusError interface {
	error
	HTTPStatus() int
}

// writeFailure answers an endpoint error: client mistakes with their 4xx,
// a cancelled request with 503, anything else from the engine with 500.
func (h *handler) writeFailure(w http.ResponseWriter, r *http.Request, ep string, app *pusher.App, err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return writeError(w, ae.status, ae.msg)
	}
	var se StatusError
	if errors.As(err, &se) && se.HTTPStatus() >= 400 && se.HTTPStatus() < 600 {
		return writeError(w, se.HTTPStatus(), se.Error())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return writeError(w, http.StatusServiceUnavailable, "request cancelled or timed out")
	}
	h.opts.Logger.ErrorContext(r.Context(), "pusher api: engine failure", "endpoint", ep, "app", app.ID, "err", err)
	return writeError(w, http.StatusInternalServerError, "internal error")
}

func writeError(w http.ResponseWriter, status int, msg string) int {
	return writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Channel names and data are echoed as sent, not as \u003c escapes.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a failed write means the client left
	return status
}
