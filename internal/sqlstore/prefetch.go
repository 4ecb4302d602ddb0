package sqlstore

import (
	"context"
	"slices"

	"github.com/parleyhq/parley/internal/messenger"
)

// Counter prefetch. Without it, the first NextSeq and RecordSend of each
// thread in a batch ran their own UPDATE … RETURNING: two statements per
// distinct thread, most of the committer's time in a batch of sends. The
// writes of a batch name their thread up front (messenger.WithWriteKey), so
// the savepoint-free attempt reads every named thread's counter and
// participant rows with one statement per table before running any write
// function, locking them on PostgreSQL. NextSeq and RecordSend then count
// in memory from the first call, and flushCounters writes back only what
// they changed. A key that names no thread prefetches nothing, and NextSeq
// falls back to its UPDATE, which reports the missing thread.
//
// Locks, PostgreSQL: FOR UPDATE (not FOR NO KEY UPDATE, which would let a
// concurrent participant insert pass its foreign-key check and leave the
// prefetched participant set incomplete), taken in id order. Thread ids are
// lower-case base32hex, which every collation orders as bytes, so the Go
// sort that chunks the ids and the ORDER BY agree. Two prefetching batches
// therefore never deadlock; a savepoint re-run or a lone retry on another
// node locks in arrival order and can, and PostgreSQL then aborts one of
// them, which commit.go retries alone.

// prefetchCounters fills t.p with the counters of the threads named by
// live's write keys.
func (t *tx) prefetchCounters(ctx context.Context, live []*writeReq) error {
	ids := make([]string, 0, len(live))
	for _, r := range live {
		if k := messenger.WriteKey(r.ctx); k != "" {
			ids = append(ids, k)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for rest := ids; len(rest) > 0; {
		n := chunk(len(rest))
		if err := t.prefetchChunk(ctx, rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

func (t *tx) prefetchChunk(ctx context.Context, ids []string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.queryFixed(ctx, multiRow(`SELECT id, last_seq, last_activity FROM threads WHERE id IN (`, `?`, `) ORDER BY id`+t.s.d.forUpdate, len(ids)), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var seq, at int64
		if err := rows.Scan(&id, &seq, &at); err != nil {
			rows.Close()
			return err
		}
		t.p.thread(id, seq, at)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	rows, err = t.queryFixed(ctx, multiRow(`SELECT thread_id, user_id, unread, read_seq, read_at FROM participants
		WHERE thread_id IN (`, `?`, `) ORDER BY thread_id, user_id`+t.s.d.forUpdate, len(ids)), args...)
	if err != nil {
		return err
	}
	parts := map[string][]*partState{}
	for rows.Next() {
		var thread string
		var p partState
		if err := rows.Scan(&thread, &p.user, &p.unread, &p.readSeq, &p.readAt); err != nil {
			rows.Close()
			return err
		}
		parts[thread] = append(parts[thread], &p)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	for thread, ps := range parts {
		if _, ok := t.p.threads[thread]; ok {
			t.p.participants(thread, ps)
		}
	}
	return nil
}
