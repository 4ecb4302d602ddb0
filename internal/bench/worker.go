package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// WorkerArg is the hidden first argument that turns the command into a
// client worker process: one process may hold at most 20 000 open files
// here, so large connection counts are spread over several processes.
const WorkerArg = "__bench-worker"

// PerProcess is how many connections one process holds at most, leaving
// room under the 20 000 open-file limit for the HTTP client and runtime.
const PerProcess = 15000

// workerMsg is one line a worker writes on stdout.
type workerMsg struct {
	Ready    *GroupReport `json:"ready,omitempty"`
	Progress int64        `json:"progress,omitempty"`
	Done     *GroupReport `json:"done,omitempty"`
}

// RunWorker is a worker process's main: it reads a GroupSpec line from in,
// connects, reports ready, reports deliveries every 100 ms, and on any
// further line (or end of input) stops and reports what it received.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("worker: reading spec: %w", err)
	}
	var spec GroupSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("worker: spec: %w", err)
	}
	if err := spec.Target.Validate(); err != nil {
		return err
	}
	var wmu sync.Mutex
	enc := json.NewEncoder(out)
	send := func(m workerMsg) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = enc.Encode(m)
	}
	g := startLocal(ctx, spec)
	r := g.Ready()
	send(workerMsg{Ready: &r})
	stop := make(chan struct{})
	go func() {
		_, _ = br.ReadBytes('\n')
		close(stop)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
			send(workerMsg{Progress: g.Deliveries()})
		case <-stop:
			done = true
		case <-ctx.Done():
			done = true
		}
	}
	final := g.Stop()
	final.CPUSeconds = selfCPU().Seconds()
	send(workerMsg{Done: &final})
	return nil
}

// procGroup is a GroupSpec running in a worker process.
type procGroup struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	ready    GroupReport
	progress atomic.Int64
	done     chan GroupReport
	errMu    sync.Mutex
	err      error
}

// startProc starts exe as a worker for spec and waits until it is ready.
func startProc(ctx context.Context, exe string, spec GroupSpec) (*procGroup, error) {
	cmd := exec.CommandContext(ctx, exe, WorkerArg)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &procGroup{cmd: cmd, stdin: stdin, done: make(chan GroupReport, 1)}
	specLine, _ := json.Marshal(spec)
	if _, err := stdin.Write(append(specLine, '\n')); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	readyCh := make(chan GroupReport, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var m workerMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				continue
			}
			switch {
			case m.Ready != nil:
				readyCh <- *m.Ready
			case m.Done != nil:
				p.done <- *m.Done
				return
			default:
				p.progress.Store(m.Progress)
			}
		}
		close(readyCh)
		close(p.done)
	}()
	r, ok := <-readyCh
	if !ok {
		_ = cmd.Wait()
		return nil, fmt.Errorf("worker exited before it was ready")
	}
	p.ready = r
	return p, nil
}

func (p *procGroup) Ready() GroupReport { return p.ready }
func (p *procGroup) Deliveries() int64  { return p.progress.Load() }

func (p *procGroup) Stop() GroupReport {
	_, _ = p.stdin.Write([]byte("stop\n"))
	_ = p.stdin.Close()
	var r GroupReport
	select {
	case got, ok := <-p.done:
		if ok {
			r = got
		} else {
			r = p.ready
			r.FirstErr = "worker ended without a report"
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		r = p.ready
		r.FirstErr = "worker did not stop within 60 s"
	}
	_ = p.cmd.Wait()
	return r
}

// groups is the set of groups a scenario runs, local or in workers.
type groups []group

// startGroups splits spec over procs worker processes running exe
// (procs <= 1: in this process) and waits until all are connected.
func startGroups(ctx context.Context, spec GroupSpec, procs int, exe string) (groups, GroupReport, error) {
	if procs <= 1 {
		g := startLocal(ctx, spec)
		return groups{g}, g.Ready(), nil
	}
	var (
		gs    groups
		total GroupReport
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	per := (spec.Count + procs - 1) / procs
	for w := 0; w < procs; w++ {
		s := spec
		s.Offset = spec.Offset + w*per
		s.Count = min(per, spec.Count-w*per)
		if s.Count <= 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := startProc(ctx, exe, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			gs = append(gs, p)
			total.merge(p.Ready())
		}()
	}
	wg.Wait()
	if first != nil {
		gs.Stop()
		return nil, GroupReport{}, first
	}
	return gs, total, nil
}

func (gs groups) Deliveries() int64 {
	var n int64
	for _, g := range gs {
		n += g.Deliveries()
	}
	return n
}

// Stop stops every group concurrently and merges their reports.
func (gs groups) Stop() GroupReport {
	var (
		total GroupReport
		mu    sync.Mutex
		wg    sync.WaitGroup
	)
	for _, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := g.Stop()
			mu.Lock()
			total.merge(r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// waitDrain polls until want deliveries arrived, or nothing arrived for
// quiet, or the deadline passed.
func waitDrain(ctx context.Context, count func() int64, want int64, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, lastChange := count(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := count()
		if n >= want {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}
