package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/messenger"
)

// Edge wraps a ServeMux with what every messenger endpoint needs: request
// id, access log, panic recovery, JSON errors and bearer authentication.
type Edge struct {
	mux      *http.ServeMux
	verifier *auth.Verifier
	log      *slog.Logger
}

// New returns an Edge serving mux. Register handlers on mux, wrapping the
// authenticated ones with Authed; then serve the Edge, not the mux. log
// receives the access log and internal errors; nil means slog.Default().
func New(mux *http.ServeMux, v *auth.Verifier, log *slog.Logger) *Edge {
	if log == nil {
		log = slog.Default()
	}
	return &Edge{mux: mux, verifier: v, log: log}
}

type ctxKey struct{}

// RequestID returns the id Edge gave the request ("" outside an Edge).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// requestIDFrom keeps a well-formed incoming X-Request-Id (so a proxy's id
// correlates) and otherwise makes one.
func requestIDFrom(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && safeID(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

func safeID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ServeHTTP adds a request id, the access log and panic recovery, and
// turns the mux's own 404/405 answers into JSON errors.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestIDFrom(r)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	w.Header().Set("X-Request-Id", id)
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			// The panic value may hold request data: log its type only.
			e.log.LogAttrs(r.Context(), slog.LevelError, "panic in handler",
				slog.String("request_id", id), slog.String("route", r.Pattern), slog.String("panic_type", fmt.Sprintf("%T", p)))
			if rec.status == 0 {
				e.WriteError(rec, r, NewError(messenger.EINTERNAL, "Internal error."))
			}
		}
		e.logAccess(r, rec, start)
	}()
	if _, pattern := e.mux.Handler(r); pattern == "" {
		e.notRouted(rec, r)
		return
	}
	e.mux.ServeHTTP(rec, r) // sets r.Pattern, which the access log reads
}

// statusWriter records the status, size and caller for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	userID string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logAccess writes one line per request: no bodies, no query string (it
// may hold cursors), no message content; the route pattern stands in for
// the path so ids are not repeated in every line.
func (e *Edge) logAccess(r *http.Request, w *statusWriter, start time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" {
		route = "unrouted"
	}
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("request_id", RequestID(r.Context())),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", w.bytes),
		slog.Duration("duration", time.Since(start)),
		slog.String("user_id", w.userID),
	)
}

// notRouted answers what the mux would answer (404, or 405 with Allow) as
// a JSON error.
func (e *Edge) notRouted(w http.ResponseWriter, r *http.Request) {
	h, _ := e.mux.Handler(r)
	cw := &captureWriter{header: http.Header{}}
	h.ServeHTTP(cw, r)
	if cw.status == http.StatusMethodNotAllowed {
		allow := cw.header.Get("Allow")
		w.Header().Set("Allow", allow)
		e.WriteError(w, r, NewError(CodeMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, allow)))
		return
	}
	e.WriteError(w, r, NewError(messenger.ENOTFOUND, "no such endpoint"))
}

// captureWriter swallows the mux's plain-text error page.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}

// ActorHandler is a handler that runs for a verified caller.
type ActorHandler func(w http.ResponseWriter, r *http.Request, actor messenger.Actor)

// Authed verifies the bearer token and passes the caller on; anything
// wrong with the token is a 401 with WWW-Authenticate.
func (e *Edge) Authed(h ActorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := e.verifier.Authenticate(r)
		if err != nil {
			e.WriteError(w, r, NewError(messenger.EUNAUTHORIZED, authMessage(err)))
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.userID = id.UserID
		}
		h(w, r, messenger.Actor{UserID: id.UserID, Role: messenger.Role(id.Role), Name: id.Name})
	})
}

// authMessage tells the client what is wrong with its credentials without
// echoing any of them.
func authMessage(err error) string {
	switch {
	case errors.Is(err, auth.ErrNoToken):
		return "missing bearer token: send Authorization: Bearer <JWT>"
	case errors.Is(err, auth.ErrMalformed):
		return "malformed Authorization header: want Bearer <JWT>"
	case errors.Is(err, auth.ErrExpired):
		return "token expired"
	case errors.Is(err, auth.ErrNotYetValid):
		return "token not valid yet"
	case errors.Is(err, auth.ErrInvalidClaims):
		// The claim errors name which claim is wrong, never its value.
		return err.Error()
	}
	return "invalid token"
}
