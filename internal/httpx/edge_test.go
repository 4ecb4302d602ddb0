package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// logRecorder is a slog.Handler that keeps every record as a flat map.
type logRecorder struct {
	mu   sync.Mutex
	recs []map[string]any
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { panic("httpx does not call With") }
func (h *logRecorder) WithGroup(string) slog.Handler            { panic("httpx does not call WithGroup") }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Resolve().Any()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, m)
	return nil
}

// find returns the last record satisfying pred, or nil.
func (h *logRecorder) find(pred func(map[string]any) bool) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.recs) - 1; i >= 0; i-- {
		if pred(h.recs[i]) {
			return h.recs[i]
		}
	}
	return nil
}

// String is every record, for failure messages and for checking what
// must never be logged.
func (h *logRecorder) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprint(h.recs)
}

type env struct {
	t    *testing.T
	edge *httpx.Edge
	log  *logRecorder
}

// response is what the Edge answered; errorBody decodes the
// {"error":{"code","message"}} shape, failing the test on anything else.
type response struct{ *httptest.ResponseRecorder }

func (r response) errorBody(t *testing.T) (code, msg string) {
	t.Helper()
	// {"error":{"code","message"}}; encoding/json matches keys by name.
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("status %d: not a JSON error: %q", r.Code, r.Body)
	}
	if ct := r.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cc := r.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control = %q", cc)
	}
	return b.Error.Code, b.Error.Message
}

func newEnv(t *testing.T) *env {
	t.Helper()
	v, err := auth.New(auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logRecorder{}
	mux := http.NewServeMux()
	edge := httpx.New(mux, v, slog.New(logs))
	mux.Handle("GET /me/{id}", edge.Authed(func(w http.ResponseWriter, r *http.Request, a messenger.Actor) {
		edge.WriteJSON(w, r, http.StatusOK, a)
	}))
	mux.HandleFunc("GET /code/{code}", func(w http.ResponseWriter, r *http.Request) {
		edge.WriteError(w, r, httpx.NewError(r.PathValue("code"), "edge says no"))
	})
	mux.HandleFunc("GET /domain", func(w http.ResponseWriter, r *http.Request) {
		edge.WriteError(w, r, messenger.Errorf(messenger.ECONFLICT, "already %s", "done"))
	})
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		edge.WriteError(w, r, errors.New("db: connection to 10.0.0.7 refused"))
	})
	mux.HandleFunc("GET /nan", func(w http.ResponseWriter, r *http.Request) {
		edge.WriteJSON(w, r, http.StatusOK, math.NaN())
	})
	mux.HandleFunc("POST /panic", func(http.ResponseWriter, *http.Request) {
		panic("content of message 42")
	})
	return &env{t: t, edge: edge, log: logs}
}

// do serves one request; the Edge has logged its access line on return.
func (e *env) do(method, path string, header map[string]string) response {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.edge.ServeHTTP(rec, req)
	return response{rec}
}

func bearer(t *testing.T, claims jwt.MapClaims) map[string]string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestNotRoutedIsJSON(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/nowhere", nil)
	if code, _ := r.errorBody(t); r.Code != 404 || code != messenger.ENOTFOUND {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	r = e.do("DELETE", "/me/u1", nil)
	code, msg := r.errorBody(t)
	if r.Code != 405 || code != httpx.CodeMethodNotAllowed || r.Header().Get("Allow") != "GET, HEAD" || !strings.Contains(msg, "DELETE") {
		t.Fatalf("%d Allow %q %s", r.Code, r.Header().Get("Allow"), r.Body.Bytes())
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	if got := e.do("GET", "/nowhere", map[string]string{"X-Request-Id": "proxy-id_1.2"}).Header().Get("X-Request-Id"); got != "proxy-id_1.2" {
		t.Fatalf("well-formed id not kept: %q", got)
	}
	made := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for _, bad := range []string{"", "has space", "quote\"", strings.Repeat("a", 65)} {
		got := e.do("GET", "/nowhere", map[string]string{"X-Request-Id": bad}).Header().Get("X-Request-Id")
		if !made.MatchString(got) {
			t.Fatalf("incoming %q: id %q", bad, got)
		}
	}
}

func TestAuthed(t *testing.T) {
	e := newEnv(t)
	exp := time.Now().Add(time.Hour).Unix()
	cases := []struct {
		name      string
		header    map[string]string
		challenge string
		msg       string
	}{
		{"no header", nil, `Bearer realm="parley"`, "missing bearer token: send Authorization: Bearer <JWT>"},
		{"other scheme", map[string]string{"Authorization": "Basic dTpw"}, `Bearer realm="parley", error="invalid_token"`, "malformed Authorization header: want Bearer <JWT>"},
		{"garbage", map[string]string{"Authorization": "Bearer abc.def.ghi"}, `Bearer realm="parley", error="invalid_token"`, "invalid token"},
		{"expired", bearer(t, jwt.MapClaims{"sub": "u1", "role": "patient", "name": "P", "exp": time.Now().Add(-time.Hour).Unix()}), `Bearer realm="parley", error="invalid_token"`, "token expired"},
		{"bad claim", bearer(t, jwt.MapClaims{"sub": "u1", "role": "admin", "name": "P", "exp": exp}), `Bearer realm="parley", error="invalid_token"`, "invalid token claims: role must be patient, provider or service"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", "/me/u1", c.header)
			code, msg := r.errorBody(t)
			if r.Code != 401 || code != messenger.EUNAUTHORIZED || msg != c.msg || r.Header().Get("WWW-Authenticate") != c.challenge {
				t.Fatalf("%d %q %s", r.Code, r.Header().Get("WWW-Authenticate"), r.Body.Bytes())
			}
		})
	}

	r := e.do("GET", "/me/u1?cursor=secret-cursor", bearer(t, jwt.MapClaims{"sub": "u1", "role": "provider", "name": "Dr P", "exp": exp}))
	var a messenger.Actor
	if err := json.Unmarshal(r.Body.Bytes(), &a); err != nil || r.Code != 200 || a != (messenger.Actor{UserID: "u1", Role: messenger.RoleProvider, Name: "Dr P"}) {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	access := e.log.find(func(l map[string]any) bool { return l["msg"] == "http request" && l["status"] == int64(200) })
	if access == nil || access["route"] != "GET /me/{id}" || access["user_id"] != "u1" || access["request_id"] != r.Header().Get("X-Request-Id") {
		t.Fatalf("access log: %v", access)
	}
	if s := e.log.String(); strings.Contains(s, "secret-cursor") || strings.Contains(s, "Dr P") {
		t.Fatalf("log holds the query or the name: %s", s)
	}
}

func TestStatusTable(t *testing.T) {
	e := newEnv(t)
	for code, want := range map[string]int{
		messenger.EINVALID: 400, messenger.EUNAUTHORIZED: 401, messenger.EFORBIDDEN: 403, messenger.ENOTFOUND: 404,
		messenger.ECONFLICT: 409, messenger.ETOOLARGE: 413, messenger.EQUOTA: 429, messenger.EINTERNAL: 500,
		httpx.CodeMethodNotAllowed: 405, httpx.CodeUnsupportedMedia: 415, httpx.CodeRateLimited: 429, httpx.CodeImageTooLarge: 422,
	} {
		if s, ok := httpx.Status(code); !ok || s != want {
			t.Errorf("Status(%q) = %d, %v", code, s, ok)
		}
		r := e.do("GET", "/code/"+code, nil)
		if got, _ := r.errorBody(t); r.Code != want || got != code {
			t.Errorf("%s: %d %s", code, r.Code, r.Body.Bytes())
		}
	}
	// A code the table does not know is a bug: 500, without the code.
	r := e.do("GET", "/code/made_up", nil)
	if code, msg := r.errorBody(t); r.Code != 500 || code != messenger.EINTERNAL || msg != "Internal error." {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	r = e.do("GET", "/domain", nil)
	if code, msg := r.errorBody(t); r.Code != 409 || code != messenger.ECONFLICT || msg != "already done" {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	// Other errors are logged and hidden.
	r = e.do("GET", "/plain", nil)
	if code, msg := r.errorBody(t); r.Code != 500 || code != messenger.EINTERNAL || msg != "Internal error." {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	if !strings.Contains(e.log.String(), "10.0.0.7 refused") {
		t.Fatal("internal error not logged")
	}
	r = e.do("GET", "/nan", nil)
	if code, _ := r.errorBody(t); r.Code != 500 || code != messenger.EINTERNAL || !strings.Contains(e.log.String(), "response does not encode") {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/panic", nil)
	if code, msg := r.errorBody(t); r.Code != 500 || code != messenger.EINTERNAL || msg != "Internal error." {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	if e.log.find(func(l map[string]any) bool {
		return l["msg"] == "panic in handler" && l["panic_type"] == "string" && l["route"] == "POST /panic"
	}) == nil || e.log.find(func(l map[string]any) bool {
		return l["msg"] == "http request" && l["status"] == int64(500) && l["route"] == "POST /panic"
	}) == nil {
		t.Fatalf("logs: %s", e.log)
	}
	if strings.Contains(e.log.String(), "message 42") {
		t.Fatal("panic value logged")
	}
}

func TestRequestIDOutsideEdge(t *testing.T) {
	if id := httpx.RequestID(httptest.NewRequest("GET", "/", nil).Context()); id != "" {
		t.Fatalf("RequestID = %q", id)
	}
}
