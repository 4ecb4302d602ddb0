package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// runPresence puts o.Conns users into presence channels of o.GroupSize
// members (presence-room-<g>), then for o.Duration makes o.Churn users a
// second leave their room and join it again at once. It counts the
// member_added/member_removed (Centrifugo: join/leave) events the other
// members observe against the number expected, and the latency from the
// unsubscribe or subscribe to each observation.
func runPresence(ctx context.Context, o Options) (*Result, error) {
	if o.Conns > PerProcess {
		return nil, fmt.Errorf("presence: at most %d users in one process", PerProcess)
	}
	gsize := max(o.GroupSize, 2)
	r := newResult("presence", &o.Target, map[string]any{
		"users": o.Conns, "group_size": gsize, "churn_per_s": o.Churn, "duration_s": o.Duration.Seconds(),
	})
	// Centrifugo turns presence on per namespace ("presence:" in
	// bench/centrifugo/config.json) rather than by a channel prefix.
	roomFormat := "presence-room-%d"
	if o.Target.Protocol == ProtoCentrifugo {
		roomFormat = "presence:room-%d"
	}
	room := func(user int) string { return fmt.Sprintf(roomFormat, user/gsize) }
	memberData := func(user int) string {
		return fmt.Sprintf(`{"user_id":"u%d","user_info":{"name":"bench user %d"}}`, user, user)
	}
	// lastOp[u] is when user u last sent a subscribe or unsubscribe.
	lastOp := make([]atomic.Int64, o.Conns)
	p, took := connectPool(ctx, &o.Target, o.Conns, 64, o.SourceIPs, func(ctx context.Context, m *member) error {
		return m.c.Subscribe(ctx, room(m.idx), memberData(m.idx))
	})
	defer p.close()
	p.fillConnect(r, took)

	var observed, rejected atomic.Int64
	var errOnce sync.Once
	p.run(func(m *member, msg Msg) {
		switch msg.Kind {
		case MsgJoin, MsgLeave:
			u, ok := memberUser(msg.Raw)
			if ok && u == m.idx {
				return // Centrifugo may tell a client of its own join
			}
			observed.Add(1)
			if ok && u >= 0 && u < len(lastOp) {
				if t := lastOp[u].Load(); t > 0 {
					p.recv.Hist.Record(time.Duration(msg.At - t))
				}
			}
		case MsgError:
			rejected.Add(1)
			errOnce.Do(func() { r.addErr("server: %.200s", msg.Raw) })
		}
	})

	// Member events of the initial joins were queued behind each
	// synchronous subscribe; each pair of members in a room yields one.
	// Let them arrive, then count only what churn causes.
	var initial int64
	for first := 0; first < o.Conns; first += gsize {
		k := int64(roomSize(first, gsize, o.Conns, p))
		initial += k * (k - 1) / 2
	}
	waitDrain(ctx, observed.Load, initial, time.Second, 10*time.Second)
	observed.Store(0)

	meter := startMeter(o.Target.ServerPID)
	ops := int(o.Churn * o.Duration.Seconds())
	var expected atomic.Int64
	// One user per room churns at a time, so the expected count is exact.
	busy := make([]atomic.Bool, (o.Conns+gsize-1)/gsize)
	var done atomic.Int64
	st := runPublishes(ctx, ops, o.Churn, 4, func(ctx context.Context, i int) error {
		u := rand.IntN(o.Conns)
		m := p.members[u]
		if m == nil || !busy[u/gsize].CompareAndSwap(false, true) {
			return nil // the room is mid-churn: skip rather than blur the count
		}
		done.Add(1)
		defer busy[u/gsize].Store(false)
		others := int64(roomSize(u, gsize, o.Conns, p) - 1)
		lastOp[u].Store(nowNano())
		if err := m.c.SendUnsubscribe(room(u)); err != nil {
			return err
		}
		lastOp[u].Store(nowNano())
		if _, err := m.c.SendSubscribe(room(u), memberData(u)); err != nil {
			return err
		}
		expected.Add(2 * others)
		return nil
	})
	waitDrain(ctx, observed.Load, expected.Load(), 2*time.Second, 20*time.Second)
	r.CPU = meter.stop(0)
	r.Publishes, r.PublishFailed = done.Load()-st.Failed, st.Failed
	if st.FirstErr != "" {
		r.addErr("churn: %s", st.FirstErr)
	}
	r.MemberEvents, r.MemberExpected = observed.Load(), expected.Load()
	r.Latency = p.recv.Hist.Snapshot().Summary()
	r.Dropped, r.DropReason = p.recv.Dropped.Load(), p.recv.DropReason()
	if rejected.Load() > 0 {
		r.addErr("%d error frames", rejected.Load())
	}
	return r, nil
}

func roomSize(u, gsize, users int, p *pool) int {
	n := 0
	for i := (u / gsize) * gsize; i < min((u/gsize+1)*gsize, users); i++ {
		if p.members[i] != nil {
			n++
		}
	}
	return n
}

// memberUser finds "u<digits>" after user_id (Pusher) or "user" (Centrifugo).
func memberUser(raw []byte) (int, bool) {
	for _, key := range [][]byte{[]byte(`user_id`), []byte(`"user"`)} {
		i := bytes.Index(raw, key)
		if i < 0 {
			continue
		}
		b := raw[i+len(key):]
		j := 0
		for j < len(b) && j < 6 && (b[j] == '"' || b[j] == '\\' || b[j] == ':') {
			j++
		}
		if j < len(b) && b[j] == 'u' {
			if n, ok := numberAfter(b[j:], []byte("u")); ok {
				return int(n), true
			}
		}
	}
	return 0, false
}
