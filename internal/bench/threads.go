package bench

import (
	"context"
	"fmt"
	"time"
)

// runThreads is the messenger's real shape without storage: o.Conns
// one-to-one private channels private-thread-<i>, each with two
// participants, and o.Publishes sends through the HTTP API spread over the
// threads with the two sides taking turns. A send excludes its author's
// socket (Pusher's socket_id), so the other participant receives it;
// Centrifugo has no exclusion and echoes it to the author, which is ignored.
func runThreads(ctx context.Context, o Options) (*Result, error) {
	if o.Conns*2 > PerProcess {
		return nil, fmt.Errorf("threads: at most %d threads in one process", PerProcess/2)
	}
	r := newResult("threads", &o.Target, map[string]any{
		"threads": o.Conns, "publishes": o.Publishes, "rate": o.Rate, "payload": o.Payload, "pub_conc": o.PubConc,
	})
	channel := func(thread int) string { return fmt.Sprintf("private-thread-%d", thread) }
	cap := seqCap(o.Publishes, 2*o.Conns)
	p, took := connectPool(ctx, &o.Target, 2*o.Conns, 64, o.SourceIPs, func(ctx context.Context, m *member) error {
		if cap > 0 {
			m.sub.seen = make([]uint64, (cap+63)/64)
		}
		return m.c.Subscribe(ctx, channel(m.idx/2), "")
	})
	defer p.close()
	p.fillConnect(r, took)
	p.run(func(m *member, msg Msg) {
		if msg.Kind == MsgBench && msg.Stamp.Writer != int64(m.idx) {
			p.recv.record(&m.sub, msg)
		}
	})

	pub := NewPublisher(&o.Target, o.PubConc)
	defer pub.Close()
	meter := startMeter(o.Target.ServerPID)
	st := runPublishes(ctx, o.Publishes, o.Rate, o.PubConc, func(ctx context.Context, i int) error {
		thread := i % o.Conns
		writer := 2*thread + (i/o.Conns)%2
		w, other := p.members[writer], p.members[writer^1]
		if w == nil || other == nil {
			return fmt.Errorf("thread %d is missing a participant", thread)
		}
		data := payload(stamp{Seq: int64(i), SentAt: nowNano(), Writer: int64(writer)}, o.Payload)
		return pub.Publish(ctx, channel(thread), "new-message", data, w.c.ID)
	})
	waitDrain(ctx, p.recv.Deliveries.Load, st.OK, 2*time.Second, 30*time.Second)
	r.CPU = meter.stop(0)
	fillPublish(r, st)
	// Each send has one intended receiver, so a gap is a send the other
	// participant never got.
	g := p.recv.report()
	r.finishDeliveries(g, st.OK, st.Start)
	return r, nil
}
