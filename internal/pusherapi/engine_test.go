package pusherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
)

// fakeEngine records what the API asks of the engine and answers queries
// from a table the test fills. The real hub gets wire tests of its own.
type fakeEngine struct {
	mu         sync.Mutex
	apps       map[string]*pusher.App
	published  []hub.Event
	state      map[string]hub.ChannelInfo // channel → info
	members    map[string][]string        // presence channel → user ids
	terminated []string
	failWith   error // returned by every engine call when set
}

func newFakeEngine() *fakeEngine {
	enabled := &pusher.App{ID: "1", Key: "app-key", Secret: "app-secret", Enabled: true, Limits: pusher.DefaultLimits()}
	disabled := &pusher.App{ID: "2", Key: "key-2", Secret: "secret-2", Enabled: false, Limits: pusher.DefaultLimits()}
	// The documentation's worked example (protocol reference §6.1).
	docs := &pusher.App{ID: "3", Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8", Enabled: true, Limits: pusher.DefaultLimits()}
	return &fakeEngine{
		apps:    map[string]*pusher.App{"1": enabled, "2": disabled, "3": docs},
		state:   map[string]hub.ChannelInfo{},
		members: map[string][]string{},
	}
}

func (e *fakeEngine) App(id string) (*pusher.App, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.apps[id]
	return a, ok
}

func (e *fakeEngine) Publish(ctx context.Context, app *pusher.App, ev hub.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failWith != nil {
		return e.failWith
	}
	ev.Channels = append([]string(nil), ev.Channels...)
	e.published = append(e.published, ev)
	return nil
}

func (e *fakeEngine) Channel(ctx context.Context, app *pusher.App, name string) (hub.ChannelInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state[name], e.failWith
}

func (e *fakeEngine) Channels(ctx context.Context, app *pusher.App, prefix string) (map[string]hub.ChannelInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failWith != nil {
		return nil, e.failWith
	}
	var out map[string]hub.ChannelInfo // nil on purpose: the API must not answer null
	for name, ci := range e.state {
		if ci.Occupied && strings.HasPrefix(name, prefix) {
			if out == nil {
				out = map[string]hub.ChannelInfo{}
			}
			out[name] = ci
		}
	}
	return out, nil
}

func (e *fakeEngine) Users(ctx context.Context, app *pusher.App, channel string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.members[channel], e.failWith
}

func (e *fakeEngine) TerminateUser(ctx context.Context, app *pusher.App, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failWith != nil {
		return e.failWith
	}
	e.terminated = append(e.terminated, userID)
	return nil
}

func (e *fakeEngine) set(channel string, ci hub.ChannelInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.state[channel] = ci
}

func (e *fakeEngine) events() []hub.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]hub.Event(nil), e.published...)
}

func (e *fakeEngine) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failWith = err
}

// apiServer is the handler on a real listener with its fake engine.
type apiServer struct {
	engine *fakeEngine
	srv    *httptest.Server
	host   string // 127.0.0.1:port, what the SDK's Host wants
}

func newAPIServer(t *testing.T, opts Options) *apiServer {
	t.Helper()
	e := newFakeEngine()
	srv := httptest.NewServer(New(e, opts))
	t.Cleanup(srv.Close)
	return &apiServer{engine: e, srv: srv, host: strings.TrimPrefix(srv.URL, "http://")}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorText returns the "error" member of a JSON error body.
func (r response) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d: body %q is not {\"error\":…}", r.status, r.body)
	}
	return e.Error
}

// signed sends a request signed with the app's key and secret as the SDKs
// do: the query string unescaped, body_md5 over the exact body.
func (s *apiServer) signed(t *testing.T, method, path string, params pusher.Query, body []byte, key, secret string, at time.Time) response {
	t.Helper()
	return s.raw(t, method, path, pusher.SignRequest(method, path, params, body, key, secret, at), body)
}

// call signs with app 1's credentials and the current time.
func (s *apiServer) call(t *testing.T, method, path string, params pusher.Query, body []byte) response {
	t.Helper()
	return s.signed(t, method, path, params, body, "app-key", "app-secret", time.Now())
}

// raw sends a request with the given raw query, unchanged.
func (s *apiServer) raw(t *testing.T, method, path, rawQuery string, body []byte) response {
	t.Helper()
	u := s.srv.URL + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: body %q is not JSON", method, path, b)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}
