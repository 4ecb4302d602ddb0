package bench

import (
	"context"
	"fmt"
	"time"
)

// Options configure one run. Zero values take the defaults in Defaults.
type Options struct {
	Target   Target
	Scenario string

	Conns     int           // idle: connections; fanout: subscribers; threads: threads; presence: users
	Subscribe bool          // idle: subscribe each connection to one shared channel
	Publishes int           // fanout, threads, messenger: number of sends
	Rate      float64       // sends per second in total; 0 = as fast as possible
	Payload   int           // bytes of event data
	PubConc   int           // concurrent HTTP publishers
	Duration  time.Duration // presence: churn period
	Churn     float64       // presence: leave+rejoin operations per second
	GroupSize int           // presence: members per presence channel
	Settle    time.Duration // idle: wait before reading the server's RSS
	Timeout   time.Duration // bound on the whole run

	Procs     int    // client processes; 0 = as many as PerProcess needs
	SourceIPs int    // 0 = automatic (more than 28 000 connections)
	Exe       string // this program, for worker processes
}

// Defaults fills unset options.
func (o *Options) Defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Conns, 1000)
	def(&o.Publishes, 1000)
	def(&o.Payload, 64)
	def(&o.PubConc, 4)
	def(&o.GroupSize, 20)
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Churn <= 0 {
		o.Churn = 50
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Procs <= 0 {
		o.Procs = (o.Conns + PerProcess - 1) / PerProcess
	}
	if o.SourceIPs <= 0 && o.Conns > 28000 {
		o.SourceIPs = (o.Conns + 24999) / 25000
	}
}

// Scenarios lists the scenario names Run accepts.
var Scenarios = []string{"idle", "fanout", "threads", "presence", "messenger"}

// Run runs one scenario, bounded by o.Timeout.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.Defaults()
	if err := o.Target.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var run func(context.Context, Options) (*Result, error)
	switch o.Scenario {
	case "idle":
		run = runIdle
	case "fanout":
		run = runFanout
	case "threads":
		run = runThreads
	case "presence":
		run = runPresence
	case "messenger":
		run = runMessenger
	default:
		return nil, fmt.Errorf("unknown scenario %q (want one of %v)", o.Scenario, Scenarios)
	}
	r, err := run(ctx, o)
	if r != nil {
		r.LoadAvg = loadAvg()
	}
	return r, err
}
