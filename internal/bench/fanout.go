package bench

import (
	"context"
	"time"
)

const fanoutChannel = "bench-fanout"

// runFanout subscribes o.Conns connections to one channel and publishes
// o.Publishes events to it through the HTTP API, at o.Rate per second or
// unthrottled, each stamped with its send time.
func runFanout(ctx context.Context, o Options) (*Result, error) {
	r := newResult("fanout", &o.Target, map[string]any{
		"subscribers": o.Conns, "publishes": o.Publishes, "rate": o.Rate, "payload": o.Payload, "pub_conc": o.PubConc,
	})
	spec := GroupSpec{
		Target: o.Target, Count: o.Conns, Channel: fanoutChannel, Concurrency: 64,
		SourceIPs: o.SourceIPs, SeqCap: seqCap(o.Publishes, o.Conns),
	}
	gs, ready, err := startGroups(ctx, spec, o.Procs, o.Exe)
	if err != nil {
		return nil, err
	}
	r.Connections, r.ConnectFailed = ready.Connected, ready.Failed
	if ready.FirstErr != "" {
		r.addErr("connect: %s", ready.FirstErr)
	}
	if ready.ConnectSeconds > 0 {
		r.ConnectPerSec = float64(ready.Connected) / ready.ConnectSeconds
	}
	pub := NewPublisher(&o.Target, o.PubConc)
	defer pub.Close()

	meter := startMeter(o.Target.ServerPID)
	st := runPublishes(ctx, o.Publishes, o.Rate, o.PubConc, func(ctx context.Context, i int) error {
		data := payload(stamp{Seq: int64(i), SentAt: nowNano(), Writer: -1}, o.Payload)
		return pub.Publish(ctx, fanoutChannel, "bench", data, "")
	})
	expected := st.OK * int64(ready.Connected)
	waitDrain(ctx, gs.Deliveries, expected, 2*time.Second, 30*time.Second)
	cpu := meter.stop(0)
	final := gs.Stop()
	cpu.GenCPUSeconds += final.CPUSeconds
	r.CPU = cpu
	fillPublish(r, st)
	r.finishDeliveries(final, expected, st.Start)
	return r, nil
}

// seqCap sizes the per-connection bitmaps unless they would take more than
// 512 MiB in all; duplicates and gaps are then not tracked.
func seqCap(publishes, conns int) int64 {
	if int64(publishes)*int64(conns)/8 > 512<<20 {
		return 0
	}
	return int64(publishes)
}

func fillPublish(r *Result, st *pubStats) {
	r.Publishes, r.PublishFailed = st.OK, st.Failed
	if st.FirstErr != "" {
		r.addErr("publish: %s", st.FirstErr)
	}
	if d := st.End.Sub(st.Start).Seconds(); d > 0 {
		r.PublishPerSec = float64(st.OK) / d
	}
	r.PublishLatency = st.HTTP.Snapshot().Summary()
}
