package bench

import (
	"context"
	"time"
)

// runIdle opens o.Conns connections (each subscribed to one shared channel
// when o.Subscribe), lets the server settle, and reports its RSS growth per
// connection and the connect rate.
func runIdle(ctx context.Context, o Options) (*Result, error) {
	r := newResult("idle", &o.Target, map[string]any{"conns": o.Conns, "subscribe": o.Subscribe, "procs": o.Procs})
	var before ProcSample
	if o.Target.ServerPID > 0 {
		var err error
		if before, err = SampleProc(o.Target.ServerPID); err != nil {
			return nil, err
		}
	}
	spec := GroupSpec{Target: o.Target, Count: o.Conns, Concurrency: 64, SourceIPs: o.SourceIPs}
	if o.Subscribe {
		spec.Channel = "bench-idle"
	}
	meter := startMeter(o.Target.ServerPID)
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
	// Let the server finish its per-connection work (timers, GC) before
	// reading memory, then take the lowest of a few readings: garbage
	// collectors make single readings noisy.
	if o.Target.ServerPID > 0 {
		sleepCtx(ctx, o.Settle)
		best := int64(0)
		for i := 0; i < 5; i++ {
			if s, err := SampleProc(o.Target.ServerPID); err == nil && (best == 0 || s.RSSBytes < best) {
				best = s.RSSBytes
			}
			sleepCtx(ctx, 200*time.Millisecond)
		}
		r.ServerRSSStart, r.ServerRSSEnd = before.RSSBytes, best
		if r.Connections > 0 {
			r.RSSPerConn = float64(best-before.RSSBytes) / float64(r.Connections)
		}
	}
	final := gs.Stop()
	r.CPU = meter.stop(time.Duration(final.CPUSeconds * float64(time.Second)))
	r.CPU.ServerRSSBytes = r.ServerRSSEnd
	r.Dropped, r.DropReason = final.Dropped, final.DropReason
	return r, nil
}

// sleepCtx waits d or until ctx ends. Used only for fixed settle periods
// of a benchmark, never to wait for an event.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
