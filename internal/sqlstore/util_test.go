package sqlstore_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/messenger"
)

func randSuffix() string { return strings.ToLower(rand.Text()[:8]) }

// The patient and provider of the tests that drive a Service on a store.
var (
	testPatient  = messenger.Actor{UserID: "p1", Role: messenger.RolePatient, Name: "P"}
	testProvider = messenger.Actor{UserID: "d1", Role: messenger.RoleProvider, Name: "D"}
)

// bothStores are the stores a test or benchmark runs on, by name.
var bothStores = []struct {
	name string
	open func(testing.TB) func() messenger.Store
}{{"sqlite", sqliteFactory}, {"postgres", postgresFactory}}

// onBothStores runs fn as a subtest on a fresh store of each kind.
func onBothStores(t *testing.T, fn func(t *testing.T, store messenger.Store)) {
	for _, tc := range bothStores {
		t.Run(tc.name, func(t *testing.T) { fn(t, tc.open(t)()) })
	}
}

// openService opens a Service on store (closed at cleanup) and creates
// threads threads between testPatient and testProvider.
func openService(tb testing.TB, store messenger.Store, cfg messenger.Config, threads int) (*messenger.Service, []string) {
	tb.Helper()
	svc := messenger.NewService(store, cfg)
	if err := svc.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	ctx := context.Background()
	for _, a := range []messenger.Actor{testPatient, testProvider} {
		if err := svc.Touch(ctx, a); err != nil {
			tb.Fatal(err)
		}
	}
	ids := make([]string, threads)
	for i := range ids {
		th, err := svc.CreateThread(ctx, testPatient, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: testProvider.UserID}}})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = th.ID
	}
	return svc, ids
}
