package conformance

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/pushertest"
	pusher "github.com/pusher/pusher-http-go/v5"
)

// Tests with pusher-http-go v5.1.1 as the backend SDK and a raw protocol-7
// client, so every failure shows the exact frames.

// authorize asks the Go SDK for a channel authorization as an app's
// /pusher/auth endpoint would, and returns its JSON fields.
func authorize(t *testing.T, sdk *pusher.Client, socketID, channel string, member *pusher.MemberData) map[string]string {
	t.Helper()
	params := []byte(url.Values{"socket_id": {socketID}, "channel_name": {channel}}.Encode())
	var (
		body []byte
		err  error
	)
	if member != nil {
		body, err = sdk.AuthorizePresenceChannel(params, *member)
	} else {
		body, err = sdk.AuthorizePrivateChannel(params)
	}
	if err != nil {
		t.Fatalf("pusher-http-go authorize %s: %v", channel, err)
	}
	out := map[string]string{}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("authorize response %s: %v", body, err)
	}
	return out
}

// dataString asserts data was sent as a JSON string and returns it.
func dataString(t *testing.T, f pushertest.Frame) string {
	t.Helper()
	if !f.IsStringData() {
		t.Fatalf("data of %s must be a JSON string (double encoding), got frame %s", f.Event, f.Raw)
	}
	return f.DataString()
}

func TestGoSDKTriggerPublic(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	c := dial(t, s, "A", appKey)
	if !socketIDPattern.MatchString(c.SocketID) {
		t.Fatalf("socket_id %q does not match ^\\d+\\.\\d+$", c.SocketID)
	}
	ok := c.MustSubscribe("go-public", "", "")
	if got := dataString(t, ok); got != "{}" {
		t.Errorf(`subscription_succeeded data: want "{}" (pusher-swift needs it), got frame %s`, ok.Raw)
	}

	if err := sdk.Trigger("go-public", "greeting", map[string]string{"hello": "world"}); err != nil {
		t.Fatalf("pusher-http-go Trigger: %v", err)
	}
	f := c.AwaitEvent("greeting", "go-public")
	if got := dataString(t, f); got != `{"hello":"world"}` {
		t.Errorf(`sent data {"hello":"world"}, received frame %s`, f.Raw)
	}

	if err := sdk.Trigger("go-public", "raw", "plain <&> text"); err != nil {
		t.Fatal(err)
	}
	f = c.AwaitEvent("raw", "go-public")
	if got := dataString(t, f); got != "plain <&> text" {
		t.Errorf("sent string data %q, received frame %s", "plain <&> text", f.Raw)
	}

	// TriggerMulti to several channels, one frame per channel.
	c.MustSubscribe("go-public-2", "", "")
	if err := sdk.TriggerMulti([]string{"go-public", "go-public-2"}, "multi", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	c.AwaitEvent("multi", "go-public")
	c.AwaitEvent("multi", "go-public-2")
}

func TestGoSDKPrivate(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	c := dial(t, s, "A", appKey)

	forger := s.goSDK()
	forger.Secret = "not-the-secret"
	bad := authorize(t, forger, c.SocketID, "private-go", nil)
	c.Subscribe("private-go", bad["auth"], nil)
	f := c.Await("pusher:subscription_error on private-go", func(f pushertest.Frame) bool {
		if f.Event == "pusher_internal:subscription_succeeded" && f.Channel == "private-go" {
			t.Fatalf("forged signature accepted: sent auth %s, received %s", bad["auth"], f.Raw)
		}
		return f.Event == "pusher:subscription_error" && f.Channel == "private-go"
	})
	var e struct {
		Type   string `json:"type"`
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := f.Decode(&e); err != nil || e.Status == 0 || e.Type == "" {
		t.Errorf("subscription_error data: want {type, error, status}, got frame %s", f.Raw)
	}
	c.Ping() // the socket stays open after a refused subscription

	good := authorize(t, sdk, c.SocketID, "private-go", nil)
	c.MustSubscribe("private-go", good["auth"], "")
	if err := sdk.Trigger("private-go", "secret", map[string]bool{"ok": true}); err != nil {
		t.Fatal(err)
	}
	c.AwaitEvent("secret", "private-go")

	// An authorization for another socket does not work on this one.
	other := dial(t, s, "B", appKey)
	other.Subscribe("private-go", good["auth"], nil)
	other.Await("subscription_error for a signature of another socket", func(f pushertest.Frame) bool {
		if f.Event == "pusher_internal:subscription_succeeded" {
			t.Fatalf("signature for socket %s accepted on socket %s: %s", c.SocketID, other.SocketID, f.Raw)
		}
		return f.Event == "pusher:subscription_error"
	})
}

func TestGoSDKPresence(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	const ch = "presence-go-room"
	a := dial(t, s, "A", appKey)
	authA := authorize(t, sdk, a.SocketID, ch, &pusher.MemberData{UserID: "1", UserInfo: map[string]string{"name": "A"}})
	okA := a.MustSubscribe(ch, authA["auth"], authA["channel_data"])
	var pres struct {
		Presence struct {
			IDs   []string                   `json:"ids"`
			Hash  map[string]json.RawMessage `json:"hash"`
			Count int                        `json:"count"`
		} `json:"presence"`
	}
	if err := json.Unmarshal([]byte(dataString(t, okA)), &pres); err != nil || pres.Presence.Count != 1 || len(pres.Presence.IDs) != 1 || pres.Presence.IDs[0] != "1" {
		t.Fatalf("presence subscription_succeeded for the first member: %s (%v)", okA.Raw, err)
	}

	b := dial(t, s, "B", appKey)
	authB := authorize(t, sdk, b.SocketID, ch, &pusher.MemberData{UserID: "2", UserInfo: map[string]string{"name": "B"}})
	okB := b.MustSubscribe(ch, authB["auth"], authB["channel_data"])
	if err := json.Unmarshal([]byte(dataString(t, okB)), &pres); err != nil {
		t.Fatal(err)
	}
	ids := append([]string(nil), pres.Presence.IDs...)
	sort.Strings(ids)
	if pres.Presence.Count != 2 || strings.Join(ids, ",") != "1,2" || len(pres.Presence.Hash) != 2 {
		t.Errorf("B's presence data: want ids 1,2 with both in hash, count 2; got %s", okB.Raw)
	}
	added := a.AwaitEvent("pusher_internal:member_added", ch)
	var member struct {
		UserID   string            `json:"user_id"`
		UserInfo map[string]string `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(dataString(t, added)), &member); err != nil || member.UserID != "2" || member.UserInfo["name"] != "B" {
		t.Errorf(`member_added: want {"user_id":"2","user_info":{"name":"B"}}, got %s`, added.Raw)
	}

	users, err := sdk.GetChannelUsers(ch)
	if err != nil {
		t.Fatalf("pusher-http-go GetChannelUsers: %v", err)
	}
	var got []string
	for _, u := range users.List {
		got = append(got, u.ID)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "1,2" {
		t.Errorf("GetChannelUsers: %v, want [1 2]", got)
	}
	info := "user_count"
	channel, err := sdk.Channel(ch, pusher.ChannelParams{Info: &info})
	if err != nil {
		t.Fatalf("pusher-http-go Channel: %v", err)
	}
	if !channel.Occupied || channel.UserCount != 2 {
		t.Errorf("Channel(%s, user_count) = %+v, want occupied with 2 users", ch, *channel)
	}
	prefix := "presence-go-"
	list, err := sdk.Channels(pusher.ChannelsParams{FilterByPrefix: &prefix, Info: &info})
	if err != nil {
		t.Fatalf("pusher-http-go Channels: %v", err)
	}
	if item, ok := list.Channels[ch]; !ok || item.UserCount != 2 || len(list.Channels) != 1 {
		t.Errorf("Channels(prefix %s, user_count) = %+v", prefix, list.Channels)
	}

	// A second connection of user 2: no member_added on A.
	b2 := dial(t, s, "B2", appKey)
	authB2 := authorize(t, sdk, b2.SocketID, ch, &pusher.MemberData{UserID: "2", UserInfo: map[string]string{"name": "B"}})
	b2.MustSubscribe(ch, authB2["auth"], authB2["channel_data"])
	if err := sdk.Trigger(ch, "marker", "{}"); err != nil {
		t.Fatal(err)
	}
	_, before := a.Until("marker", func(f pushertest.Frame) bool { return f.Event == "marker" })
	for _, f := range before {
		if f.Event == "pusher_internal:member_added" {
			t.Errorf("a second connection of user 2 caused member_added: %s", f.Raw)
		}
	}

	b.Close()
	b2.Close()
	removed := a.AwaitEvent("pusher_internal:member_removed", ch)
	if got := dataString(t, removed); got != `{"user_id":"2"}` {
		t.Errorf(`member_removed: want data "{\"user_id\":\"2\"}", got %s`, removed.Raw)
	}
}

func TestGoSDKBatchAndExclusion(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	a := dial(t, s, "A", appKey)
	b := dial(t, s, "B", appKey)
	for _, c := range []*pushertest.Client{a, b} {
		c.MustSubscribe("go-batch-1", "", "")
		c.MustSubscribe("go-batch-2", "", "")
	}
	res, err := sdk.TriggerBatch([]pusher.Event{
		{Channel: "go-batch-1", Name: "one", Data: map[string]int{"n": 1}},
		{Channel: "go-batch-2", Name: "two", Data: "2"},
	})
	if err != nil {
		t.Fatalf("pusher-http-go TriggerBatch: %v", err)
	}
	_ = res
	b.AwaitEvent("one", "go-batch-1")
	f := b.AwaitEvent("two", "go-batch-2")
	if dataString(t, f) != "2" {
		t.Errorf("batch event data: %s", f.Raw)
	}

	// socket_id exclusion: A triggered "typing-like" event, B alone gets it.
	if err := sdk.TriggerExclusive("go-batch-1", "not-for-a", "{}", a.SocketID); err != nil {
		t.Fatalf("pusher-http-go TriggerExclusive: %v", err)
	}
	b.AwaitEvent("not-for-a", "go-batch-1")
	if err := sdk.Trigger("go-batch-1", "marker", "{}"); err != nil {
		t.Fatal(err)
	}
	_, before := a.Until("marker", func(f pushertest.Frame) bool { return f.Event == "marker" })
	for _, f := range before {
		if f.Event == "not-for-a" {
			t.Errorf("socket %s was excluded but received %s", a.SocketID, f.Raw)
		}
	}

	// Exclusion inside a batch.
	sid := a.SocketID
	if _, err := sdk.TriggerBatch([]pusher.Event{
		{Channel: "go-batch-2", Name: "batch-excl", Data: "{}", SocketID: &sid},
		{Channel: "go-batch-2", Name: "marker2", Data: "{}"},
	}); err != nil {
		t.Fatal(err)
	}
	b.AwaitEvent("batch-excl", "go-batch-2")
	_, before = a.Until("marker2", func(f pushertest.Frame) bool { return f.Event == "marker2" })
	for _, f := range before {
		if f.Event == "batch-excl" {
			t.Errorf("batch socket_id exclusion ignored: %s", f.Raw)
		}
	}

	// With info, counts come back per channel.
	info := "subscription_count"
	list, err := sdk.TriggerMultiWithParams([]string{"go-batch-1"}, "counted", "{}", pusher.TriggerParams{Info: &info})
	if err != nil {
		t.Fatalf("TriggerMultiWithParams(info=subscription_count): %v", err)
	}
	if item, ok := list.Channels["go-batch-1"]; !ok || item.SubscriptionCount == nil || *item.SubscriptionCount != 2 {
		t.Errorf("trigger info=subscription_count: %+v", list.Channels)
	}
}

func TestGoSDKChannelQueries(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	empty, err := sdk.Channels(pusher.ChannelsParams{})
	if err != nil {
		t.Fatalf("Channels on an empty app: %v", err)
	}
	if empty.Channels == nil {
		t.Errorf(`an empty app must answer {"channels":{}}, not null`)
	}
	a := dial(t, s, "A", appKey)
	b := dial(t, s, "B", appKey)
	a.MustSubscribe("go-q-one", "", "")
	b.MustSubscribe("go-q-one", "", "")
	a.MustSubscribe("go-q-two", "", "")
	a.MustSubscribe("other-q", "", "")
	prefix := "go-q-"
	list, err := sdk.Channels(pusher.ChannelsParams{FilterByPrefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range list.Channels {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "go-q-one,go-q-two" {
		t.Errorf("Channels(prefix go-q-) = %v", names)
	}
	info := "subscription_count"
	ch, err := sdk.Channel("go-q-one", pusher.ChannelParams{Info: &info})
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Occupied || ch.SubscriptionCount != 2 {
		t.Errorf("Channel(go-q-one, subscription_count) = %+v", *ch)
	}
	vacant, err := sdk.Channel("go-q-nobody", pusher.ChannelParams{})
	if err != nil {
		t.Fatal(err)
	}
	if vacant.Occupied {
		t.Errorf("an unused channel is reported occupied")
	}
	if _, err := sdk.GetChannelUsers("go-q-one"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("GetChannelUsers on a public channel: want a 400 error, got %v", err)
	}
	wrong := s.goSDK()
	wrong.Secret = "wrong"
	if err := wrong.Trigger("go-q-one", "x", "{}"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a request signed with the wrong secret: want 401, got %v", err)
	}
}

func TestGoSDKSendToUser(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	a1 := dial(t, s, "A1", appKey)
	a2 := dial(t, s, "A2", appKey)
	other := dial(t, s, "O", appKey)
	signin(t, sdk, a1, "go-user-1")
	signin(t, sdk, a2, "go-user-1")
	signin(t, sdk, other, "go-user-2")

	if err := sdk.SendToUser("go-user-1", "notice", map[string]string{"text": "hi"}); err != nil {
		t.Fatalf("pusher-http-go SendToUser: %v", err)
	}
	for _, c := range []*pushertest.Client{a1, a2} {
		f := c.AwaitEvent("notice", "#server-to-user-go-user-1")
		if dataString(t, f) != `{"text":"hi"}` {
			t.Errorf("server-to-user data: %s", f.Raw)
		}
	}
	if err := sdk.SendToUser("go-user-2", "mine", "{}"); err != nil {
		t.Fatal(err)
	}
	_, before := other.Until("mine", func(f pushertest.Frame) bool { return f.Event == "mine" })
	for _, f := range before {
		if f.Event == "notice" {
			t.Errorf("user 2 received user 1's event: %s", f.Raw)
		}
	}
}

// signin signs c in as id with a signature from the Go SDK, subscribes to
// the user's #server-to-user channel as pusher-js does, and checks the frames.
func signin(t *testing.T, sdk *pusher.Client, c *pushertest.Client, id string) {
	t.Helper()
	body, err := sdk.AuthenticateUser([]byte("socket_id="+url.QueryEscape(c.SocketID)), map[string]any{"id": id, "user_info": map[string]string{"name": id}})
	if err != nil {
		t.Fatalf("pusher-http-go AuthenticateUser: %v", err)
	}
	var auth struct {
		Auth     string `json:"auth"`
		UserData string `json:"user_data"`
	}
	if err := json.Unmarshal(body, &auth); err != nil {
		t.Fatal(err)
	}
	c.Send(map[string]any{"event": "pusher:signin", "data": map[string]string{"auth": auth.Auth, "user_data": auth.UserData}})
	f := c.Await("pusher:signin_success", func(f pushertest.Frame) bool {
		if f.Event == "pusher:error" {
			t.Fatalf("%s: signin refused: %s", c.Name, f.Raw)
		}
		return f.Event == "pusher:signin_success"
	})
	var ok struct {
		UserData string `json:"user_data"`
	}
	if err := f.Decode(&ok); err != nil || ok.UserData != auth.UserData {
		t.Errorf("signin_success must echo user_data exactly: sent %s, got %s", auth.UserData, f.Raw)
	}
	c.MustSubscribe("#server-to-user-"+id, "", "")
}

func TestWireSigninRefused(t *testing.T) {
	s := startServer(t, serverOptions{})
	forger := s.goSDK()
	forger.Secret = "not-the-secret"
	c := dial(t, s, "A", appKey)
	body, err := forger.AuthenticateUser([]byte("socket_id="+url.QueryEscape(c.SocketID)), map[string]any{"id": "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	var auth map[string]string
	if err := json.Unmarshal(body, &auth); err != nil {
		t.Fatal(err)
	}
	c.Send(map[string]any{"event": "pusher:signin", "data": auth})
	c.ExpectClose(4009)

	// #server-to-user- of someone else is refused without signin.
	d := dial(t, s, "B", appKey)
	d.Subscribe("#server-to-user-victim", "", nil)
	d.Await("subscription_error on #server-to-user-victim", func(f pushertest.Frame) bool {
		if f.Event == "pusher_internal:subscription_succeeded" {
			t.Fatalf("an unsigned connection subscribed to another user's channel: %s", f.Raw)
		}
		return f.Event == "pusher:subscription_error"
	})
}

func TestWireRefusedConnections(t *testing.T) {
	s := startServer(t, serverOptions{})
	cases := []struct {
		name string
		path string
		code int
	}{
		{"unknown key", "/app/no-such-key?protocol=7&client=js&version=8.6.0&flash=false", 4001},
		{"disabled app", "/app/" + disabledKey + "?protocol=7&client=js&version=8.6.0&flash=false", 4003},
		{"no protocol", "/app/" + appKey + "?client=js&version=8.6.0", 4008},
		{"bad protocol", "/app/" + appKey + "?protocol=seven", 4006},
		{"unsupported protocol", "/app/" + appKey + "?protocol=99", 4007},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, s, tc.name, tc.path)
			f := c.Await("pusher:error", func(f pushertest.Frame) bool {
				if f.Event == "pusher:connection_established" {
					t.Fatalf("GET %s was accepted: %s", tc.path, f.Raw)
				}
				return f.Event == "pusher:error"
			})
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := f.Decode(&e); err != nil || e.Code != tc.code || e.Message == "" {
				t.Errorf("GET %s: want pusher:error {code:%d, message}, got %s", tc.path, tc.code, f.Raw)
			}
			c.ExpectClose(tc.code)
		})
	}
}

func TestWireClientEvents(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	const ch = "presence-go-typing"
	a := dial(t, s, "A", appKey)
	b := dial(t, s, "B", appKey)
	for i, c := range []*pushertest.Client{a, b} {
		auth := authorize(t, sdk, c.SocketID, ch, &pusher.MemberData{UserID: fmt.Sprint("u", i)})
		c.MustSubscribe(ch, auth["auth"], auth["channel_data"])
	}
	a.MustSubscribe("go-public-typing", "", "")
	b.MustSubscribe("go-public-typing", "", "")

	// pusher-js sends data as an object.
	a.SendRaw([]byte(`{"event":"client-typing","data":{"on":true},"channel":"` + ch + `"}`))
	f := b.AwaitEvent("client-typing", ch)
	var on struct {
		On bool `json:"on"`
	}
	if err := f.Decode(&on); err != nil || !on.On || f.UserID != "u0" {
		t.Errorf(`client event: want data {"on":true} and user_id "u0", got %s`, f.Raw)
	}
	// Refused on a public channel.
	a.SendRaw([]byte(`{"event":"client-public","data":{},"channel":"go-public-typing"}`))
	// Marker: a later client event from A on the presence channel.
	a.SendRaw([]byte(`{"event":"client-marker","data":{},"channel":"` + ch + `"}`))
	_, before := b.Until("client-marker", func(f pushertest.Frame) bool { return f.Event == "client-marker" })
	for _, f := range before {
		if f.Event == "client-public" {
			t.Errorf("client event relayed on a public channel: %s", f.Raw)
		}
	}
	// Never echoed: a marker from the API after B got A's events.
	if err := sdk.Trigger(ch, "api-marker", "{}"); err != nil {
		t.Fatal(err)
	}
	_, before = a.Until("api-marker", func(f pushertest.Frame) bool { return f.Event == "api-marker" })
	for _, f := range before {
		if strings.HasPrefix(f.Event, "client-") {
			t.Errorf("client event echoed to its sender: %s", f.Raw)
		}
	}

	// Rate limit (10/s by default): a burst of 30 → pusher:error 4301.
	for i := 0; i < 30; i++ {
		a.SendRaw([]byte(`{"event":"client-burst","data":{},"channel":"` + ch + `"}`))
	}
	e := a.Await("pusher:error 4301", func(f pushertest.Frame) bool { return f.Event == "pusher:error" })
	var perr struct {
		Code int `json:"code"`
	}
	if err := e.Decode(&perr); err != nil || perr.Code != 4301 {
		t.Errorf("rate limit: want pusher:error code 4301, got %s", e.Raw)
	}
}
