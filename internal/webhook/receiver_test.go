package webhook

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	pushersdk "github.com/pusher/pusher-http-go/v5"
	"go.uber.org/goleak"

	"github.com/parleyhq/parley/internal/pusher"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testKey    = "278d425bdf160c739803"
	testSecret = "7ad3773142a6692b25b8"
)

// post is one request a receiver accepted, as the official SDK read it.
type post struct {
	at     time.Time
	header http.Header
	body   []byte
	events []pushersdk.WebhookEvent
}

// receiver is a local webhook endpoint that verifies every POST with
// pusher-http-go's own verifier (client.Webhook) and records it.
type receiver struct {
	srv      *httptest.Server
	verifier *pushersdk.Client

	mu        sync.Mutex
	posts     []post
	attempts  []time.Time // every request, failed ones included
	failFirst int         // answer 500 to this many requests
	failAll   bool
	rejected  []error // SDK verification failures
	block     chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{verifier: &pushersdk.Client{AppID: "1", Key: testKey, Secret: testSecret}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// blocking makes every request hang until the returned release is called
// (also at cleanup, which runs before the server closes).
func (r *receiver) blocking(t *testing.T) (release func()) {
	r.block = make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(r.block) }) }
	t.Cleanup(release)
	return release
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.block != nil {
		<-r.block
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, time.Now())
	if r.failAll || len(r.attempts) <= r.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	hook, err := r.verifier.Webhook(req.Header, body)
	if err != nil {
		r.rejected = append(r.rejected, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.posts = append(r.posts, post{at: time.Now(), header: req.Header.Clone(), body: body, events: hook.Events})
}

func (r *receiver) snapshot() (posts []post, attempts []time.Time, rejected []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]post(nil), r.posts...), append([]time.Time(nil), r.attempts...), append([]error(nil), r.rejected...)
}

// events returns every event received so far, in arrival order.
func (r *receiver) events() []pushersdk.WebhookEvent {
	posts, _, _ := r.snapshot()
	var out []pushersdk.WebhookEvent
	for _, p := range posts {
		out = append(out, p.events...)
	}
	return out
}

func (r *receiver) hook(types ...string) pusher.Webhook {
	return pusher.Webhook{URL: r.srv.URL + "/hook", EventTypes: types}
}

func testApp(hooks ...pusher.Webhook) *pusher.App {
	return &pusher.App{ID: "1", Key: testKey, Secret: testSecret, Enabled: true, Webhooks: hooks}
}

// openSender starts a Sender with fast test timings and closes it at cleanup.
func openSender(t *testing.T, opts Options) *Sender {
	t.Helper()
	if opts.HoldFor == 0 {
		opts.HoldFor = 150 * time.Millisecond
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 10 * time.Millisecond
	}
	if opts.CloseTimeout == 0 {
		opts.CloseTimeout = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := New(opts)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func names(evs []pushersdk.WebhookEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Name + ":" + e.Channel
		if e.UserID != "" {
			out[i] += ":" + e.UserID
		}
	}
	return out
}
