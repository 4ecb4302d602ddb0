package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/parleyhq/parley/internal/messenger"
)

// Deferred inserts. In a batch's first, savepoint-free attempt the inserts
// that return nothing the caller needs before commit — messages (whose
// "inserted" answer is assumed true), change rows and outbox events — are
// buffered and written with one multi-row INSERT per table: before the
// commit, or earlier when a statement that might read or change those tables
// runs (read-your-writes inside a batch is kept). The outbox events of the
// whole batch go into one outbox row, so the relay claims and deletes one row
// per batch rather than one per write.
//
// Nothing is lost by assuming success: if the deferred message INSERT skips
// a row (an idempotency-key duplicate) or fails, the attempt is rolled back
// and the batch re-runs with a savepoint per request and no deferral, where
// InsertMessage answers exactly as before.

// errDeferredConflict makes the fast attempt fall back to savepoints.
var errDeferredConflict = errors.New("sqlstore: deferred insert conflicted")

// maxChunk bounds rows per multi-row statement (7 columns × 256 stays far
// below both databases' bind-parameter limits).
const maxChunk = 256

// chunk is how many of n rows the next multi-row statement takes: the
// largest power of two ≤ n (and ≤ maxChunk). Statement texts then come in
// nine sizes only, so they are prepared once and cached instead of being
// parsed on every flush (parsing was 10 % of all CPU with exact sizes).
func chunk(n int) int {
	c := 1
	for c*2 <= n && c*2 <= maxChunk {
		c *= 2
	}
	return c
}

// multiRow is head, then n times row separated by ", ", then tail: the text
// of a multi-row statement, built once per shape and kept.
func multiRow(head, row, tail string, n int) string {
	k := multiRowKey{head, row, tail, n}
	if q, ok := multiRows.Load(k); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	q, _ := multiRows.LoadOrStore(k, b.String())
	return q.(string)
}

type multiRowKey struct {
	head, row, tail string
	n               int
}

// multiRows holds the texts multiRow built; a few dozen at most, since n is
// always a power of two up to maxChunk.
var multiRows sync.Map

// execFixed runs one of those statements, prepared and cached on SQLite
// (pgx caches per connection itself), without flushing (runnerFor).
func (t *tx) execFixed(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := t.runnerFor(ctx, q, true)
	if err != nil {
		return nil, err
	}
	return r.exec(ctx, args)
}

// queryFixed is execFixed for a query.
func (t *tx) queryFixed(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	r, err := t.runnerFor(ctx, q, true)
	if err != nil {
		return nil, err
	}
	return r.query(ctx, args)
}

// closeRows closes rows and returns the error that ended them, if any.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}

type pending struct {
	msgs    []messenger.Message
	changes []messenger.ChangeRecord
	events  []outboxEvent
	// Per-thread counters and participant rows this attempt holds: read
	// by the prefetch (prefetch.go) or by a first NextSeq/RecordSend, and
	// so locked until commit on PostgreSQL. NextSeq/RecordSend apply their
	// arithmetic to them in memory; flush writes back the changed ones with
	// one statement per table.
	threads map[string]*seqState
	parts   map[string][]*partState
}

type seqState struct {
	seq, at int64
	dirty   bool
}

type partState struct {
	user                    string
	unread, readSeq, readAt int64
	dirty                   bool
}

func (p *pending) empty() bool {
	return p == nil || (len(p.msgs)+len(p.changes)+len(p.events)+len(p.threads)+len(p.parts) == 0)
}

func (p *pending) thread(id string, seq, at int64) {
	if p.threads == nil {
		p.threads = map[string]*seqState{}
	}
	p.threads[id] = &seqState{seq: seq, at: at}
}

func (p *pending) participants(threadID string, ps []*partState) {
	if p.parts == nil {
		p.parts = map[string][]*partState{}
	}
	p.parts[threadID] = ps
}

// recordSendInMemory is qRecordSend's arithmetic on rows this transaction
// holds (every SET reads the old values).
func recordSendInMemory(ps []*partState, senderID string, seq, at int64) map[string]int64 {
	out := make(map[string]int64, len(ps))
	for _, p := range ps {
		if p.user == senderID {
			p.unread = 0
			if p.readSeq < seq {
				p.readSeq, p.readAt = seq, at
			}
		} else {
			p.unread++
		}
		p.dirty = true
		out[p.user] = p.unread
	}
	return out
}

// keepsDeferred lists the statements of the send path that touch none of
// the deferred tables, so they may run before a flush. Any other statement
// flushes first.
var keepsDeferred = map[string]bool{
	qNextSeq: true, qRecordSend: true, qUpsertNotification: true, qInsertAudit: true, qUpsertUser: true,
}

// beforeStatement flushes deferred rows unless q cannot observe them.
func (t *tx) beforeStatement(ctx context.Context, q string) error {
	if t.p.empty() || keepsDeferred[q] {
		return nil
	}
	return t.flush(ctx)
}

// flush writes the deferred rows. The buffers are taken first, so the
// statements it runs do not flush again.
func (t *tx) flush(ctx context.Context) error {
	if t.p.empty() {
		return nil
	}
	p := *t.p
	*t.p = pending{}
	if err := t.flushCounters(ctx, p.threads, p.parts); err != nil {
		return err
	}
	// One argument buffer for every chunk: the driver copies the arguments
	// before a statement returns.
	args := make([]any, 0, 7*chunk(max(len(p.msgs), len(p.changes))))
	for rest := p.msgs; len(rest) > 0; {
		n := chunk(len(rest))
		args = args[:0]
		for _, m := range rest[:n] {
			args = append(args, m.ID, m.ThreadID, m.Seq, m.SenderID, m.ClientID, m.Content, micros(m.CreatedAt))
		}
		q := multiRow(`INSERT INTO messages (id, thread_id, seq, sender_id, client_id, content, created_at) VALUES `,
			`(?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT (thread_id, sender_id, client_id) DO NOTHING`, n)
		res, err := t.execFixed(ctx, q, args...)
		if err != nil {
			return errors.Join(errDeferredConflict, err)
		}
		if k, err := res.RowsAffected(); err != nil || k != int64(n) {
			return errDeferredConflict
		}
		rest = rest[n:]
	}
	for rest := p.changes; len(rest) > 0; {
		n := chunk(len(rest))
		args = args[:0]
		for _, c := range rest[:n] {
			args = append(args, c.ThreadID, c.Kind, c.MessageID, c.UserID, c.Seq, micros(c.At))
		}
		q := multiRow(`INSERT INTO changes (thread_id, kind, message_id, user_id, seq, at) VALUES `, `(?, ?, ?, ?, ?, ?)`, ``, n)
		if _, err := t.execFixed(ctx, q, args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if len(p.events) > 0 {
		size := 2
		for _, e := range p.events {
			size += len(e.Data) + 64
		}
		raw, err := appendEvents(make([]byte, 0, size), p.events)
		if err != nil {
			return err
		}
		if err := t.insertOutboxRow(ctx, raw, p.events); err != nil {
			return err
		}
	}
	return nil
}

// appendEvents encodes evs as json.Marshal would, but copies each Data as
// is: it is JSON the messenger just produced with json.Marshal, and
// re-validating and compacting it was the costliest part of the flush.
func appendEvents(b []byte, evs []outboxEvent) ([]byte, error) {
	b = append(b, '[')
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		ch, err := json.Marshal(e.Channels)
		if err != nil {
			return nil, err
		}
		name, err := json.Marshal(e.Event)
		if err != nil {
			return nil, err
		}
		b = append(b, `{"channels":`...)
		b = append(b, ch...)
		b = append(b, `,"event":`...)
		b = append(b, name...)
		b = append(b, `,"data":`...)
		if len(e.Data) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, e.Data...)
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// flushCounters writes the in-memory thread counters and participant rows
// back with one UPDATE … FROM (VALUES …) per table. VALUES columns are
// column1…n in both SQLite and PostgreSQL; the casts give PostgreSQL their
// types.
func (t *tx) flushCounters(ctx context.Context, threads map[string]*seqState, parts map[string][]*partState) error {
	var args []any
	n := 0
	for id, st := range threads {
		if st.dirty {
			args = append(args, id, st.seq, st.at)
			n++
		}
	}
	if err := t.updateFromValues(ctx, `UPDATE threads SET last_seq = v.column2, last_activity = v.column3 FROM (VALUES `,
		`(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT))`, 3, `) AS v WHERE threads.id = v.column1`, args); err != nil {
		return err
	}
	args = args[:0]
	for id, ps := range parts {
		for _, p := range ps {
			if p.dirty {
				args = append(args, id, p.user, p.unread, p.readSeq, p.readAt)
			}
		}
	}
	return t.updateFromValues(ctx, `UPDATE participants SET unread = v.column3, read_seq = v.column4, read_at = v.column5 FROM (VALUES `,
		`(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))`, 5,
		`) AS v WHERE participants.thread_id = v.column1 AND participants.user_id = v.column2`, args)
}

// updateFromValues runs head + row,row,… + tail over args (cols per row),
// in chunks of chunk() rows.
func (t *tx) updateFromValues(ctx context.Context, head, row string, cols int, tail string, args []any) error {
	for len(args) > 0 {
		n := chunk(len(args) / cols)
		if _, err := t.execFixed(ctx, multiRow(head, row, tail, n), args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}
