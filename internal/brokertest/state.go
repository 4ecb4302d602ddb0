package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/hub"
)

// RunState runs the State contract. newState returns an empty state; each
// subtest gets its own app id, so one backing store may serve them all.
func RunState(t *testing.T, newState func(t *testing.T) hub.State) {
	ctx := context.Background()
	var n atomic.Int64
	app := func() string { return fmt.Sprintf("%d%d", time.Now().UnixNano()%1e6, n.Add(1)) }

	t.Run("subscriptions report occupied and vacated once", func(t *testing.T) {
		s, a := newState(t), app()
		count, occupied, err := s.AddSubscription(ctx, a, "c", "n1/1")
		must(t, err)
		if count != 1 || !occupied {
			t.Fatalf("first add: count %d occupied %v", count, occupied)
		}
		count, occupied, _ = s.AddSubscription(ctx, a, "c", "n2/1")
		if count != 2 || occupied {
			t.Fatalf("second add: count %d occupied %v", count, occupied)
		}
		count, occupied, _ = s.AddSubscription(ctx, a, "c", "n2/1") // repeated
		if count != 2 || occupied {
			t.Fatalf("repeated add: count %d occupied %v", count, occupied)
		}
		count, vacated, _ := s.RemoveSubscription(ctx, a, "c", "n1/1")
		if count != 1 || vacated {
			t.Fatalf("first remove: count %d vacated %v", count, vacated)
		}
		_, vacated, _ = s.RemoveSubscription(ctx, a, "c", "n2/1")
		if !vacated {
			t.Fatal("last remove did not vacate")
		}
		_, vacated, _ = s.RemoveSubscription(ctx, a, "c", "n2/1")
		if vacated {
			t.Fatal("removing twice vacated twice")
		}
	})

	t.Run("presence members are keyed by user across connections", func(t *testing.T) {
		s, a := newState(t), app()
		m := hub.Member{UserID: "1", UserInfo: json.RawMessage(`{"name":"A"}`)}
		added, err := s.AddMember(ctx, a, "presence-x", m, "n1/1")
		must(t, err)
		if !added {
			t.Fatal("first connection not added")
		}
		if added, _ = s.AddMember(ctx, a, "presence-x", m, "n2/9"); added {
			t.Fatal("second connection of the same user added again")
		}
		if added, _ = s.AddMember(ctx, a, "presence-x", hub.Member{UserID: "2"}, "n2/8"); !added {
			t.Fatal("second user not added")
		}
		members, err := s.Members(ctx, a, "presence-x")
		must(t, err)
		if len(members) != 2 || members[0].UserID != "1" || string(members[0].UserInfo) != `{"name":"A"}` || members[1].UserID != "2" {
			t.Fatalf("members %+v", members)
		}
		if removed, _ := s.RemoveMember(ctx, a, "presence-x", "1", "n1/1"); removed {
			t.Fatal("removed while another connection remains")
		}
		if removed, _ := s.RemoveMember(ctx, a, "presence-x", "1", "n2/9"); !removed {
			t.Fatal("last connection did not remove the member")
		}
		if removed, _ := s.RemoveMember(ctx, a, "presence-x", "1", "n2/9"); removed {
			t.Fatal("removed twice")
		}
	})

	t.Run("channel queries", func(t *testing.T) {
		s, a := newState(t), app()
		_, _, _ = s.AddSubscription(ctx, a, "presence-a", "n1/1")
		_, _ = s.AddMember(ctx, a, "presence-a", hub.Member{UserID: "u"}, "n1/1")
		_, _, _ = s.AddSubscription(ctx, a, "news;x", "n1/2")
		_, _, _ = s.AddSubscription(ctx, a, "gone", "n1/3")
		_, _, _ = s.RemoveSubscription(ctx, a, "gone", "n1/3")
		all, err := s.Channels(ctx, a, "")
		must(t, err)
		if len(all) != 2 || all["presence-a"].Users != 1 || all["news;x"].Subscriptions != 1 {
			t.Fatalf("channels %+v", all)
		}
		pres, _ := s.Channels(ctx, a, "presence-")
		if len(pres) != 1 {
			t.Fatalf("prefix filter %+v", pres)
		}
		c, _ := s.Channel(ctx, a, "nothing")
		if c.Subscriptions != 0 || c.Users != 0 {
			t.Fatalf("empty channel %+v", c)
		}
		empty, _ := s.Channels(ctx, app(), "")
		if empty == nil || len(empty) != 0 {
			t.Fatalf("empty app must give an empty, non-nil map: %#v", empty)
		}
	})

	t.Run("signed-in users", func(t *testing.T) {
		s, a := newState(t), app()
		if first, _ := s.AddUser(ctx, a, "u", "n1/1"); !first {
			t.Fatal("first not first")
		}
		if first, _ := s.AddUser(ctx, a, "u", "n2/1"); first {
			t.Fatal("second connection first")
		}
		online, err := s.OnlineUsers(ctx, a, []string{"u", "v"})
		must(t, err)
		if !online["u"] || online["v"] {
			t.Fatalf("online %v", online)
		}
		if last, _ := s.RemoveUser(ctx, a, "u", "n1/1"); last {
			t.Fatal("last too early")
		}
		if last, _ := s.RemoveUser(ctx, a, "u", "n2/1"); !last {
			t.Fatal("last not last")
		}
	})

	t.Run("cache keeps the last event until it expires", func(t *testing.T) {
		s, a := newState(t), app()
		if _, ok, _ := s.Cache(ctx, a, "cache-x"); ok {
			t.Fatal("cache hit on empty channel")
		}
		must(t, s.SetCache(ctx, a, "cache-x", hub.Cached{Event: "e", Data: "1", Expires: time.Now().Add(time.Minute)}))
		must(t, s.SetCache(ctx, a, "cache-x", hub.Cached{Event: "e", Data: "2", Expires: time.Now().Add(time.Minute)}))
		c, ok, err := s.Cache(ctx, a, "cache-x")
		must(t, err)
		if !ok || c.Data != "2" || time.Until(c.Expires) <= 0 {
			t.Fatalf("cache %+v %v", c, ok)
		}
		must(t, s.SetCache(ctx, a, "cache-y", hub.Cached{Event: "e", Data: "1", Expires: time.Now().Add(50 * time.Millisecond)}))
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, ok, _ := s.Cache(ctx, a, "cache-y"); !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("cache did not expire")
			}
			time.Sleep(20 * time.Millisecond) // polling an expiry, not waiting for an event
		}
	})

	t.Run("concurrent joins of one user add exactly once", func(t *testing.T) {
		s, a := newState(t), app()
		var added atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				ok, err := s.AddMember(ctx, a, "presence-race", hub.Member{UserID: "u"}, fmt.Sprintf("n%d/%d", i%3, i))
				if err == nil && ok {
					added.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if added.Load() != 1 {
			t.Fatalf("member added %d times", added.Load())
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
