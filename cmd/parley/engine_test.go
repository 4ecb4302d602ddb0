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
)

func TestConnectionEstablished(t *testing.T) {
	m := startMain(t, "", nil)
	c := dial(t, m, "/app/"+testKey+"?protocol=7&client=js&version=8.4.0&flash=false")
	f := c.expect(pusher.EventConnectionEstablished)
	if f.Data[0] != '"' {
		t.Fatalf("data must be a JSON string, got %s", f.Data)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.dataString()), &d); err != nil {
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
			f := c.expect(pusher.EventError)
			var d struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(f.Data, &d); err != nil || d.Code != tc.code || d.Message == "" {
				t.Fatalf("pusher:error data %s, want code %d with a message", f.Data, tc.code)
			}
			c.expectClose(tc.code)
		})
	}
}

func TestPublicChannelAndHTTPPublish(t *testing.T) {
	m := startMain(t, "", nil)
	a, b := connect(t, m), connect(t, m)
	for _, c := range []*wsClient{a, b} {
		c.subscribe("my-channel", "", nil)
		f := c.expect(pusher.EventSubscriptionSucceeded)
		if f.Channel != "my-channel" || string(f.Data) != `"{}"` {
			t.Fatalf("subscription_succeeded = %s %s, want data \"{}\"", f.Channel, f.Data)
		}
	}
	data := `{"hello":"<world> & ünïcode"}`
	status, body := publish(t, m, map[string]any{"name": "my-event", "channels": []string{"my-channel"}, "data": data, "socket_id": b.socketID})
	if status != 200 || body != "{}" {
		t.Fatalf("publish = %d %s, want 200 {}", status, body)
	}
	f := a.expect("my-event")
	if f.Channel != "my-channel" || f.dataString() != data {
		t.Fatalf("event = %s %q, want data passed through untouched", f.Channel, f.dataString())
	}
	b.expectNone(200 * time.Millisecond) // excluded by socket_id

	a.send(map[string]any{"event": "pusher:unsubscribe", "data": map[string]any{"channel": "my-channel"}})
	a.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	a.expect(pusher.EventPong) // unsubscribe has no reply; the pong proves it was handled
	publish(t, m, map[string]any{"name": "second", "channel": "my-channel", "data": "x"})
	b.expect("second")
	a.expectNone(200 * time.Millisecond)
}

func TestPrivateChannelSignatures(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	c.subscribe("private-foobar", testKey+":deadbeef", nil)
	f := c.expect(pusher.EventSubscriptionError)
	var d struct {
		Type   string `json:"type"`
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Type != "AuthError" || d.Status != 401 {
		t.Fatalf("subscription_error data %s", f.Data)
	}
	// Signed with another app's secret: refused too.
	c.subscribe("private-foobar", pusher.ChannelAuth(testKey, "other-secret", c.socketID, "private-foobar", ""), nil)
	c.expect(pusher.EventSubscriptionError)
	// Signed for another socket: refused.
	c.subscribe("private-foobar", pusher.ChannelAuth(testKey, testSecret, "1.2", "private-foobar", ""), nil)
	c.expect(pusher.EventSubscriptionError)
	c.subscribe("private-foobar", "", nil)
	c.expect(pusher.EventSubscriptionError)
	// The socket stayed open; a good signature works.
	c.subscribe("private-foobar", pusher.ChannelAuth(testKey, testSecret, c.socketID, "private-foobar", ""), nil)
	c.expect(pusher.EventSubscriptionSucceeded)
}

func TestChannelNameRules(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	for _, name := range []string{"bad channel", "#internal", strings.Repeat("a", 165), "ümlaut"} {
		c.subscribe(name, "", nil)
		f := c.expect(pusher.EventSubscriptionError)
		if f.Channel != name {
			t.Fatalf("error for %q names channel %q", name, f.Channel)
		}
	}
	c.subscribe("a-b_c=d@e,f.g;h", "", nil)
	c.expect(pusher.EventSubscriptionSucceeded)
}

func presenceAuth(c *wsClient, channel, channelData string) string {
	return pusher.ChannelAuth(testKey, testSecret, c.socketID, channel, channelData)
}

func TestPresenceMembers(t *testing.T) {
	m := startMain(t, "", nil)
	const ch = "presence-room"
	a, b := connect(t, m), connect(t, m)

	cdA := `{"user_id":"1","user_info":{"name":"A"}}`
	a.subscribe(ch, presenceAuth(a, ch, cdA), &cdA)
	f := a.expect(pusher.EventSubscriptionSucceeded)
	if got := f.dataString(); got != `{"presence":{"ids":["1"],"hash":{"1":{"name":"A"}},"count":1}}` {
		t.Fatalf("presence data %s", got)
	}

	// A numeric user id is normalised to a string everywhere.
	cdB := `{"user_id":2,"user_info":{"name":"B"}}`
	b.subscribe(ch, presenceAuth(b, ch, cdB), &cdB)
	added := a.expect(pusher.EventMemberAdded)
	if added.dataString() != `{"user_id":"2","user_info":{"name":"B"}}` {
		t.Fatalf("member_added %s", added.dataString())
	}
	f = b.expect(pusher.EventSubscriptionSucceeded)
	if got := f.dataString(); got != `{"presence":{"ids":["1","2"],"hash":{"1":{"name":"A"},"2":{"name":"B"}},"count":2}}` {
		t.Fatalf("presence data %s", got)
	}

	// A second connection of user 1 adds no member.
	a2 := connect(t, m)
	a2.subscribe(ch, presenceAuth(a2, ch, cdA), &cdA)
	a2.expect(pusher.EventSubscriptionSucceeded)
	b.expectNone(200 * time.Millisecond)
	a2.conn.Close()
	b.expectNone(200 * time.Millisecond) // user 1 still has a connection

	status, body := signedRequest(t, m, "GET", "/apps/1/channels/"+ch+"/users", nil, nil)
	if status != 200 || body != `{"users":[{"id":"1"},{"id":"2"}]}` {
		t.Fatalf("users = %d %s", status, body)
	}

	b.conn.Close()
	removed := a.expect(pusher.EventMemberRemoved)
	if removed.dataString() != `{"user_id":"2"}` {
		t.Fatalf("member_removed %s", removed.dataString())
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
	a.subscribe(ch, presenceAuth(a, ch, cd), &cd)
	a.expect(pusher.EventSubscriptionSucceeded)
	cd2 := `{"user_id":"2"}`
	b.subscribe(ch, presenceAuth(b, ch, cd2), &cd2)
	b.expect(pusher.EventSubscriptionError) // full
	// The same user again is not refused by the member cap.
	b.subscribe(ch, presenceAuth(b, ch, cd), &cd)
	b.expect(pusher.EventSubscriptionSucceeded)

	big := `{"user_id":"3","user_info":{"name":"` + strings.Repeat("x", 64) + `"}}`
	c := connect(t, m)
	c.subscribe("presence-other", presenceAuth(c, "presence-other", big), &big)
	c.expect(pusher.EventSubscriptionError)
	c.subscribe("presence-other", presenceAuth(c, "presence-other", ""), nil) // no channel_data, not signed in
	c.expect(pusher.EventSubscriptionError)
}

func TestClientEvents(t *testing.T) {
	m := startMain(t, "", nil)
	a, b := connect(t, m), connect(t, m)
	const ch = "presence-chat"
	for i, c := range []*wsClient{a, b} {
		cd := `{"user_id":"u` + string(rune('1'+i)) + `"}`
		c.subscribe(ch, presenceAuth(c, ch, cd), &cd)
		c.expect(pusher.EventSubscriptionSucceeded)
	}
	a.expect(pusher.EventMemberAdded)
	a.send(map[string]any{"event": "client-typing", "channel": ch, "data": map[string]any{"on": true}})
	f := b.expect("client-typing")
	if f.dataString() != `{"on":true}` || f.UserID != "u1" {
		t.Fatalf("client event = %s user %q", f.dataString(), f.UserID)
	}
	a.expectNone(200 * time.Millisecond) // never echoed

	// Refused on public channels and without a subscription.
	a.subscribe("public", "", nil)
	a.expect(pusher.EventSubscriptionSucceeded)
	a.send(map[string]any{"event": "client-x", "channel": "public", "data": "{}"})
	expectErrorCode(t, a, pusher.CodeClientEventRate)
	a.send(map[string]any{"event": "client-x", "channel": "private-elsewhere", "data": "{}"})
	expectErrorCode(t, a, pusher.CodeClientEventRate)
	b.expectNone(100 * time.Millisecond)

	// The eleventh event within a second is refused with 4301.
	limited := false
	for i := 0; i < 12; i++ {
		a.send(map[string]any{"event": "client-burst", "channel": ch, "data": "{}"})
	}
	deadline := time.After(5 * time.Second)
	for !limited {
		select {
		case f := <-a.frames:
			if f.Event == pusher.EventError && strings.Contains(string(f.Data), "4301") {
				limited = true
			}
		case <-deadline:
			t.Fatal("no 4301 after 12 client events in a burst")
		}
	}
}

func expectErrorCode(t *testing.T, c *wsClient, code int) {
	t.Helper()
	f := c.expect(pusher.EventError)
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
		c.sendRaw([]byte(raw))
		c.expect(pusher.EventError)
	}
	c.sendRaw([]byte(`{"event":"pusher:unknown_future_event","data":{}}`)) // ignored
	c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	c.expect(pusher.EventPong)
}

func TestSigninWatchlistServerToUserTerminate(t *testing.T) {
	m := startMain(t, "", nil)
	signin := func(c *wsClient, userData string) {
		c.send(map[string]any{"event": "pusher:signin", "data": map[string]any{
			"auth": pusher.UserAuth(testKey, testSecret, c.socketID, userData), "user_data": userData}})
		f := c.expect(pusher.EventSigninSuccess)
		var d struct {
			UserData string `json:"user_data"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil || d.UserData != userData {
			t.Fatalf("signin_success %s", f.Data)
		}
	}
	alice := connect(t, m)
	signin(alice, `{"id":"alice","watchlist":["bob","carol"]}`)
	w := alice.expect(pusher.EventWatchlist)
	if w.dataString() != `{"events":[{"name":"offline","user_ids":["bob","carol"]}]}` {
		t.Fatalf("watchlist %s", w.dataString())
	}
	bob := connect(t, m)
	signin(bob, `{"id":"bob","watchlist":["alice"]}`)
	if w := bob.expect(pusher.EventWatchlist); w.dataString() != `{"events":[{"name":"online","user_ids":["alice"]}]}` {
		t.Fatalf("bob's watchlist %s", w.dataString())
	}
	if w := alice.expect(pusher.EventWatchlist); w.dataString() != `{"events":[{"name":"online","user_ids":["bob"]}]}` {
		t.Fatalf("alice sees %s", w.dataString())
	}

	// Server-to-user reaches every connection of bob, only bob.
	bob.subscribe("#server-to-user-bob", "", nil)
	bob.expect(pusher.EventSubscriptionSucceeded)
	alice.subscribe("#server-to-user-bob", "", nil)
	alice.expect(pusher.EventSubscriptionError)
	status, _ := publish(t, m, map[string]any{"name": "notice", "channels": []string{"#server-to-user-bob"}, "data": `{"a":1}`})
	if status != 200 {
		t.Fatalf("publish to user: %d", status)
	}
	if f := bob.expect("notice"); f.Channel != "#server-to-user-bob" || f.dataString() != `{"a":1}` {
		t.Fatalf("user event %s %s", f.Channel, f.Data)
	}
	alice.expectNone(100 * time.Millisecond)

	// A connection signed in as one user cannot become another.
	bob.send(map[string]any{"event": "pusher:signin", "data": map[string]any{
		"auth": pusher.UserAuth(testKey, testSecret, bob.socketID, `{"id":"mallory"}`), "user_data": `{"id":"mallory"}`}})
	expectErrorCode(t, bob, pusher.CodeUnauthorized)
	bob.expectClose(pusher.CodeUnauthorized)
	if w := alice.expect(pusher.EventWatchlist); w.dataString() != `{"events":[{"name":"offline","user_ids":["bob"]}]}` {
		t.Fatalf("alice sees %s after bob left", w.dataString())
	}

	// Terminate closes every connection of the user with 4009.
	status, body := signedRequest(t, m, "POST", "/apps/1/users/alice/terminate_connections", nil, []byte(`{}`))
	if status != 200 || body != "{}" {
		t.Fatalf("terminate = %d %s", status, body)
	}
	expectErrorCode(t, alice, pusher.CodeUnauthorized)
	alice.expectClose(pusher.CodeUnauthorized)
}

func TestSignedInPresenceWithoutChannelData(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	ud := `{"id":"42","user_info":{"name":"Dr. Who"}}`
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]any{"auth": pusher.UserAuth(testKey, testSecret, c.socketID, ud), "user_data": ud}})
	c.expect(pusher.EventSigninSuccess)
	c.subscribe("presence-ward", presenceAuth(c, "presence-ward", ""), nil)
	f := c.expect(pusher.EventSubscriptionSucceeded)
	if f.dataString() != `{"presence":{"ids":["42"],"hash":{"42":{"name":"Dr. Who"}},"count":1}}` {
		t.Fatalf("presence %s", f.dataString())
	}
}

func TestSigninRefused(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]any{"auth": testKey + ":00", "user_data": `{"id":"1"}`}})
	expectErrorCode(t, c, pusher.CodeUnauthorized)
	c.expectClose(pusher.CodeUnauthorized)
}

func TestCacheChannel(t *testing.T) {
	m := startMain(t, "", nil)
	a := connect(t, m)
	a.subscribe("cache-price", "", nil)
	a.expect(pusher.EventSubscriptionSucceeded)
	a.expect(pusher.EventCacheMiss)
	publish(t, m, map[string]any{"name": "price", "channel": "cache-price", "data": `{"v":10}`})
	a.expect("price")
	b := connect(t, m)
	b.subscribe("cache-price", "", nil)
	b.expect(pusher.EventSubscriptionSucceeded)
	if f := b.expect("price"); f.dataString() != `{"v":10}` {
		t.Fatalf("replayed %s", f.dataString())
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
	a.subscribe("news", "", nil)
	a.expect(pusher.EventSubscriptionSucceeded)
	if f := a.expect(pusher.EventSubscriptionCount); f.dataString() != `{"subscription_count":1}` {
		t.Fatalf("count %s", f.dataString())
	}
	b.subscribe("news", "", nil)
	b.expect(pusher.EventSubscriptionSucceeded)
	b.expect(pusher.EventSubscriptionCount)
	if f := a.expect(pusher.EventSubscriptionCount); f.dataString() != `{"subscription_count":2}` {
		t.Fatalf("count %s", f.dataString())
	}
}

func TestServerPingsSilentClientsAndCloses4201(t *testing.T) {
	m := startMain(t, "", map[string]string{"PARLEY_ACTIVITY_TIMEOUT": "1s", "PARLEY_PONG_TIMEOUT": "1s"})
	c := connect(t, m)
	c.expect(pusher.EventPing)
	c.expectClose(pusher.CodePongTimeout)

	// A client that answers stays.
	d := connect(t, m)
	d.expect(pusher.EventPing)
	d.send(map[string]any{"event": "pusher:pong", "data": map[string]any{}})
	d.expect(pusher.EventPing) // pinged again after the next silence, not closed
}

func TestShutdownClosesWith4200(t *testing.T) {
	m := startMain(t, "", nil)
	c := connect(t, m)
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	c.expectClose(pusher.CodeReconnect)
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
	private.subscribe("private-ok", pusher.ChannelAuth(testKey, testSecret, private.socketID, "private-ok", ""), nil)
	private.expect(pusher.EventSubscriptionSucceeded)
	signed := connect(t, m)
	ud := `{"id":"7"}`
	signed.send(map[string]any{"event": "pusher:signin", "data": map[string]any{"auth": pusher.UserAuth(testKey, testSecret, signed.socketID, ud), "user_data": ud}})
	signed.expect(pusher.EventSigninSuccess)

	expectErrorCode(t, idle, pusher.CodeUnauthorized)
	idle.expectClose(pusher.CodeUnauthorized)
	// The authorized ones are still served.
	for _, c := range []*wsClient{private, signed} {
		c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
		c.expect(pusher.EventPong)
	}
}
