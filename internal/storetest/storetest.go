// Package storetest is the contract suite every messenger.Store must pass.
// It drives the store through messenger.Service, so it checks the business
// rules and the storage guarantees they rely on (unique idempotency keys,
// gapless seq under concurrency, outbox recovery, a gapless change feed)
// together, against the real database.
//
// Run is safe to call from parallel top-level tests; each subtest gets a
// fresh database from the Factory.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

// Factory creates a fresh, empty database for one test and returns a
// function that opens a new Store instance on it. Each call opens another
// instance on the same database (as another process would); the factory
// closes them and drops the database in t.Cleanup.
type Factory func(t *testing.T) (open func() messenger.Store)

// Run runs the whole suite.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"CreateThreadRules", testCreateThreadRules},
		{"AuthorizationMatrix", testAuthorization},
		{"SendAndHistory", testSendAndHistory},
		{"IdempotentUnderConcurrentRetries", testIdempotency},
		{"GaplessSeqAcrossStores", testGaplessSeq},
		{"ReceiptsAndUnread", testReceipts},
		{"EditAndDelete", testEditDelete},
		{"ListThreads", testListThreads},
		{"Attachments", testAttachments},
		{"OutboxPublishesCommitted", testOutboxPublishes},
		{"OutboxRecoveryAfterCrash", testOutboxRecovery},
		{"OutboxLeaseTakeover", testOutboxLease},
		{"OutboxLeasedToWriter", testOutboxLeasedToWriter},
		{"OutboxHandOffInOrder", testOutboxHandOffOrder},
		{"OutboxTakeoverWhileBusy", testOutboxTakeoverWhileBusy},
		{"OutboxUndecodableDropped", testOutboxUndecodable},
		{"OutboxPublishDeadline", testOutboxPublishDeadline},
		{"SyncNoGapsNoDuplicates", testSync},
		{"WaitWakesOnChange", testWait},
		{"SyncFromNow", testSyncNow},
		{"OfflineNotifications", testNotifications},
		{"PresenceAndLastSeen", testPresence},
		{"ServiceActor", testServiceActor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

// Actors used throughout.
var (
	patient  = messenger.Actor{UserID: "pat-1", Role: messenger.RolePatient, Name: "Pat"}
	provider = messenger.Actor{UserID: "doc-1", Role: messenger.RoleProvider, Name: "Doc"}
	outsider = messenger.Actor{UserID: "eve-1", Role: messenger.RolePatient, Name: "Eve"}
	service  = messenger.Actor{UserID: "backend", Role: messenger.RoleService, Name: "Backend"}
)

// Recorder is a Publisher that keeps what it was given.
type Recorder struct {
	mu     sync.Mutex
	Events []Published
	fail   int // fail the next n publishes
}

// Published is one recorded Publish call.
type Published struct {
	Channels []string
	Event    string
	Data     []byte
}

// Publish implements messenger.Publisher.
func (r *Recorder) Publish(_ context.Context, channels []string, event string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("publish refused by test")
	}
	r.Events = append(r.Events, Published{Channels: channels, Event: event, Data: append([]byte(nil), data...)})
	return nil
}

// Snapshot returns a copy of the recorded events.
func (r *Recorder) Snapshot() []Published {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Published(nil), r.Events...)
}

// presence is a settable Presence.
type presence struct {
	mu     sync.Mutex
	online map[string]bool
}

func (p *presence) Online(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.online[id]
}

func (p *presence) set(id string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.online == nil {
		p.online = map[string]bool{}
	}
	p.online[id] = on
}

// newService opens a Service on store and closes it in cleanup.
func newService(t *testing.T, store messenger.Store, cfg messenger.Config) *messenger.Service {
	t.Helper()
	svc := messenger.NewService(store, cfg)
	if err := svc.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := messenger.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// seeded creates the users and one patient–provider thread.
func seeded(t *testing.T, svc *messenger.Service) *messenger.Thread {
	t.Helper()
	ctx := ctxT(t)
	for _, a := range []messenger.Actor{patient, provider, outsider} {
		if err := svc.Touch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	th, err := svc.CreateThread(ctx, patient, messenger.NewThread{Subject: "Follow-up",
		Participants: []messenger.ParticipantInput{{ID: provider.UserID}}})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func send(t *testing.T, svc *messenger.Service, a messenger.Actor, threadID, text string) *messenger.Message {
	t.Helper()
	m, dup, err := svc.SendMessage(ctxT(t), a, threadID, messenger.NewMessage{ClientID: fmt.Sprintf("c-%s-%d", text, time.Now().UnixNano()), Content: text})
	if err != nil {
		t.Fatal(err)
	}
	if dup {
		t.Fatal("fresh clientId reported as duplicate")
	}
	return m
}
