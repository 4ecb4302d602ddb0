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

// member is one connection of a scenario whose clients each have their own
// channels (threads, presence, messenger): an index, a client and its
// receive bookkeeping.
type member struct {
	idx int
	c   *Client
	sub subscriber
}

// pool holds the connections of such a scenario, all in this process.
type pool struct {
	members []*member
	recv    Recv
	wg      sync.WaitGroup
	closing atomic.Bool
	failed  atomic.Int64
	errOnce sync.Once
	err     string
}

// connectPool opens n connections (user ids "u<i>") with up to conc
// handshakes in flight, and calls setup on each before its reader starts
// (to subscribe synchronously). Failures are counted, not fatal.
func connectPool(ctx context.Context, t *Target, n, conc, sourceIPs int, setup func(ctx context.Context, m *member) error) (*pool, time.Duration) {
	p := &pool{members: make([]*member, n)}
	start := time.Now()
	sem := make(chan struct{}, max(conc, 1))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			c, err := Connect(cctx, t, sourceIP(i, sourceIPs), fmt.Sprintf("u%d", i))
			if err == nil {
				m := &member{idx: i, c: c, sub: subscriber{lastSeq: -1}}
				if err = setup(cctx, m); err == nil {
					p.members[i] = m
					return
				}
				_ = c.Close()
			}
			p.failed.Add(1)
			p.errOnce.Do(func() { p.err = err.Error() })
		}()
	}
	wg.Wait()
	return p, time.Since(start)
}

// run starts every member's reader with fn.
func (p *pool) run(fn func(m *member, msg Msg)) {
	for _, m := range p.members {
		if m == nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := m.c.Run(func(msg Msg) { fn(m, msg) })
			if err != nil && !p.closing.Load() && !errors.Is(err, net.ErrClosed) {
				p.recv.dropped(err)
			}
		}()
	}
}

func (p *pool) connected() int {
	n := 0
	for _, m := range p.members {
		if m != nil {
			n++
		}
	}
	return n
}

// close closes every connection and waits for the readers.
func (p *pool) close() {
	p.closing.Store(true)
	for _, m := range p.members {
		if m != nil {
			_ = m.c.Close()
		}
	}
	p.wg.Wait()
}

func (p *pool) fillConnect(r *Result, took time.Duration) {
	r.Connections, r.ConnectFailed = p.connected(), int(p.failed.Load())
	if p.err != "" {
		r.addErr("connect: %s", p.err)
	}
	if took > 0 {
		r.ConnectPerSec = float64(r.Connections) / took.Seconds()
	}
}
