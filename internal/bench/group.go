package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// GroupSpec is a set of identical subscriber connections: the shape of the
// idle and fanout scenarios. It travels as JSON to worker processes.
type GroupSpec struct {
	Target  Target `json:"target"`
	Count   int    `json:"count"`
	Offset  int    `json:"offset"`  // global index of the first connection
	Channel string `json:"channel"` // "" = connect only
	// SeqCap sizes each connection's bitmap of seen sequence numbers, for
	// duplicates and gaps; 0 skips that bookkeeping.
	SeqCap      int64 `json:"seq_cap"`
	Concurrency int   `json:"concurrency"` // handshakes in flight
	// SourceIPs > 1 spreads connections over 127.0.0.1..SourceIPs as
	// source addresses: one address has ~28 000 ephemeral ports.
	SourceIPs int `json:"source_ips"`
}

// GroupReport is a group's connect outcome and, at Stop, what it received.
type GroupReport struct {
	Connected      int          `json:"connected"`
	Failed         int          `json:"failed"`
	FirstErr       string       `json:"first_err,omitempty"`
	ConnectSeconds float64      `json:"connect_s"`
	Deliveries     int64        `json:"deliveries"`
	Unique         int64        `json:"unique"`
	Duplicates     int64        `json:"duplicates"`
	OutOfOrder     int64        `json:"out_of_order"`
	Dropped        int64        `json:"dropped"` // connections the server closed during the run
	DropReason     string       `json:"drop_reason,omitempty"`
	LastAt         int64        `json:"last_at"` // Unix ns of the last delivery
	Hist           HistSnapshot `json:"hist"`
	CPUSeconds     float64      `json:"cpu_s"` // worker process CPU; 0 in-process
}

func (r *GroupReport) merge(o GroupReport) {
	r.Connected += o.Connected
	r.Failed += o.Failed
	if r.FirstErr == "" {
		r.FirstErr = o.FirstErr
	}
	r.ConnectSeconds = max(r.ConnectSeconds, o.ConnectSeconds)
	r.Deliveries += o.Deliveries
	r.Unique += o.Unique
	r.Duplicates += o.Duplicates
	r.OutOfOrder += o.OutOfOrder
	r.Dropped += o.Dropped
	if r.DropReason == "" {
		r.DropReason = o.DropReason
	}
	r.LastAt = max(r.LastAt, o.LastAt)
	r.Hist.Merge(o.Hist)
	r.CPUSeconds += o.CPUSeconds
}

// group is a running set of subscribers, in this process or in a worker.
type group interface {
	Ready() GroupReport
	Deliveries() int64
	Stop() GroupReport
}

// sourceIP is the local address of connection i.
func sourceIP(i, n int) net.IP {
	if n <= 1 {
		return nil
	}
	return net.IPv4(127, 0, 0, byte(1+i%n))
}

// subscriber is one connection's receive bookkeeping, touched only by its
// reader goroutine.
type subscriber struct {
	seen    []uint64
	lastSeq int64
}

// Recv accumulates what all subscribers of a group received.
type Recv struct {
	Hist       Hist
	Deliveries atomic.Int64
	Unique     atomic.Int64
	Duplicates atomic.Int64
	OutOfOrder atomic.Int64
	Dropped    atomic.Int64
	LastAt     atomic.Int64

	dropReason atomic.Pointer[string] // the first dropped connection's error
}

// dropped counts a connection the server ended during the run.
func (r *Recv) dropped(err error) {
	r.Dropped.Add(1)
	msg := err.Error()
	r.dropReason.CompareAndSwap(nil, &msg)
}

// DropReason is the first dropped connection's error, "" when none.
func (r *Recv) DropReason() string {
	if p := r.dropReason.Load(); p != nil {
		return *p
	}
	return ""
}

func (r *Recv) record(s *subscriber, m Msg) {
	r.Deliveries.Add(1)
	r.Hist.Record(time.Duration(m.At - m.Stamp.SentAt))
	for {
		last := r.LastAt.Load()
		if m.At <= last || r.LastAt.CompareAndSwap(last, m.At) {
			break
		}
	}
	if m.Stamp.Seq < s.lastSeq {
		r.OutOfOrder.Add(1)
	}
	s.lastSeq = m.Stamp.Seq
	if s.seen == nil {
		r.Unique.Add(1)
		return
	}
	q := m.Stamp.Seq
	if q < 0 || q >= int64(len(s.seen))*64 {
		r.Unique.Add(1)
		return
	}
	w, bit := q/64, uint64(1)<<(q%64)
	if s.seen[w]&bit != 0 {
		r.Duplicates.Add(1)
		return
	}
	s.seen[w] |= bit
	r.Unique.Add(1)
}

func (r *Recv) report() GroupReport {
	return GroupReport{
		Deliveries: r.Deliveries.Load(),
		Unique:     r.Unique.Load(),
		Duplicates: r.Duplicates.Load(),
		OutOfOrder: r.OutOfOrder.Load(),
		Dropped:    r.Dropped.Load(),
		DropReason: r.DropReason(),
		LastAt:     r.LastAt.Load(),
		Hist:       r.Hist.Snapshot(),
	}
}

// localGroup runs a GroupSpec's connections in this process.
type localGroup struct {
	spec    GroupSpec
	ready   GroupReport
	recv    Recv
	mu      sync.Mutex
	clients []*Client
	wg      sync.WaitGroup
	closing atomic.Bool
}

// startLocal connects and subscribes every connection of spec, then starts
// their readers. Connections that fail are counted, not fatal.
func startLocal(ctx context.Context, spec GroupSpec) *localGroup {
	g := &localGroup{spec: spec}
	start := time.Now()
	sem := make(chan struct{}, max(spec.Concurrency, 1))
	var failed atomic.Int64
	var errOnce sync.Once
	var connectWG sync.WaitGroup
	for i := 0; i < spec.Count; i++ {
		if ctx.Err() != nil {
			failed.Add(int64(spec.Count - i))
			break
		}
		sem <- struct{}{}
		connectWG.Add(1)
		go func(idx int) {
			defer connectWG.Done()
			defer func() { <-sem }()
			c, err := g.connectOne(ctx, idx)
			if err != nil {
				failed.Add(1)
				errOnce.Do(func() { g.ready.FirstErr = err.Error() })
				return
			}
			g.mu.Lock()
			g.clients = append(g.clients, c)
			g.mu.Unlock()
			g.run(c)
		}(spec.Offset + i)
	}
	connectWG.Wait()
	g.ready.Connected = len(g.clients)
	g.ready.Failed = int(failed.Load())
	g.ready.ConnectSeconds = time.Since(start).Seconds()
	return g
}

// connectOne tries a connection up to three times: under a burst of
// handshakes a server's accept backlog can overflow for a moment.
func (g *localGroup) connectOne(ctx context.Context, idx int) (*Client, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		var c *Client
		c, err = Connect(cctx, &g.spec.Target, sourceIP(idx, g.spec.SourceIPs), fmt.Sprintf("u%d", idx))
		if err == nil && g.spec.Channel != "" {
			if err = c.Subscribe(cctx, g.spec.Channel, ""); err != nil {
				_ = c.Close()
			}
		}
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(100*(attempt+1)) * time.Millisecond):
		}
	}
	return nil, err
}

func (g *localGroup) run(c *Client) {
	s := &subscriber{lastSeq: -1}
	if g.spec.SeqCap > 0 {
		s.seen = make([]uint64, (g.spec.SeqCap+63)/64)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := c.Run(func(m Msg) {
			if m.Kind == MsgBench {
				g.recv.record(s, m)
			}
		})
		if err != nil && !g.closing.Load() && !errors.Is(err, net.ErrClosed) {
			g.recv.dropped(err)
		}
	}()
}

func (g *localGroup) Ready() GroupReport { return g.ready }
func (g *localGroup) Deliveries() int64  { return g.recv.Deliveries.Load() }

// Stop closes every connection, waits for the readers and reports.
func (g *localGroup) Stop() GroupReport {
	g.closing.Store(true)
	g.mu.Lock()
	clients := g.clients
	g.clients = nil
	g.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range clients {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Close()
			<-sem
		}()
	}
	wg.Wait()
	g.wg.Wait()
	r := g.recv.report()
	r.Connected, r.Failed, r.FirstErr, r.ConnectSeconds = g.ready.Connected, g.ready.Failed, g.ready.FirstErr, g.ready.ConnectSeconds
	return r
}
