package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

func (t *tx) AttachToMessage(ctx context.Context, ids []string, ownerID, threadID, messageID string) ([]messenger.AttachmentRef, error) {
	if len(ids) == 0 {
		return []messenger.AttachmentRef{}, nil
	}
	args := append([]any{messageID, threadID}, strArgs(ids)...)
	args = append(args, ownerID, threadID)
	rows, err := t.query(ctx, `UPDATE attachments SET status = 'attached', message_id = ?, thread_id = ?
		WHERE id IN (`+placeholders(len(ids))+`) AND owner_id = ? AND status = 'pending' AND (thread_id = '' OR thread_id = ?)
		RETURNING id, name, content_type, size`, args...)
	if err != nil {
		return nil, err
	}
	byID := map[string]messenger.AttachmentRef{}
	for rows.Next() {
		var a messenger.AttachmentRef
		if err := rows.Scan(&a.ID, &a.Name, &a.ContentType, &a.Size); err != nil {
			rows.Close()
			return nil, err
		}
		byID[a.ID] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(byID) != len(ids) {
		// The caller's savepoint or transaction rolls back what did match.
		return nil, messenger.Errorf(messenger.EINVALID, "attachment is not a pending upload of the sender")
	}
	out := make([]messenger.AttachmentRef, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	if _, err := t.exec(ctx, `UPDATE messages SET n_attachments = ? WHERE id = ?`, len(ids), messageID); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) DetachMessageAttachments(ctx context.Context, messageID string) error {
	_, err := t.exec(ctx, `UPDATE attachments SET status = 'deleted' WHERE message_id = ? AND status = 'attached'`, messageID)
	return err
}

func (t *tx) InsertChange(ctx context.Context, c messenger.ChangeRecord) error {
	if t.p != nil {
		t.p.changes = append(t.p.changes, c)
		return nil
	}
	_, err := t.exec(ctx, `INSERT INTO changes (thread_id, kind, message_id, user_id, seq, at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ThreadID, c.Kind, c.MessageID, c.UserID, c.Seq, micros(c.At))
	return err
}

func (t *tx) ListChanges(ctx context.Context, userID string, after messenger.ChangePos, limit int) ([]messenger.ChangeRecord, error) {
	rows, err := t.query(ctx, `SELECT c.id, c.tx_order, c.kind, c.thread_id, c.message_id, c.user_id, c.seq, c.at
		FROM changes c WHERE c.thread_id IN (SELECT thread_id FROM participants WHERE user_id = ?)
		AND (c.tx_order > ? OR (c.tx_order = ? AND c.id > ?)) AND c.tx_order < `+t.s.d.txOrderHorizon+`
		ORDER BY c.tx_order, c.id LIMIT ?`, userID, after.TxOrder, after.TxOrder, after.ID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []messenger.ChangeRecord
	for rows.Next() {
		var c messenger.ChangeRecord
		var at int64
		if err := rows.Scan(&c.Pos.ID, &c.Pos.TxOrder, &c.Kind, &c.ThreadID, &c.MessageID, &c.UserID, &c.Seq, &at); err != nil {
			return nil, err
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *tx) ChangeHead(ctx context.Context) (messenger.ChangePos, error) {
	var p messenger.ChangePos
	err := t.queryRow(ctx, t.s.d.changeHead).Scan(&p.TxOrder, &p.ID)
	return p, err
}

// Statements named so that deferred.go can tell them apart.
const (
	qInsertOutbox       = `INSERT INTO outbox (events, claimed_by, lease_until) VALUES (?, ?, ?) RETURNING id`
	qUpsertNotification = `INSERT INTO notifications (user_id, thread_id, message_id, seq, due_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, thread_id) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq,
		due_at = CASE WHEN notifications.failed = 1 THEN excluded.due_at ELSE notifications.due_at END,
		attempts = CASE WHEN notifications.failed = 1 THEN 0 ELSE notifications.attempts END,
		failed = 0`
	qInsertAudit = `INSERT INTO audit_log (actor_id, action, thread_id, message_id, at) VALUES (?, ?, ?, ?, ?)`
)

// outboxEvent is one element of an outbox row's events column.
type outboxEvent struct {
	Channels []string        `json:"channels"`
	Event    string          `json:"event"`
	Data     json.RawMessage `json:"data"`
	held     any             // OutboxEntry.Held: handed off, not stored
}

func (t *tx) InsertOutbox(ctx context.Context, entries []messenger.OutboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	evs := make([]outboxEvent, len(entries))
	for i, e := range entries {
		evs[i] = outboxEvent{Channels: e.Channels, Event: e.Event, Data: e.Data, held: e.Held}
	}
	if t.p != nil {
		t.p.events = append(t.p.events, evs...)
		return nil
	}
	b, err := json.Marshal(evs)
	if err != nil {
		return err
	}
	return t.insertOutboxRow(ctx, b, evs)
}

func (t *tx) UpsertNotification(ctx context.Context, n messenger.Notification) error {
	// A failed notification is replaced by the newer one (its failure was
	// logged and counted); a pending one keeps its due time so that a busy
	// thread still notifies after the delay.
	_, err := t.exec(ctx, qUpsertNotification, n.UserID, n.ThreadID, n.MessageID, n.Seq, micros(n.DueAt))
	return err
}

func (t *tx) InsertAudit(ctx context.Context, a messenger.AuditEntry) error {
	_, err := t.exec(ctx, qInsertAudit,
		a.ActorID, a.Action, a.ThreadID, a.MessageID, micros(a.At))
	return err
}

// ClaimOutbox implements messenger.Store. The rows are decoded after the
// write returns, so that the single SQLite committer does not spend its
// time parsing JSON.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]messenger.OutboxEntry, error) {
	type claimed struct {
		id  int64
		raw string
	}
	var got []claimed
	err := s.write(ctx, func(ctx context.Context, t *tx) error {
		got = got[:0]
		rows, err := t.query(ctx, `UPDATE outbox SET claimed_by = ?, lease_until = ?
		WHERE id IN (SELECT id FROM outbox WHERE claimed_by = '' OR lease_until < ? ORDER BY id LIMIT ?`+s.d.skipLocked+`)
		RETURNING id, events`, owner, micros(now.Add(lease)), micros(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.id, &c.raw); err != nil {
				return err
			}
			got = append(got, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(got, func(i, j int) bool { return got[i].id < got[j].id })
	var out []messenger.OutboxEntry
	for _, c := range got {
		var evs []outboxEvent
		if err := json.Unmarshal([]byte(c.raw), &evs); err != nil {
			return nil, fmt.Errorf("sqlstore: outbox row %d: %w", c.id, err)
		}
		for _, e := range evs {
			out = append(out, messenger.OutboxEntry{ID: c.id, Channels: e.Channels, Event: e.Event, Data: []byte(e.Data)})
		}
	}
	return out, nil
}

// CompleteOutbox implements messenger.Store.
func (s *Store) CompleteOutbox(ctx context.Context, owner string, ids []int64) error {
	return s.write(ctx, func(ctx context.Context, t *tx) error {
		// In power-of-two chunks, so that the statement is prepared once per
		// size; it touches only published rows, so the batch's deferred
		// rows need not be written first (execFixed).
		for rest := ids; len(rest) > 0; {
			n := chunk(len(rest))
			args := make([]any, 0, n+1)
			args = append(args, owner)
			for _, id := range rest[:n] {
				args = append(args, id)
			}
			if _, err := t.execFixed(ctx, multiRow(`DELETE FROM outbox WHERE claimed_by = ? AND id IN (`, `?`, `)`, n), args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
}

// ClaimNotifications implements messenger.Store.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]messenger.Notification, error) {
	var out []messenger.Notification
	err := s.write(ctx, func(ctx context.Context, t *tx) error {
		out = nil
		rows, err := t.query(ctx, `UPDATE notifications SET claimed_by = ?, lease_until = ?
		WHERE id IN (SELECT id FROM notifications WHERE failed = 0 AND due_at <= ? AND lease_until < ?
		ORDER BY due_at LIMIT ?`+s.d.skipLocked+`)
		RETURNING id, user_id, thread_id, message_id, seq, due_at, attempts`, owner, micros(now.Add(lease)), micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n messenger.Notification
			var due int64
			if err := rows.Scan(&n.ID, &n.UserID, &n.ThreadID, &n.MessageID, &n.Seq, &due, &n.Attempts); err != nil {
				return err
			}
			n.DueAt = fromMicros(due)
			out = append(out, n)
		}
		return rows.Err()
	})
	sort.Slice(out, func(i, j int) bool { return out[i].DueAt.Before(out[j].DueAt) })
	return out, err
}

// CompleteNotification implements messenger.Store.
func (s *Store) CompleteNotification(ctx context.Context, id, seq int64) error {
	return s.write(ctx, func(ctx context.Context, t *tx) error {
		res, err := t.exec(ctx, `DELETE FROM notifications WHERE id = ? AND seq = ?`, id, seq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// A newer message arrived meanwhile: release the lease so it is
		// looked at again on its (unchanged, already past) due time.
		_, err = t.exec(ctx, `UPDATE notifications SET claimed_by = '', lease_until = 0 WHERE id = ?`, id)
		return err
	})
}

// RetryNotification implements messenger.Store.
func (s *Store) RetryNotification(ctx context.Context, id int64, attempts int, next time.Time, failed bool) error {
	f := 0
	if failed {
		f = 1
	}
	return s.write(ctx, func(ctx context.Context, t *tx) error {
		_, err := t.exec(ctx, `UPDATE notifications SET attempts = ?, due_at = ?, failed = ?, claimed_by = '', lease_until = 0
		WHERE id = ?`, attempts, micros(next), f, id)
		return err
	})
}

// CreateUpload implements messenger.Store.
func (s *Store) CreateUpload(ctx context.Context, a *messenger.Attachment) error {
	a.Status = messenger.AttachmentPending
	a.MessageID = ""
	return s.write(ctx, func(ctx context.Context, t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO attachments (id, owner_id, thread_id, message_id, name, content_type, size, sha256, storage_key, status, created_at)
		VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.OwnerID, a.ThreadID, a.Name, a.ContentType, a.Size, a.SHA256, a.StorageKey, a.Status, micros(a.CreatedAt))
		if isUniqueViolation(err) {
			return messenger.Errorf(messenger.ECONFLICT, "attachment id exists")
		}
		return err
	})
}

const attachmentCols = `id, owner_id, thread_id, message_id, name, content_type, size, sha256, storage_key, status, created_at`

func scanAttachment(sc interface{ Scan(...any) error }) (*messenger.Attachment, error) {
	var a messenger.Attachment
	var created int64
	if err := sc.Scan(&a.ID, &a.OwnerID, &a.ThreadID, &a.MessageID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.StorageKey, &a.Status, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// GetAttachment implements messenger.Store.
func (s *Store) GetAttachment(ctx context.Context, id string) (*messenger.Attachment, error) {
	a, err := scanAttachment(s.rdb.QueryRowContext(ctx, s.rebind(`SELECT `+attachmentCols+` FROM attachments WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("attachment")
	}
	return a, err
}

// ListExpiredUploads implements messenger.Store.
func (s *Store) ListExpiredUploads(ctx context.Context, before time.Time, limit int) ([]*messenger.Attachment, error) {
	rows, err := s.rdb.QueryContext(ctx, s.rebind(`SELECT `+attachmentCols+` FROM attachments
		WHERE (status = 'pending' AND created_at < ?) OR status = 'deleted' ORDER BY created_at LIMIT ?`), micros(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*messenger.Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAttachment implements messenger.Store.
func (s *Store) DeleteAttachment(ctx context.Context, id string) error {
	return s.write(ctx, func(ctx context.Context, t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM attachments WHERE id = ?`, id)
		return err
	})
}

// PendingUploadBytes implements messenger.Store.
func (s *Store) PendingUploadBytes(ctx context.Context, ownerID string) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT COALESCE(SUM(size), 0) FROM attachments WHERE owner_id = ? AND status = 'pending'`), ownerID).Scan(&n)
	return n, err
}
