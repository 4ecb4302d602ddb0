package messenger

import (
	"context"
	"time"
)

// relay publishes committed outbox entries. Entries are claimed with a
// lease so that, with several processes on one database, each entry is
// published by one relay at a time; entries whose publisher died are taken
// over when the lease expires. Delivery is at least once: a crash after
// Publish and before CompleteOutbox republishes that batch (clients dedupe
// by message id and seq).
type relay struct {
	s    *Service
	wake chan struct{}
}

const relayBatch = 256

func newRelay(s *Service) *relay { return &relay{s: s, wake: make(chan struct{}, 1)} }

func (r *relay) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *relay) run(ctx context.Context) {
	t := time.NewTicker(r.s.cfg.RelayPoll)
	defer t.Stop()
	backoff := 50 * time.Millisecond
	for {
		n, err := r.drain(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.s.log.Error("outbox relay failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if n == relayBatch {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// drain claims one batch and publishes it in order, stopping at the first
// failure so that the rest keeps its order (it stays leased to this node
// and is reclaimed by it on the next round).
func (r *relay) drain(ctx context.Context) (int, error) {
	s := r.s
	entries, err := s.store.ClaimOutbox(ctx, s.cfg.NodeID, s.cfg.Now(), s.cfg.RelayLease, relayBatch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	done := make([]int64, 0, len(entries))
	var perr error
	for _, e := range entries {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		perr = s.cfg.Publisher.Publish(pctx, e.Channels, e.Event, e.Data)
		cancel()
		if perr != nil {
			s.stats.publishErrors.Add(1)
			// A row is done only when all its entries are; this one is
			// retried whole (its earlier entries again: at least once).
			if len(done) > 0 && done[len(done)-1] == e.ID {
				done = done[:len(done)-1]
			}
			break
		}
		if len(done) == 0 || done[len(done)-1] != e.ID {
			done = append(done, e.ID)
		}
		s.stats.published.Add(1)
	}
	if len(done) > 0 {
		// Use a fresh context: what was published must be marked even
		// while shutting down, or it would be published again.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := s.store.CompleteOutbox(cctx, s.cfg.NodeID, done)
		cancel()
		if err != nil {
			return 0, err
		}
	}
	if perr != nil {
		return len(done), perr
	}
	rows := 0
	for i, e := range entries {
		if i == 0 || entries[i-1].ID != e.ID {
			rows++
		}
	}
	return rows, nil
}
