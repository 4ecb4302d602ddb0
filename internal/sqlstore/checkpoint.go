package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// WAL checkpoints run here, off the commit path. With SQLite's default
// (wal_autocheckpoint=1000) the commit that crosses 1000 WAL pages copies
// them into the database file and fsyncs it before answering, which shows
// up as p99 spikes of every request in that batch. The writer connection
// sets wal_autocheckpoint=0 and this goroutine runs a PASSIVE checkpoint on
// its own connection every checkpointEvery: PASSIVE never waits for the
// writer or readers, it copies what it can. Durability does not depend on
// checkpoints (a commit is durable once its WAL frames are fsync'd).

const (
	checkpointEvery = 200 * time.Millisecond
	// walWarnFrames: a WAL this long means checkpoints cannot keep up
	// (a reader pinning an old snapshot, say).
	walWarnFrames = 250_000 // ≈1 GB with 4 KiB pages
)

func (s *Store) checkpointer(ck *sql.DB) {
	defer s.wg.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var busy, logFrames, done int
		err := ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
		cancel()
		switch {
		case err != nil:
			s.log.Warn("wal checkpoint failed", "err", err)
		case logFrames-done > walWarnFrames && !warned:
			s.log.Warn("wal checkpoint is falling behind", "frames", logFrames, "checkpointed", done)
			warned = true
		case logFrames-done <= walWarnFrames:
			warned = false
		}
	}
}
