package pusherapi

import (
	"reflect"
	"testing"

	pushersdk "github.com/pusher/pusher-http-go/v5"

	"github.com/parleyhq/parley/internal/hub"
)

// These tests drive the API with the official pusher-http-go v5.1.1
// client, so signing, paths and response parsing are the SDK's own.

func sdkClient(s *apiServer) *pushersdk.Client {
	return &pushersdk.Client{AppID: "1", Key: "app-key", Secret: "app-secret", Host: s.host, Secure: false}
}

func strp(s string) *string { return &s }

func TestSDKTrigger(t *testing.T) {
	s := newAPIServer(t, Options{})
	c := sdkClient(s)

	t.Run("one channel", func(t *testing.T) {
		if err := c.Trigger("my-channel", "my-event", map[string]string{"hello": "world"}); err != nil {
			t.Fatal(err)
		}
		evs := s.engine.events()
		want := hub.Event{Name: "my-event", Channels: []string{"my-channel"}, Data: `{"hello":"world"}`}
		if len(evs) == 0 || !reflect.DeepEqual(evs[len(evs)-1], want) {
			t.Fatalf("published %+v, want %+v", evs, want)
		}
	})

	t.Run("several channels, one publish", func(t *testing.T) {
		before := len(s.engine.events())
		chs := []string{"a", "private-b", "presence-c;d"}
		if err := c.TriggerMulti(chs, "ev", "plain string data"); err != nil {
			t.Fatal(err)
		}
		evs := s.engine.events()[before:]
		if len(evs) != 1 || !reflect.DeepEqual(evs[0].Channels, chs) || evs[0].Data != "plain string data" {
			t.Fatalf("published %+v", evs)
		}
	})

	t.Run("socket_id and info", func(t *testing.T) {
		s.engine.set("presence-room", hub.ChannelInfo{Occupied: true, UserCount: 3, SubscriptionCount: 5})
		s.engine.set("news", hub.ChannelInfo{Occupied: true, SubscriptionCount: 7})
		res, err := c.TriggerMultiWithParams([]string{"presence-room", "news"}, "ev", "x",
			pushersdk.TriggerParams{SocketID: strp("123.456"), Info: strp("user_count,subscription_count")})
		if err != nil {
			t.Fatal(err)
		}
		evs := s.engine.events()
		if got := evs[len(evs)-1].SocketID; got != "123.456" {
			t.Errorf("socket_id %q reached the engine, want 123.456", got)
		}
		room, news := res.Channels["presence-room"], res.Channels["news"]
		if room.UserCount == nil || *room.UserCount != 3 || room.SubscriptionCount == nil || *room.SubscriptionCount != 5 {
			t.Errorf("presence-room info %+v", room)
		}
		if news.UserCount != nil || news.SubscriptionCount == nil || *news.SubscriptionCount != 7 {
			t.Errorf("news info %+v: user_count must be absent on a non-presence channel", news)
		}
		if len(res.Channels) != 2 {
			t.Errorf("info has %d channels, want 2", len(res.Channels))
		}
	})

	t.Run("without info the answer has no channels", func(t *testing.T) {
		res, err := c.TriggerWithParams("x", "ev", "d", pushersdk.TriggerParams{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Channels != nil {
			t.Errorf("channels %+v, want none", res.Channels)
		}
	})

	t.Run("send to user", func(t *testing.T) {
		if err := c.SendToUser("42", "notice", map[string]int{"a": 1}); err != nil {
			t.Fatal(err)
		}
		evs := s.engine.events()
		last := evs[len(evs)-1]
		if !reflect.DeepEqual(last.Channels, []string{"#server-to-user-42"}) || last.Name != "notice" || last.Data != `{"a":1}` {
			t.Fatalf("published %+v", last)
		}
	})
}

func TestSDKTriggerBatch(t *testing.T) {
	s := newAPIServer(t, Options{})
	c := sdkClient(s)
	s.engine.set("presence-a", hub.ChannelInfo{Occupied: true, UserCount: 2, SubscriptionCount: 4})
	res, err := c.TriggerBatch([]pushersdk.Event{
		{Channel: "presence-a", Name: "e1", Data: "d1", Info: strp("user_count")},
		{Channel: "b", Name: "e2", Data: map[string]bool{"ok": true}, SocketID: strp("1.2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.Event{
		{Name: "e1", Channels: []string{"presence-a"}, Data: "d1"},
		{Name: "e2", Channels: []string{"b"}, Data: `{"ok":true}`, SocketID: "1.2"},
	}
	if got := s.engine.events(); !reflect.DeepEqual(got, want) {
		t.Fatalf("published %+v, want %+v", got, want)
	}
	if len(res.Batch) != 2 {
		t.Fatalf("batch answer has %d items, want 2 aligned by index", len(res.Batch))
	}
	if res.Batch[0].UserCount == nil || *res.Batch[0].UserCount != 2 || res.Batch[0].SubscriptionCount != nil {
		t.Errorf("batch[0] %+v, want user_count 2 only", res.Batch[0])
	}
	if res.Batch[1].UserCount != nil || res.Batch[1].SubscriptionCount != nil {
		t.Errorf("batch[1] %+v, want empty", res.Batch[1])
	}
}

func TestSDKQueries(t *testing.T) {
	s := newAPIServer(t, Options{})
	c := sdkClient(s)

	t.Run("empty app lists no channels", func(t *testing.T) {
		res, err := c.Channels(pushersdk.ChannelsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Channels == nil || len(res.Channels) != 0 {
			t.Fatalf("channels %#v, want an empty object", res.Channels)
		}
	})

	s.engine.set("presence-room", hub.ChannelInfo{Occupied: true, UserCount: 2, SubscriptionCount: 3})
	s.engine.set("presence-a;b", hub.ChannelInfo{Occupied: true, UserCount: 1, SubscriptionCount: 1})
	s.engine.set("news", hub.ChannelInfo{Occupied: true, SubscriptionCount: 9})
	s.engine.mu.Lock()
	s.engine.members["presence-room"] = []string{"1", "2"}
	s.engine.mu.Unlock()

	t.Run("channels by prefix with user_count", func(t *testing.T) {
		res, err := c.Channels(pushersdk.ChannelsParams{FilterByPrefix: strp("presence-"), Info: strp("user_count")})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]pushersdk.ChannelListItem{"presence-room": {UserCount: 2}, "presence-a;b": {UserCount: 1}}
		if !reflect.DeepEqual(res.Channels, want) {
			t.Fatalf("channels %+v, want %+v", res.Channels, want)
		}
	})

	t.Run("prefix holding a semicolon", func(t *testing.T) {
		res, err := c.Channels(pushersdk.ChannelsParams{FilterByPrefix: strp("presence-a;")})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := res.Channels["presence-a;b"]; !ok || len(res.Channels) != 1 {
			t.Fatalf("channels %+v, want only presence-a;b", res.Channels)
		}
	})

	t.Run("user_count without a presence prefix is refused", func(t *testing.T) {
		if _, err := c.Channels(pushersdk.ChannelsParams{Info: strp("user_count")}); err == nil {
			t.Fatal("want an error")
		}
	})

	t.Run("one channel with info", func(t *testing.T) {
		ch, err := c.Channel("presence-room", pushersdk.ChannelParams{Info: strp("user_count,subscription_count")})
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Occupied || ch.UserCount != 2 || ch.SubscriptionCount != 3 {
			t.Fatalf("channel %+v", ch)
		}
		ch, err = c.Channel("presence-a;b", pushersdk.ChannelParams{})
		if err != nil || !ch.Occupied {
			t.Fatalf("channel with ';': %+v, %v", ch, err)
		}
		ch, err = c.Channel("empty", pushersdk.ChannelParams{})
		if err != nil || ch.Occupied {
			t.Fatalf("unoccupied channel: %+v, %v", ch, err)
		}
	})

	t.Run("presence users", func(t *testing.T) {
		users, err := c.GetChannelUsers("presence-room")
		if err != nil {
			t.Fatal(err)
		}
		want := []pushersdk.User{{ID: "1"}, {ID: "2"}}
		if !reflect.DeepEqual(users.List, want) {
			t.Fatalf("users %+v, want %+v", users.List, want)
		}
		if _, err := c.GetChannelUsers("news"); err == nil {
			t.Fatal("users of a public channel: want an error")
		}
	})
}
