package redisbroker

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleyhq/parley/internal/brokertest"
	"github.com/parleyhq/parley/internal/hub"
)

// redisServer is a private redis-server on a free loopback port, so a test
// may stop and restart it without touching anyone else's Redis.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
	dir  string
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not found on PATH (scripts/start-services.sh installs nothing; apt-get install redis-server): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	r.cmd.Stdout, r.cmd.Stderr = nil, nil
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond) // polling for the server to answer
	}
}

func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

var nodeSeq atomic.Int64

func openEngine(t *testing.T, url string, opts ...func(*Options)) *Engine {
	t.Helper()
	o := Options{URL: url, NodeID: fmt.Sprintf("node%d", nodeSeq.Add(1)), HeartbeatTTL: 3 * time.Second, ReapInterval: 500 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	e, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestStateContract(t *testing.T) {
	r := startRedis(t)
	brokertest.RunState(t, func(t *testing.T) hub.State { return openEngine(t, r.url()) })
}

func TestBrokerContract(t *testing.T) {
	r := startRedis(t)
	brokertest.RunBroker(t, func(t *testing.T, n int) []hub.Broker {
		out := make([]hub.Broker, n)
		for i := range out {
			out[i] = openEngine(t, r.url())
		}
		return out
	})
}

// A node that dies without leaving has its facts reaped by a survivor, and
// the departures are announced exactly once.
func TestDeadNodeIsReaped(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	survivor := openEngine(t, r.url())
	gone := make(chan hub.Gone, 10)
	survivor.SetHooks(Hooks{Forget: func(_ context.Context, g hub.Gone) { gone <- g }})

	dead := openEngine(t, r.url())
	conn := dead.opts.NodeID + "/1.1"
	if _, _, err := dead.AddSubscription(ctx, "1", "presence-x", conn); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.AddMember(ctx, "1", "presence-x", hub.Member{UserID: "u"}, conn); err != nil {
		t.Fatal(err)
	}
	// Die: stop the heartbeat without the clean leave of Close.
	dead.cancel()
	dead.wg.Wait()

	want := map[hub.EntryKind]bool{hub.EntryMember: true, hub.EntrySubscription: true}
	deadline := time.After(15 * time.Second)
	for len(want) > 0 {
		select {
		case g := <-gone:
			if !g.Last || !want[g.Kind] {
				t.Fatalf("unexpected departure %+v", g)
			}
			delete(want, g.Kind)
		case <-deadline:
			t.Fatalf("dead node not reaped; still waiting for %v", want)
		}
	}
	members, _ := survivor.Members(ctx, "1", "presence-x")
	if len(members) != 0 {
		t.Fatalf("members after reaping: %v", members)
	}
}

// While Redis is down the engine fails fast; when it is back (restarted,
// empty) the node's live facts are restored without announcements.
func TestRedisOutageAndRestore(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	e := openEngine(t, r.url())
	conn := e.opts.NodeID + "/7.7"
	live := []hub.Entry{
		{Kind: hub.EntrySubscription, App: "1", Channel: "presence-x", Conn: conn},
		{Kind: hub.EntryMember, App: "1", Channel: "presence-x", Member: hub.Member{UserID: "u"}, Conn: conn},
	}
	var forgotten atomic.Int64
	e.SetHooks(Hooks{Entries: func() []hub.Entry { return live }, Forget: func(context.Context, hub.Gone) { forgotten.Add(1) }})
	for _, en := range live {
		if en.Kind == hub.EntrySubscription {
			_, _, _ = e.AddSubscription(ctx, en.App, en.Channel, en.Conn)
		} else {
			_, _ = e.AddMember(ctx, en.App, en.Channel, en.Member, en.Conn)
		}
	}
	r.stop()
	waitFor(t, "engine to notice the outage", func() bool { return !e.Stats().Up })
	start := time.Now()
	if _, _, err := e.AddSubscription(ctx, "1", "c", conn); err != ErrUnavailable {
		t.Fatalf("during the outage: %v, want ErrUnavailable", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("a call during the outage waited for the network instead of failing fast")
	}
	r.start()
	waitFor(t, "engine to reconnect", func() bool { return e.Stats().Up })
	waitFor(t, "member restored", func() bool {
		m, err := e.Members(ctx, "1", "presence-x")
		return err == nil && len(m) == 1 && m[0].UserID == "u"
	})
	if e.Stats().Outages != 1 {
		t.Fatalf("outages = %d", e.Stats().Outages)
	}
	if forgotten.Load() != 0 {
		t.Fatal("a restore announced departures")
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_TEST_REDIS") == "off" {
		fmt.Println("skipping Redis tests: PARLEY_TEST_REDIS=off")
		os.Exit(0)
	}
	os.Exit(m.Run())
}
