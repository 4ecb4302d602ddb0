package attachapi

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// Lifecycle is what the Janitor needs from the domain; *messenger.Service
// implements it.
type Lifecycle interface {
	ExpiredAttachments(ctx context.Context, pendingBefore time.Time, limit int) ([]*messenger.Attachment, error)
	ForgetAttachment(ctx context.Context, a *messenger.Attachment) (removed bool, err error)
	ReferencedStorageKeys(ctx context.Context, keys []string) (map[string]bool, error)
}

var _ Lifecycle = (*messenger.Service)(nil)

// Janitor defaults.
const (
	DefaultPendingTTL     = 24 * time.Hour
	DefaultOrphanAge      = 24 * time.Hour
	DefaultSweepInterval  = time.Minute
	DefaultOrphanInterval = time.Hour
	defaultBatch          = 200
	maxBatchesPerSweep    = 50 // bounds one sweep; the next tick continues
)

// JanitorConfig configures a Janitor. Lifecycle and Store are required.
type JanitorConfig struct {
	Lifecycle Lifecycle
	Store     blob.Store

	// PendingTTL: uploads never attached are deleted this long after upload.
	PendingTTL time.Duration
	// OrphanAge: blobs no row references (a crash between storing and
	// recording an upload) are deleted once this old. Must comfortably
	// exceed the longest upload.
	OrphanAge time.Duration
	// SweepInterval between sweeps of expired uploads and attachments of
	// deleted messages; OrphanInterval between walks of the whole store
	// (only if Store is a blob.Walker).
	SweepInterval  time.Duration
	OrphanInterval time.Duration
	// KeyPrefix is the Processor's key prefix (default "att/"); only keys
	// under it are ever considered orphans.
	KeyPrefix string
	// Now replaces the clock in tests.
	Now    func() time.Time
	Logger *slog.Logger
}

// Janitor deletes the rows and bytes of attachments nobody may read any
// more. Rules (see docs/attachments.md):
//   - a pending upload older than PendingTTL: row, then blobs;
//   - an attachment whose message was deleted (the messenger marks it
//     deleted in the deleting transaction): row, then blobs, at the next
//     sweep;
//   - a blob under KeyPrefix, older than OrphanAge, whose base key no row
//     references: deleted.
type Janitor struct {
	cfg JanitorConfig
	log *slog.Logger

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewJanitor returns a Janitor; Open starts it.
func NewJanitor(cfg JanitorConfig) (*Janitor, error) {
	if cfg.Lifecycle == nil || cfg.Store == nil {
		return nil, errors.New("attachapi: Janitor needs Lifecycle and Store")
	}
	if cfg.PendingTTL <= 0 {
		cfg.PendingTTL = DefaultPendingTTL
	}
	if cfg.OrphanAge <= 0 {
		cfg.OrphanAge = DefaultOrphanAge
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.OrphanInterval <= 0 {
		cfg.OrphanInterval = DefaultOrphanInterval
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = upload.DefaultKeyPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Janitor{cfg: cfg, log: cfg.Logger.With("component", "attachments-janitor")}, nil
}

// Open starts the background loop: a sweep at once, then every
// SweepInterval; an orphan walk at once, then every OrphanInterval.
func (j *Janitor) Open() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started || j.closed {
		return errors.New("attachapi: Janitor already opened or closed")
	}
	j.started = true
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done = cancel, make(chan struct{})
	go j.run(ctx)
	return nil
}

// Close stops the loop and waits for it. Idempotent.
func (j *Janitor) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	cancel, done := j.cancel, j.done
	j.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

func (j *Janitor) run(ctx context.Context) {
	defer close(j.done)
	sweep := time.NewTicker(j.cfg.SweepInterval)
	defer sweep.Stop()
	orphans := time.NewTicker(j.cfg.OrphanInterval)
	defer orphans.Stop()
	j.sweepLogged(ctx)
	j.orphansLogged(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			j.sweepLogged(ctx)
		case <-orphans.C:
			j.orphansLogged(ctx)
		}
	}
}

func (j *Janitor) sweepLogged(ctx context.Context) {
	n, err := j.SweepExpired(ctx)
	if err != nil && ctx.Err() == nil {
		j.log.WarnContext(ctx, "expired attachments sweep failed", "err", err, "removed", n)
	} else if n > 0 {
		j.log.InfoContext(ctx, "expired attachments removed", "removed", n)
	}
}

func (j *Janitor) orphansLogged(ctx context.Context) {
	n, err := j.SweepOrphans(ctx)
	if err != nil && ctx.Err() == nil {
		j.log.WarnContext(ctx, "orphan blob walk failed", "err", err, "removed", n)
	} else if n > 0 {
		j.log.InfoContext(ctx, "orphan blobs removed", "removed", n)
	}
}

// SweepExpired deletes pending uploads older than PendingTTL and
// attachments of deleted messages: the row first (so nobody is handed a
// row whose bytes are going), then every blob of it. A failure after the
// row is gone leaves orphans for SweepOrphans. It returns how many
// attachments it removed.
func (j *Janitor) SweepExpired(ctx context.Context) (int, error) {
	removed := 0
	for range maxBatchesPerSweep {
		list, err := j.cfg.Lifecycle.ExpiredAttachments(ctx, j.cfg.Now().Add(-j.cfg.PendingTTL), defaultBatch)
		if err != nil {
			return removed, err
		}
		progress := false
		for _, a := range list {
			ok, err := j.cfg.Lifecycle.ForgetAttachment(ctx, a)
			if err != nil {
				return removed, err
			}
			if !ok {
				continue // attached (or removed) since it was listed
			}
			progress = true
			removed++
			if err := j.deleteBlobs(ctx, a.StorageKey); err != nil {
				j.log.WarnContext(ctx, "attachment blobs left for the orphan walk", "attachment_id", a.ID, "err", err)
			}
		}
		if len(list) < defaultBatch || !progress {
			return removed, nil
		}
	}
	return removed, nil
}

// deleteBlobs removes the file, its thumbnails and its manifest (last, so
// a retry still finds the thumbnails' keys).
func (j *Janitor) deleteBlobs(ctx context.Context, key string) error {
	var keys []string
	m, err := readManifest(ctx, j.cfg.Store, key)
	switch {
	case err == nil:
		for _, t := range m.Thumbnails {
			keys = append(keys, t.Key)
		}
	case !errors.Is(err, blob.ErrNotFound):
		return err
	}
	keys = append(keys, key, manifestKey(key))
	var errs []error
	for _, k := range keys {
		if err := j.cfg.Store.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SweepOrphans walks the store under KeyPrefix and deletes blobs older
// than OrphanAge whose base key no attachment row references. Stores that
// cannot list (no blob.Walker) are skipped. It returns how many blobs it
// deleted.
func (j *Janitor) SweepOrphans(ctx context.Context) (int, error) {
	w, ok := j.cfg.Store.(blob.Walker)
	if !ok {
		return 0, nil
	}
	cutoff := j.cfg.Now().Add(-j.cfg.OrphanAge)
	var (
		batch   []string
		removed int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		bases := make([]string, 0, len(batch))
		for _, k := range batch {
			bases = append(bases, baseKey(k))
		}
		live, err := j.cfg.Lifecycle.ReferencedStorageKeys(ctx, bases)
		if err != nil {
			return err
		}
		for _, k := range batch {
			if live[baseKey(k)] {
				continue
			}
			if err := j.cfg.Store.Delete(ctx, k); err != nil {
				return err
			}
			removed++
		}
		batch = batch[:0]
		return nil
	}
	err := w.Walk(ctx, j.cfg.KeyPrefix, func(key string, _ int64, modified time.Time) error {
		if !strings.HasPrefix(key, j.cfg.KeyPrefix) || !modified.Before(cutoff) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) >= defaultBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return removed, err
	}
	return removed, flush()
}
