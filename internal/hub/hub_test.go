package hub

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley/internal/pusher"
)

// countingConn is a transport stand-in for benchmarks and state tests: it
// counts frames and records the last one.
type countingConn struct {
	n      atomic.Int64
	mu     sync.Mutex
	last   []byte
	closed int
}

func (c *countingConn) Send(frame []byte) {
	c.n.Add(1)
	c.mu.Lock()
	c.last = frame
	c.mu.Unlock()
}

func (c *countingConn) Close(code int, reason string) {
	c.mu.Lock()
	c.closed = code
	c.mu.Unlock()
}

func testApp() *pusher.App {
	return &pusher.App{ID: "1", Key: "k", Secret: "s", Enabled: true, ClientEvents: true, UserAuthentication: true, Limits: pusher.DefaultLimits()}
}

func newTestHub(tb testing.TB, cfg Config) *Hub {
	tb.Helper()
	if cfg.Apps == nil {
		cfg.Apps = []*pusher.App{testApp()}
	}
	h, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = h.Close() })
	return h
}

func subscribeN(tb testing.TB, h *Hub, channel string, n int) []*countingConn {
	conns := make([]*countingConn, n)
	for i := range conns {
		conns[i] = &countingConn{}
		cl := h.Connect(conns[i], "k", pusher.Query{"protocol": "7"})
		cl.Receive([]byte(`{"event":"pusher:subscribe","data":{"channel":"` + channel + `"}}`))
	}
	return conns
}

func TestPublishReachesEverySubscriberOnce(t *testing.T) {
	h := newTestHub(t, Config{})
	conns := subscribeN(t, h, "room", 50)
	app, _ := h.App("1")
	if err := h.Publish(context.Background(), app, Event{Name: "e", Channels: []string{"room"}, Data: "x"}); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		// connection_established + subscription_succeeded + the event
		if got := c.n.Load(); got != 3 {
			t.Fatalf("conn %d got %d frames, want 3", i, got)
		}
		if string(c.last) != `{"event":"e","channel":"room","data":"x"}` {
			t.Fatalf("conn %d last frame %s", i, c.last)
		}
	}
}

func TestClusterOfHubsSharesPresence(t *testing.T) {
	state, broker := NewMemoryState(), NewMemoryBroker()
	a := newTestHub(t, Config{NodeID: "a", State: state, Broker: broker.Node()})
	b := newTestHub(t, Config{NodeID: "b", State: state, Broker: broker.Node()})
	app, _ := a.App("1")
	join := func(h *Hub, user string) (*countingConn, *Client) {
		c := &countingConn{}
		cl := h.Connect(c, "k", pusher.Query{"protocol": "7"})
		cd := `{"user_id":"` + user + `"}`
		auth := pusher.ChannelAuth("k", "s", cl.SocketID(), "presence-x", cd)
		cl.Receive([]byte(`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"` + auth + `","channel_data":` + strconv.Quote(cd) + `}}`))
		return c, cl
	}
	_, _ = join(a, "1")
	_, cl2 := join(b, "1") // same user on another node
	users, err := b.Users(context.Background(), app, "presence-x")
	if err != nil || len(users) != 1 {
		t.Fatalf("users = %v, %v; want one distinct user across nodes", users, err)
	}
	info, _ := a.Channel(context.Background(), app, "presence-x")
	if info.SubscriptionCount != 2 || info.UserCount != 1 {
		t.Fatalf("channel info %+v", info)
	}
	cl2.Closed()
	users, _ = a.Users(context.Background(), app, "presence-x")
	if len(users) != 1 {
		t.Fatalf("user left with a connection remaining: %v", users)
	}
}

func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := newTestHub(b, Config{})
			subscribeN(b, h, "room", n)
			app, _ := h.App("1")
			ev := Event{Name: "new-message", Channels: []string{"room"}, Data: `{"id":"m1","seq":1,"content":"hello"}`}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = h.Publish(ctx, app, ev)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}
