package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
)

var _ hub.Observer = (*Sender)(nil)

// Options configure a Sender. Zero values take the documented defaults.
type Options struct {
	// Client sends the POSTs. Nil: a client of the Sender's own with
	// Timeout per attempt and redirects not followed (a redirected POST
	// would turn into a GET).
	Client *http.Client
	// Timeout bounds one POST attempt when Client is nil. Default 10 s.
	Timeout time.Duration
	// QueueSize bounds the events waiting per receiver. Default 1024.
	QueueSize int
	// MaxHeld bounds the vacate/remove events being held; beyond it they
	// are sent at once instead. Default 100 000.
	MaxHeld int
	// HoldFor is how long channel_vacated and member_removed wait for the
	// channel or member to come back. Default 3 s (Pusher's delay).
	HoldFor time.Duration
	// BatchWindow is how long a batching receiver's worker gathers events
	// after the first one. Default 50 ms.
	BatchWindow time.Duration
	// MaxBatch caps the events in one batched POST. Default 100.
	MaxBatch int
	// RetryFor is how long a failing POST is retried. Default 5 min.
	RetryFor time.Duration
	// RetryBase is the first retry delay; each retry doubles it, up to
	// RetryMax, with up to 25 % jitter taken off. Defaults 1 s and 60 s.
	RetryBase, RetryMax time.Duration
	// CloseTimeout is how long Close waits for queued events to go out.
	// Default 5 s.
	CloseTimeout time.Duration
	// Logger reports abandoned deliveries. Nil = slog.Default().
	Logger *slog.Logger
	// Now stamps time_ms. Nil = time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 10*time.Second)
	def(&o.HoldFor, 3*time.Second)
	def(&o.BatchWindow, 50*time.Millisecond)
	def(&o.RetryFor, 5*time.Minute)
	def(&o.RetryBase, time.Second)
	def(&o.RetryMax, time.Minute)
	def(&o.CloseTimeout, 5*time.Second)
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = 100_000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 100
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Stats are cumulative event counts (not POSTs, except Posts).
type Stats struct {
	Queued    int64 // accepted into a receiver's queue
	Delivered int64 // acknowledged with 2xx
	Posts     int64 // successful POSTs (a batch is one)
	Retries   int64 // failed attempts that were retried
	Failed    int64 // given up after RetryFor or at Close
	Dropped   int64 // refused: queue full, or the Sender not open
	Cancelled int64 // vacate/occupy or remove/add pairs that cancelled out
}

type counters struct {
	queued, delivered, posts, retries, failed, dropped, cancelled atomic.Int64
}

// Sender is a hub.Observer that delivers webhooks. Create it with New,
// start it with Open, stop it with Close.
type Sender struct {
	opts      Options
	client    *http.Client
	ownClient bool
	stats     counters

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards everything below
	state   int        // stateNew, stateOpen, stateClosed
	held    map[holdKey]*heldEvent
	workers map[workerKey]*worker
}

const (
	stateNew = iota
	stateOpen
	stateClosed
)

// holdKey names what a held event waits for: a channel (user "") or a
// presence member.
type holdKey struct {
	app, channel, user string
	member             bool
}

type heldEvent struct {
	app   *pusher.App
	e     pusher.WebhookEvent
	timer *time.Timer
}

// New returns a Sender that is not yet running.
func New(opts Options) *Sender {
	opts.defaults()
	s := &Sender{
		opts:    opts,
		client:  opts.Client,
		held:    map[holdKey]*heldEvent{},
		workers: map[workerKey]*worker{},
	}
	if s.client == nil {
		s.ownClient = true
		s.client = &http.Client{
			Timeout:       opts.Timeout,
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// ErrOpen is returned by Open on a Sender already opened or closed.
var ErrOpen = errors.New("webhook: sender already opened")

// Open starts accepting events. Workers start lazily, one per receiver.
func (s *Sender) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return ErrOpen
	}
	s.state = stateOpen
	return nil
}

// Close stops accepting events, sends the held ones at once, and waits up
// to CloseTimeout for the queues to drain; then it aborts what is left
// (counted as Failed) and waits for the workers to exit. Idempotent.
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.state = stateClosed
	// Shutting down disconnects everyone; telling receivers the channels
	// emptied beats leaving them believing they are occupied.
	for k, h := range s.held {
		h.timer.Stop()
		delete(s.held, k)
		s.route(h.app, h.e)
	}
	for _, w := range s.workers {
		close(w.q)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(s.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	s.cancel()
	<-done
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}

// Stats returns the counters so far.
func (s *Sender) Stats() Stats {
	c := &s.stats
	return Stats{
		Queued: c.queued.Load(), Delivered: c.delivered.Load(), Posts: c.posts.Load(),
		Retries: c.retries.Load(), Failed: c.failed.Load(), Dropped: c.dropped.Load(),
		Cancelled: c.cancelled.Load(),
	}
}

// Held reports how many vacate/remove events are waiting out HoldFor.
func (s *Sender) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Observe takes one webhook event from the hub. It never blocks: it holds
// s.mu only for map updates and non-blocking channel sends, and it calls
// nothing outside this package, so the hub may call it under its locks.
func (s *Sender) Observe(app *pusher.App, e pusher.WebhookEvent) {
	if app == nil || len(app.Webhooks) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		s.stats.dropped.Add(1)
		return
	}
	switch e.Name {
	case pusher.HookChannelVacated, pusher.HookMemberRemoved:
		k := keyOf(app, e)
		if _, waiting := s.held[k]; waiting {
			return // a second vacate with no occupy between: already held
		}
		if len(s.held) >= s.opts.MaxHeld {
			s.route(app, e)
			return
		}
		h := &heldEvent{app: app, e: e}
		h.timer = time.AfterFunc(s.opts.HoldFor, func() { s.release(k, h) })
		s.held[k] = h
	case pusher.HookChannelOccupied, pusher.HookMemberAdded:
		k := keyOf(app, e)
		if h, waiting := s.held[k]; waiting {
			// Back within the delay: the receiver never learns it left.
			h.timer.Stop()
			delete(s.held, k)
			s.stats.cancelled.Add(1)
			return
		}
		s.route(app, e)
	default:
		s.route(app, e)
	}
}

func keyOf(app *pusher.App, e pusher.WebhookEvent) holdKey {
	switch e.Name {
	case pusher.HookMemberAdded, pusher.HookMemberRemoved:
		return holdKey{app: app.ID, channel: e.Channel, user: e.UserID, member: true}
	}
	return holdKey{app: app.ID, channel: e.Channel}
}

// release sends a held event whose delay ran out, unless it was cancelled
// or flushed meanwhile (then the map no longer holds this very event).
func (s *Sender) release(k holdKey, h *heldEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[k] != h || s.state != stateOpen {
		return
	}
	delete(s.held, k)
	s.route(h.app, h.e)
}

// route queues e for every receiver of app that wants it. Called with
// s.mu held; queues are closed only under s.mu, so sends cannot panic.
func (s *Sender) route(app *pusher.App, e pusher.WebhookEvent) {
	for _, hook := range app.Webhooks {
		if hook.URL == "" || !hook.Wants(e.Name) {
			continue
		}
		w := s.worker(app, hook)
		select {
		case w.q <- item{key: app.Key, secret: app.Secret, e: e}:
			s.stats.queued.Add(1)
		default:
			s.stats.dropped.Add(1)
		}
	}
}

// worker returns the receiver's worker, starting it on first use. Called
// with s.mu held, before Close closes the queues (route runs only while
// open, or from Close's flush, which precedes closing them).
func (s *Sender) worker(app *pusher.App, hook pusher.Webhook) *worker {
	k := workerKey{app: app.ID, url: hook.URL, batch: hook.Batch}
	if w, ok := s.workers[k]; ok {
		return w
	}
	w := &worker{s: s, key: k, q: make(chan item, s.opts.QueueSize)}
	s.workers[k] = w
	s.wg.Add(1)
	go w.run()
	return w
}
