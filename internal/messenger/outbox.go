package messenger

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// What the outbox keeps of a send. A send publishes new-message on the
// thread channel and an inbox-update on every participant's channel; stored
// as those events, each send wrote its content a second time and about
// 550 bytes of JSON into the outbox row, which the single SQLite writer
// then also deleted — and it encoded that JSON on the writer, too. A send
// therefore stores one compact entry (eventSent) holding ids and the
// unread counts only, and the relay expands it into the events it stands
// for: from the message the writing process still holds (OutboxEntry.Held)
// right after the commit, or, when another relay claims the row after a
// crash, from the message as stored then — so a message edited or deleted
// in between is published as it now is, and deleted content is never
// republished.

// eventSent is the stored kind of a compact send entry. It is never
// published: the name cannot be a client or Pusher event.
const eventSent = "parley:sent"

// sentRecord is the stored data of an eventSent entry.
type sentRecord struct {
	ThreadID  string        `json:"t"`
	MessageID string        `json:"m"`
	Seq       int64         `json:"s"`
	SenderID  string        `json:"f"`
	Unread    []unreadCount `json:"u"` // one per participant, the sender's 0
}

type unreadCount struct {
	UserID string `json:"i"`
	N      int64  `json:"n"`
}

// sentEntry is the outbox entry of a send, holding msg for the relay.
func sentEntry(msg *Message, unread map[string]int64) OutboxEntry {
	rec := sentRecord{ThreadID: msg.ThreadID, MessageID: msg.ID, Seq: msg.Seq, SenderID: msg.SenderID,
		Unread: make([]unreadCount, 0, len(unread))}
	for uid, n := range unread {
		rec.Unread = append(rec.Unread, unreadCount{uid, n})
	}
	slices.SortFunc(rec.Unread, func(a, b unreadCount) int { return strings.Compare(a.UserID, b.UserID) })
	data, _ := json.Marshal(rec) // strings and integers only: cannot fail
	// A copy: the caller gets msg back and may change it while the relay
	// encodes the event.
	held := *msg
	return OutboxEntry{Event: eventSent, Data: data, Held: &heldSend{rec: rec, msg: &held}}
}

// heldSend is what the writing process keeps of a send until it is
// published: the decoded record and the message itself.
type heldSend struct {
	rec sentRecord
	msg *Message
}

// expand returns entries with every compact send replaced by the events it
// stands for, keeping each entry's ID (its outbox row). Sends another
// process wrote are decoded and their messages read from the store, up to
// loadBatch per statement. A send that cannot be decoded is logged, counted
// and dropped (retrying would stop the relay at it forever); a failed read
// fails the expansion, to be retried.
func (s *Service) expand(ctx context.Context, entries []OutboxEntry) ([]OutboxEntry, error) {
	held := make(map[int]*heldSend) // entry index → send, for the compact entries
	var toLoad []string
	for i, e := range entries {
		if e.Event != eventSent {
			continue
		}
		if h, ok := e.Held.(*heldSend); ok {
			held[i] = h
			continue
		}
		h := &heldSend{}
		if err := json.Unmarshal(e.Data, &h.rec); err != nil || h.rec.MessageID == "" {
			s.stats.outboxDropped.Add(1)
			s.log.Error("outbox entry cannot be decoded; dropped", "row", e.ID, "err", err)
			held[i] = &heldSend{} // no message, no counts: publishes nothing
			continue
		}
		held[i] = h
		toLoad = append(toLoad, h.rec.MessageID)
	}
	if len(held) == 0 {
		return entries, nil
	}
	if err := s.loadSent(ctx, toLoad, held); err != nil {
		return nil, err
	}
	out := make([]OutboxEntry, 0, len(entries)+2*len(held))
	for i, e := range entries {
		h, ok := held[i]
		if !ok {
			out = append(out, e)
			continue
		}
		evs := h.events(e.ID)
		if len(evs) == 0 {
			// Keep the row's place, so that it is completed with the rest.
			evs = []OutboxEntry{{ID: e.ID}}
		}
		out = append(out, evs...)
	}
	return out, nil
}

// loadBatch bounds the messages one read of expand loads.
const loadBatch = 256

// loadSent reads the messages ids name, as they are now, into the sends of
// held that name them and hold no message yet.
func (s *Service) loadSent(ctx context.Context, ids []string, held map[int]*heldSend) error {
	if len(ids) == 0 {
		return nil
	}
	byID := make(map[string]*Message, len(ids))
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), loadBatch)
		err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
			ms, err := tx.GetMessagesByID(ctx, rest[:n])
			for _, m := range ms {
				byID[m.ID] = m
			}
			return err
		})
		if err != nil {
			return err
		}
		rest = rest[n:]
	}
	for _, h := range held {
		if h.msg == nil && h.rec.MessageID != "" {
			h.msg = byID[h.rec.MessageID]
		}
	}
	return nil
}

// events are new-message (if the message still exists) and the
// participants' inbox updates, all in outbox row id.
func (h *heldSend) events(id int64) []OutboxEntry {
	out := make([]OutboxEntry, 0, 1+len(h.rec.Unread))
	if h.msg != nil {
		data, _ := json.Marshal(h.msg)
		out = append(out, OutboxEntry{ID: id, Channels: []string{ThreadChannel(h.rec.ThreadID)}, Event: EventNewMessage, Data: data})
	}
	for _, u := range h.rec.Unread {
		data, _ := json.Marshal(InboxEvent{ThreadID: h.rec.ThreadID, Seq: h.rec.Seq, SenderID: h.rec.SenderID, Unread: u.N})
		out = append(out, OutboxEntry{ID: id, Channels: []string{UserChannel(u.UserID)}, Event: EventInbox, Data: data})
	}
	return out
}
