package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/pusher"
)

const secretText = "blood pressure 180/120" // must never reach a non-participant

// TestAuthorizationMatrix runs every endpoint as patient and provider in
// the thread, an outsider of each role, and the service, and checks the
// status and that no response to an outsider mentions the thread's
// content or participants.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	m := e.send("pat", tid, "c-1", secretText)
	base := "/api/v1/threads/" + tid
	msgPath := base + "/messages/" + m.ID

	type call struct {
		name, method, path string
		body               any
		want               map[string]int // by user; missing = 404
	}
	member := func(code int) map[string]int { return map[string]int{"pat": code, "doc": code} }
	calls := []call{
		{"get thread", "GET", base, nil, member(200)},
		{"list messages", "GET", base + "/messages", nil, member(200)},
		{"send", "POST", base + "/messages", map[string]string{"clientId": "m-x", "content": "hi"}, map[string]int{"pat": 201, "doc": 201, "svc": 400}},
		{"send on behalf of outsider", "POST", base + "/messages", map[string]string{"clientId": "m-y", "content": "hi", "onBehalfOf": "eve"}, map[string]int{"pat": 403, "doc": 403, "drx": 403}},
		{"edit", "PATCH", msgPath, map[string]string{"content": "edited"}, map[string]int{"pat": 200, "doc": 403}},
		{"read", "POST", base + "/read", map[string]int{"seq": 1}, member(200)},
		{"typing", "POST", base + "/typing", map[string]bool{"typing": true}, member(204)},
		{"delete", "DELETE", msgPath, nil, map[string]int{"pat": 200, "doc": 403}},
	}
	for _, c := range calls {
		for _, u := range []string{"pat", "doc", "eve", "drx", "svc"} {
			t.Run(c.name+"/"+u, func(t *testing.T) {
				want, ok := c.want[u]
				if !ok {
					want = 404
				}
				r := e.do(u, c.method, c.path, c.body)
				if r.Status != want {
					t.Fatalf("%s %s as %s = %d, want %d: %s", c.method, c.path, u, r.Status, want, r.Body)
				}
				if r.Status >= 400 {
					r.errCode(t)
					if strings.Contains(string(r.Body), secretText) || strings.Contains(string(r.Body), "Pat Patient") {
						t.Fatalf("error body leaks thread data: %s", r.Body)
					}
				}
			})
		}
	}

	t.Run("404 for a stranger's thread equals 404 for no thread", func(t *testing.T) {
		a := e.do("eve", "GET", base, nil)
		b := e.do("eve", "GET", "/api/v1/threads/no-such-thread", nil)
		if a.Status != 404 || string(a.Body) != string(b.Body) {
			t.Fatalf("existing: %d %s; missing: %d %s", a.Status, a.Body, b.Status, b.Body)
		}
	})
	t.Run("outsiders see nothing in lists and sync", func(t *testing.T) {
		for _, u := range []string{"eve", "drx", "svc"} {
			for _, p := range []string{"/api/v1/threads", "/api/v1/sync"} {
				r := e.must(200, e.do(u, "GET", p, nil))
				if strings.Contains(string(r.Body), tid) || strings.Contains(string(r.Body), secretText) {
					t.Fatalf("%s GET %s leaks the thread: %s", u, p, r.Body)
				}
			}
		}
		for _, u := range []string{"pat", "doc"} {
			var page messenger.ThreadPage
			e.must(200, e.do(u, "GET", "/api/v1/threads", nil)).decode(t, &page)
			if len(page.Threads) != 1 || page.Threads[0].ID != tid {
				t.Fatalf("%s's threads = %+v", u, page.Threads)
			}
		}
	})
	t.Run("no token is 401 everywhere", func(t *testing.T) {
		for _, rt := range e.api.Routes() {
			method, path, _ := strings.Cut(rt, " ")
			if path == "/api/v1/openapi.yaml" {
				continue
			}
			path = strings.NewReplacer("{id}", tid, "{mid}", m.ID).Replace(path)
			r := e.do("", method, path, "{}")
			if r.Status != 401 || r.errCode(t) != "unauthorized" {
				t.Fatalf("%s %s without token = %d %s", method, path, r.Status, r.Body)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: WWW-Authenticate = %q", method, path, r.Header.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("service posts on behalf of a participant", func(t *testing.T) {
		var got messenger.Message
		e.must(201, e.do("svc", "POST", base+"/messages", map[string]string{"clientId": "svc-1", "content": "Reminder", "onBehalfOf": "doc"})).decode(t, &got)
		if got.SenderID != "doc" {
			t.Fatalf("sender = %q, want doc", got.SenderID)
		}
	})
}

// TestChannelAuthMatrix checks every channel kind for every caller.
func TestChannelAuthMatrix(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	other := e.otherThread() // eve and drx
	allow := func(us ...string) map[string]bool {
		m := map[string]bool{}
		for _, u := range us {
			m[u] = true
		}
		return m
	}
	channels := []struct {
		name  string
		allow map[string]bool
	}{
		{"private-thread-" + tid, allow("pat", "doc")},
		{"private-encrypted-thread-" + tid, allow("pat", "doc")},
		{"private-thread-" + other, allow("eve", "drx")},
		{"private-user-pat", allow("pat")},
		{"private-user-doc", allow("doc")},
		{"private-user-svc", allow("svc")},
		{"presence-user-pat", allow("pat", "doc")},
		{"presence-user-doc", allow("pat", "doc")},
		{"presence-user-eve", allow("eve", "drx")},
		{"presence-user-nobody", allow()},
		{"private-thread-", allow()},
		{"private-user-", allow()},
		{"presence-user-", allow()},
		{"private-thread-no-such-thread", allow()},
		{"private-cache-thread-" + tid, allow()},
		{"presence-thread-" + tid, allow()},
		{"private-" + tid, allow()},
		{"thread-" + tid, allow()},
		{"private-userpat", allow()},
		{"private-encrypted-user-pat", allow()},
		{"presence-cache-user-pat", allow()},
	}
	for _, ch := range channels {
		for _, u := range []string{"pat", "doc", "eve", "drx", "svc"} {
			for _, form := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/form=%v", ch.name, u, form), func(t *testing.T) {
					r := e.channelAuth(u, "123.456", ch.name, form)
					if !ch.allow[u] {
						if r.Status != 403 || r.errCode(t) != "forbidden" {
							t.Fatalf("status %d, want 403: %s", r.Status, r.Body)
						}
						return
					}
					e.must(200, r)
					var resp map[string]string
					r.decode(t, &resp)
					if !pusher.VerifyChannelAuth(appKey, appSecret, "123.456", ch.name, resp["channel_data"], resp["auth"]) {
						t.Fatalf("auth %q does not verify", resp["auth"])
					}
					isPresence := strings.HasPrefix(ch.name, "presence-")
					if (resp["channel_data"] != "") != isPresence {
						t.Fatalf("channel_data = %q", resp["channel_data"])
					}
					if isPresence {
						var cd presenceData
						if err := json.Unmarshal([]byte(resp["channel_data"]), &cd); err != nil {
							t.Fatal(err)
						}
						if cd.UserID != u || cd.UserInfo.Name != users[u].Name || cd.UserInfo.Role != string(users[u].Role) {
							t.Fatalf("channel_data = %+v", cd)
						}
					}
					if (resp["shared_secret"] != "") != strings.HasPrefix(ch.name, "private-encrypted-") {
						t.Fatalf("shared_secret = %q", resp["shared_secret"])
					}
				})
			}
		}
	}
}

func TestEncryptedChannelsNeedAMasterKey(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EncryptionMasterKey = nil })
	tid := e.thread()
	r := e.channelAuth("pat", "1.2", "private-encrypted-thread-"+tid, true)
	if r.Status != 403 || r.errCode(t) != "forbidden" {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
}

func TestUserAuth(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxWatchlist = 1 })
	e.thread()
	for _, form := range []bool{true, false} {
		var r response
		if form {
			r = e.do("pat", "POST", "/api/pusher/user-auth", "socket_id=99.100", "application/x-www-form-urlencoded")
		} else {
			r = e.do("pat", "POST", "/api/pusher/user-auth", map[string]string{"socket_id": "99.100"})
		}
		var resp map[string]string
		e.must(200, r).decode(t, &resp)
		if !pusher.VerifyUserAuth(appKey, appSecret, "99.100", resp["user_data"], resp["auth"]) {
			t.Fatalf("user auth does not verify: %+v", resp)
		}
		var ud signinData
		if err := json.Unmarshal([]byte(resp["user_data"]), &ud); err != nil {
			t.Fatal(err)
		}
		if ud.ID != "pat" || ud.UserInfo.Name != "Pat Patient" || ud.UserInfo.Role != "patient" || len(ud.Watchlist) != 1 || ud.Watchlist[0] != "doc" {
			t.Fatalf("user_data = %+v", ud)
		}
	}
	var resp map[string]string
	e.must(200, e.do("eve", "POST", "/api/pusher/user-auth", "socket_id=1.2", "application/x-www-form-urlencoded")).decode(t, &resp)
	if !strings.Contains(resp["user_data"], `"watchlist":[]`) {
		t.Fatalf("outsider's watchlist: %s", resp["user_data"])
	}
	if r := e.do("pat", "POST", "/api/pusher/user-auth", "socket_id=1.2:x", "application/x-www-form-urlencoded"); r.Status != 400 {
		t.Fatalf("bad socket id: %d", r.Status)
	}
}

// otherThread opens a thread between eve and drx.
func (e *env) otherThread() string {
	e.t.Helper()
	var th messenger.Thread
	e.must(201, e.do("eve", "POST", "/api/v1/threads", map[string]any{"participants": []map[string]string{{"id": "drx"}}})).decode(e.t, &th)
	return th.ID
}

// channelAuth posts to /api/pusher/auth as pusher-js does (form) or JSON.
func (e *env) channelAuth(user, socketID, channel string, form bool) response {
	e.t.Helper()
	if form {
		body := "socket_id=" + urlEscape(socketID) + "&channel_name=" + urlEscape(channel)
		return e.do(user, "POST", "/api/pusher/auth", body, "application/x-www-form-urlencoded")
	}
	return e.do(user, "POST", "/api/pusher/auth", map[string]string{"socket_id": socketID, "channel_name": channel})
}
