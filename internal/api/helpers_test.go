package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/syncbuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql keeps one opener goroutine per DB until Close; the
		// store closes them, but the SQLite driver's finalizers may linger.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

var testSecret = []byte("api-test-secret-api-test-secret-0123456789")

const (
	appKey    = "app-key"
	appSecret = "app-secret"
)

// published is one event the API or the messenger's relay published.
type published struct {
	Channels []string
	Event    string
	Data     []byte
}

// recorder is the Publisher in tests: it stands where the hub would and
// records what reached it.
type recorder struct {
	mu     sync.Mutex
	events []published
}

func (r *recorder) Publish(_ context.Context, channels []string, event string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, published{append([]string(nil), channels...), event, append([]byte(nil), data...)})
	return nil
}

func (r *recorder) snapshot() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]published(nil), r.events...)
}

// waitFor polls until an event matching pred has been published and
// returns its index and value.
func (r *recorder) waitFor(t *testing.T, what string, pred func(published) bool) (int, published) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, e := range r.snapshot() {
			if pred(e) {
				return i, e
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; published: %d events", what, len(r.snapshot()))
	return 0, published{}
}

type env struct {
	t      testing.TB
	srv    *httptest.Server
	api    *API
	svc    *messenger.Service
	pub    *recorder
	tokens map[string]string
	logs   *syncbuf.Buffer
}

// Users of every test: pat and doc share threads; eve is an outsider
// patient, drx an outsider provider, svc the host backend.
var users = map[string]auth.Identity{
	"pat": {UserID: "pat", Role: auth.RolePatient, Name: "Pat Patient"},
	"doc": {UserID: "doc", Role: auth.RoleProvider, Name: "Dr Doc"},
	"eve": {UserID: "eve", Role: auth.RolePatient, Name: "Eve Outsider"},
	"drx": {UserID: "drx", Role: auth.RoleProvider, Name: "Dr X"},
	"svc": {UserID: "svc", Role: auth.RoleService, Name: "Host Backend"},
}

// newEnv runs the API over the real messenger service on a real SQLite
// store, with a recording publisher in place of the hub.
func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "parley.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	pub := &recorder{}
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	svc := messenger.NewService(store, messenger.Config{Publisher: pub, Logger: logger, RelayPoll: 20 * time.Millisecond})
	if err := svc.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	ver, err := auth.New(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Messenger: svc, Verifier: ver, Publisher: pub,
		AppKey: appKey, AppSecret: appSecret,
		EncryptionMasterKey: bytes.Repeat([]byte{7}, 32),
		SendRate:            -1,
		Logger:              logger,
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = a.Close() }) // runs first: ends long-polls
	e := &env{t: t, srv: srv, api: a, svc: svc, pub: pub, tokens: map[string]string{}, logs: logs}
	for name, id := range users {
		tok, err := auth.Issue(testSecret, id.UserID, id.Role, id.Name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[name] = tok
	}
	return e
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errCode returns the code of a JSON error body, failing if it is not one.
func (r response) errCode(t testing.TB) string {
	t.Helper()
	// {"error":{"code","message"}}, spelled out here so a change to the
	// wire shape fails the tests (encoding/json matches keys by name).
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("status %d: body is not a JSON error: %q", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type = %q", ct)
	}
	return b.Error.Code
}

// do sends a request as user ("" = no token). body may be a string (sent
// raw) or a value (sent as JSON).
func (e *env) do(user, method, path string, body any, contentType ...string) response {
	e.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil && ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (e *env) must(status int, r response) response {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	return r
}

// thread makes pat and doc known and opens a thread between them.
func (e *env) thread() string {
	e.t.Helper()
	for _, u := range []string{"pat", "doc", "eve", "drx"} {
		e.must(200, e.do(u, "GET", "/api/v1/me", nil))
	}
	var th messenger.Thread
	e.must(201, e.do("pat", "POST", "/api/v1/threads", map[string]any{
		"subject": "Follow-up", "participants": []map[string]string{{"id": "doc"}},
	})).decode(e.t, &th)
	if th.ID == "" || len(th.Participants) != 2 {
		e.t.Fatalf("thread = %+v", th)
	}
	return th.ID
}

func (e *env) send(user, threadID, clientID, content string) messenger.Message {
	e.t.Helper()
	var m messenger.Message
	e.must(201, e.do(user, "POST", "/api/v1/threads/"+threadID+"/messages", map[string]string{"clientId": clientID, "content": content})).decode(e.t, &m)
	return m
}

// urlEscape encodes like encodeURIComponent, as pusher-js does.
func urlEscape(s string) string { return url.QueryEscape(s) }

// doHeader sends a request with a raw Authorization header.
func (e *env) doHeader(method, path, authorization string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("X-Request-Id", "client-id-1")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if got := res.Header.Get("X-Request-Id"); got != "client-id-1" {
		e.t.Fatalf("X-Request-Id not echoed: %q", got)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

type fuzzAPI struct {
	api   *API
	token string
}

// newFuzzAPI builds the API on the real service for fuzz targets, which
// get a *testing.F rather than a *testing.T.
func newFuzzAPI(f *testing.F) fuzzAPI {
	f.Helper()
	var out fuzzAPI
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(f.TempDir(), "parley.db"), sqlstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	svc := messenger.NewService(store, messenger.Config{Logger: slog.New(slog.DiscardHandler)})
	ver, err := auth.New(auth.Config{Secret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	a, err := New(Config{Messenger: svc, Verifier: ver, AppKey: appKey, AppSecret: appSecret, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Close() })
	out.api = a
	out.token, err = auth.Issue(testSecret, "pat", auth.RolePatient, "Pat", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	return out
}
