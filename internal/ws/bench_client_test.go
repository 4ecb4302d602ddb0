package ws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// The broadcast benchmark needs up to 10 000 client sockets; with the
// server's they would pass the 20 000 open files a process may hold, so the
// clients live in a child process: this test binary, re-run with
// benchClientEnv set to the server's URL.
const (
	benchClientEnv = "PARLEY_WS_BENCH_CLIENT"
	benchCountEnv  = "PARLEY_WS_BENCH_N"
)

// runBenchClient dials PARLEY_WS_BENCH_N connections, prints "ready", and
// drains them with one epoll loop until its stdin closes.
func runBenchClient(url string) int {
	n, _ := strconv.Atoi(os.Getenv(benchCountEnv))
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 100)
	errs := make(chan error, 1)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			nc, _, _, err := ws.Dial(ctx, url+"/app/key?protocol=7")
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			conns[i] = nc
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "bench client:", err)
		return 1
	default:
	}
	p, err := newPoller()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench client:", err)
		return 1
	}
	rcs := make(map[int32]func(uintptr) bool)
	w := newIOWorker(64 << 10)
	for _, nc := range conns {
		rc, _ := nc.(*net.TCPConn).SyscallConn()
		_ = rc.Control(func(fd uintptr) {
			_ = p.arm(int(fd), int32(fd), true)
			rcs[int32(fd)] = w.readFn
		})
	}
	fmt.Println("ready")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	events := make([]pollEvent, 256)
	for p.wait(events, func(fd, _ int32) {
		for {
			w.readFn(uintptr(fd)) // the client never closes its sockets, so raw fds are safe here
			if w.errno != 0 || w.n == 0 {
				break
			}
		}
		_ = p.arm(int(fd), fd, false)
	}) {
	}
	return 0
}

// BenchmarkBroadcast sends one shared frame to every connection per
// iteration; ns/delivery is the server's cost per frame written.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchBroadcast(b, n) })
	}
}

func benchBroadcast(b *testing.B, n int) {
	h := &echoHandler{}
	s, url := startServer(b, Config{}, h)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchClientEnv+"="+url, benchCountEnv+"="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("bench client: %q %v", line, err)
	}
	eventually(b, "welcome frames written", func() bool {
		st := s.Stats()
		return st.Open == int64(n) && st.FramesOut == uint64(n)
	})
	conns := h.all()
	frame := TextFrame([]byte(`{"event":"new-message","channel":"private-thread-42","data":"{\"id\":\"m_01HZX3\",\"body\":\"hello\"}"}`))
	base := s.Stats().FramesOut
	b.ReportAllocs()
	// Waiting polls with short sleeps rather than spinning, so that the
	// process's CPU time is mostly the server's.
	waitOut := func(target uint64) {
		for s.Stats().FramesOut < target {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range b.N {
		for _, c := range conns {
			c.Send(frame)
		}
		// Keep at most 8 broadcasts in flight so that the bounded queues
		// measure throughput, not slow-consumer closes.
		if i >= 8 {
			waitOut(base + uint64((i-8)*n))
		}
	}
	waitOut(base + uint64(b.N*n))
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/delivery")
	if st := s.Stats(); st.SlowConsumers != 0 || st.Open != int64(n) {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n), "ns/delivery")
}

// cpuTime is the user and system CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
