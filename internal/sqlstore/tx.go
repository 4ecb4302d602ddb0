package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

var _ messenger.Tx = (*tx)(nil)

// Statements named so that deferred.go can tell them apart.
const (
	qUpsertUser = `INSERT INTO users (id, role, name) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET role = excluded.role, name = excluded.name`
	qNextSeq    = `UPDATE threads SET last_seq = last_seq + 1, last_activity = ? WHERE id = ? RETURNING last_seq`
	qRecordSend = `UPDATE participants SET
		unread = CASE WHEN user_id = ? THEN 0 ELSE unread + 1 END,
		read_seq = CASE WHEN user_id = ? AND read_seq < ? THEN ? ELSE read_seq END,
		read_at = CASE WHEN user_id = ? AND read_seq < ? THEN ? ELSE read_at END
		WHERE thread_id = ? RETURNING user_id, unread, read_seq, read_at`
)

func notFound(what string) error { return messenger.Errorf(messenger.ENOTFOUND, "%s not found", what) }

func strArgs(ids []string) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

func (t *tx) UpsertUser(ctx context.Context, u messenger.User) error {
	_, err := t.exec(ctx, qUpsertUser, u.ID, string(u.Role), u.Name)
	return err
}

func (t *tx) GetUsers(ctx context.Context, ids []string) ([]messenger.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.query(ctx, `SELECT id, role, name, last_seen FROM users WHERE id IN (`+placeholders(len(ids))+`)`, strArgs(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []messenger.User
	for rows.Next() {
		var u messenger.User
		var seen sql.NullInt64
		if err := rows.Scan(&u.ID, &u.Role, &u.Name, &seen); err != nil {
			return nil, err
		}
		u.LastSeen = fromNullMicros(seen)
		out = append(out, u)
	}
	return out, rows.Err()
}

func (t *tx) SetLastSeen(ctx context.Context, userID string, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE users SET last_seen = ? WHERE id = ?`, micros(at), userID)
	return err
}

func (t *tx) InsertThread(ctx context.Context, th *messenger.Thread) error {
	_, err := t.exec(ctx, `INSERT INTO threads (id, subject, created_at, last_activity) VALUES (?, ?, ?, ?)`,
		th.ID, th.Subject, micros(th.CreatedAt), micros(th.CreatedAt))
	return err
}

func (t *tx) InsertParticipant(ctx context.Context, threadID, userID string) error {
	_, err := t.exec(ctx, `INSERT INTO participants (thread_id, user_id) VALUES (?, ?)`, threadID, userID)
	return err
}

func (t *tx) GetThread(ctx context.Context, threadID string) (*messenger.Thread, error) {
	var th messenger.Thread
	var created, active int64
	err := t.queryRow(ctx, `SELECT id, subject, created_at, last_activity, last_seq FROM threads WHERE id = ?`, threadID).
		Scan(&th.ID, &th.Subject, &created, &active, &th.LastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("thread")
	} else if err != nil {
		return nil, err
	}
	th.CreatedAt, th.LastActivity = fromMicros(created), fromMicros(active)
	return &th, nil
}

func (t *tx) GetReceipt(ctx context.Context, threadID, userID string) (*messenger.Receipt, error) {
	r := messenger.Receipt{ThreadID: threadID, UserID: userID}
	var at int64
	err := t.queryRow(ctx, `SELECT read_seq, read_at FROM participants WHERE thread_id = ? AND user_id = ?`, threadID, userID).
		Scan(&r.Seq, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("thread")
	} else if err != nil {
		return nil, err
	}
	if at != 0 {
		r.ReadAt = fromMicros(at)
	}
	return &r, nil
}

func (t *tx) ListParticipants(ctx context.Context, threadID string) ([]messenger.Participant, error) {
	rows, err := t.query(ctx, `SELECT u.id, u.role, u.name, u.last_seen, p.read_seq
		FROM participants p JOIN users u ON u.id = p.user_id WHERE p.thread_id = ? ORDER BY u.id`, threadID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []messenger.Participant{}
	for rows.Next() {
		var p messenger.Participant
		var seen sql.NullInt64
		if err := rows.Scan(&p.ID, &p.Role, &p.Name, &seen, &p.ReadSeq); err != nil {
			return nil, err
		}
		p.LastSeen = fromNullMicros(seen)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *tx) ListUserThreads(ctx context.Context, userID string, cur *messenger.ThreadCursor, limit int) ([]*messenger.Thread, error) {
	const head = `SELECT t.id, t.subject, t.created_at, t.last_activity, t.last_seq, p.read_seq
		FROM participants p JOIN threads t ON t.id = p.thread_id WHERE p.user_id = ?`
	const tail = ` ORDER BY t.last_activity DESC, t.id DESC LIMIT ?`
	var (
		rows *sql.Rows
		err  error
	)
	if cur == nil {
		rows, err = t.query(ctx, head+tail, userID, limit)
	} else {
		rows, err = t.query(ctx, head+` AND (t.last_activity < ? OR (t.last_activity = ? AND t.id < ?))`+tail,
			userID, micros(cur.LastActivity), micros(cur.LastActivity), cur.ID, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*messenger.Thread
	for rows.Next() {
		var th messenger.Thread
		var created, active int64
		if err := rows.Scan(&th.ID, &th.Subject, &created, &active, &th.LastSeq, &th.ReadSeq); err != nil {
			return nil, err
		}
		th.CreatedAt, th.LastActivity = fromMicros(created), fromMicros(active)
		out = append(out, &th)
	}
	return out, rows.Err()
}

func (t *tx) SharesThread(ctx context.Context, a, b string) (bool, error) {
	var n int
	err := t.queryRow(ctx, `SELECT count(*) FROM participants p JOIN participants q ON q.thread_id = p.thread_id
		WHERE p.user_id = ? AND q.user_id = ?`, a, b).Scan(&n)
	return n > 0, err
}

func (t *tx) Partners(ctx context.Context, userID string) ([]string, error) {
	rows, err := t.query(ctx, `SELECT DISTINCT q.user_id FROM participants p JOIN participants q ON q.thread_id = p.thread_id
		WHERE p.user_id = ? AND q.user_id <> ?`, userID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (t *tx) NextSeq(ctx context.Context, threadID string, at time.Time) (int64, error) {
	if t.p != nil {
		if st := t.p.threads[threadID]; st != nil {
			// The row is ours until commit (one writer on SQLite; the
			// prefetch's FOR UPDATE or the first UPDATE's row lock on
			// PostgreSQL): count in memory.
			st.seq++
			st.at = micros(at)
			st.dirty = true
			return st.seq, nil
		}
	}
	var seq int64
	err := t.queryRow(ctx, qNextSeq,
		micros(at), threadID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("thread")
	}
	if err == nil && t.p != nil {
		t.p.thread(threadID, seq, micros(at))
	}
	return seq, err
}

func (t *tx) InsertMessage(ctx context.Context, m *messenger.Message) (bool, error) {
	if t.p != nil {
		t.p.msgs = append(t.p.msgs, *m)
		return true, nil
	}
	res, err := t.exec(ctx, `INSERT INTO messages (id, thread_id, seq, sender_id, client_id, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, sender_id, client_id) DO NOTHING`,
		m.ID, m.ThreadID, m.Seq, m.SenderID, m.ClientID, m.Content, micros(m.CreatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return false, messenger.Errorf(messenger.ECONFLICT, "message conflicts with a stored one")
		}
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const messageCols = `id, thread_id, seq, sender_id, client_id, content, created_at, edited_at, deleted_at, n_attachments`

// scanMessages reads messageCols rows, then loads attachment refs for the
// messages that have any.
func (t *tx) scanMessages(ctx context.Context, rows *sql.Rows) ([]*messenger.Message, error) {
	var out []*messenger.Message
	var withAtt []string
	byID := map[string]*messenger.Message{}
	for rows.Next() {
		var m messenger.Message
		var created int64
		var edited, deleted sql.NullInt64
		var natt int
		if err := rows.Scan(&m.ID, &m.ThreadID, &m.Seq, &m.SenderID, &m.ClientID, &m.Content, &created, &edited, &deleted, &natt); err != nil {
			rows.Close()
			return nil, err
		}
		m.CreatedAt, m.EditedAt, m.DeletedAt = fromMicros(created), fromNullMicros(edited), fromNullMicros(deleted)
		m.Attachments = []messenger.AttachmentRef{}
		if natt > 0 {
			withAtt = append(withAtt, m.ID)
			byID[m.ID] = &m
		}
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	rows.Close()
	if len(withAtt) == 0 {
		return out, nil
	}
	arows, err := t.query(ctx, `SELECT message_id, id, name, content_type, size FROM attachments
		WHERE status = 'attached' AND message_id IN (`+placeholders(len(withAtt))+`) ORDER BY created_at, id`, strArgs(withAtt)...)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var mid string
		var a messenger.AttachmentRef
		if err := arows.Scan(&mid, &a.ID, &a.Name, &a.ContentType, &a.Size); err != nil {
			return nil, err
		}
		if m := byID[mid]; m != nil {
			m.Attachments = append(m.Attachments, a)
		}
	}
	return out, arows.Err()
}

func (t *tx) oneMessage(ctx context.Context, q string, args ...any) (*messenger.Message, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	ms, err := t.scanMessages(ctx, rows)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, notFound("message")
	}
	return ms[0], nil
}

func (t *tx) GetMessage(ctx context.Context, threadID, messageID string) (*messenger.Message, error) {
	return t.oneMessage(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ? AND thread_id = ?`, messageID, threadID)
}

func (t *tx) GetMessageByClientID(ctx context.Context, threadID, senderID, clientID string) (*messenger.Message, error) {
	return t.oneMessage(ctx, `SELECT `+messageCols+` FROM messages WHERE thread_id = ? AND sender_id = ? AND client_id = ?`,
		threadID, senderID, clientID)
}

func (t *tx) GetMessagesByID(ctx context.Context, ids []string) ([]*messenger.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.query(ctx, `SELECT `+messageCols+` FROM messages WHERE id IN (`+placeholders(len(ids))+`)`, strArgs(ids)...)
	if err != nil {
		return nil, err
	}
	return t.scanMessages(ctx, rows)
}

func (t *tx) UpdateMessage(ctx context.Context, m *messenger.Message) error {
	_, err := t.exec(ctx, `UPDATE messages SET content = ?, edited_at = ?, deleted_at = ?, n_attachments = ? WHERE id = ?`,
		m.Content, nullMicros(m.EditedAt), nullMicros(m.DeletedAt), len(m.Attachments), m.ID)
	return err
}

func (t *tx) ListMessages(ctx context.Context, threadID string, after, before int64, ascending bool, limit int) ([]*messenger.Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	order := "DESC"
	if ascending {
		order = "ASC"
	}
	rows, err := t.query(ctx, `SELECT `+messageCols+` FROM messages WHERE thread_id = ? AND seq > ? AND seq < ?
		ORDER BY seq `+order+` LIMIT ?`, threadID, after, before, limit)
	if err != nil {
		return nil, err
	}
	ms, err := t.scanMessages(ctx, rows)
	if err != nil {
		return nil, err
	}
	if !ascending {
		for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
			ms[i], ms[j] = ms[j], ms[i]
		}
	}
	return ms, nil
}

func (t *tx) CountUnread(ctx context.Context, threadID, userID string, afterSeq int64) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `SELECT count(*) FROM messages WHERE thread_id = ? AND seq > ? AND sender_id <> ? AND deleted_at IS NULL`,
		threadID, afterSeq, userID).Scan(&n)
	return n, err
}

func (t *tx) RecordSend(ctx context.Context, threadID, senderID string, seq int64, at time.Time) (map[string]int64, error) {
	if t.p != nil {
		if ps, ok := t.p.parts[threadID]; ok {
			return recordSendInMemory(ps, senderID, seq, micros(at)), nil
		}
	}
	rows, err := t.query(ctx, qRecordSend,
		senderID, senderID, seq, seq, senderID, seq, micros(at), threadID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	var ps []*partState
	for rows.Next() {
		var p partState
		if err := rows.Scan(&p.user, &p.unread, &p.readSeq, &p.readAt); err != nil {
			return nil, err
		}
		out[p.user] = p.unread
		ps = append(ps, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if t.p != nil {
		t.p.participants(threadID, ps)
	}
	return out, nil
}

func (t *tx) RecordDelete(ctx context.Context, threadID, senderID string, seq int64) error {
	_, err := t.exec(ctx, `UPDATE participants SET unread = unread - 1
		WHERE thread_id = ? AND user_id <> ? AND read_seq < ? AND unread > 0`, threadID, senderID, seq)
	return err
}

func (t *tx) AdvanceRead(ctx context.Context, threadID, userID string, seq int64, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE participants SET read_seq = ?, read_at = ?,
		unread = (SELECT count(*) FROM messages m WHERE m.thread_id = ? AND m.seq > ? AND m.sender_id <> ? AND m.deleted_at IS NULL)
		WHERE thread_id = ? AND user_id = ? AND read_seq < ?`,
		seq, micros(at), threadID, seq, userID, threadID, userID, seq)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
