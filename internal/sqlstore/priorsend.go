package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

// Pre-send checks run combined. Before entering the writer every send reads
// whether its sender is a participant and whether its client id was used
// already (Tx.PriorSend). As one statement per send that read took a fifth
// of all CPU at 15 000 sends/s on SQLite — most of it database/sql's and the
// driver's work per statement, and Go growing the caller's stack for the
// driver's deep frames — which the single writer then lacked. Checks made
// while others are in flight queue for one goroutine, which answers up to
// maxPriorBatch of them with one statement; an idle store answers a lone
// check at once, as before.

// maxPriorBatch bounds the checks answered by one statement (four
// parameters each; a power of two).
const maxPriorBatch = 64

// priorTimeout bounds one combined check.
const priorTimeout = 10 * time.Second

type priorReq struct {
	threadID, senderID, clientID string
	done                         chan priorRes // buffered: the caller may be gone
}

// priorReqs keeps answered requests with their channels for reuse: two
// allocations fewer per send.
var priorReqs = sync.Pool{New: func() any { return &priorReq{done: make(chan priorRes, 1)} }}

type priorRes struct {
	participant, sent bool
	err               error
}

// priorSend is PriorSend's first step: is senderID a participant of
// threadID, and has it sent clientID there already.
func (s *Store) priorSend(ctx context.Context, threadID, senderID, clientID string) (participant, sent bool, err error) {
	r := priorReqs.Get().(*priorReq)
	r.threadID, r.senderID, r.clientID = threadID, senderID, clientID
	select {
	case s.priors <- r:
	case <-s.stop:
		return false, false, errClosed
	case <-ctx.Done():
		return false, false, ctx.Err()
	}
	select {
	case res := <-r.done:
		// Answered, so the checker is done with r: it can serve again.
		// (Not after a return below, when an answer may still come.)
		*r = priorReq{done: r.done}
		priorReqs.Put(r)
		return res.participant, res.sent, res.err
	case <-ctx.Done():
		return false, false, ctx.Err()
	case <-s.stop:
		// Closing: the checker may have left before taking r.
		return false, false, errClosed
	}
}

// priorChecker answers queued checks until the store closes.
func (s *Store) priorChecker() {
	defer s.wg.Done()
	batch := make([]*priorReq, 0, maxPriorBatch)
	for {
		select {
		case <-s.stop:
			for {
				select {
				case r := <-s.priors:
					r.done <- priorRes{err: errClosed}
				default:
					return
				}
			}
		case r := <-s.priors:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxPriorBatch {
			select {
			case r := <-s.priors:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.checkPriors(batch)
	}
}

// checkPriors answers reqs with one statement. The statement takes a
// power-of-two number of rows (so that it comes in seven shapes, each
// prepared once); rows past reqs are padding that matches nothing.
func (s *Store) checkPriors(reqs []*priorReq) {
	// On SQLite without a deadline: a read there never waits for a lock
	// (WAL), and the driver watches a cancellable context with a goroutine
	// per statement.
	ctx := context.Background()
	if s.d.dollar {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, priorTimeout)
		defer cancel()
	}
	rows := 1
	for rows < len(reqs) {
		rows *= 2
	}
	args := make([]any, 0, 4*rows)
	for i, r := range reqs {
		args = append(args, int64(i), r.threadID, r.senderID, r.clientID)
	}
	for i := len(reqs); i < rows; i++ {
		args = append(args, int64(-1), "", "", "")
	}
	q := multiRow(`WITH q (i, t, u, c) AS (VALUES `, `(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))`,
		`) SELECT q.i, p.user_id IS NOT NULL, m.id IS NOT NULL FROM q
		LEFT JOIN participants p ON p.thread_id = q.t AND p.user_id = q.u
		LEFT JOIN messages m ON m.thread_id = q.t AND m.sender_id = q.u AND m.client_id = q.c`, rows)
	res := make([]priorRes, len(reqs))
	err := s.queryPriors(ctx, q, args, res)
	for i, r := range reqs {
		if err != nil {
			res[i] = priorRes{err: err}
		}
		r.done <- res[i]
	}
}

func (s *Store) queryPriors(ctx context.Context, q string, args []any, res []priorRes) error {
	t := &tx{s: s, db: s.rdb}
	rows, err := t.queryFixed(ctx, q, args...)
	if err != nil {
		return err
	}
	answered := 0
	for rows.Next() {
		var i int64
		var r priorRes
		if err := rows.Scan(&i, &r.participant, &r.sent); err != nil {
			rows.Close()
			return err
		}
		if i >= 0 && i < int64(len(res)) {
			res[i] = r
			answered++
		}
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	// One row per check: anything else would answer a check with another
	// one's result, or with a made-up "not a participant".
	if answered != len(res) {
		return fmt.Errorf("sqlstore: combined pre-send check answered %d of %d", answered, len(res))
	}
	return nil
}

func (t *tx) PriorSend(ctx context.Context, threadID, senderID, clientID string) (*messenger.Message, error) {
	if t.tx != nil {
		// Inside a write transaction the check must see its writes: ask
		// it directly (no caller does today).
		return t.priorSendDirect(ctx, threadID, senderID, clientID)
	}
	participant, sent, err := t.s.priorSend(ctx, threadID, senderID, clientID)
	switch {
	case err != nil:
		return nil, err
	case !participant:
		return nil, notFound("thread")
	case !sent:
		return nil, nil
	}
	// A retry: rare enough to read the message with its attachments apart.
	return t.GetMessageByClientID(ctx, threadID, senderID, clientID)
}

// priorSendDirect is PriorSend as one statement of its own.
func (t *tx) priorSendDirect(ctx context.Context, threadID, senderID, clientID string) (*messenger.Message, error) {
	var participant, sent bool
	err := t.queryRow(ctx, `SELECT p.user_id IS NOT NULL, m.id IS NOT NULL FROM participants p LEFT JOIN messages m
		ON m.thread_id = p.thread_id AND m.sender_id = p.user_id AND m.client_id = ?
		WHERE p.thread_id = ? AND p.user_id = ?`, clientID, threadID, senderID).Scan(&participant, &sent)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFound("thread")
	case err != nil:
		return nil, err
	case !sent:
		return nil, nil
	}
	return t.GetMessageByClientID(ctx, threadID, senderID, clientID)
}
