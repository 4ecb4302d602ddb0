package messenger

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

func newService(store Store, cfg Config) *Service {
	if cfg.MaxContentRunes <= 0 {
		cfg.MaxContentRunes = 4000
	}
	if cfg.MaxAttachments <= 0 {
		cfg.MaxAttachments = 10
	}
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = 50
	}
	if cfg.RelayPoll <= 0 {
		cfg.RelayPoll = 500 * time.Millisecond
	}
	if cfg.RelayLease <= 0 {
		cfg.RelayLease = 10 * time.Second
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	if cfg.NotifyDelay <= 0 {
		cfg.NotifyDelay = time.Minute
	}
	if cfg.NotifyPoll <= 0 {
		cfg.NotifyPoll = time.Second
	}
	if cfg.NotifyMaxAttempts <= 0 {
		cfg.NotifyMaxAttempts = 10
	}
	if cfg.NotifyRetryBase <= 0 {
		cfg.NotifyRetryBase = time.Second
	}
	if cfg.NotifyRetryMax <= 0 {
		cfg.NotifyRetryMax = 10 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.NodeID == "" {
		cfg.NodeID = newID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{store: store, cfg: cfg, log: cfg.Logger.With("component", "messenger"), waiters: newWaiters()}
	s.now = func() time.Time { return cfg.Now().UTC().Truncate(time.Microsecond) }
	return s
}

type lifecycle struct {
	mu     sync.Mutex
	opened bool
	closed bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *Service) open() error {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	if s.life.opened {
		return Errorf(EINTERNAL, "messenger already opened")
	}
	s.life.opened = true
	ctx, cancel := context.WithCancel(context.Background())
	s.life.cancel = cancel
	if s.cfg.Publisher != nil {
		r := newRelay(s)
		s.relay.Store(r)
		s.store.LeaseOutbox(s.cfg.NodeID, s.cfg.RelayLease, r.committed)
		s.life.wg.Add(1)
		go func() { defer s.life.wg.Done(); r.run(ctx) }()
	}
	if s.cfg.WebhookURL != "" {
		s.notify = &notifier{s: s}
		s.life.wg.Add(1)
		go func() { defer s.life.wg.Done(); s.notify.run(ctx) }()
	}
	return nil
}

func (s *Service) close() error {
	s.life.mu.Lock()
	if s.life.closed || !s.life.opened {
		s.life.closed = true
		s.life.mu.Unlock()
		return nil
	}
	s.life.closed = true
	cancel := s.life.cancel
	s.life.mu.Unlock()
	if s.relay.Load() != nil {
		// Writes from now on are left for the next relay to claim.
		s.store.LeaseOutbox("", 0, nil)
	}
	cancel()
	s.life.wg.Wait()
	return nil
}

// afterCommit wakes the relay and any long-polls of the affected users.
func (s *Service) afterCommit(users ...string) {
	if r := s.relay.Load(); r != nil {
		r.kick()
	}
	s.waiters.signal(users...)
}

// userCache remembers recent upserts so that every request does not write.
type userCache struct{ m sync.Map } // id -> userSeen

type userSeen struct {
	role Role
	name string
	at   time.Time
}

// touchEvery bounds how stale a cached upsert may be before it is redone.
const touchEvery = 5 * time.Minute

func (s *Service) touch(ctx context.Context, actor Actor) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if len(actor.Name) > 4*MaxNameRunes {
		return Errorf(EUNAUTHORIZED, "invalid identity")
	}
	now := time.Now()
	if v, ok := s.users.m.Load(actor.UserID); ok {
		u := v.(userSeen)
		if u.role == actor.Role && u.name == actor.Name && now.Sub(u.at) < touchEvery {
			return nil
		}
	}
	err := s.store.Write(ctx, func(ctx context.Context, tx Tx) error {
		return tx.UpsertUser(ctx, User{ID: actor.UserID, Role: actor.Role, Name: actor.Name})
	})
	if err != nil {
		return err
	}
	s.users.m.Store(actor.UserID, userSeen{role: actor.Role, name: actor.Name, at: now})
	return nil
}

type counters struct {
	published, publishErrors, outboxDropped                      atomic.Int64
	webhooksSent, webhookErrors, webhooksFailed, webhooksSkipped atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Published:       c.published.Load(),
		PublishErrors:   c.publishErrors.Load(),
		OutboxDropped:   c.outboxDropped.Load(),
		WebhooksSent:    c.webhooksSent.Load(),
		WebhookErrors:   c.webhookErrors.Load(),
		WebhooksFailed:  c.webhooksFailed.Load(),
		WebhooksSkipped: c.webhooksSkipped.Load(),
	}
}

// waiters wakes long-polls per user. A waiter takes the current channel of
// its user; signal closes it and forgets it, so each wake is one close.
type waiters struct {
	mu sync.Mutex
	m  map[string]*waitEntry
}

type waitEntry struct {
	ch   chan struct{}
	refs int
}

func newWaiters() *waiters { return &waiters{m: map[string]*waitEntry{}} }

func (w *waiters) subscribe(user string) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.m[user]
	if e == nil {
		e = &waitEntry{ch: make(chan struct{})}
		w.m[user] = e
	}
	e.refs++
	return e.ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		e.refs--
		if e.refs == 0 && w.m[user] == e {
			delete(w.m, user)
		}
	}
}

func (w *waiters) signal(users ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, u := range users {
		if e := w.m[u]; e != nil {
			close(e.ch)
			delete(w.m, u)
		}
	}
}
