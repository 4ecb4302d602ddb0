// Package sqlstore implements messenger.Store on SQLite (modernc.org/sqlite,
// pure Go, WAL, synchronous=FULL) and PostgreSQL (pgx). One set of queries
// serves both; a small dialect value holds the few differences (placeholder
// style, FOR UPDATE SKIP LOCKED, the change-feed horizon). Schema migrations
// are embedded and applied by goose at Open.
//
// Writes go through group commit (commit.go): concurrent Store.Write calls
// share one transaction, each in its own savepoint, and return after the
// shared commit. In a batch's first, savepoint-free attempt, inserts are
// deferred into multi-row statements and per-thread counters are kept in
// memory (deferred.go); any conflict re-runs the batch with savepoints and
// nothing deferred. On SQLite, WAL checkpoints run in the background
// (checkpoint.go).
//
// Concurrency: every Store method is safe for concurrent use. Close is
// idempotent and waits for queued writes.
package sqlstore
