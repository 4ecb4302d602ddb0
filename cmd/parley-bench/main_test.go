package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/bench"
)

// TestMain lets the test binary act as a client worker process, as the
// real command does when it re-executes itself for large counts.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == bench.WorkerArg {
		if err := bench.RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBench runs the command in-process with -json and returns its result.
func runBench(t *testing.T, args ...string) bench.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	if err := Main(ctx, append([]string{"-json", "-timeout", "90s"}, args...), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("parley-bench %v: %v\n%s", args, err, errOut.String())
	}
	rs, err := bench.ReadResults(&out)
	if err != nil || len(rs) != 1 {
		t.Fatalf("want one JSON result line, got %d (%v):\n%s", len(rs), err, out.String())
	}
	if !strings.Contains(errOut.String(), rs[0].Scenario+" on ") {
		t.Errorf("the human table is missing from stderr:\n%s", errOut.String())
	}
	return rs[0]
}

func TestFanoutEndToEnd(t *testing.T) {
	addr, pid := startParley(t)
	r := runBench(t, "-target", "parley", "-addr", addr, "-server-pid", itoa(pid),
		"-scenario", "fanout", "-conns", "20", "-publishes", "50")
	if r.Connections != 20 || r.ConnectFailed != 0 {
		t.Fatalf("connections %d, failed %d; errors %v", r.Connections, r.ConnectFailed, r.Errors)
	}
	if r.Publishes != 50 || r.PublishFailed != 0 {
		t.Fatalf("publishes %d ok, %d failed; errors %v", r.Publishes, r.PublishFailed, r.Errors)
	}
	if r.Expected != 1000 || r.Deliveries != 1000 || r.DeliveryRatio != 1 {
		t.Errorf("deliveries %d of %d (ratio %v), want 1000 of 1000", r.Deliveries, r.Expected, r.DeliveryRatio)
	}
	if r.Duplicates != 0 || r.Gaps != 0 {
		t.Errorf("duplicates %d, gaps %d", r.Duplicates, r.Gaps)
	}
	if r.Latency.Count != 1000 {
		t.Errorf("latency histogram holds %d samples, want 1000", r.Latency.Count)
	}
	if r.CPU.ServerRSSBytes == 0 {
		t.Error("server RSS from /proc was not reported")
	}
}

func TestIdleAcrossWorkerProcesses(t *testing.T) {
	addr, pid := startParley(t)
	r := runBench(t, "-addr", addr, "-server-pid", itoa(pid),
		"-scenario", "idle", "-conns", "30", "-subscribe", "-procs", "2", "-settle", "10ms")
	if r.Connections != 30 || r.ConnectFailed != 0 {
		t.Fatalf("connections %d, failed %d; errors %v", r.Connections, r.ConnectFailed, r.Errors)
	}
	if r.ServerRSSEnd == 0 || r.ConnectPerSec <= 0 {
		t.Errorf("RSS %d, connect rate %v: want both measured", r.ServerRSSEnd, r.ConnectPerSec)
	}
	if r.Params["procs"] != float64(2) {
		t.Errorf("procs param %v, want 2", r.Params["procs"])
	}
}

func TestThreadsEndToEnd(t *testing.T) {
	addr, _ := startParley(t)
	r := runBench(t, "-addr", addr, "-scenario", "threads", "-conns", "5", "-publishes", "40")
	if r.Connections != 10 {
		t.Fatalf("connections %d, want 10 (two per thread); errors %v", r.Connections, r.Errors)
	}
	// socket_id exclusion: each send reaches only the other participant.
	if r.Deliveries != 40 || r.Gaps != 0 || r.Duplicates != 0 {
		t.Errorf("deliveries %d (gaps %d, duplicates %d), want 40 exactly", r.Deliveries, r.Gaps, r.Duplicates)
	}
}

func TestPresenceEndToEnd(t *testing.T) {
	addr, _ := startParley(t)
	r := runBench(t, "-addr", addr, "-scenario", "presence", "-conns", "12", "-group-size", "4",
		"-churn", "40", "-duration", "500ms")
	if r.Connections != 12 {
		t.Fatalf("connections %d; errors %v", r.Connections, r.Errors)
	}
	if r.MemberExpected == 0 || r.MemberEvents != r.MemberExpected {
		t.Errorf("member events %d of %d expected", r.MemberEvents, r.MemberExpected)
	}
}

func TestReportAndPlot(t *testing.T) {
	addr, _ := startParley(t)
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	var lines bytes.Buffer
	lines.WriteString(`{"meta":{"mode":"test"}}` + "\n")
	for _, target := range []string{"parley", "soketi"} {
		r := runBench(t, "-target", target, "-addr", addr, "-scenario", "fanout", "-conns", "5", "-publishes", "10")
		b, _ := json.Marshal(r)
		lines.Write(append(b, '\n'))
	}
	if err := os.WriteFile(results, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"report", results}, nil, &out, &errOut); err != nil {
		t.Fatalf("report: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "parley÷soketi") || !strings.Contains(out.String(), "deliveries/s") {
		t.Errorf("report lacks the ratio column or figures:\n%s", out.String())
	}
	svg := filepath.Join(dir, "plot.svg")
	if err := Main(context.Background(), []string{"plot", "-o", svg, results}, nil, &out, &errOut); err != nil {
		t.Fatalf("plot: %v %s", err, errOut.String())
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.HasPrefix(b, []byte("<svg")) || !bytes.Contains(b, []byte("<polyline")) && !bytes.Contains(b, []byte("<circle")) {
		t.Errorf("plot is not an SVG with data points: %v\n%.300s", err, b)
	}
}

func TestRefusesNonLoopbackTargets(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Main(context.Background(), []string{"-addr", "10.0.0.1:6001", "-scenario", "idle", "-conns", "1"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("err = %v, want a refusal of a non-loopback address", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestMergeIdle merges the idle results of three nodes measured at once
// into one cluster result through the CLI: summed connections, RSS and
// drops, growth per socket over all of them; it refuses anything but idle
// results and results with different settings.
func TestMergeIdle(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rs ...bench.Result) string {
		var b bytes.Buffer
		b.WriteString(`{"meta":{"mode":"test"}}` + "\n")
		for _, r := range rs {
			if err := r.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	node := func(name string, conns int, start, end int64, dropped int64) bench.Result {
		return bench.Result{Scenario: "idle", Target: name, Protocol: bench.ProtoPusher,
			Params: map[string]any{"conns": float64(conns), "subscribe": false}, Connections: conns,
			ServerRSSStart: start, ServerRSSEnd: end, ConnectPerSec: 1000, Dropped: dropped,
			DropReason: map[bool]string{true: "4100"}[dropped > 0]}
	}
	nodes := write("nodes.jsonl", node("n0", 100, 10_000, 210_000, 0), node("n1", 100, 20_000, 220_000, 2))
	more := write("more.jsonl", node("n2", 50, 30_000, 130_000, 0))
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"merge", "-name", "three-nodes", nodes, more}, nil, &out, &errOut); err != nil {
		t.Fatalf("merge: %v %s", err, errOut.String())
	}
	rs, err := bench.ReadResults(&out)
	if err != nil || len(rs) != 1 {
		t.Fatalf("merge output: %v %q", err, out.String())
	}
	m := rs[0]
	if m.Target != "three-nodes" || m.Connections != 250 || m.Params["nodes"] != float64(3) || m.Params["conns"] != float64(250) {
		t.Errorf("merged result: target %q, %d connections, params %v", m.Target, m.Connections, m.Params)
	}
	if m.ServerRSSStart != 60_000 || m.ServerRSSEnd != 560_000 || m.RSSPerConn != 2000 || m.ConnectPerSec != 3000 {
		t.Errorf("merged RSS %d → %d, %.0f per connection, %.0f connects/s; want 60000 → 560000, 2000, 3000",
			m.ServerRSSStart, m.ServerRSSEnd, m.RSSPerConn, m.ConnectPerSec)
	}
	if m.Dropped != 2 || !strings.Contains(m.DropReason, "n1: 4100") {
		t.Errorf("merged drops %d (%q), want 2 from n1", m.Dropped, m.DropReason)
	}
	fanout := node("f", 1, 1, 2, 0)
	fanout.Scenario = "fanout"
	subscribed := node("s", 1, 1, 2, 0)
	subscribed.Params["subscribe"] = true
	noRSS := node("r", 1, 0, 0, 0)
	for name, bad := range map[string]bench.Result{"only idle": fanout, "different settings": subscribed, "no server RSS": noRSS} {
		f := write(strings.ReplaceAll(name, " ", "-")+".jsonl", bad)
		if err := Main(context.Background(), []string{"merge", nodes, f}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("merging with a %s result: err = %v", name, err)
		}
	}
}
