package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parleyhq/parley/internal/messenger"
)

//go:embed migrations
var migrations embed.FS

// Options tune a Store. Zero values take the documented defaults.
type Options struct {
	// MaxBatch caps how many concurrent writes share one transaction.
	// Default 256.
	MaxBatch int
	// Committers is how many batch transactions run at once. SQLite has one
	// writer, so it is always 1 there; default 4 on PostgreSQL.
	Committers int
	// Linger is how long a committer waits for more writes after the first
	// before committing. Default 0: batches form from whatever queued while
	// the previous commit was in flight, which adds no latency when idle.
	Linger time.Duration
	// MaxConns caps the PostgreSQL pool and the SQLite read pool.
	// Default 16 (PostgreSQL), 2×GOMAXPROCS+2 (SQLite reads).
	MaxConns int
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
	// WALResetFrames (SQLite) is the WAL length, in pages, past which the
	// checkpointer briefly holds the writer so that the WAL file can start
	// over (checkpoint.go). Default 4096: 16 MiB with 4 KiB pages.
	WALResetFrames int
}

// Store is a messenger.Store on SQLite or PostgreSQL.
type Store struct {
	d   dialect
	db  *sql.DB // writes; on SQLite one connection
	rdb *sql.DB // reads; on PostgreSQL the same pool as db
	ck  *sql.DB // SQLite only: the background checkpointer's connection
	// batching is held by the SQLite committer while it runs a batch, and
	// by the checkpointer when it needs the WAL to stand still.
	batching sync.Mutex
	opts     Options
	log      *slog.Logger

	reqs   []chan *writeReq // one per committer; Write picks by messenger.WriteKey
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
	mu     sync.RWMutex // guards closing vs. enqueuing
	isDown bool

	priors  chan *priorReq              // pre-send checks for priorChecker (priorsend.go)
	outbox  atomic.Pointer[outboxLease] // set by LeaseOutbox (outbox.go)
	stmts   sync.Map                    // stmtKey -> *sql.Stmt (SQLite only)
	rebound sync.Map                    // query -> query with $n (PostgreSQL only)
}

var _ messenger.Store = (*Store)(nil)

type dialect struct {
	name string
	// txOrderHorizon is an SQL expression: change rows with tx_order below
	// it were written by transactions that are all finished.
	txOrderHorizon string
	// changeHead selects (tx_order, id) of a position past every visible
	// change and below every future one. SQLite: the largest id (one
	// writer, ids commit in order). PostgreSQL: (horizon − 1, max): every
	// transaction below the horizon has finished, every later one writes
	// tx_order ≥ horizon, so no index is needed.
	changeHead string
	// skipLocked is appended to claim subqueries; forUpdate to reads that
	// lock the rows they return until commit (SQLite's one writer needs no
	// row locks).
	skipLocked, forUpdate string
	dollar                bool // $n placeholders
}

var (
	sqliteDialect = dialect{name: "sqlite", txOrderHorizon: "9223372036854775807",
		changeHead: `SELECT 0, COALESCE(max(id), 0) FROM changes`}
	postgresDialect = dialect{name: "postgres", txOrderHorizon: "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)",
		changeHead: `SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint) - 1, 9223372036854775807`,
		skipLocked: " FOR UPDATE SKIP LOCKED", forUpdate: " FOR UPDATE", dollar: true}
)

// Open opens PostgreSQL when databaseURL is set, else SQLite in
// dataDir/parley.db (the directory is created with mode 0700).
func Open(ctx context.Context, dataDir, databaseURL string, opts Options) (*Store, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL, opts)
	}
	return OpenSQLite(ctx, filepath.Join(dataDir, "parley.db"), opts)
}

// OpenSQLite opens (creating if needed) the database file at path in WAL
// mode with synchronous=FULL, and applies migrations.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	base := sqliteDSN(path, 10*time.Second)
	// wal_autocheckpoint(0): checkpoints run in the background (checkpoint.go).
	db, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	// One committer writes; the second connection lets a statement be
	// prepared while the committer's transaction holds the first.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	if err := migrate(ctx, db, goose.DialectSQLite3, "migrations/sqlite"); err != nil {
		db.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 2*runtime.GOMAXPROCS(0) + 2
	}
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	// The checkpointer's connection waits only briefly for readers: it
	// holds the writer while it does (checkpoint.go).
	ck, err := sql.Open("sqlite", sqliteDSN(path, restartWait))
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxIdleTime(0)
	opts.Committers = 1
	return newStore(sqliteDialect, db, rdb, ck, opts), nil
}

// sqliteDSN is the connection string every SQLite connection shares, with
// how long a statement waits for a lock. temp_store=MEMORY keeps savepoint
// sub-journals off the disk.
func sqliteDSN(path string, busy time.Duration) string {
	return fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)",
		path, busy.Milliseconds())
}

// OpenPostgres connects with pgx to url and applies migrations under a
// session advisory lock, so several processes may start at once.
func OpenPostgres(ctx context.Context, url string, opts Options) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 16
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect postgres: %w", err)
	}
	if err := migrate(ctx, db, goose.DialectPostgres, "migrations/postgres"); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Committers <= 0 {
		opts.Committers = 4
	}
	return newStore(postgresDialect, db, db, nil, opts), nil
}

func migrate(ctx context.Context, db *sql.DB, d goose.Dialect, dir string) error {
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	popts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if d == goose.DialectPostgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d, db, fsys, popts...)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// newStore starts the committers, and the checkpointer when ck is set.
func newStore(d dialect, db, rdb, ck *sql.DB, opts Options) *Store {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WALResetFrames <= 0 {
		opts.WALResetFrames = 4096
	}
	s := &Store{d: d, db: db, rdb: rdb, ck: ck, opts: opts, log: opts.Logger.With("component", "sqlstore", "dialect", d.name),
		stop: make(chan struct{}), priors: make(chan *priorReq, 4*maxPriorBatch)}
	s.wg.Add(1)
	go s.priorChecker()
	if ck != nil {
		s.wg.Add(1)
		go s.checkpointer(ck)
	}
	for range opts.Committers {
		q := make(chan *writeReq, 4*opts.MaxBatch)
		s.reqs = append(s.reqs, q)
		s.wg.Add(1)
		go s.committer(q)
	}
	return s
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// DB returns the write pool, for tests and tools.
func (s *Store) DB() *sql.DB { return s.db }

// Close stops the committers after the queued writes and closes the
// database. Idempotent.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		s.mu.Lock()
		s.isDown = true
		s.mu.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.stmts.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); return true })
		err = s.db.Close()
		if s.rdb != s.db {
			err = errors.Join(err, s.rdb.Close())
		}
		if s.ck != nil {
			err = errors.Join(err, s.ck.Close())
		}
	})
	return err
}

// rebind turns ? placeholders into $n for PostgreSQL. Queries contain no
// literal question marks.
func (s *Store) rebind(q string) string {
	return s.rebindShaped(q, false)
}

// rebindShaped is rebind for a statement of fixed shape when fixed is set
// (the power-of-two multi-row statements, multiRow). The result is kept for
// next time unless the statement has an IN list of any length, which would
// fill the cache.
func (s *Store) rebindShaped(q string, fixed bool) string {
	if !s.d.dollar {
		return q
	}
	if v, ok := s.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	if fixed || !strings.Contains(q, "IN (?") {
		s.rebound.Store(q, out)
	}
	return out
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}
