// Command wsrss measures server RSS per idle WebSocket connection for the
// transport of package ws and for a goroutine-per-connection baseline,
// to record in docs/websocket-stack.md. It is a measurement tool, not
// part of the product.
//
//	go run ./internal/ws/cmd/wsrss -impl epoll -n 10000
//	go run ./internal/ws/cmd/wsrss -impl goroutine -n 10000
//
// The clients run in a child process (this binary with -client), since a
// process may hold at most 20 000 open files; -n above ~19 000 needs -children 2.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	pws "github.com/parleyhq/parley/internal/ws"
)

func main() {
	impl := flag.String("impl", "epoll", "epoll (package ws) or goroutine (goroutine per connection)")
	n := flag.Int("n", 10000, "connections")
	children := flag.Int("children", 1, "client processes")
	client := flag.String("client", "", "internal: run as client against this URL")
	flag.Parse()
	if *client != "" {
		runClient(*client, *n)
		return
	}
	open := new(atomic.Int64)
	var h http.Handler
	switch *impl {
	case "epoll":
		s, err := pws.NewServer(pws.Config{}, handler{open}, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer s.Close()
		h = s
	case "goroutine":
		h = goroutineServer{open}
	default:
		log.Fatalf("unknown -impl %q", *impl)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, h)
	url := "ws://" + ln.Addr().String()

	settle()
	before := rssKiB()
	per := *n / *children
	var procs []*exec.Cmd
	for range *children {
		cmd := exec.Command(os.Args[0], "-client", url, "-n", strconv.Itoa(per))
		cmd.Stderr = os.Stderr
		stdin, _ := cmd.StdinPipe()
		defer stdin.Close()
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	total := int64(per * *children)
	deadline := time.Now().Add(5 * time.Minute)
	for open.Load() < total {
		if time.Now().After(deadline) {
			log.Fatalf("only %d of %d connections", open.Load(), total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // let the background scavenger run, as in production
	natural := rssKiB()
	settle()
	after := rssKiB()
	fmt.Printf("impl=%s conns=%d goroutines=%d rss_before=%dKiB rss_idle=%dKiB (%.2f KiB/conn) rss_after_gc=%dKiB (%.2f KiB/conn)\n",
		*impl, total, runtime.NumGoroutine(), before, natural, float64(natural-before)/float64(total),
		after, float64(after-before)/float64(total))
	for _, p := range procs {
		_ = p.Process.Kill() // our own child
		_ = p.Wait()
	}
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(time.Second)
}

func rssKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// handler is a Pusher-like session on package ws: one greeting frame per
// connection, a little state.
type handler struct{ open *atomic.Int64 }

type session struct {
	c        *pws.Conn
	socketID string
	last     int64
}

func (h handler) Open(c *pws.Conn, r *http.Request) pws.Session {
	id := strconv.FormatInt(h.open.Add(1), 10) + ".1"
	c.Send(pws.TextFrame([]byte(`{"event":"pusher:connection_established","data":"{\"socket_id\":\"` + id + `\",\"activity_timeout\":120}"}`)))
	return &session{c: c, socketID: id}
}
func (s *session) Receive(msg []byte) { s.c.Send(pws.TextFrame(msg)) }
func (s *session) Touch()             { s.last = time.Now().UnixNano() }
func (s *session) Closed()            {}

// goroutineServer is the usual Go design: the handler goroutine stays
// parked in a blocking read for the life of the connection.
type goroutineServer struct{ open *atomic.Int64 }

func (g goroutineServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	defer conn.Close()
	id := strconv.FormatInt(g.open.Add(1), 10) + ".1"
	var mu sync.Mutex
	send := func(p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return wsutil.WriteServerText(conn, p)
	}
	if send([]byte(`{"event":"pusher:connection_established","data":"{\"socket_id\":\"`+id+`\",\"activity_timeout\":120}"}`)) != nil {
		return
	}
	for {
		msg, _, err := wsutil.ReadClientData(conn)
		if err != nil {
			return
		}
		if send(msg) != nil {
			return
		}
	}
}

// runClient holds n idle connections until stdin closes.
func runClient(url string, n int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	conns := make([]net.Conn, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			nc, br, _, err := ws.Dial(ctx, url+"/app/key?protocol=7")
			if err != nil {
				log.Fatalf("client %d: %v", i, err)
			}
			var r io.Reader = nc
			if br != nil {
				r = br
			}
			if _, err := ws.ReadFrame(r); err != nil { // the greeting
				log.Fatalf("client %d: %v", i, err)
			}
			conns[i] = nc
		}()
	}
	wg.Wait()
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
}
