package messenger

import (
	"context"
	"sync"
	"time"
)

// relay publishes committed outbox entries. The store writes this node's
// rows leased to it and hands them over right after their commit
// (Store.LeaseOutbox), so they are published without a claim; the leases
// only matter if this process dies, when another relay claims the rows
// once they end. Rows nobody holds — written while no relay ran here, or
// left by a dead relay — are claimed on every poll. Entries are published
// in order and publishing stops at the first failure, which is retried
// (with backoff) before anything after it. Published rows are deleted by
// a second goroutine, so that publishing never waits for a commit.
// Delivery is at least once: a crash after Publish and before the delete
// republishes that row (clients dedupe by message id and seq).
type relay struct {
	s        *Service
	wake     chan struct{}
	wakeDone chan struct{}

	mu      sync.Mutex
	pending []OutboxEntry // this node's entries still to publish, in order
	done    []int64       // rows published and not yet deleted
}

const relayBatch = 256

// publishGroup is how many events share one publish deadline.
const publishGroup = 256

func newRelay(s *Service) *relay {
	return &relay{s: s, wake: make(chan struct{}, 1), wakeDone: make(chan struct{}, 1)}
}

func (r *relay) kick() { signal(r.wake) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// committed receives the entries of a commit from the store; it must not
// block (it runs on the store's committer).
func (r *relay) committed(entries []OutboxEntry) {
	r.mu.Lock()
	r.pending = append(r.pending, entries...)
	r.mu.Unlock()
	r.kick()
}

// take removes and returns every pending entry (whole rows: the store
// hands rows over whole, and a retry puts back the rest of a row).
func (r *relay) take() []OutboxEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.pending
	r.pending = nil
	return out
}

// putBack returns unpublished entries to the front of the queue.
func (r *relay) putBack(entries []OutboxEntry) {
	if len(entries) == 0 {
		return
	}
	r.mu.Lock()
	r.pending = append(append([]OutboxEntry(nil), entries...), r.pending...)
	r.mu.Unlock()
}

func (r *relay) run(ctx context.Context) {
	t := time.NewTicker(r.s.cfg.RelayPoll)
	defer t.Stop()
	completer := make(chan struct{})
	go func() { defer close(completer); r.completeLoop(ctx) }()
	defer func() {
		<-completer
		r.finish()
	}()
	backoff := 50 * time.Millisecond
	claim := true // claim what nobody holds at start, then on every poll
	for {
		more, claimMore, err := r.drain(ctx, claim)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !r.pause(ctx, "outbox relay failed; retrying", err, &backoff) {
				return
			}
			continue
		}
		backoff = 50 * time.Millisecond
		claim = claimMore // a full claim: there may be more to take over
		if more || claimMore {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
			claim = true
		}
	}
}

// finish publishes what is still pending when the service stops and
// deletes what was published, so that a clean shutdown leaves nothing
// leased to this node.
func (r *relay) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if more, _, err := r.drain(ctx, false); err != nil || !more {
			break
		}
	}
	if err := r.complete(ctx); err != nil {
		r.s.log.Warn("outbox relay: published rows not deleted at shutdown; they will be published again", "err", err)
	}
}

// completeLoop deletes published rows as they come, retrying with backoff.
func (r *relay) completeLoop(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wakeDone:
		}
		for {
			err := r.complete(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			if !r.pause(ctx, "outbox relay: deleting published rows failed; retrying", err, &backoff) {
				return
			}
		}
		backoff = 50 * time.Millisecond
	}
}

// complete deletes the rows published so far; on failure they are kept
// for the next attempt.
func (r *relay) complete(ctx context.Context) error {
	r.mu.Lock()
	ids := r.done
	r.done = nil
	r.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	// A fresh context: what was published must be marked even while
	// shutting down, or it would be published again.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	err := r.s.store.CompleteOutbox(cctx, r.s.cfg.NodeID, ids)
	cancel()
	if err != nil {
		r.mu.Lock()
		r.done = append(ids, r.done...)
		r.mu.Unlock()
	}
	return err
}

// drain publishes the pending entries and, when claim is set, a batch of
// rows nobody holds, claimed after them (so that a busy node still takes
// over a dead one's rows). It reports whether entries are pending again and
// whether the claim was full, so more may be waiting to be taken over.
func (r *relay) drain(ctx context.Context, claim bool) (more, claimMore bool, err error) {
	s := r.s
	entries := r.take()
	if claim {
		claimed, err := s.store.ClaimOutbox(ctx, s.cfg.NodeID, s.cfg.Now(), s.cfg.RelayLease, relayBatch)
		if err != nil {
			r.putBack(entries)
			return false, false, err
		}
		claimMore = rows(claimed) == relayBatch
		entries = append(entries, claimed...)
	}
	if len(entries) == 0 {
		return false, claimMore, nil
	}
	expanded, err := s.expand(ctx, entries)
	if err != nil {
		r.putBack(entries)
		return false, false, err
	}
	entries = expanded
	published := 0
	var perr error
	for start := 0; start < len(entries) && perr == nil; start += publishGroup {
		var n int
		n, perr = r.publish(ctx, entries[start:min(start+publishGroup, len(entries))])
		published += n
	}
	// A row is done when all its entries are published; the rest of a
	// row that failed part-way goes back, to be retried from the entry
	// that failed.
	var done []int64
	for i, e := range entries[:published] {
		last := i+1 == len(entries) || entries[i+1].ID != e.ID
		if last {
			done = append(done, e.ID)
		}
	}
	r.putBack(entries[published:])
	if len(done) > 0 {
		r.mu.Lock()
		r.done = append(r.done, done...)
		r.mu.Unlock()
		signal(r.wakeDone)
	}
	if perr != nil {
		return false, false, perr
	}
	r.mu.Lock()
	more = len(r.pending) > 0
	r.mu.Unlock()
	return more, claimMore, nil
}

// publish publishes entries in order under one deadline (a context and
// timer per event were a tenth of the relay's allocations) and returns how
// many were published before the first failure. A publisher may report
// success for an event it could not pass on once its context ended (the
// hub logs a failed broker publish and delivers locally), so an ended
// deadline fails that event too, and it and the rest are retried.
func (r *relay) publish(ctx context.Context, entries []OutboxEntry) (int, error) {
	s := r.s
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	for i, e := range entries {
		if len(e.Channels) == 0 {
			continue // a row with nothing left to publish (expand)
		}
		err := s.cfg.Publisher.Publish(ctx, e.Channels, e.Event, e.Data)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			s.stats.publishErrors.Add(1)
			return i, err
		}
		s.stats.published.Add(1)
	}
	return len(entries), nil
}

// pause logs err, waits *backoff and doubles it for the next time (up to
// 5 s); it reports false if ctx ended first.
func (r *relay) pause(ctx context.Context, msg string, err error, backoff *time.Duration) bool {
	r.s.log.Error(msg, "err", err, "retry_in", *backoff)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(*backoff):
	}
	*backoff = min(*backoff*2, 5*time.Second)
	return true
}

// rows counts the distinct rows among entries (they come grouped).
func rows(entries []OutboxEntry) int {
	n := 0
	for i, e := range entries {
		if i == 0 || entries[i-1].ID != e.ID {
			n++
		}
	}
	return n
}
