package pusherapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
)

// TestDocsWorkedExample replays the signed requests of the protocol
// reference §6.1 byte for byte, with the clock at their timestamp.
func TestDocsWorkedExample(t *testing.T) {
	s := newAPIServer(t, Options{Now: func() time.Time { return time.Unix(1353088179, 0) }})

	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	r := s.raw(t, "POST", "/apps/3/events",
		"auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"+
			"&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", body)
	if r.status != 200 || string(r.body) != "{}\n" {
		t.Fatalf("POST example: %d %s", r.status, r.body)
	}
	evs := s.engine.events()
	if len(evs) != 1 || evs[0].Data != `{"some":"data"}` || evs[0].Channels[0] != "project-3" {
		t.Fatalf("published %+v", evs)
	}

	r = s.raw(t, "GET", "/apps/3/channels",
		"auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count"+
			"&auth_signature=16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291", nil)
	if r.status != 200 || string(r.body) != `{"channels":{}}`+"\n" {
		t.Fatalf("GET example: %d %s", r.status, r.body)
	}

	// One flipped hex digit in the signature must fail.
	r = s.raw(t, "GET", "/apps/3/channels",
		"auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count"+
			"&auth_signature=06819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291", nil)
	if r.status != 401 {
		t.Fatalf("tampered signature: %d %s", r.status, r.body)
	}
}

func TestAuthentication(t *testing.T) {
	// One clock for the signer and the server, so the ±601 s cases cannot
	// straddle a second boundary.
	now := time.Now()
	s := newAPIServer(t, Options{Now: func() time.Time { return now }})
	body := []byte(`{"name":"e","channel":"c","data":"d"}`)
	cases := []struct {
		name string
		do   func() response
	}{
		{"wrong secret", func() response {
			return s.signed(t, "POST", "/apps/1/events", nil, body, "app-key", "not-the-secret", now)
		}},
		{"wrong key", func() response {
			return s.signed(t, "POST", "/apps/1/events", nil, body, "other-key", "app-secret", now)
		}},
		{"stale timestamp", func() response {
			return s.signed(t, "POST", "/apps/1/events", nil, body, "app-key", "app-secret", now.Add(-601*time.Second))
		}},
		{"timestamp from the future", func() response {
			return s.signed(t, "POST", "/apps/1/events", nil, body, "app-key", "app-secret", now.Add(601*time.Second))
		}},
		{"body_md5 mismatch", func() response {
			q := pusher.SignRequest("POST", "/apps/1/events", nil, body, "app-key", "app-secret", now)
			return s.raw(t, "POST", "/apps/1/events", q, []byte(`{"name":"e","channel":"c","data":"tampered"}`))
		}},
		{"signed for another path", func() response {
			q := pusher.SignRequest("POST", "/apps/1/batch_events", nil, body, "app-key", "app-secret", now)
			return s.raw(t, "POST", "/apps/1/events", q, body)
		}},
		{"unsigned", func() response { return s.raw(t, "POST", "/apps/1/events", "", body) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.do()
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d (%s), want 401", r.status, r.body)
			}
			r.errorText(t)
		})
	}
	if n := len(s.engine.events()); n != 0 {
		t.Fatalf("%d events published by unauthenticated requests", n)
	}

	t.Run("within the window is accepted", func(t *testing.T) {
		r := s.signed(t, "POST", "/apps/1/events", nil, body, "app-key", "app-secret", now.Add(-590*time.Second))
		if r.status != 200 {
			t.Fatalf("status %d (%s)", r.status, r.body)
		}
	})
}

func TestRouting(t *testing.T) {
	s := newAPIServer(t, Options{})
	t.Run("unknown app", func(t *testing.T) {
		r := s.call(t, "GET", "/apps/99/channels", nil, nil)
		if r.status != 404 || !strings.Contains(r.errorText(t), "99") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		for _, p := range []string{"/apps/1/nope", "/apps/1/channels/a/b/c", "/apps/1/events/", "/apps/", "/elsewhere"} {
			if r := s.call(t, "GET", p, nil, nil); r.status != 404 {
				t.Errorf("%s: %d %s", p, r.status, r.body)
			}
		}
	})
	t.Run("disabled app", func(t *testing.T) {
		r := s.signed(t, "GET", "/apps/2/channels", nil, nil, "key-2", "secret-2", time.Now())
		if r.status != 403 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		r := s.call(t, "GET", "/apps/1/events", nil, nil)
		if r.status != 405 || r.header.Get("Allow") != "POST" {
			t.Fatalf("%d allow=%q %s", r.status, r.header.Get("Allow"), r.body)
		}
		if r := s.call(t, "POST", "/apps/1/channels", nil, []byte(`{}`)); r.status != 405 {
			t.Fatalf("POST channels: %d", r.status)
		}
	})
}

func TestEventValidation(t *testing.T) {
	s := newAPIServer(t, Options{MaxBodyBytes: 64 << 10})
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	manyJSON, _ := json.Marshal(many)
	cases := []struct {
		name, body string
		status     int
		msg        string // part of the error text
	}{
		{"data over 10 KiB", `{"name":"e","channel":"c","data":"` + strings.Repeat("x", 10241) + `"}`, 413, "10241"},
		{"more than 100 channels", `{"name":"e","channels":` + string(manyJSON) + `,"data":"d"}`, 400, "100"},
		{"not JSON", `{"name":`, 400, "JSON"},
		{"empty body", ``, 400, "JSON object"},
		{"array body", `[1]`, 400, "object"},
		{"name is a number", `{"name":1,"channel":"c","data":"d"}`, 400, `"name"`},
		{"data is an object", `{"name":"e","channel":"c","data":{"a":1}}`, 400, `"data"`},
		{"channels is a string", `{"name":"e","channels":"c","data":"d"}`, 400, `"channels"`},
		{"socket_id is a number", `{"name":"e","channel":"c","data":"d","socket_id":1.2}`, 400, `"socket_id"`},
		{"missing name", `{"channel":"c","data":"d"}`, 400, "name"},
		{"missing data", `{"name":"e","channel":"c"}`, 400, "data"},
		{"missing channels", `{"name":"e","data":"d"}`, 400, "channel"},
		{"channel and channels", `{"name":"e","channel":"c","channels":["d"],"data":"d"}`, 400, "either"},
		{"bad channel name", `{"name":"e","channel":"a b","data":"d"}`, 400, "a b"},
		{"reserved # channel", `{"name":"e","channel":"#other","data":"d"}`, 400, "#other"},
		{"channel too long", `{"name":"e","channel":"` + strings.Repeat("c", 165) + `","data":"d"}`, 400, "too long"},
		{"name too long", `{"name":"` + strings.Repeat("n", 201) + `","channel":"c","data":"d"}`, 400, "200"},
		{"internal event name", `{"name":"pusher_internal:member_added","channel":"c","data":"d"}`, 400, "reserved"},
		{"bad socket_id", `{"name":"e","channel":"c","data":"d","socket_id":"abc"}`, 400, "socket_id"},
		{"unknown info", `{"name":"e","channel":"c","data":"d","info":"colour"}`, 400, "colour"},
		{"encrypted among several", `{"name":"e","channels":["private-encrypted-a","b"],"data":"d"}`, 400, "private-encrypted-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.call(t, "POST", "/apps/1/events", nil, []byte(c.body))
			if r.status != c.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, c.status)
			}
			if msg := r.errorText(t); !strings.Contains(msg, c.msg) {
				t.Fatalf("error %q does not mention %q", msg, c.msg)
			}
		})
	}
	if n := len(s.engine.events()); n != 0 {
		t.Fatalf("%d invalid events were published", n)
	}

	t.Run("body over the cap", func(t *testing.T) {
		r := s.call(t, "POST", "/apps/1/events", nil, []byte(`{"name":"e","channel":"c","data":"`+strings.Repeat("x", 70<<10)+`"}`))
		if r.status != 413 {
			t.Fatalf("status %d (%s)", r.status, r.body)
		}
	})

	t.Run("accepted edge cases", func(t *testing.T) {
		ok := []struct{ body, want string }{
			{`{"name":"e","channel":"a;b","data":"` + strings.Repeat("x", 10240) + `","extra":{"ignored":true}}`, "a;b"},
			{`{"name":"e","channels":["private-encrypted-a","private-encrypted-a"],"data":""}`, "private-encrypted-a"},
			{`{"name":"e","channels":["#server-to-user-7"],"data":"d","socket_id":""}`, "#server-to-user-7"},
		}
		for _, c := range ok {
			before := len(s.engine.events())
			r := s.call(t, "POST", "/apps/1/events", nil, []byte(c.body))
			if r.status != 200 || string(r.body) != "{}\n" {
				t.Fatalf("%.60s: %d %s", c.body, r.status, r.body)
			}
			evs := s.engine.events()[before:]
			if len(evs) != 1 || !reflect.DeepEqual(evs[0].Channels, []string{c.want}) {
				t.Fatalf("%.60s: published %+v", c.body, evs)
			}
		}
	})
}

func TestInfoOnDuplicateChannels(t *testing.T) {
	s := newAPIServer(t, Options{})
	s.engine.set("a", hub.ChannelInfo{Occupied: true, SubscriptionCount: 2})
	r := s.call(t, "POST", "/apps/1/events", nil, []byte(`{"name":"e","channels":["a","b","a"],"data":"d","info":"subscription_count"}`))
	want := `{"channels":{"a":{"subscription_count":2},"b":{"subscription_count":0}}}` + "\n"
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("%d %s, want %s", r.status, r.body, want)
	}
	if evs := s.engine.events(); len(evs) != 1 || !reflect.DeepEqual(evs[0].Channels, []string{"a", "b"}) {
		t.Fatalf("published %+v, want one event to a and b", evs)
	}
}

func TestBatchValidation(t *testing.T) {
	s := newAPIServer(t, Options{})
	item := `{"name":"e","channel":"c","data":"d"}`
	eleven := "[" + strings.TrimSuffix(strings.Repeat(item+",", 11), ",") + "]"
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"more than 10", `{"batch":` + eleven + `}`, 400, "10"},
		{"missing batch", `{}`, 400, "batch"},
		{"batch is an object", `{"batch":{}}`, 400, `"batch"`},
		{"bad item", `{"batch":[` + item + `,{"name":"e","channel":"bad channel","data":"d"}]}`, 400, "batch[1]"},
		{"item channel is an array", `{"batch":[{"name":"e","channel":["c"],"data":"d"}]}`, 400, `"batch.channel"`},
		{"oversize item", `{"batch":[{"name":"e","channel":"c","data":"` + strings.Repeat("x", 10241) + `"}]}`, 413, "batch[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.call(t, "POST", "/apps/1/batch_events", nil, []byte(c.body))
			if r.status != c.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, c.status)
			}
			if msg := r.errorText(t); !strings.Contains(msg, c.msg) {
				t.Fatalf("error %q does not mention %q", msg, c.msg)
			}
		})
	}
	if n := len(s.engine.events()); n != 0 {
		t.Fatalf("a rejected batch published %d events", n)
	}
	t.Run("ten is fine and empty is a no-op", func(t *testing.T) {
		ten := "[" + strings.TrimSuffix(strings.Repeat(item+",", 10), ",") + "]"
		if r := s.call(t, "POST", "/apps/1/batch_events", nil, []byte(`{"batch":`+ten+`}`)); r.status != 200 || string(r.body) != "{}\n" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := s.call(t, "POST", "/apps/1/batch_events", nil, []byte(`{"batch":[]}`)); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if n := len(s.engine.events()); n != 10 {
			t.Fatalf("published %d events, want 10", n)
		}
	})
}

func TestChannelQueries(t *testing.T) {
	s := newAPIServer(t, Options{})
	s.engine.set("cache-price", hub.ChannelInfo{Occupied: true, SubscriptionCount: 1,
		Cache: &hub.CachedEvent{Event: "price", Data: `{"v":10}`, TTLSeconds: 1795}})
	s.engine.set("presence-x;y", hub.ChannelInfo{Occupied: true, UserCount: 1, SubscriptionCount: 2})
	cases := []struct {
		name, path string
		params     pusher.Query
		status     int
		body       string
	}{
		{"empty list", "/apps/1/channels", pusher.Query{"filter_by_prefix": "private-"}, 200, `{"channels":{}}`},
		{"semicolon prefix", "/apps/1/channels", pusher.Query{"filter_by_prefix": "presence-x;", "info": "user_count"}, 200,
			`{"channels":{"presence-x;y":{"user_count":1}}}`},
		{"user_count without presence prefix", "/apps/1/channels", pusher.Query{"info": "user_count"}, 400, ""},
		{"unknown list attribute", "/apps/1/channels", pusher.Query{"info": "cache"}, 400, ""},
		{"cache hit", "/apps/1/channels/cache-price", pusher.Query{"info": "cache"}, 200,
			`{"cache":{"data":"{\"v\":10}","ttl":1795},"occupied":true}`},
		{"cache miss is null", "/apps/1/channels/cache-empty", pusher.Query{"info": "cache,subscription_count"}, 200,
			`{"cache":null,"occupied":false,"subscription_count":0}`},
		{"cache on a non-cache channel", "/apps/1/channels/news", pusher.Query{"info": "cache"}, 400, ""},
		{"user_count on a public channel", "/apps/1/channels/news", pusher.Query{"info": "user_count"}, 400, ""},
		{"presence channel with semicolon", "/apps/1/channels/presence-x;y", pusher.Query{"info": "user_count"}, 200,
			`{"occupied":true,"user_count":1}`},
		{"invalid channel name", "/apps/1/channels/bad%20name", nil, 400, ""},
		{"users of a private channel", "/apps/1/channels/private-a/users", nil, 400, ""},
		{"users of an empty presence channel", "/apps/1/channels/presence-none/users", nil, 200, `{"users":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.call(t, "GET", c.path, c.params, nil)
			if r.status != c.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, c.status)
			}
			if c.status != 200 {
				r.errorText(t)
				return
			}
			if got := strings.TrimSuffix(string(r.body), "\n"); got != c.body {
				t.Fatalf("body %s, want %s", got, c.body)
			}
		})
	}
}

func TestTerminate(t *testing.T) {
	s := newAPIServer(t, Options{})
	// The node SDK posts "{}" (with its body_md5).
	r := s.call(t, "POST", "/apps/1/users/user-7/terminate_connections", nil, []byte(`{}`))
	if r.status != 200 || string(r.body) != "{}\n" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	s.engine.mu.Lock()
	got := append([]string(nil), s.engine.terminated...)
	s.engine.mu.Unlock()
	if !reflect.DeepEqual(got, []string{"user-7"}) {
		t.Fatalf("terminated %v", got)
	}
	long := strings.Repeat("u", 129)
	if r := s.call(t, "POST", "/apps/1/users/"+long+"/terminate_connections", nil, nil); r.status != 400 {
		t.Fatalf("over-long user id: %d", r.status)
	}
}

func TestLegacyChannelEvents(t *testing.T) {
	s := newAPIServer(t, Options{})
	r := s.call(t, "POST", "/apps/1/channels/news/events", pusher.Query{"name": "flash", "socket_id": "1.1"}, []byte(`{"raw":true}`))
	if r.status != http.StatusAccepted {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := hub.Event{Name: "flash", Channels: []string{"news"}, Data: `{"raw":true}`, SocketID: "1.1"}
	if evs := s.engine.events(); len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
		t.Fatalf("published %+v", evs)
	}
}

type teapot struct{}

func (teapot) Error() string   { return "hub refuses" }
func (teapot) HTTPStatus() int { return 422 }

func TestEngineFailures(t *testing.T) {
	s := newAPIServer(t, Options{})
	body := []byte(`{"name":"e","channel":"c","data":"d"}`)

	s.engine.fail(errors.New("broker down: secret detail"))
	r := s.call(t, "POST", "/apps/1/events", nil, body)
	if r.status != 500 || strings.Contains(string(r.body), "secret detail") {
		t.Fatalf("engine failure: %d %s (want 500 without internals)", r.status, r.body)
	}
	s.engine.fail(fmt.Errorf("publish: %w", context.DeadlineExceeded))
	if r := s.call(t, "GET", "/apps/1/channels", nil, nil); r.status != 503 {
		t.Fatalf("timeout: %d %s", r.status, r.body)
	}
	s.engine.fail(teapot{})
	if r := s.call(t, "GET", "/apps/1/channels/presence-a/users", nil, nil); r.status != 422 || r.errorText(t) != "hub refuses" {
		t.Fatalf("status error: %d %s", r.status, r.body)
	}
}

func TestRequestHook(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	s := newAPIServer(t, Options{OnRequest: func(ep string, status int, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		counts[fmt.Sprintf("%s %d", ep, status)]++
	}})
	s.call(t, "POST", "/apps/1/events", nil, []byte(`{"name":"e","channel":"c","data":"d"}`))
	s.call(t, "POST", "/apps/1/events", nil, []byte(`{}`))
	s.call(t, "GET", "/apps/1/channels", nil, nil)
	s.call(t, "GET", "/apps/1/nowhere", nil, nil)
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"events 200": 1, "events 400": 1, "channels 200": 1, "unknown 404": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("hook saw %v, want %v", counts, want)
	}
}
