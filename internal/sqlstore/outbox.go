package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

// Outbox rows are written leased to the node whose relay runs on this
// Store (LeaseOutbox) and handed to that relay right after their commit,
// so it publishes without first claiming them through the writer: one
// write fewer per batch, and no wait for the next batch before an event
// leaves. The lease is only for crash recovery: rows whose writer died
// are claimed by another relay once it ends (ClaimOutbox).

// outboxLease is what LeaseOutbox set.
type outboxLease struct {
	owner     string
	lease     time.Duration
	committed func([]messenger.OutboxEntry)
}

// writtenRow is an outbox row a transaction inserted, held until commit.
type writtenRow struct {
	id  int64
	evs []outboxEvent
}

// LeaseOutbox implements messenger.Store. An empty owner turns leasing off.
func (s *Store) LeaseOutbox(owner string, lease time.Duration, committed func([]messenger.OutboxEntry)) {
	if owner == "" || committed == nil {
		s.outbox.Store(nil)
		return
	}
	s.outbox.Store(&outboxLease{owner: owner, lease: lease, committed: committed})
}

// insertOutboxRow writes one row of already-encoded events, leased to the
// relay if one is registered, and remembers it for the hand-off.
func (t *tx) insertOutboxRow(ctx context.Context, raw []byte, evs []outboxEvent) error {
	owner, until := "", int64(0)
	if l := t.s.outbox.Load(); l != nil {
		owner, until = l.owner, micros(time.Now().Add(l.lease))
	}
	var id int64
	if err := t.queryRow(ctx, qInsertOutbox, string(raw), owner, until).Scan(&id); err != nil {
		return err
	}
	if owner != "" {
		t.written = append(t.written, writtenRow{id: id, evs: evs})
	}
	return nil
}

// handOff gives the rows a committed transaction wrote to the relay.
func (s *Store) handOff(rows []writtenRow) {
	l := s.outbox.Load()
	if l == nil || len(rows) == 0 {
		return
	}
	var entries []messenger.OutboxEntry
	for _, r := range rows {
		for _, e := range r.evs {
			entries = append(entries, messenger.OutboxEntry{ID: r.id, Channels: e.Channels, Event: e.Event, Data: e.Data, Held: e.held})
		}
	}
	l.committed(entries)
}
