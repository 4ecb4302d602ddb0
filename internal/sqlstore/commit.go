package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/parleyhq/parley/internal/messenger"
)

// Group commit. Write enqueues a request; a committer goroutine takes
// whatever is queued (up to MaxBatch), runs the requests in one
// transaction and commits once, then answers every request. One fsync then covers the whole batch. A request whose fn fails
// is rolled back to its savepoint and fails alone; one that failed with a
// database error (a deadlock, say) is retried alone after the batch; if the
// batch itself cannot commit, every request is retried alone. So fn may run
// more than once, as messenger.Store documents.

type writeReq struct {
	ctx  context.Context
	fn   func(context.Context, messenger.Tx) error
	done chan error
}

// errClosed is returned by Write after Close.
var errClosed = errors.New("sqlstore: store is closed")

// batchTimeout bounds one batch transaction.
const batchTimeout = 30 * time.Second

// Write implements messenger.Store.
func (s *Store) Write(ctx context.Context, fn func(context.Context, messenger.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.isDown {
		s.mu.RUnlock()
		return errClosed
	}
	q := s.reqs[0]
	if len(s.reqs) > 1 {
		h := fnv.New32a()
		h.Write([]byte(messenger.WriteKey(ctx)))
		q = s.reqs[h.Sum32()%uint32(len(s.reqs))]
	}
	select {
	case q <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Wait for the outcome even if ctx ends: the write may commit, and the
	// caller must not be told otherwise.
	return <-r.done
}

// write is Write for the store's own statements: on SQLite every write
// then goes through the one committer, so none waits in SQLite's busy
// handler.
func (s *Store) write(ctx context.Context, fn func(context.Context, *tx) error) error {
	return s.Write(ctx, func(ctx context.Context, t messenger.Tx) error { return fn(ctx, t.(*tx)) })
}

// Read implements messenger.Store.
func (s *Store) Read(ctx context.Context, fn func(context.Context, messenger.Tx) error) error {
	return fn(ctx, &tx{s: s, db: s.rdb})
}

func (s *Store) committer(reqs chan *writeReq) {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, s.opts.MaxBatch)
	for {
		var first *writeReq
		select {
		case first = <-reqs:
		case <-s.stop:
			// Close forbids new requests before stop; finish queued ones.
			for {
				select {
				case r := <-reqs:
					s.runBatchHeld([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		s.fill(reqs, &batch)
		s.runBatchHeld(batch)
	}
}

// runBatchHeld runs a batch holding s.batching on SQLite, where the
// checkpointer takes it to find the WAL still (checkpoint.go). PostgreSQL's
// several committers do not share it.
func (s *Store) runBatchHeld(batch []*writeReq) {
	if s.ck != nil {
		s.batching.Lock()
		defer s.batching.Unlock()
	}
	s.runBatch(batch)
}

// fill adds queued requests to batch, waiting up to Linger for more.
func (s *Store) fill(reqs chan *writeReq, batch *[]*writeReq) {
	var linger <-chan time.Time
	if s.opts.Linger > 0 {
		t := time.NewTimer(s.opts.Linger)
		defer t.Stop()
		linger = t.C
	}
	for len(*batch) < s.opts.MaxBatch {
		select {
		case r := <-reqs:
			*batch = append(*batch, r)
			continue
		default:
		}
		if linger == nil {
			return
		}
		select {
		case r := <-reqs:
			*batch = append(*batch, r)
		case <-linger:
			return
		}
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		live[0].done <- s.runAlone(live[0])
		return
	}
	// Writes about a thread run first: any other statement writes the
	// prefetched counters back and drops them (prefetch.go), and the
	// relay's outbox deletes, which arrive in most batches, would otherwise
	// make every later send of the batch read its counters again.
	slices.SortStableFunc(live, func(a, b *writeReq) int {
		return cmp.Compare(keyless(a), keyless(b))
	})
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	results := make([]error, len(live))
	retry := make([]bool, len(live))
	ok := s.tryBatch(ctx, live, results, retry)
	for i, r := range live {
		if !ok || retry[i] {
			r.done <- s.runAlone(r)
		} else {
			r.done <- results[i]
		}
	}
}

// tryBatch runs live in one transaction. It first runs every request
// without savepoints (most batches have no failures, and a savepoint costs
// two statements per request); if any request fails, the transaction is
// rolled back and the batch is run again with a savepoint per request. It
// reports false when the transaction could not be committed (nothing is
// then answered and everything must be retried alone).
func (s *Store) tryBatch(ctx context.Context, live []*writeReq, results []error, retry []bool) bool {
	switch ok, clean := s.batchOnce(ctx, live, results, retry, false); {
	case !ok:
		return false
	case clean:
		return true
	}
	clear(results)
	clear(retry)
	ok, _ := s.batchOnce(ctx, live, results, retry, true)
	return ok
}

// batchOnce runs one attempt. Without savepoints it stops at the first
// failing request, rolls back and reports clean=false.
func (s *Store) batchOnce(ctx context.Context, live []*writeReq, results []error, retry []bool, savepoints bool) (ok, clean bool) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, false
	}
	t := &tx{s: s, db: s.db, tx: sqlTx}
	if !savepoints {
		n := len(live) // most writes are sends: a message, a change, an event
		t.p = &pending{msgs: make([]messenger.Message, 0, n), changes: make([]messenger.ChangeRecord, 0, n), events: make([]outboxEvent, 0, n)}
		if err := t.prefetchCounters(ctx, live); err != nil {
			sqlTx.Rollback()
			return false, false
		}
	}
	for i, r := range live {
		if !savepoints {
			if err := r.fn(ctx, t); err != nil {
				sqlTx.Rollback()
				return true, false
			}
			continue
		}
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			sqlTx.Rollback()
			return false, false
		}
		mark := len(t.written)
		if err := r.fn(ctx, t); err != nil {
			if _, rerr := sqlTx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); rerr != nil {
				sqlTx.Rollback()
				return false, false
			}
			t.written = t.written[:mark]
			results[i], retry[i] = err, isDBError(err)
		}
		if _, err := sqlTx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
			sqlTx.Rollback()
			return false, false
		}
	}
	if err := t.flush(ctx); err != nil {
		// A duplicate idempotency key or a failed deferred insert: re-run
		// with savepoints, which defer nothing.
		sqlTx.Rollback()
		return true, false
	}
	if err := sqlTx.Commit(); err != nil {
		s.log.Warn("group commit failed; retrying requests one by one", "requests", len(live), "err", err)
		return false, false
	}
	s.handOff(t.written)
	return true, true
}

// keyless is 1 for a write without a write key, else 0.
func keyless(r *writeReq) int {
	if messenger.WriteKey(r.ctx) == "" {
		return 1
	}
	return 0
}

// runAlone runs one request in its own transaction.
func (s *Store) runAlone(r *writeReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t := &tx{s: s, db: s.db, tx: sqlTx}
	if err := r.fn(ctx, t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return err
	}
	s.handOff(t.written)
	return nil
}

// isDBError reports whether err came from the database rather than from a
// business rule, so that running the request again may succeed.
func isDBError(err error) bool {
	var se *sqlite.Error
	var pe *pgconn.PgError
	return errors.As(err, &se) || errors.As(err, &pe)
}

// tx implements messenger.Tx over a transaction (writes) or a pool (reads).
type tx struct {
	s       *Store
	db      *sql.DB
	tx      *sql.Tx      // nil for reads
	p       *pending     // non-nil in a batch's savepoint-free attempt (deferred.go)
	written []writtenRow // leased outbox rows, for the relay after commit (outbox.go)
}

type stmtKey struct {
	db *sql.DB
	q  string
}

// prepared returns a cached prepared statement on SQLite (the driver does
// not cache, and parsing costs as much as running a small statement); nil
// on PostgreSQL, where pgx caches statements per connection itself.
func (t *tx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if strings.Contains(q, "IN (?") {
		return nil, nil // dynamic IN lists would fill the cache
	}
	return t.cached(ctx, q)
}

// cached is prepared for statements whose texts come in a few fixed shapes
// (the power-of-two multi-row statements), IN lists included.
func (t *tx) cached(ctx context.Context, q string) (*sql.Stmt, error) {
	if t.s.d.dollar {
		return nil, nil
	}
	k := stmtKey{t.db, q}
	if v, ok := t.s.stmts.Load(k); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := t.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := t.s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// runner is where one statement runs: a prepared statement (bound to the
// transaction when there is one), or its text on the transaction or the
// pool.
type runner struct {
	st   *sql.Stmt
	on   sqlRunner // *sql.Tx or *sql.DB, when st is nil
	text string
}

type sqlRunner interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (r runner) exec(ctx context.Context, args []any) (sql.Result, error) {
	if r.st != nil {
		return r.st.ExecContext(ctx, args...)
	}
	return r.on.ExecContext(ctx, r.text, args...)
}

func (r runner) query(ctx context.Context, args []any) (*sql.Rows, error) {
	if r.st != nil {
		return r.st.QueryContext(ctx, args...)
	}
	return r.on.QueryContext(ctx, r.text, args...)
}

func (r runner) queryRow(ctx context.Context, args []any) *sql.Row {
	if r.st != nil {
		return r.st.QueryRowContext(ctx, args...)
	}
	return r.on.QueryRowContext(ctx, r.text, args...)
}

// runnerFor finds where q runs. A fixed-shape statement (the multi-row
// ones, deferred.go) is always cached and skips beforeStatement: flush runs
// it with the buffers already taken. Any other statement first flushes
// deferred rows it might observe.
func (t *tx) runnerFor(ctx context.Context, q string, fixed bool) (runner, error) {
	var st *sql.Stmt
	var err error
	if fixed {
		st, err = t.cached(ctx, q)
	} else {
		if t.p != nil {
			if err := t.beforeStatement(ctx, q); err != nil {
				return runner{}, err
			}
		}
		st, err = t.prepared(ctx, q)
	}
	if err != nil {
		return runner{}, err
	}
	var on sqlRunner = t.db
	if t.tx != nil {
		on = t.tx
		if st != nil {
			st = t.tx.StmtContext(ctx, st)
		}
	}
	if st != nil {
		return runner{st: st}, nil
	}
	return runner{on: on, text: t.s.rebindShaped(q, fixed)}, nil
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := t.runnerFor(ctx, q, false)
	if err != nil {
		return nil, err
	}
	return r.exec(ctx, args)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	r, err := t.runnerFor(ctx, q, false)
	if err != nil {
		return nil, err
	}
	return r.query(ctx, args)
}

// row is QueryRow with the preparation error folded into Scan.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) row {
	r, err := t.runnerFor(ctx, q, false)
	if err != nil {
		return row{err: err}
	}
	return row{r: r.queryRow(ctx, args)}
}
