package cluster

import (
	"strconv"
	"testing"

	"github.com/parleyhq/parley/internal/pushertest"
)

// An HTTP publish on one node reaches subscribers on every node exactly
// once, in publish order.
func TestCrossNodeDeliveryInOrder(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 3)
	a := nodes[0]
	const channel = "orders"
	var subs []*client
	for _, n := range nodes {
		for i := range 2 {
			c := dial(t, n, "sub"+n.name+strconv.Itoa(i))
			c.subscribe(channel)
			subs = append(subs, c)
		}
	}

	const events = 200
	for i := 1; i <= events; i++ {
		a.publish(t, channel, "numbered", strconv.Itoa(i))
	}
	for _, c := range subs {
		c.WaitFor("event 200", func(f pushertest.Frame) bool { return f.Event == "numbered" && f.DataString() == strconv.Itoa(events) })
	}
	fence(t, nodes, channel, subs...)
	for _, c := range subs {
		var got []int
		for _, f := range c.Frames() {
			if f.Event == "numbered" {
				n, err := strconv.Atoi(f.DataString())
				if err != nil {
					t.Fatalf("%s: bad data %s", c.name, f.Raw)
				}
				got = append(got, n)
			}
		}
		if len(got) != events {
			t.Errorf("%s on %s: %d events, want %d (duplicates or losses)", c.name, c.node.name, len(got), events)
		}
		for i, n := range got {
			if n != i+1 {
				t.Errorf("%s on %s: event #%d is %d: out of order or duplicated; first 20: %v", c.name, c.node.name, i+1, n, got[:min(20, len(got))])
				break
			}
		}
	}
}

// A client event sent on one node reaches the channel's subscribers on the
// other nodes once, and never comes back to its sender.
func TestClientEventsCrossNodes(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 3)
	const channel = "private-consult"
	var subs []*client
	for _, n := range nodes {
		c := dial(t, n, "peer"+n.name)
		c.subscribe(channel)
		subs = append(subs, c)
	}
	sender := subs[0]
	for i := 1; i <= 5; i++ {
		sender.Send(map[string]any{"event": "client-typing", "channel": channel, "data": map[string]int{"n": i}})
	}
	for _, c := range subs[1:] {
		c.WaitFor("client-typing n=5", func(f pushertest.Frame) bool { return f.Event == "client-typing" && f.DataString() == `{"n":5}` })
	}
	fence(t, nodes, channel, subs...)
	for _, c := range subs[1:] {
		var got []string
		for _, f := range c.Frames() {
			if f.Event == "client-typing" {
				got = append(got, f.DataString())
			}
		}
		want := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`, `{"n":5}`}
		if len(got) != len(want) {
			t.Fatalf("%s on %s: got %v, want %v", c.name, c.node.name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s on %s: got %v, want %v", c.name, c.node.name, got, want)
			}
		}
	}
	if n := sender.Count(pushertest.IsEvent("client-typing", channel)); n != 0 {
		t.Fatalf("the sender received its own client event %d times", n)
	}
}
