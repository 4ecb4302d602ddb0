package cluster

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/pushertest"
)

// reapBound is the promise for a dead node: its members are gone
// within 30 s (the engine's HeartbeatTTL 15 s + ReapInterval 5 s = 20 s).
const reapBound = 30 * time.Second

// A node killed with SIGKILL says no goodbye; the survivors remove its
// presence members and subscriptions, and every client on a survivor sees
// exactly one member_removed per user whose last connection was there.
func TestKilledNodeIsReaped(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	survivors := nodes[:2]
	const ch = "presence-clinic"

	wA := dial(t, a, "wA")
	wA.joinPresence(ch, "wA")
	wB := dial(t, b, "wB")
	wB.joinPresence(ch, "wB")
	sharedA := dial(t, a, "sharedOnA")
	sharedA.joinPresence(ch, "shared")
	for _, u := range []string{"c1", "c2", "shared"} {
		cl := dial(t, c, u+"OnC")
		cl.joinPresence(ch, u)
	}
	lobbyA := dial(t, a, "lobbyA")
	lobbyA.subscribe("lobby")
	lobbyC := dial(t, c, "lobbyC")
	lobbyC.subscribe("lobby")
	watchers := []*client{wA, wB, sharedA}
	for _, w := range watchers {
		for _, u := range []string{"c1", "c2"} {
			w.WaitFor("member_added "+u, isMember("pusher_internal:member_added", ch, u))
		}
	}
	if got := b.users(t, ch); !slices.Equal(got, []string{"c1", "c2", "shared", "wA", "wB"}) {
		t.Fatalf("users before the kill = %v", got)
	}

	c.kill()
	killed := time.Now()
	for _, w := range watchers {
		for _, u := range []string{"c1", "c2"} {
			w.WaitWithin(reapBound, "member_removed "+u+" after SIGKILL of C", isMember("pusher_internal:member_removed", ch, u))
		}
	}
	t.Logf("members of the killed node removed after %s", time.Since(killed).Round(100*time.Millisecond))

	fence(t, survivors, ch, watchers...)
	for _, w := range watchers {
		for _, u := range []string{"c1", "c2"} {
			if n := w.Count(isMember("pusher_internal:member_removed", ch, u)); n != 1 {
				t.Errorf("%s on %s: member_removed %s %d times, want 1", w.name, w.node.name, u, n)
			}
		}
		if n := w.Count(isMember("pusher_internal:member_removed", ch, "shared")); n != 0 {
			t.Errorf("%s on %s: member_removed shared, who is still connected on A", w.name, w.node.name)
		}
	}
	want := []string{"shared", "wA", "wB"}
	for _, n := range survivors {
		if got := n.users(t, ch); !slices.Equal(got, want) {
			t.Errorf("GET users on %s = %v, want %v", n.name, got, want)
		}
		// The reaper drops subscriptions right after the members; poll.
		waitUntil(t, ch+" on "+n.name+" to count 3 users and 3 subscriptions", func() bool {
			ci := n.channel(t, ch)
			return ci.UserCount == 3 && ci.SubscriptionCount == 3
		})
		waitUntil(t, "lobby on "+n.name+" to count 1 subscription", func() bool { return n.channel(t, "lobby").SubscriptionCount == 1 })
	}
}

// A node that crashes and comes back under the same PARLEY_NODE_ID before
// its heartbeat expires cleans up what its previous run left, and the
// other nodes' clients are told that those members left.
func TestRestartedNodeCleansItsStaleState(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 2)
	a, b := nodes[0], nodes[1]
	const ch = "presence-rounds"
	w := dial(t, a, "watcherOnA")
	w.joinPresence(ch, "nurse")
	gone := dial(t, b, "patientOnB")
	gone.joinPresence(ch, "patient")
	w.WaitFor("member_added patient", isMember("pusher_internal:member_added", ch, "patient"))

	b.kill()
	b.start() // same node id, long before the 15 s heartbeat expires
	if got := a.users(t, ch); !slices.Equal(got, []string{"nurse"}) {
		t.Errorf("GET users on A after B restarted = %v, want [nurse]", got)
	}
	// Well under reapBound: the survivors' reaper would also do it, late.
	w.WaitWithin(5*time.Second, "member_removed patient after B restarted", isMember("pusher_internal:member_removed", ch, "patient"))
}

// While Redis is down each node serves its own clients; when a fresh,
// empty Redis comes back on the same address, cross-node delivery resumes
// and presence is restored without restarting a node and without a second
// member_added.
func TestRedisOutageAndReturn(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const ch, news = "presence-desk", "news"
	var members, readers []*client
	for _, n := range nodes {
		m := dial(t, n, "m"+n.name)
		m.joinPresence(ch, "m"+n.name)
		members = append(members, m)
		s := dial(t, n, "reader"+n.name)
		s.subscribe(news)
		readers = append(readers, s)
	}
	everyone := []string{"mA", "mB", "mC"}
	waitUntil(t, "all members listed", func() bool { return slices.Equal(a.users(t, ch), everyone) })
	fence(t, nodes, ch, members...)
	addedBefore := map[*client]int{}
	for _, m := range members {
		addedBefore[m] = m.Count(func(f pushertest.Frame) bool { return f.Event == "pusher_internal:member_added" })
	}

	r.stop()
	for _, n := range nodes {
		waitUntil(t, n.name+" to log the outage", func() bool { return n.logged("redis unreachable") })
	}
	// Local service continues: a publish on A reaches A's own reader, and
	// a client event on B reaches B's other member.
	a.publish(t, news, "local", "during the outage")
	readers[0].WaitFor("event published on its own node during the outage", func(f pushertest.Frame) bool { return f.Event == "local" })
	b2 := dial(t, b, "m2B")
	b2.subscribe("private-b")
	b3 := dial(t, b, "m3B")
	b3.subscribe("private-b")
	b2.Send(map[string]any{"event": "client-note", "channel": "private-b", "data": "{}"})
	b3.WaitFor("client event on the same node during the outage", pushertest.IsEvent("client-note", "private-b"))

	r.start() // empty: every fact and subscription is gone
	for _, n := range nodes {
		waitUntil(t, "members listed again on "+n.name, func() bool {
			ids, ok := tryUsers(t, n, ch)
			return ok && slices.Equal(ids, everyone)
		})
	}
	for _, n := range nodes {
		if !n.logged("reconcil") && !n.logged("restor") {
			t.Errorf("%s logged no reconcile after Redis returned:\n%s", n.name, n.logs)
		}
	}

	// Cross-node delivery resumes. A probe published before a node has
	// re-subscribed is lost, so publish probes until both see one.
	probe := 0
	waitUntil(t, "a probe from A to reach B and C", func() bool {
		probe++
		a.publish(t, news, "probe", strconv.Itoa(probe))
		got := func(s *client) bool { return s.Count(pushertest.IsEvent("probe", news)) > 0 }
		return got(readers[1]) && got(readers[2])
	})
	for i := 1; i <= 50; i++ {
		a.publish(t, news, "after", strconv.Itoa(i))
	}
	fence(t, nodes, news, readers...)
	for _, s := range readers {
		var got []string
		for _, f := range s.Frames() {
			if f.Event == "after" {
				got = append(got, f.DataString())
			}
		}
		if len(got) != 50 || got[0] != "1" || got[49] != "50" {
			t.Errorf("%s on %s: after Redis returned got %d events %v…, want 1..50 once", s.name, s.node.name, len(got), got[:min(5, len(got))])
		}
	}

	// No member was announced twice by the restore.
	fence(t, nodes, ch, members...)
	for _, m := range members {
		if n := m.Count(func(f pushertest.Frame) bool { return f.Event == "pusher_internal:member_added" }); n != addedBefore[m] {
			t.Errorf("%s on %s: %d member_added after Redis returned, want %d (no duplicates)\n%s", m.name, m.node.name, n, addedBefore[m], m.Transcript())
		}
	}
	// Presence events flow again: a newcomer on C is announced once.
	late := dial(t, c, "lateOnC")
	late.joinPresence(ch, "late")
	fence(t, nodes, ch, members...)
	for _, m := range members {
		if n := m.Count(isMember("pusher_internal:member_added", ch, "late")); n != 1 {
			t.Errorf("%s on %s: member_added late %d times, want 1", m.name, m.node.name, n)
		}
	}
	if ci := b.channel(t, ch); ci.UserCount != 4 || ci.SubscriptionCount != 4 {
		t.Errorf("GET %s on B = %+v, want 4 users and 4 subscriptions", ch, ci)
	}
}

// While Redis is down a presence join cannot be checked against the
// member limit, so it is refused with pusher:subscription_error (the
// socket stays open); once Redis is back the same subscribe succeeds and
// is announced once on the other nodes.
func TestPresenceJoinDuringOutage(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 2)
	a, b := nodes[0], nodes[1]
	const ch = "presence-triage"
	w := dial(t, a, "watcherOnA")
	w.joinPresence(ch, "nurse")

	r.stop()
	waitUntil(t, "B to log the outage", func() bool { return b.logged("redis unreachable") })
	p := dial(t, b, "patientOnB")
	cd := `{"user_id":"patient"}`
	p.Send(map[string]any{"event": "pusher:subscribe", "data": map[string]string{
		"channel": ch, "channel_data": cd, "auth": pusherAuth(p, ch, cd)}})
	refused := p.WaitFor("subscription_error during the outage", pushertest.IsEvent("pusher:subscription_error", ch))
	var e struct {
		Status int `json:"status"`
	}
	if err := refused.Decode(&e); err != nil || e.Status < 500 {
		t.Errorf("refusal during the outage = %s, want a 5xx status (retry later)", refused.Raw)
	}

	r.start()
	waitUntil(t, "A to list the nurse again", func() bool {
		ids, ok := tryUsers(t, a, ch)
		return ok && slices.Equal(ids, []string{"nurse"})
	})
	waitUntil(t, "B to answer the API again", func() bool { _, ok := tryUsers(t, b, ch); return ok })
	p.joinPresence(ch, "patient")
	w.WaitFor("member_added patient", isMember("pusher_internal:member_added", ch, "patient"))
	fence(t, nodes, ch, w)
	if n := w.Count(isMember("pusher_internal:member_added", ch, "patient")); n != 1 {
		t.Errorf("member_added patient %d times, want 1", n)
	}
}

// A user who signs in while Redis is down is online: once Redis is back,
// watchers on other nodes are told so, once.
func TestSignInDuringOutageIsAnnounced(t *testing.T) {
	r := startRedis(t)
	nodes := startCluster(t, r.url(), 2)
	a, b := nodes[0], nodes[1]
	doctor := dial(t, a, "doctorOnA")
	doctor.signin("doctor", "pat")
	doctor.WaitFor("pat offline at first", watchlistHas("offline", "pat"))

	r.stop()
	waitUntil(t, "B to log the outage", func() bool { return b.logged("redis unreachable") })
	pat := dial(t, b, "patOnB")
	pat.signin("pat")
	r.start()
	waitUntil(t, "B to reconcile", func() bool { return b.logged("reconcil") || b.logged("restor") })

	doctor.WaitWithin(10*time.Second, "pat online after Redis returned", watchlistHas("online", "pat"))
	fence(t, nodes, "#server-to-user-doctor", doctor)
	if n := doctor.Count(watchlistHas("online", "pat")); n != 1 {
		t.Errorf("pat online %d times, want 1", n)
	}
}

// tryUsers is users without failing the test on a non-200 answer (the API
// answers 5xx while Redis is down).
func tryUsers(t *testing.T, n *node, channel string) ([]string, bool) {
	t.Helper()
	status, body := n.api(t, http.MethodGet, "/apps/"+appID+"/channels/"+channel+"/users", nil, nil)
	if status != http.StatusOK {
		return nil, false
	}
	var out struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("users on %s: %v in %s", n.name, err, body)
	}
	ids := make([]string, 0, len(out.Users))
	for _, u := range out.Users {
		ids = append(ids, u.ID)
	}
	sort.Strings(ids)
	return ids, true
}
