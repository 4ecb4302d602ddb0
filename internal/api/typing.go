package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
)

// Typing event names on private-thread-{id}.
const (
	EventTypingStart = "typing-start"
	EventTypingStop  = "typing-stop"
)

// TypingEvent is the payload of typing-start and typing-stop.
type TypingEvent struct {
	ThreadID string `json:"threadId"`
	UserID   string `json:"userId"`
}

type typingRequest struct {
	Typing *bool `json:"typing"`
}

// setTyping answers POST /api/v1/threads/{id}/typing. An empty body or
// {"typing":true} starts or refreshes; {"typing":false} stops at once.
func (a *API) setTyping(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	var req typingRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	threadID := r.PathValue("id")
	ok, err := a.svc.IsParticipant(r.Context(), actor.UserID, threadID)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if !ok {
		a.edge.WriteError(w, r, httpx.NewError(messenger.ENOTFOUND, "thread not found"))
		return
	}
	if req.Typing == nil || *req.Typing {
		a.typing.start(threadID, actor.UserID)
	} else {
		a.typing.stop(threadID, actor.UserID)
	}
	w.WriteHeader(http.StatusNoContent)
}

// typing holds who is typing where. It is soft state: nothing is stored,
// and a restart forgets it (clients' own timeouts cover that).
type typing struct {
	pub Publisher
	ttl time.Duration
	log *slog.Logger

	mu     sync.Mutex
	active map[typingKey]*typingEntry
	gen    uint64
	closed bool
	wg     sync.WaitGroup // timer callbacks publishing typing-stop
}

type typingKey struct{ thread, user string }

type typingEntry struct {
	gen   uint64
	timer *time.Timer // nil until typing-start has been published
}

func newTyping(pub Publisher, ttl time.Duration, log *slog.Logger) *typing {
	return &typing{pub: pub, ttl: ttl, log: log, active: map[typingKey]*typingEntry{}}
}

// start publishes typing-start unless the user is already typing there,
// and (re)arms the automatic typing-stop.
func (t *typing) start(threadID, userID string) {
	if t.pub == nil {
		return
	}
	k := typingKey{threadID, userID}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.gen++
	gen := t.gen
	e, refreshing := t.active[k]
	if refreshing {
		if e.timer != nil {
			e.timer.Stop()
			e.timer = t.arm(k, gen)
		}
		e.gen = gen
		t.mu.Unlock()
		return
	}
	e = &typingEntry{gen: gen}
	t.active[k] = e
	t.mu.Unlock()

	t.publish(EventTypingStart, k)

	// The timer is armed only after typing-start went out, so a short TTL
	// cannot deliver the stop before the start.
	t.mu.Lock()
	if cur := t.active[k]; cur == e && e.timer == nil && !t.closed {
		e.timer = t.arm(k, e.gen)
	}
	t.mu.Unlock()
}

// arm starts the expiry timer; t.mu is held.
func (t *typing) arm(k typingKey, gen uint64) *time.Timer {
	return time.AfterFunc(t.ttl, func() { t.expire(k, gen) })
}

func (t *typing) expire(k typingKey, gen uint64) {
	t.mu.Lock()
	e := t.active[k]
	if t.closed || e == nil || e.gen != gen {
		t.mu.Unlock()
		return // refreshed, stopped or closing since the timer was set
	}
	delete(t.active, k)
	t.wg.Add(1)
	t.mu.Unlock()
	defer t.wg.Done()
	t.publish(EventTypingStop, k)
}

// stop publishes typing-stop at once if the user was typing there.
func (t *typing) stop(threadID, userID string) {
	if t.pub == nil {
		return
	}
	k := typingKey{threadID, userID}
	t.mu.Lock()
	e := t.active[k]
	if e == nil || t.closed {
		t.mu.Unlock()
		return
	}
	delete(t.active, k)
	if e.timer != nil {
		e.timer.Stop()
	}
	t.mu.Unlock()
	t.publish(EventTypingStop, k)
}

// close sends typing-stop for everyone still typing, so that no client is
// left showing an indicator, and waits for expiries in flight.
func (t *typing) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	var pending []typingKey
	for k, e := range t.active {
		if e.timer != nil {
			e.timer.Stop()
		}
		pending = append(pending, k)
	}
	clear(t.active)
	t.mu.Unlock()
	for _, k := range pending {
		t.publish(EventTypingStop, k)
	}
	t.wg.Wait()
}

func (t *typing) publish(event string, k typingKey) {
	data, _ := json.Marshal(TypingEvent{ThreadID: k.thread, UserID: k.user})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.pub.Publish(ctx, []string{messenger.ThreadChannel(k.thread)}, event, data); err != nil {
		t.log.LogAttrs(ctx, slog.LevelWarn, "typing publish failed",
			slog.String("event", event), slog.String("thread_id", k.thread), slog.Any("err", err))
	}
}
