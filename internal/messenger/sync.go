package messenger

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// SyncNow is the cursor of a client that wants only what changes from now
// on (it has just loaded the thread list, say): Sync answers it with no
// changes and the cursor of the feed's current head, without reading the
// feed from the beginning.
const SyncNow = "now"

// Sync cursors are "<txorder>.<id>" of the last change handed out. Clients
// treat them as opaque; SyncNow is the one they may write themselves.
func formatChangeCursor(p ChangePos) string {
	return strconv.FormatInt(p.TxOrder, 10) + "." + strconv.FormatInt(p.ID, 10)
}

func parseChangeCursor(s string) (ChangePos, error) {
	if s == "" {
		return ChangePos{}, nil
	}
	a, b, ok := strings.Cut(s, ".")
	tx, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || tx < 0 || id < 0 {
		return ChangePos{}, Errorf(EINVALID, "malformed cursor")
	}
	return ChangePos{TxOrder: tx, ID: id}, nil
}

func (s *Service) sync(ctx context.Context, actor Actor, cursor string, limit int) (*SyncPage, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 500 {
		return nil, Errorf(EINVALID, "limit must be between 1 and 500")
	}
	if cursor == SyncNow {
		var head ChangePos
		err := s.store.Read(ctx, func(ctx context.Context, tx Tx) (err error) {
			head, err = tx.ChangeHead(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &SyncPage{Changes: []Change{}, Cursor: formatChangeCursor(head)}, nil
	}
	pos, err := parseChangeCursor(cursor)
	if err != nil {
		return nil, err
	}
	page := &SyncPage{Changes: []Change{}, Cursor: formatChangeCursor(pos)}
	err = s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		recs, err := tx.ListChanges(ctx, actor.UserID, pos, limit+1)
		if err != nil {
			return err
		}
		if len(recs) > limit {
			recs, page.HasMore = recs[:limit], true
		}
		var ids []string
		for _, r := range recs {
			if r.MessageID != "" {
				ids = append(ids, r.MessageID)
			}
		}
		msgs := map[string]*Message{}
		if len(ids) > 0 {
			ms, err := tx.GetMessagesByID(ctx, ids)
			if err != nil {
				return err
			}
			for _, m := range ms {
				msgs[m.ID] = m
			}
		}
		for _, r := range recs {
			c := Change{Kind: r.Kind, ThreadID: r.ThreadID}
			switch r.Kind {
			case ChangeThreadCreated:
				t, err := tx.GetThread(ctx, r.ThreadID)
				if err != nil {
					return err
				}
				if t.Participants, err = tx.ListParticipants(ctx, r.ThreadID); err != nil {
					return err
				}
				for i := range t.Participants {
					t.Participants[i].ReadSeq = 0 // not part of the event
				}
				c.Thread = &Thread{ID: t.ID, Subject: t.Subject, CreatedAt: t.CreatedAt, LastActivity: t.CreatedAt, Participants: t.Participants}
			case ChangeMessageRead:
				c.Receipt = &Receipt{ThreadID: r.ThreadID, UserID: r.UserID, Seq: r.Seq, ReadAt: r.At}
			default:
				c.Message = msgs[r.MessageID]
				if c.Message == nil {
					return Errorf(EINTERNAL, "change refers to a missing message")
				}
			}
			page.Changes = append(page.Changes, c)
			page.Cursor = formatChangeCursor(r.Pos)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// waitPoll bounds how long a long-poll can miss a change committed by
// another process, which cannot signal this one.
const waitPoll = time.Second

func (s *Service) wait(ctx context.Context, userID, cursor string) error {
	pos, err := parseChangeCursor(cursor)
	if err != nil {
		return err
	}
	if !validID(userID) {
		return Errorf(EUNAUTHORIZED, "invalid identity")
	}
	t := time.NewTimer(waitPoll)
	defer t.Stop()
	for {
		ch, done := s.waiters.subscribe(userID)
		var has bool
		err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
			recs, err := tx.ListChanges(ctx, userID, pos, 1)
			has = len(recs) > 0
			return err
		})
		if err != nil || has {
			done()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		t.Reset(waitPoll)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			done()
			return ctx.Err()
		}
		done()
	}
}
