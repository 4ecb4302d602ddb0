package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// TestBatchedSendsKeepCounters drives many concurrent sends (with some
// retried idempotency keys) into a few threads, so that group-commit
// batches hold several sends per thread and exercise the deferred inserts,
// the prefetched in-memory counters (deferred.go, prefetch.go), read
// markers moved in the same batches (which write the counters back and drop
// them mid-batch) and writes keyed to a thread that does not exist. It then
// checks every invariant they replace against the stored rows: gapless
// seqs, threads.last_seq, the read markers and the unread counts, one
// change row per message, no duplicate per idempotency key.
func TestBatchedSendsKeepCounters(t *testing.T) {
	onBothStores(t, func(t *testing.T, store messenger.Store) {
		const threads, senders, each = 3, 24, 25
		svc, ids := openService(t, store, messenger.Config{}, threads)
		ctx := context.Background()
		pat, doc := testPatient, testProvider
		var wg sync.WaitGroup
		errs := make(chan error, senders+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Writes keyed to a missing thread share batches with the
			// sends: the prefetch finds nothing, NextSeq reports it, and
			// only these writes fail.
			ghost := messenger.WithWriteKey(ctx, "no-such-thread")
			for range 40 {
				err := store.Write(ghost, func(ctx context.Context, tx messenger.Tx) error {
					_, err := tx.NextSeq(ctx, "no-such-thread", time.Now())
					return err
				})
				if messenger.ErrorCode(err) != messenger.ENOTFOUND {
					errs <- fmt.Errorf("NextSeq on a missing thread: %v, want ENOTFOUND", err)
					return
				}
			}
		}()
		for g := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				who := pat
				if g%3 == 0 {
					who = doc
				}
				for i := range each {
					// Every fifth send repeats the previous key.
					k := i - boolInt(i%5 == 4)
					key := fmt.Sprintf("g%d-%d", g, k)
					thread := ids[(g+k)%threads]
					m, _, err := svc.SendMessage(ctx, who, thread, messenger.NewMessage{ClientID: key, Content: "x"})
					if err != nil {
						errs <- err
						return
					}
					// The other side reads now and then, in the same
					// batches as the sends.
					if i%3 == 1 {
						reader := doc
						if who == doc {
							reader = pat
						}
						if _, err := svc.MarkRead(ctx, reader, thread, m.Seq); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		db := store.(*sqlstore.Store).DB()
		q := func(query string, args ...any) *sql.Row {
			if store.(*sqlstore.Store).Dialect() == "postgres" {
				for i := 1; i <= len(args); i++ {
					query = replaceFirst(query, "?", fmt.Sprintf("$%d", i))
				}
			}
			return db.QueryRow(query, args...)
		}
		total := 0
		for _, id := range ids {
			var n, maxSeq, lastSeq, changes int64
			if err := q(`SELECT count(*), COALESCE(max(seq), 0) FROM messages WHERE thread_id = ?`, id).Scan(&n, &maxSeq); err != nil {
				t.Fatal(err)
			}
			scan(t, q(`SELECT last_seq FROM threads WHERE id = ?`, id), &lastSeq)
			scan(t, q(`SELECT count(*) FROM changes WHERE thread_id = ? AND kind = ?`, id, messenger.ChangeNewMessage), &changes)
			if n != maxSeq || lastSeq != n || changes != n {
				t.Fatalf("thread %s: %d messages, max seq %d, last_seq %d, %d change rows", id, n, maxSeq, lastSeq, changes)
			}
			for _, u := range []string{pat.UserID, doc.UserID} {
				var readSeq, unread, want, lastOwn int64
				scan(t, q(`SELECT read_seq, unread FROM participants WHERE thread_id = ? AND user_id = ?`, id, u), &readSeq, &unread)
				scan(t, q(`SELECT COALESCE(max(seq), 0) FROM messages WHERE thread_id = ? AND sender_id = ?`, id, u), &lastOwn)
				scan(t, q(`SELECT count(*) FROM messages WHERE thread_id = ? AND sender_id <> ? AND seq > ?`, id, u, readSeq), &want)
				if readSeq < lastOwn || unread != want {
					t.Fatalf("thread %s user %s: read_seq %d (last own %d), unread %d (want %d)", id, u, readSeq, lastOwn, unread, want)
				}
			}
			total += int(n)
		}
		distinct := senders * (each - each/5)
		if total != distinct {
			t.Fatalf("%d messages stored, want %d (one per idempotency key)", total, distinct)
		}
	})
}

func scan(t *testing.T, r *sql.Row, dest ...any) {
	t.Helper()
	if err := r.Scan(dest...); err != nil {
		t.Fatal(err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func replaceFirst(s, old, repl string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + repl + s[i+len(old):]
		}
	}
	return s
}
