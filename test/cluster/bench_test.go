package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Benchmark parameters; docs/deployment.md quotes results for these.
const (
	benchSubscribers   = 1000
	benchPacedEvents   = 100 // latency phase: one event every benchPace
	benchPace          = 50 * time.Millisecond
	benchBurstEvents   = 400 // throughput phase: as fast as benchPublishers go
	benchPublishers    = 8
	benchDialParallel  = 50
	benchChannel       = "bench"
	benchDeliveryLimit = 2 * time.Minute
)

// TestFanoutBenchmark measures cross-node fan-out: benchSubscribers
// WebSocket subscribers of one channel spread evenly over 1, 2 and 3
// nodes, events published through the HTTP API of the first node. It
// reports publish→receive latency (paced publishes) and deliveries per
// second (a burst). It runs only with PARLEY_CLUSTER_BENCH=1 because it
// takes about a minute and its numbers depend on the machine.
func TestFanoutBenchmark(t *testing.T) {
	if os.Getenv("PARLEY_CLUSTER_BENCH") != "1" {
		t.Skip("set PARLEY_CLUSTER_BENCH=1 to run the cross-node fan-out benchmark")
	}
	type result struct {
		name               string
		p50, p99, max      time.Duration
		deliveriesPerSec   float64
		burstDeliveries    int
		burstElapsed       time.Duration
		lost, slowConsumer int
	}
	var results []result
	for _, cfg := range []struct {
		name  string
		nodes int
		redis bool
	}{
		{"1 node, no Redis", 1, false},
		{"1 node + Redis", 1, true},
		{"2 nodes + Redis", 2, true},
		{"3 nodes + Redis", 3, true},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			url := ""
			if cfg.redis {
				url = startRedis(t).url()
			}
			nodes := startCluster(t, url, cfg.nodes)
			subs := dialBench(t, nodes)

			// Latency: paced, so the numbers are not queueing behind a burst.
			for i := 0; i < benchPacedEvents; i++ {
				nodes[0].publish(t, benchChannel, "paced", strconv.FormatInt(time.Now().UnixNano(), 10))
				time.Sleep(benchPace) // pacing the publisher, not waiting for an event
			}
			waitBench(t, subs, func(s *benchSub) int64 { return s.paced.Load() }, benchPacedEvents)
			var lat []time.Duration
			for _, s := range subs {
				s.mu.Lock()
				lat = append(lat, s.latencies...)
				s.mu.Unlock()
			}
			slices.Sort(lat)

			// Throughput: a burst from several publishers at once.
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range benchPublishers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= benchBurstEvents {
						if err := nodes[0].tryPublish(benchChannel, "burst", "x"); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			lost := waitBench(t, subs, func(s *benchSub) int64 { return s.burst.Load() }, benchBurstEvents)
			elapsed := time.Since(start)
			delivered := 0
			slow := 0
			for _, s := range subs {
				delivered += int(s.burst.Load())
				if s.closedCode.Load() == 4100 {
					slow++
				}
			}
			r := result{
				name: cfg.name, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1],
				deliveriesPerSec: float64(delivered) / elapsed.Seconds(), burstDeliveries: delivered,
				burstElapsed: elapsed, lost: lost, slowConsumer: slow,
			}
			results = append(results, r)
			t.Logf("%s: p50 %s p99 %s max %s; burst %d deliveries in %s = %.0f/s; lost %d, slow consumers %d",
				r.name, r.p50, r.p99, r.max, r.burstDeliveries, r.burstElapsed.Round(time.Millisecond), r.deliveriesPerSec, r.lost, r.slowConsumer)
		})
	}
	t.Logf("| setup | p50 | p99 | max | deliveries/s (burst) |")
	t.Logf("|---|---|---|---|---|")
	for _, r := range results {
		t.Logf("| %s | %s | %s | %s | %.0f |", r.name, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(10*time.Microsecond), r.deliveriesPerSec)
	}
}

// benchSub is a lean subscriber: it counts events and records the latency
// of paced ones, keeping no frames.
type benchSub struct {
	conn       net.Conn
	r          io.Reader
	wmu        sync.Mutex
	paced      atomic.Int64
	burst      atomic.Int64
	closedCode atomic.Int64
	mu         sync.Mutex
	latencies  []time.Duration
	done       chan struct{}
}

func dialBench(t *testing.T, nodes []*node) []*benchSub {
	t.Helper()
	subs := make([]*benchSub, benchSubscribers)
	errs := make(chan error, benchSubscribers)
	sem := make(chan struct{}, benchDialParallel)
	var wg sync.WaitGroup
	for i := range subs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := newBenchSub(nodes[i%len(nodes)])
			if err != nil {
				errs <- err
				return
			}
			subs[i] = s
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range subs {
			s.conn.Close()
			<-s.done
		}
	})
	return subs
}

func newBenchSub(n *node) (*benchSub, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+n.addr+"/app/"+appKey+"?protocol=7&client=go-bench&version=1.0")
	if err != nil {
		return nil, err
	}
	s := &benchSub{conn: conn, r: conn, done: make(chan struct{}), latencies: make([]time.Duration, 0, benchPacedEvents)}
	if br != nil {
		s.r = br // frames that arrived with the handshake
	}
	sub, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": benchChannel}})
	subscribed := make(chan struct{})
	go s.read(subscribed)
	s.wmu.Lock()
	err = wsutil.WriteClientText(conn, sub)
	s.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case <-subscribed:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("bench subscriber on %s closed before subscribing", n.name)
	case <-time.After(waitTimeout):
		return nil, fmt.Errorf("bench subscriber on %s: no subscription_succeeded", n.name)
	}
}

func (s *benchSub) read(subscribed chan struct{}) {
	defer close(s.done)
	var f struct {
		Event string `json:"event"`
		Data  string `json:"data"`
	}
	for {
		data, op, err := wsutil.ReadServerData(benchRW{s})
		if err != nil {
			var ce wsutil.ClosedError
			if asClosed(err, &ce) {
				s.closedCode.Store(int64(ce.Code))
			}
			return
		}
		now := time.Now()
		if op != ws.OpText {
			continue
		}
		f.Event, f.Data = "", ""
		_ = json.Unmarshal(data, &f)
		switch f.Event {
		case "pusher_internal:subscription_succeeded":
			close(subscribed)
		case "paced":
			if ns, err := strconv.ParseInt(f.Data, 10, 64); err == nil {
				s.mu.Lock()
				s.latencies = append(s.latencies, now.Sub(time.Unix(0, ns)))
				s.mu.Unlock()
			}
			s.paced.Add(1)
		case "burst":
			s.burst.Add(1)
		}
	}
}

// benchRW reads through the handshake buffer and writes control replies
// under the write lock.
type benchRW struct{ s *benchSub }

func (rw benchRW) Read(p []byte) (int, error) { return rw.s.r.Read(p) }
func (rw benchRW) Write(p []byte) (int, error) {
	rw.s.wmu.Lock()
	defer rw.s.wmu.Unlock()
	return rw.s.conn.Write(p)
}

func asClosed(err error, ce *wsutil.ClosedError) bool {
	c, ok := err.(wsutil.ClosedError)
	if ok {
		*ce = c
	}
	return ok
}

// waitBench waits until every subscriber counted want events, or the
// delivery limit passes; it returns how many deliveries never came.
func waitBench(t *testing.T, subs []*benchSub, count func(*benchSub) int64, want int64) int {
	t.Helper()
	deadline := time.Now().Add(benchDeliveryLimit)
	for {
		missing := 0
		for _, s := range subs {
			missing += int(want - count(s))
		}
		if missing == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			t.Errorf("%d deliveries missing after %s", missing, benchDeliveryLimit)
			return missing
		}
		time.Sleep(5 * time.Millisecond) // polling counters with a deadline
	}
}
