// Command parley-bench is Parley's load generator. It measures Parley,
// soketi (same Pusher protocol) and Centrifugo (its JSON protocol) with
// the same scenarios, so their figures can be compared side by side:
//
//	parley-bench -target soketi -scenario fanout -conns 1000 -publishes 5000
//	parley-bench -target centrifugo -scenario idle -conns 10000 -server-pid 1234 -json
//	parley-bench plot -o docs/benchmarks-fanout.svg bench/results/*.json
//
// It only ever connects to loopback addresses, and every run is bounded in
// connections, sends and time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley-bench:", err)
		}
		os.Exit(2)
	}
}

// presets are the targets' addresses and credentials as bench/ configures
// them; every one can be overridden with flags.
var presets = map[string]bench.Target{
	"parley":     {Name: "parley", Protocol: bench.ProtoPusher, Addr: "127.0.0.1:6001", AppID: "1", AppKey: "app-key", AppSecret: "app-secret"},
	"soketi":     {Name: "soketi", Protocol: bench.ProtoPusher, Addr: "127.0.0.1:6001", AppID: "1", AppKey: "app-key", AppSecret: "app-secret"},
	"centrifugo": {Name: "centrifugo", Protocol: bench.ProtoCentrifugo, Addr: "127.0.0.1:8000", APIKey: "bench-api-key", TokenSecret: "bench-token-secret"},
}

// Main runs the command; tests call it in-process.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == bench.WorkerArg {
		return bench.RunWorker(ctx, stdin, stdout)
	}
	if len(args) > 0 && (args[0] == "plot" || args[0] == "report" || args[0] == "merge") {
		return resultsMain(args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o      bench.Options
		preset = fs.String("target", "parley", "server under test: parley, soketi or centrifugo (sets the defaults below)")
		t      bench.Target
		asJSON = fs.Bool("json", false, "print one JSON line per run on stdout (the table goes to stderr)")
		repeat = fs.Int("repeat", 1, "run the scenario this many times")
	)
	fs.StringVar(&o.Scenario, "scenario", "fanout", "one of "+strings.Join(bench.Scenarios, ", "))
	fs.StringVar(&t.Name, "name", "", "label in reports (default: the target)")
	fs.StringVar((*string)(&t.Protocol), "protocol", "", "pusher or centrifugo (default: the target's)")
	fs.StringVar(&t.Addr, "addr", "", "host:port of the server, loopback only (default: the target's)")
	fs.StringVar(&t.AppID, "app-id", "", "Pusher app id")
	fs.StringVar(&t.AppKey, "key", "", "Pusher app key")
	fs.StringVar(&t.AppSecret, "secret", "", "Pusher app secret")
	fs.StringVar(&t.APIKey, "api-key", "", "Centrifugo HTTP API key")
	fs.StringVar(&t.TokenSecret, "token-secret", "", "Centrifugo connection token HMAC secret (\"-\" for none: insecure mode)")
	fs.StringVar(&t.JWTSecret, "jwt-secret", os.Getenv("PARLEY_JWT_SECRET"), "Parley messenger HS256 secret (PARLEY_JWT_SECRET)")
	fs.IntVar(&t.ServerPID, "server-pid", 0, "server process id, for its RSS and CPU from /proc")
	fs.IntVar(&o.Conns, "conns", 0, "idle: connections; fanout: subscribers; threads: threads; presence: users (default 1000)")
	fs.BoolVar(&o.Subscribe, "subscribe", false, "idle: subscribe every connection to one shared channel")
	fs.IntVar(&o.Publishes, "publishes", 0, "fanout/threads/messenger: sends (default 1000)")
	fs.Float64Var(&o.Rate, "rate", 0, "sends per second in total; 0 = unthrottled")
	fs.IntVar(&o.Payload, "payload", 0, "event data bytes (default 64)")
	fs.IntVar(&o.PubConc, "pub-conc", 0, "concurrent HTTP publishers (default 4)")
	fs.DurationVar(&o.Duration, "duration", 0, "presence: churn period (default 10s)")
	fs.Float64Var(&o.Churn, "churn", 0, "presence: leave+rejoin operations per second (default 50)")
	fs.IntVar(&o.GroupSize, "group-size", 0, "presence: members per channel (default 20)")
	fs.DurationVar(&o.Settle, "settle", 0, "idle: wait before reading server RSS (default 2s)")
	fs.DurationVar(&o.Timeout, "timeout", 0, "bound on one run (default 5m)")
	fs.IntVar(&o.Procs, "procs", 0, "client processes (default: one per 15000 connections)")
	fs.IntVar(&o.SourceIPs, "source-ips", 0, "spread connections over 127.0.0.1..N (default: automatic above 28000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, ok := presets[*preset]
	if !ok {
		return fmt.Errorf("unknown target %q (want parley, soketi or centrifugo)", *preset)
	}
	o.Target = merge(base, t)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Exe = exe
	table := stdout
	if *asJSON {
		table = stderr
	}
	for i := 0; i < max(*repeat, 1); i++ {
		r, err := bench.Run(ctx, o)
		if err != nil {
			return err
		}
		r.WriteTable(table)
		if *asJSON {
			if err := r.WriteJSON(stdout); err != nil {
				return err
			}
		}
		if i+1 < *repeat {
			time.Sleep(time.Second) // let the server close the last run's sockets
		}
	}
	return nil
}

// merge overrides base with every non-empty field of set.
func merge(base, set bench.Target) bench.Target {
	pick := func(b *string, s string) {
		if s != "" {
			*b = s
		}
	}
	pick(&base.Name, set.Name)
	pick((*string)(&base.Protocol), string(set.Protocol))
	pick(&base.Addr, set.Addr)
	pick(&base.AppID, set.AppID)
	pick(&base.AppKey, set.AppKey)
	pick(&base.AppSecret, set.AppSecret)
	pick(&base.APIKey, set.APIKey)
	pick(&base.TokenSecret, set.TokenSecret)
	if base.TokenSecret == "-" {
		base.TokenSecret = ""
	}
	pick(&base.JWTSecret, set.JWTSecret)
	if set.ServerPID > 0 {
		base.ServerPID = set.ServerPID
	}
	return base
}
