package api

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

type ctxKey int

const (
	requestIDKey ctxKey = iota
	actorKey
)

// requestIDFrom keeps a well-formed incoming X-Request-Id (so a proxy's id
// correlates) and otherwise makes one.
func requestIDFrom(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && safeID(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
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

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// statusWriter records the status and size for the access log.
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
func (a *API) logAccess(r *http.Request, w *statusWriter, start time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" {
		route = "unrouted"
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("request_id", requestID(r.Context())),
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
func (a *API) notRouted(w http.ResponseWriter, r *http.Request) {
	h, _ := a.mux.Handler(r)
	cw := &captureWriter{header: http.Header{}}
	h.ServeHTTP(cw, r)
	if cw.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", cw.header.Get("Allow"))
		a.writeError(w, r, errorf(codeMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, cw.header.Get("Allow"))))
		return
	}
	a.writeError(w, r, errorf(codeNotFound, "no such endpoint"))
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

// actorHandler is a handler that runs for a verified caller.
type actorHandler func(w http.ResponseWriter, r *http.Request, actor messenger.Actor)

// authed verifies the bearer token and passes the caller on; anything
// wrong with the token is a 401 with WWW-Authenticate.
func (a *API) authed(h actorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.cfg.Verifier.Authenticate(r)
		if err != nil {
			a.writeError(w, r, errorf(codeUnauthorized, authMessage(err)))
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.userID = id.UserID
		}
		h(w, r, messenger.Actor{UserID: id.UserID, Role: messenger.Role(id.Role), Name: id.Name})
	})
}

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

func typeName(v any) string { return fmt.Sprintf("%T", v) }
