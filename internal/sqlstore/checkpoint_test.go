package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// TestWALStaysShort: under steady sends with readers always running — the
// load under which the WAL never found a moment to start over and grew
// without bound — the WAL file stays far shorter than what is written
// through it. Every byte of content passes through the WAL at least once,
// so without restarts the file would be at least as long as all the
// content sent.
func TestWALStaysShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	const resetFrames = 16 // 64 KiB
	store, err := sqlstore.OpenSQLite(context.Background(), path, sqlstore.Options{WALResetFrames: resetFrames})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, threads := openService(t, store, messenger.Config{MaxContentRunes: 8000}, 8)
	ctx := context.Background()

	var written int64 // bytes of message content sent
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				in := messenger.NewMessage{ClientID: fmt.Sprint(w, "-", i), Content: fmt.Sprintf("%08000d", i)}
				if _, _, err := svc.SendMessage(ctx, testPatient, threads[w], in); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				written += int64(len(in.Content))
				mu.Unlock()
			}
		}()
	}
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := svc.ListMessages(ctx, testProvider, threads[r], messenger.MessageQuery{Limit: 20}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// For twenty checkpoint ticks at least, and until far more content than
	// the reset length has gone through the WAL, with a deadline.
	const enough = 6 << 20
	start := time.Now()
	wal := path + "-wal"
	var largest int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(wal); err == nil {
			largest = max(largest, fi.Size())
		}
		mu.Lock()
		w := written
		mu.Unlock()
		if w > enough && time.Since(start) > 4*time.Second || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The file never shrinks (SQLite rewrites it from the start), so its
	// size is the longest the WAL has been.
	mu.Lock()
	defer mu.Unlock()
	if written < enough {
		t.Fatalf("only %d KiB sent before the deadline", written/1024)
	}
	if largest > written/2 {
		t.Fatalf("WAL grew to %d KiB with %d KiB of content sent through it", largest/1024, written/1024)
	}
	t.Logf("WAL at most %d KiB while %d KiB of content went through it", largest/1024, written/1024)
}
