package sqlstore_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

// discard is a Publisher that drops events, so the relay drains the outbox
// as it would in production.
type discard struct{}

func (discard) Publish(context.Context, []string, string, []byte) error { return nil }

// BenchmarkSend measures durably committed sends from 64, 128 and 256
// concurrent senders spread over 16 threads, each sender waiting for its
// acknowledgement (given only after the group commit) before sending
// again. It reports sends/s and p50/p99 latency of SendMessage: more
// senders fill larger batches, so throughput rises with latency, and the
// three points show the throughput available under a latency bound.
func BenchmarkSend(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) func() messenger.Store
	}{{"sqlite", sqliteFactory}, {"postgres", postgresFactory}} {
		b.Run(tc.name, func(b *testing.B) {
			for _, senders := range []int{64, 128, 256} {
				b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) { benchSend(b, tc.open, senders) })
			}
		})
	}
}

func benchSend(b *testing.B, factory func(testing.TB) func() messenger.Store, senders int) {
	b.ReportAllocs()
	store := factory(b)()
	svc := messenger.NewService(store, messenger.Config{Publisher: discard{}})
	if err := svc.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	ctx := context.Background()
	pat := messenger.Actor{UserID: "bp", Role: messenger.RolePatient, Name: "P"}
	doc := messenger.Actor{UserID: "bd", Role: messenger.RoleProvider, Name: "D"}
	svc.Touch(ctx, pat)
	svc.Touch(ctx, doc)
	const threads = 16
	ids := make([]string, threads)
	for i := range ids {
		th, err := svc.CreateThread(ctx, pat, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: doc.UserID}}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = th.ID
	}
	var (
		n       atomic.Int64
		mu      sync.Mutex
		latency []time.Duration
	)
	b.SetParallelism(max(1, senders/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			i := n.Add(1)
			t0 := time.Now()
			_, _, err := svc.SendMessage(ctx, pat, ids[i%threads], messenger.NewMessage{ClientID: fmt.Sprint("k", i), Content: "benchmark message text"})
			if err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		latency = append(latency, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latency) == 0 {
		return
	}
	slices.Sort(latency)
	b.ReportMetric(float64(len(latency))/elapsed.Seconds(), "sends/s")
	b.ReportMetric(float64(latency[len(latency)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latency[len(latency)*99/100].Microseconds())/1000, "p99-ms")
}
