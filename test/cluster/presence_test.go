package cluster

import (
	"net/http"
	"slices"
	"testing"

	"github.com/parleyhq/parley/internal/pushertest"
)

// Presence is one membership for the whole cluster: member_added when a
// user's first connection anywhere joins, member_removed when the last one
// anywhere leaves, and every node's HTTP API answers for all nodes.
func TestPresenceAcrossNodes(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const ch = "presence-ward"

	// One watcher member per node.
	var watchers []*client
	for i, n := range nodes {
		w := dial(t, n, "watcher"+n.name)
		ok := w.joinPresence(ch, "w"+n.name)
		var d struct {
			Presence struct {
				IDs   []string `json:"ids"`
				Count int      `json:"count"`
			} `json:"presence"`
		}
		if err := ok.Decode(&d); err != nil {
			t.Fatalf("subscription_succeeded: %v in %s", err, ok.Raw)
		}
		// The member list comes from the cluster: earlier watchers joined
		// on other nodes.
		if d.Presence.Count != i+1 || len(d.Presence.IDs) != i+1 {
			t.Fatalf("watcher on %s sees %v (count %d), want %d members", n.name, d.Presence.IDs, d.Presence.Count, i+1)
		}
		watchers = append(watchers, w)
	}
	for i, w := range watchers {
		for _, later := range nodes[i+1:] {
			w.WaitFor("member_added w"+later.name, isMember("pusher_internal:member_added", ch, "w"+later.name))
		}
	}

	// patient joins on A, then again on C: one member_added in all.
	p1 := dial(t, a, "patientOnA")
	p1.joinPresence(ch, "patient")
	p2 := dial(t, c, "patientOnC")
	p2.joinPresence(ch, "patient")
	fence(t, nodes, ch, watchers...)
	for _, w := range watchers {
		if n := w.Count(isMember("pusher_internal:member_added", ch, "patient")); n != 1 {
			t.Errorf("%s on %s: member_added patient %d times, want 1\n%s", w.name, w.node.name, n, w.Transcript())
		}
	}
	// p1 was already a member when its second connection joined.
	if n := p1.Count(isMember("pusher_internal:member_added", ch, "patient")); n != 0 {
		t.Errorf("the patient's first connection was told the patient joined (%d)", n)
	}

	want := []string{"patient", "wA", "wB", "wC"}
	for _, n := range nodes {
		if got := n.users(t, ch); !slices.Equal(got, want) {
			t.Errorf("GET users on %s = %v, want %v", n.name, got, want)
		}
		if ci := n.channel(t, ch); !ci.Occupied || ci.UserCount != 4 || ci.SubscriptionCount != 5 {
			t.Errorf("GET channel on %s = %+v, want occupied, 4 users, 5 subscriptions", n.name, ci)
		}
		list := n.channels(t, "presence-")
		if ci, ok := list[ch]; !ok || ci.UserCount != 4 || ci.SubscriptionCount != 5 {
			t.Errorf("GET channels on %s = %+v, want %s with 4 users and 5 subscriptions", n.name, list, ch)
		}
	}

	// The patient's connection on A leaves: still a member through C.
	p1.Close()
	waitUntil(t, "subscription_count 4", func() bool { return b.channel(t, ch).SubscriptionCount == 4 })
	fence(t, nodes, ch, watchers...)
	for _, w := range watchers {
		if n := w.Count(isMember("pusher_internal:member_removed", ch, "patient")); n != 0 {
			t.Errorf("%s on %s: member_removed patient while a connection on C remains", w.name, w.node.name)
		}
	}
	if got := a.users(t, ch); !slices.Equal(got, want) {
		t.Errorf("GET users on A after one of two connections left = %v, want %v", got, want)
	}

	// The last connection leaves: member_removed once everywhere.
	p2.Close()
	for _, w := range watchers {
		w.WaitFor("member_removed patient", isMember("pusher_internal:member_removed", ch, "patient"))
	}
	fence(t, nodes, ch, watchers...)
	for _, w := range watchers {
		if n := w.Count(isMember("pusher_internal:member_removed", ch, "patient")); n != 1 {
			t.Errorf("%s on %s: member_removed patient %d times, want 1", w.name, w.node.name, n)
		}
	}
	want = []string{"wA", "wB", "wC"}
	for _, n := range nodes {
		if got := n.users(t, ch); !slices.Equal(got, want) {
			t.Errorf("GET users on %s after the patient left = %v, want %v", n.name, got, want)
		}
		if ci := n.channel(t, ch); ci.UserCount != 3 || ci.SubscriptionCount != 3 {
			t.Errorf("GET channel on %s = %+v, want 3 users, 3 subscriptions", n.name, ci)
		}
	}
}

// Signed-in users are routed cluster-wide: watchlists see users come and
// go on other nodes, #server-to-user- events find the user's connections
// on any node, and terminate_connections closes them everywhere.
func TestSignedInUsersAcrossNodes(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]

	doctor := dial(t, a, "doctorOnA")
	doctor.signin("doctor", "pat")
	doctor.WaitFor("initial watchlist: pat offline", watchlistHas("offline", "pat"))

	patB := dial(t, b, "patOnB")
	patB.signin("pat")
	doctor.WaitFor("pat online", watchlistHas("online", "pat"))
	patC := dial(t, c, "patOnC")
	patC.signin("pat")
	fence(t, nodes, "#server-to-user-doctor", doctor)
	if n := doctor.Count(watchlistHas("online", "pat")); n != 1 {
		t.Errorf("doctor saw pat online %d times, want 1 (a second connection is not a new arrival)\n%s", n, doctor.Transcript())
	}

	// Published on A, delivered to pat's connections on B and C.
	a.publish(t, "#server-to-user-pat", "reminder", `{"appt":"tomorrow"}`)
	for _, p := range []*client{patB, patC} {
		p.WaitFor("reminder", func(f pushertest.Frame) bool { return f.Event == "reminder" && f.DataString() == `{"appt":"tomorrow"}` })
	}
	fence(t, nodes, "#server-to-user-pat", patB, patC)
	for _, p := range []*client{patB, patC} {
		if n := p.Count(func(f pushertest.Frame) bool { return f.Event == "reminder" }); n != 1 {
			t.Errorf("%s: reminder %d times, want 1", p.name, n)
		}
	}

	// One of pat's connections goes: pat stays online.
	patB.Close()
	waitUntil(t, "B to count no connections", func() bool { return b.connections(t) == 0 })
	fence(t, nodes, "#server-to-user-doctor", doctor)
	if n := doctor.Count(watchlistHas("offline", "pat")); n != 1 {
		t.Errorf("doctor saw pat offline while pat is still connected on C\n%s", doctor.Transcript())
	}

	// terminate_connections on A closes pat's connections on every node
	// with 4009, and pat goes offline once.
	patA := dial(t, a, "patOnA")
	patA.signin("pat")
	before := doctor.Mark()
	status, body := a.api(t, http.MethodPost, "/apps/"+appID+"/users/pat/terminate_connections", nil, []byte("{}"))
	if status != http.StatusOK {
		t.Fatalf("terminate_connections: %d %s", status, body)
	}
	for _, p := range []*client{patA, patC} {
		if code := p.WaitClosed(); code != 4009 {
			t.Errorf("%s closed with %d, want 4009", p.name, code)
		}
	}
	doctor.WaitFrom(before, waitTimeout, "pat offline after terminate_connections", watchlistHas("offline", "pat"))
	fence(t, nodes, "#server-to-user-doctor", doctor)
	// Initial frame plus one departure.
	if n := doctor.Count(watchlistHas("offline", "pat")); n != 2 {
		t.Errorf("doctor saw pat offline %d times, want 2 (initial state, then once)\n%s", n, doctor.Transcript())
	}
	if n := doctor.Count(watchlistHas("online", "pat")); n != 1 {
		t.Errorf("doctor saw pat online %d times, want 1\n%s", n, doctor.Transcript())
	}
}
