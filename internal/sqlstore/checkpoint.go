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
//
// Copying the frames is not enough to keep the WAL file short. SQLite
// writes it from the beginning again only once every frame is in the
// database file and no reader still reads an older snapshot from it. Under
// steady writes a PASSIVE checkpoint running beside the committer never
// sees the WAL complete — the committer has appended more by the time it
// ends — so the file grew without bound (160 MB in a 3 s benchmark, about
// 3 GB a minute at 15 000 sends/s), and every commit appended to it. When
// the WAL passes Options.WALResetFrames, the checkpointer therefore holds
// the committer between two batches (Store.batching) and runs a RESTART
// checkpoint: it copies the few frames written since the PASSIVE run,
// waits up to restartWait for readers of older snapshots to finish (new
// readers then read the database file), and starts the WAL over. If a
// reader is still busy after that, the next tick tries again. The pause is
// one short checkpoint with its fsync.

const (
	checkpointEvery = 200 * time.Millisecond
	// restartWait bounds how long a RESTART checkpoint, with the writer
	// held, waits for readers (the checkpoint connection's busy_timeout).
	restartWait = 10 * time.Millisecond
	// restartsBeforeWarning: RESTARTs in a row that a reader prevented
	// before the checkpointer logs it (≈ 5 s of ticks).
	restartsBeforeWarning = 25
	// walWarnFrames: a WAL this long means checkpoints cannot keep up
	// (a reader pinning an old snapshot, say).
	walWarnFrames = 250_000 // ≈1 GB with 4 KiB pages
)

func (s *Store) checkpointer(ck *sql.DB) {
	defer s.wg.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	warned := false
	refused := 0 // RESTARTs in a row that found a reader on an old snapshot
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		logFrames, done, _, err := s.checkpoint(ck, "PASSIVE")
		if err == nil && logFrames >= s.opts.WALResetFrames {
			var busy bool
			s.batching.Lock()
			logFrames, done, busy, err = s.checkpoint(ck, "RESTART")
			s.batching.Unlock()
			if busy {
				refused++
			} else {
				refused = 0
			}
			if refused == restartsBeforeWarning {
				s.log.Warn("wal cannot start over: a reader keeps reading an old snapshot", "frames", logFrames)
			}
		}
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

// checkpoint runs a checkpoint in mode (PASSIVE or RESTART) and returns
// the WAL's length and how much of it is in the database file, in frames
// (0, 0 after a restart), and whether it could not finish for a reader.
func (s *Store) checkpoint(ck *sql.DB, mode string) (logFrames, done int, busy bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logFrames, &done)
	return logFrames, done, busy, err
}
