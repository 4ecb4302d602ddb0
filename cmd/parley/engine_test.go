package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/pushertest"
)

func TestConnectionEstablished(t *testing.T) {
	m := startMain(t, "", nil)
	c := dial(t, m, "/app/"+testKey+"?protocol=7&client=js&version=8.4.0&flash=false")
	f := c.Expect(pusher.EventConnectionEstablished)
	if f.Data[0] != '"' {
		t.Fatalf("data must be a JSON string, got %s", f.Data)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.DataString()), &d); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(d.SocketID) {
		t.Fatalf("socket_id %q does not match ^\\d+\\.\\d+$", d.SocketID)
	}
	if d.ActivityTimeout != 120 {
		t.Fatalf("activity_timeout = %d, want 120", d.ActivityTimeout)
	}
}

func TestConnectionRefused(t *testing.T) {
	m := startMain(t, `
apps:
  - {id: "1", key: app-key, secret: app-secret}
  - {id: "2", key: off-key, secret: off-secret, enabled: false}
`, nil)
	cases := []struct {
		name, path string
		code       int
	}{
		{"unknown key", "/app/nope?protocol=7", pusher.CodeAppNotFound},
		{"disabled app", "/app/off-key?protocol=7", pusher.CodeAppDisabled},
		{"no protocol", "/app/app-key", pusher.CodeNoProtocol},
		{"protocol not a number", "/app/app-key?protocol=seven", pusher.CodeInvalidVersion},
		{"protocol too old", "/app/app-key?protocol=3", pusher.CodeUnsupportedVersion},
		{"protocol too new", "/app/app-key?protocol=8", pusher.CodeUnsupportedVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, m, tc.path)
			f := c.Expect(pusher.EventError)
			var d struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(f.Data, &d); err != nil || d.Code != tc.code || d.Message == "" {
				t.Fatalf("pusher:error data %s, want code %d with a message", f.Data, tc.code)
			}
			c.ExpectClose(tc.code)
		})
	}
}

func TestPublicChannelAndHTTPPublish(t *testing.T) {
	m := startMain(t, "", nil)
	a, b := connect(t, m), connect(t, m)
	for _, c := range []*pushertest.Client{a, b} {
		c.Subscribe("my-channel", "", nil)
		f := c.Expect(pusher.EventSubscriptionSucceeded)
		if f.Channel != "my-channel" || string(f.Data) != `"{}"` {
			t.Fatalf("subscription_succeeded = %s %s, want data \"{}\"", f.Channel, f.Data)
		}
	}
	data := `{"hello":"<world> & ünïcode"}`
	status, body := publish(t, m, map[string]any{"name": "my-event", "channels": []string{"my-channel"}, "data": data, "socket_id": b.SocketID})
	if status != 200 || body != "{}" {
		t.Fatalf("publish = %d %s, want 200 {}", status, body)
	}
	f := a.Expect("my-event")
	if f.Channel != "my-channel" || f.DataString() != data {
		t.Fatalf("event = %s %q, want data passed through untouched", f.Channel, f.DataString())
	}
	b.ExpectNone(200 * time.Millisecond) // excluded by socket_id

	a.Send(map[string]any{"event": "pusher:unsubscribe", "data": map[string]any{"channel": "my-channel"}})
	a.Send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	a.Expect(pusher.EventPong) // unsubscribe has no reply; the pong proves it was handled
	publish(t, m, map[string]any{"name": "second", "channel": "my-channel", "data": "x"})
	b.Expect("second")
	a.ExpectNone(200 * time.Millisecond)
}

func TestPrivateChannelSignatures(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	c.Subscribe("private-foobar", testKey+":deadbeef", nil)
	f := c.Expect(pusher.EventSubscriptionError)
	var d struct {
		Type   string `json:"type"`
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Type != "AuthError" || d.Status != 401 {
		t.Fatalf("subscription_error data %s", f.Data)
	}
	// Signed with another app's secret: refused too.
	c.Subscribe("private-foobar", pusher.ChannelAuth(testKey, "other-secret", c.SocketID, "private-foobar", ""), nil)
	c.Expect(pusher.EventSubscriptionError)
	// Signed for another socket: refused.
	c.Subscribe("private-foobar", pusher.ChannelAuth(testKey, testSecret, "1.2", "private-foobar", ""), nil)
	c.Expect(pusher.EventSubscriptionError)
	c.Subscribe("private-foobar", "", nil)
	c.Expect(pusher.EventSubscriptionError)
	// The socket stayed open; a good signature works.
	c.Subscribe("private-foobar", pusher.ChannelAuth(testKey, testSecret, c.SocketID, "private-foobar", ""), nil)
	c.Expect(pusher.EventSubscriptionSucceeded)
}

func TestChannelNameRules(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	for _, name := range []string{"bad channel", "#internal", strings.Repeat("a", 165), "ümlaut"} {
		c.Subscribe(name, "", nil)
		f := c.Expect(pusher.EventSubscriptionError)
		if f.Channel != name {
			t.Fatalf("error for %q names channel %q", name, f.Channel)
		}
	}
	c.Subscribe("a-b_c=d@e,f.g;h", "", nil)
	c.Expect(pusher.EventSubscriptionSucceeded)
}

func presenceAuth(c *pushertest.Client, channel, channelData string) string {
	return testApp.ChannelAuth(c.SocketID, channel, channelData)
}

func TestPresenceMembers(t *testing.T) {
	m := startMain(t, "", nil)
	const ch = "presence-room"
	a, b := connect(t, m), connect(t, m)

	cdA := `{"user_id":"1","user_info":{"name":"A"}}`
	a.Subscribe(ch, presenceAuth(a, ch, cdA), &cdA)
	f := a.Expect(pusher.EventSubscriptionSucceeded)
	if got := f.DataString(); got != `{"presence":{"ids":["1"],"hash":{"1":{"name":"A"}},"count":1}}` {
		t.Fatalf("presence data %s", got)
	}

	// A numeric user id is normalised to a string everywhere.
	cdB := `{"user_id":2,"user_info":{"name":"B"}}`
	b.Subscribe(ch, presenceAuth(b, ch, cdB), &cdB)
	added := a.Expect(pusher.EventMemberAdded)
	if added.DataString() != `{"user_id":"2","user_info":{"name":"B"}}` {
		t.Fatalf("member_added %s", added.DataString())
	}
	f = b.Expect(pusher.EventSubscriptionSucceeded)
	if got := f.DataString(); got != `{"presence":{"ids":["1","2"],"hash":{"1":{"name":"A"},"2":{"name":"B"}},"count":2}}` {
		t.Fatalf("presence data %s", got)
	}

	// A second connection of user 1 adds no member.
	a2 := connect(t, m)
	a2.Subscribe(ch, presenceAuth(a2, ch, cdA), &cdA)
	a2.Expect(pusher.EventSubscriptionSucceeded)
	b.ExpectNone(200 * time.Millisecond)
	a2.Close()
	b.ExpectNone(200 * time.Millisecond) // user 1 still has a connection

	status, body := signedRequest(t, m, "GET", "/apps/1/channels/"+ch+"/users", nil, nil)
	if status != 200 || body != `{"users":[{"id":"1"},{"id":"2"}]}` {
		t.Fatalf("users = %d %s", status, body)
	}

	b.Close()
	removed := a.Expect(pusher.EventMemberRemoved)
	if removed.DataString() != `{"user_id":"2"}` {
		t.Fatalf("member_removed %s", removed.DataString())
	}
}

func TestPresenceLimits(t *testing.T) {
	m := startMain(t, `
apps:
  - {id: "1", key: app-key, secret: app-secret, limits: {max_presence_members: 1, max_presence_user_bytes: 32}}
`, nil)
	const ch = "presence-small"
	a, b := connect(t, m), connect(t, m)
	cd := `{"user_id":"1"}`
	a.Subscribe(ch, presenceAuth(a, ch, cd), &cd)
	a.Expect(pusher.EventSubscriptionSucceeded)
	cd2 := `{"user_id":"2"}`
	b.Subscribe(ch, presenceAuth(b, ch, cd2), &cd2)
	b.Expect(pusher.EventSubscriptionError) // full
	// The same user again is not refused by the member cap.
	b.Subscribe(ch, presenceAuth(b, ch, cd), &cd)
	b.Expect(pusher.EventSubscriptionSucceeded)

	big := `{"user_id":"3","user_info":{"name":"` + strings.Repeat("x", 64) + `"}}`
	c := connect(t, m)
	c.Subscribe("presence-other", presenceAuth(c, "presence-other", big), &big)
	c.Expect(pusher.EventSubscriptionError)
	c.Subscribe("presence-other", presenceAuth(c, "presence-other", ""), nil) // no channel_data, not signed in
	c.Expect(pusher.EventSubscriptionError)
}

func TestClientEvents(t *testing.T) {
	m := startMain(t, "", nil)
	a, b := connect(t, m), connect(t, m)
	const ch = "presence-chat"
	for i, c := range []*pushertest.Client{a, b} {
		cd := `{"user_id":"u` + string(rune('1'+i)) + `"}`
		c.Subscribe(ch, presenceAuth(c, ch, cd), &cd)
		c.Expect(pusher.EventSubscriptionSucceeded)
	}
	a.Expect(pusher.EventMemberAdded)
	a.Send(map[string]any{"event": "client-typing", "channel": ch, "data": map[string]any{"on": true}})
	f := b.Expect("client-typing")
	if f.DataString() != `{"on":true}` || f.UserID != "u1" {
		t.Fatalf("client event = %s user %q", f.DataString(), f.UserID)
	}
	a.ExpectNone(200 * time.Millisecond) // never echoed

	// Refused on public channels and without a subscription.
	a.Subscribe("public", "", nil)
	a.Expect(pusher.EventSubscriptionSucceeded)
	a.Send(map[string]any{"event": "client-x", "channel": "public", "data": "{}"})
	expectErrorCode(t, a, pusher.CodeClientEventRate)
	a.Send(map[string]any{"event": "client-x", "channel": "private-elsewhere", "data": "{}"})
	expectErrorCode(t, a, pusher.CodeClientEventRate)
	b.ExpectNone(100 * time.Millisecond)

	// The eleventh event within a second is refused with 4301. A burst of
	// 25 puts at least 13 into one second even if it straddles a boundary.
	for i := 0; i < 25; i++ {
		a.Send(map[string]any{"event": "client-burst", "channel": ch, "data": "{}"})
	}
	a.Await("4301 after 25 client events in a burst", func(f pushertest.Frame) bool {
		return f.Event == pusher.EventError && strings.Contains(string(f.Data), "4301")
	})
}

func expectErrorCode(t *testing.T, c *pushertest.Client, code int) {
	t.Helper()
	f := c.Expect(pusher.EventError)
	var d struct {
		Code int `json:"code"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Code != code {
		t.Fatalf("pusher:error %s, want code %d", f.Data, code)
	}
}

func TestMalformedFramesKeepTheSocket(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	for _, raw := range []string{`not json`, `{"event":1}`, `[]`, `{"event":"pusher:subscribe","data":""}`, `{"event":"pusher:subscribe","data":{"channel":5}}`} {
		c.SendRaw([]byte(raw))
		c.Expect(pusher.EventError)
	}
	c.SendRaw([]byte(`{"event":"pusher:unknown_future_event","data":{}}`)) // ignored
	c.Send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	c.Expect(pusher.EventPong)
}

func TestSigninWatchlistServerToUserTerminate(t *testing.T) {
	m := startMain(t, "", nil)
	signin := func(c *pushertest.Client, userData string) {
		c.Send(map[string]any{"event": "pusher:signin", "data": map[string]any{
			"auth": pusher.UserAuth(testKey, testSecret, c.SocketID, userData), "user_data": userData}})
		f := c.Expect(pusher.EventSigninSuccess)
		var d struct {
			UserData string `json:"user_data"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil || d.UserData != userData {
			t.Fatalf("signin_success %s", f.Data)
		}
	}
	alice := connect(t, m)
	signin(alice, `{"id":"alice","watchlist":["bob","carol"]}`)
	w := alice.Expect(pusher.EventWatchlist)
	if w.DataString() != `{"events":[{"name":"offline","user_ids":["bob","carol"]}]}` {
		t.Fatalf("watchlist %s", w.DataString())
	}
	bob := connect(t, m)
	signin(bob, `{"id":"bob","watchlist":["alice"]}`)
	if w := bob.Expect(pusher.EventWatchlist); w.DataString() != `{"events":[{"name":"online","user_ids":["alice"]}]}` {
		t.Fatalf("bob's watchlist %s", w.DataString())
	}
	if w := alice.Expect(pusher.EventWatchlist); w.DataString() != `{"events":[{"name":"online","user_ids":["bob"]}]}` {
		t.Fatalf("alice sees %s", w.DataString())
	}

	// Server-to-user reaches every connection of bob, only bob.
	bob.Subscribe("#server-to-user-bob", "", nil)
	bob.Expect(pusher.EventSubscriptionSucceeded)
	alice.Subscribe("#server-to-user-bob", "", nil)
	alice.Expect(pusher.EventSubscriptionError)
	status, _ := publish(t, m, map[string]any{"name": "notice", "channels": []string{"#server-to-user-bob"}, "data": `{"a":1}`})
	if status != 200 {
		t.Fatalf("publish to user: %d", status)
	}
	if f := bob.Expect("notice"); f.Channel != "#server-to-user-bob" || f.DataString() != `{"a":1}` {
		t.Fatalf("user event %s %s", f.Channel, f.Data)
	}
	alice.ExpectNone(100 * time.Millisecond)

	// A connection signed in as one user cannot become another.
	bob.Send(map[string]any{"event": "pusher:signin", "data": map[string]any{
		"auth": pusher.UserAuth(testKey, testSecret, bob.SocketID, `{"id":"mallory"}`), "user_data": `{"id":"mallory"}`}})
	expectErrorCode(t, bob, pusher.CodeUnauthorized)
	bob.ExpectClose(pusher.CodeUnauthorized)
	if w := alice.Expect(pusher.EventWatchlist); w.DataString() != `{"events":[{"name":"offline","user_ids":["bob"]}]}` {
		t.Fatalf("alice sees %s after bob left", w.DataString())
	}

	// Terminate closes every connection of the user with 4009.
	status, body := signedRequest(t, m, "POST", "/apps/1/users/alice/terminate_connections", nil, []byte(`{}`))
	if status != 200 || body != "{}" {
		t.Fatalf("terminate = %d %s", status, body)
	}
	expectErrorCode(t, alice, pusher.CodeUnauthorized)
	alice.ExpectClose(pusher.CodeUnauthorized)
}

func TestSignedInPresenceWithoutChannelData(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	ud := `{"id":"42","user_info":{"name":"Dr. Who"}}`
	c.Send(map[string]any{"event": "pusher:signin", "data": map[string]any{"auth": pusher.UserAuth(testKey, testSecret, c.SocketID, ud), "user_data": ud}})
	c.Expect(pusher.EventSigninSuccess)
	c.Subscribe("presence-ward", presenceAuth(c, "presence-ward", ""), nil)
	f := c.Expect(pusher.EventSubscriptionSucceeded)
	if f.DataString() != `{"presence":{"ids":["42"],"hash":{"42":{"name":"Dr. Who"}},"count":1}}` {
		t.Fatalf("presence %s", f.DataString())
	}
}

func TestSigninRefused(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	c.Send(map[string]any{"event": "pusher:signin", "data": map[string]any{"auth": testKey + ":00", "user_data": `{"id":"1"}`}})
	expectErrorCode(t, c, pusher.CodeUnauthorized)
	c.ExpectClose(pusher.CodeUnauthorized)
}

func TestCacheChannel(t *testing.T) {
	m := startMain(t, "", nil)
	a := connect(t, m)
	a.Subscribe("cache-price", "", nil)
	a.Expect(pusher.EventSubscriptionSucceeded)
	a.Expect(pusher.EventCacheMiss)
	publish(t, m, map[string]any{"name": "price", "channel": "cache-price", "data": `{"v":10}`})
	a.Expect("price")
	b := connect(t, m)
	b.Subscribe("cache-price", "", nil)
	b.Expect(pusher.EventSubscriptionSucceeded)
	if f := b.Expect("price"); f.DataString() != `{"v":10}` {
		t.Fatalf("replayed %s", f.DataString())
	}
	status, body := signedRequest(t, m, "GET", "/apps/1/channels/cache-price", pusher.Query{"info": "cache"}, nil)
	if status != 200 || !strings.Contains(body, `"cache":{"data":"{\"v\":10}"`) {
		t.Fatalf("channel info %d %s", status, body)
	}
}

func TestSubscriptionCount(t *testing.T) {
	m := startMain(t, `
apps:
  - {id: "1", key: app-key, secret: app-secret, subscription_count: true}
`, nil)
	a, b := connect(t, m), connect(t, m)
	a.Subscribe("news", "", nil)
	a.Expect(pusher.EventSubscriptionSucceeded)
	if f := a.Expect(pusher.EventSubscriptionCount); f.DataString() != `{"subscription_count":1}` {
		t.Fatalf("count %s", f.DataString())
	}
	b.Subscribe("news", "", nil)
	b.Expect(pusher.EventSubscriptionSucceeded)
	b.Expect(pusher.EventSubscriptionCount)
	if f := a.Expect(pusher.EventSubscriptionCount); f.DataString() != `{"subscription_count":2}` {
		t.Fatalf("count %s", f.DataString())
	}
}

func TestServerPingsSilentClientsAndCloses4201(t *testing.T) {
	m := startMain(t, "", map[string]string{"PARLEY_ACTIVITY_TIMEOUT": "1s", "PARLEY_PONG_TIMEOUT": "1s"})
	c := connect(t, m)
	c.Expect(pusher.EventPing)
	c.ExpectClose(pusher.CodePongTimeout)

	// A client that answers stays.
	d := connect(t, m)
	d.Expect(pusher.EventPing)
	d.Send(map[string]any{"event": "pusher:pong", "data": map[string]any{}})
	d.Expect(pusher.EventPing) // pinged again after the next silence, not closed
}

func TestShutdownClosesWith4200(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	c.ExpectClose(pusher.CodeReconnect)
	if err := <-done; err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Get("http://" + m.Addr() + "/healthz"); err == nil {
		t.Fatal("server still answers after Close")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	m := startMain(t, "", nil)
	connect(t, m)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + m.Addr() + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + m.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	if !strings.Contains(b.String(), "parley_connections 1") {
		t.Fatalf("metrics lack parley_connections 1:\n%.2000s", b.String())
	}
}

func TestAuthorizedConnections(t *testing.T) {
	m := startMain(t, `
apps:
  - {id: "1", key: app-key, secret: app-secret, authorized_connections_timeout: 1s}
`, nil)
	idle := connect(t, m)
	private := connect(t, m)
	private.Subscribe("private-ok", pusher.ChannelAuth(testKey, testSecret, private.SocketID, "private-ok", ""), nil)
	private.Expect(pusher.EventSubscriptionSucceeded)
	signed := connect(t, m)
	ud := `{"id":"7"}`
	signed.Send(map[string]any{"event": "pusher:signin", "data": map[string]any{"auth": pusher.UserAuth(testKey, testSecret, signed.SocketID, ud), "user_data": ud}})
	signed.Expect(pusher.EventSigninSuccess)

	expectErrorCode(t, idle, pusher.CodeUnauthorized)
	idle.ExpectClose(pusher.CodeUnauthorized)
	// The authorized ones are still served.
	for _, c := range []*pushertest.Client{private, signed} {
		c.Send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
		c.Expect(pusher.EventPong)
	}
}
