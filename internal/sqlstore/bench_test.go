package sqlstore_test

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

// deliveryClock is the Publisher of the benchmark: the relay drains the
// outbox into it as it would into the real-time engine, and it records,
// for every new-message event, how long after its send began the event
// was published — the latency from request to delivery to the engine.
type deliveryClock struct {
	started sync.Map // clientId → time.Time the send began
	mu      sync.Mutex
	latency []time.Duration
}

func (d *deliveryClock) Publish(_ context.Context, _ []string, event string, data []byte) error {
	if event != messenger.EventNewMessage {
		return nil
	}
	// The client id without decoding the event: the benchmark's own work
	// runs on the same two cores as the store it measures.
	_, rest, ok := bytes.Cut(data, []byte(`"clientId":"`))
	clientID, _, ok2 := bytes.Cut(rest, []byte(`"`))
	if !ok || !ok2 {
		return fmt.Errorf("new-message without a clientId: %s", data)
	}
	if t0, ok := d.started.LoadAndDelete(string(clientID)); ok {
		d.mu.Lock()
		d.latency = append(d.latency, time.Since(t0.(time.Time)))
		d.mu.Unlock()
	}
	return nil
}

func (d *deliveryClock) delivered() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.latency)
}

// BenchmarkSend measures durably committed sends into 16 threads, each
// acknowledged only after its group commit, two ways:
//
//   - senders=N (closed loop): N concurrent senders, each waiting for its
//     acknowledgement before sending again. More senders fill larger
//     batches, so throughput rises with latency.
//   - rate=R (open loop): sends start at a fixed R per second whatever the
//     store does (up to 1 024 in flight), and latency runs from the moment
//     each send was due, so a store that falls behind shows it in the
//     tail instead of slowing the senders down. This is the figure for "R
//     messages/s with p99 ≤ X".
//
// It reports sends/s, p50/p99 latency of SendMessage (request to durable
// acknowledgement) and p50/p99 from request to the new-message event
// leaving the outbox relay for the real-time engine.
//
// Client ids are UUIDv7, as the web client makes them; keys=uuid4 repeats
// senders=128 with random ones, which cost the idempotency index more.
// threads=1000 spreads the sends over 1 000 threads, so that each send in
// a group commit dirties index pages of its own (docs/storage.md).
func BenchmarkSend(b *testing.B) {
	for _, tc := range bothStores {
		b.Run(tc.name, func(b *testing.B) {
			run := func(name string, l sendLoad) {
				b.Run(name, func(b *testing.B) { benchSend(b, tc.open, l) })
			}
			for _, senders := range []int{64, 128, 256} {
				run(fmt.Sprintf("senders=%d", senders), sendLoad{senders: senders})
			}
			run("senders=128,keys=uuid4", sendLoad{senders: 128, key: uuid4})
			run("senders=128,threads=1000", sendLoad{senders: 128, threads: 1000})
			rates := []int{10_000, 15_000}
			if tc.name == "postgres" {
				rates = []int{5_000}
			}
			for _, rate := range rates {
				run(fmt.Sprintf("rate=%d", rate), sendLoad{rate: rate})
			}
			run(fmt.Sprintf("rate=%d,threads=1000", rates[0]), sendLoad{rate: rates[0], threads: 1000})
		})
	}
}

// sendLoad is one benchmark's load: senders concurrent senders, or rate
// sends per second when rate > 0, into threads threads (default 16), with
// client ids from key (default uuid7).
type sendLoad struct {
	senders, rate, threads int
	key                    func() string
}

// benchSend runs b.N sends under load l.
func benchSend(b *testing.B, factory func(testing.TB) func() messenger.Store, l sendLoad) {
	b.ReportAllocs()
	clock := &deliveryClock{}
	threads := cmp.Or(l.threads, 16)
	newKey := l.key
	if newKey == nil {
		newKey = uuid7
	}
	senders, rate := l.senders, l.rate
	svc, ids := openService(b, factory(b)(), messenger.Config{Publisher: clock}, threads)
	ctx := context.Background()
	pat := testPatient
	var (
		n       atomic.Int64
		mu      sync.Mutex
		latency []time.Duration
	)
	// send sends message i, timed from due; it reports false on failure.
	send := func(i int64, due time.Time, local *[]time.Duration) bool {
		key := newKey()
		clock.started.Store(key, due)
		_, _, err := svc.SendMessage(ctx, pat, ids[i%int64(threads)], messenger.NewMessage{ClientID: key, Content: "benchmark message text"})
		if err != nil {
			b.Error(err)
			return false
		}
		*local = append(*local, time.Since(due))
		return true
	}
	b.ResetTimer()
	start := time.Now()
	if rate > 0 {
		// Open loop: message i is due at start + i/rate; workers take the
		// next index and wait for its time (pacing, not waiting for an
		// event).
		const inFlight = 1024
		total := int64(b.N)
		var wg sync.WaitGroup
		for range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local []time.Duration
				for {
					i := n.Add(1) - 1
					if i >= total {
						break
					}
					due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
					time.Sleep(time.Until(due))
					if !send(i, due, &local) {
						break
					}
				}
				mu.Lock()
				latency = append(latency, local...)
				mu.Unlock()
			}()
		}
		wg.Wait()
	} else {
		b.SetParallelism(max(1, senders/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			var local []time.Duration
			for pb.Next() {
				if !send(n.Add(1), time.Now(), &local) {
					break
				}
			}
			mu.Lock()
			latency = append(latency, local...)
			mu.Unlock()
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latency) == 0 {
		return
	}
	b.ReportMetric(float64(len(latency))/elapsed.Seconds(), "sends/s")
	reportPercentiles(b, latency, "")
	// The relay publishes after the commit, in the background: wait for
	// the last events (a poll with a deadline).
	deadline := time.Now().Add(30 * time.Second)
	for len(clock.delivered()) < len(latency) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	delivered := clock.delivered()
	if len(delivered) < len(latency) {
		b.Fatalf("%d of %d new-message events published", len(delivered), len(latency))
	}
	reportPercentiles(b, delivered, "-delivered")
}

// reportPercentiles reports p50 and p99 of d in milliseconds.
func reportPercentiles(b *testing.B, d []time.Duration, suffix string) {
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50"+suffix+"-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, "p99"+suffix+"-ms")
}

// uuid7 is a UUIDv7 (RFC 9562): Unix milliseconds, then random bits.
func uuid7() string {
	var b [16]byte
	crand.Read(b[6:])
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16|uint64(b[6])<<8|uint64(b[7]))
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return uuidText(b)
}

// uuid4 is a random UUID (RFC 9562 version 4).
func uuid4() string {
	var b [16]byte
	crand.Read(b[:])
	b[6] = 0x40 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return uuidText(b)
}

func uuidText(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
