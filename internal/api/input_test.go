package api

import (
	"strings"
	"testing"
)

// TestMalformedInput: every kind of bad input gets a 4xx JSON error with
// the right code, never a 500.
func TestMalformedInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	tid := e.thread()
	m := e.send("pat", tid, "c-1", "hello")
	msgs := "/api/v1/threads/" + tid + "/messages"
	big := `{"clientId":"x","content":"` + strings.Repeat("a", 2000) + `"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		ct                 string
		status             int
		code               string
	}{
		{"empty body", "POST", msgs, "", "application/json", 400, "invalid"},
		{"not json", "POST", msgs, "hello", "application/json", 400, "invalid"},
		{"truncated", "POST", msgs, `{"clientId":"a"`, "application/json", 400, "invalid"},
		{"unknown field", "POST", msgs, `{"clientId":"a","content":"b","admin":true}`, "application/json", 400, "invalid"},
		{"wrong type string", "POST", msgs, `{"clientId":1,"content":"b"}`, "application/json", 400, "invalid"},
		{"wrong type array", "POST", msgs, `{"clientId":"a","content":"b","attachments":"x"}`, "application/json", 400, "invalid"},
		{"array body", "POST", msgs, `[1,2]`, "application/json", 400, "invalid"},
		{"trailing data", "POST", msgs, `{"clientId":"a","content":"b"} {}`, "application/json", 400, "invalid"},
		{"trailing garbage", "POST", msgs, `{"clientId":"a","content":"b"}x`, "application/json", 400, "invalid"},
		{"oversize", "POST", msgs, big, "application/json", 413, "too_large"},
		{"form body", "POST", msgs, "clientId=a&content=b", "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"bad content type", "POST", msgs, `{}`, "application/json;;;", 415, "unsupported_media_type"},
		{"missing clientId", "POST", msgs, `{"content":"b"}`, "application/json", 400, "invalid"},
		{"empty content", "POST", msgs, `{"clientId":"a","content":"  "}`, "application/json", 400, "invalid"},
		{"invalid utf8", "POST", msgs, "{\"clientId\":\"a\",\"content\":\"\xff\"}", "application/json", 400, "invalid"},
		{"seq as string", "POST", "/api/v1/threads/" + tid + "/read", `{"seq":"3"}`, "application/json", 400, "invalid"},
		{"seq overflow", "POST", "/api/v1/threads/" + tid + "/read", `{"seq":1e40}`, "application/json", 400, "invalid"},
		{"seq negative", "POST", "/api/v1/threads/" + tid + "/read", `{"seq":-1}`, "application/json", 400, "invalid"},
		{"seq missing", "POST", "/api/v1/threads/" + tid + "/read", `{}`, "application/json", 400, "invalid"},
		{"typing wrong type", "POST", "/api/v1/threads/" + tid + "/typing", `{"typing":"yes"}`, "application/json", 400, "invalid"},
		{"edit without content", "PATCH", msgs + "/" + m.ID, `{}`, "application/json", 400, "invalid"},
		{"participants wrong type", "POST", "/api/v1/threads", `{"participants":{"id":"doc"}}`, "application/json", 400, "invalid"},
		{"participant role bogus", "POST", "/api/v1/threads", `{"participants":[{"id":"doc","role":"admin"}]}`, "application/json", 400, "invalid"},
		{"thread without provider", "POST", "/api/v1/threads", `{"participants":[{"id":"eve"}]}`, "application/json", 400, "invalid"},
		{"limit not a number", "GET", msgs + "?limit=ten", nil, "", 400, "invalid"},
		{"limit out of range", "GET", msgs + "?limit=1000", nil, "", 400, "invalid"},
		{"limit huge", "GET", msgs + "?limit=99999999999999999999", nil, "", 400, "invalid"},
		{"before not a number", "GET", msgs + "?before=x", nil, "", 400, "invalid"},
		{"thread list bad cursor", "GET", "/api/v1/threads?cursor=%%%", nil, "", 400, "invalid"},
		{"sync bad cursor", "GET", "/api/v1/sync?since=garbage", nil, "", 400, "invalid"},
		{"sync wait negative", "GET", "/api/v1/sync?wait=-1", nil, "", 400, "invalid"},
		{"sync wait not a number", "GET", "/api/v1/sync?wait=soon", nil, "", 400, "invalid"},
		{"auth bad socket id", "POST", "/api/pusher/auth", "socket_id=abc&channel_name=private-user-pat", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth socket id injection", "POST", "/api/pusher/auth", "socket_id=1.2%3Aprivate-thread-x&channel_name=private-user-pat", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth missing socket id", "POST", "/api/pusher/auth", "channel_name=private-user-pat", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth bad channel", "POST", "/api/pusher/auth", "socket_id=1.2&channel_name=private-user-pat%20x", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth reserved channel", "POST", "/api/pusher/auth", "socket_id=1.2&channel_name=%23server-to-user-pat", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth channel too long", "POST", "/api/pusher/auth", "socket_id=1.2&channel_name=private-user-" + strings.Repeat("a", 200), "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth empty channel", "POST", "/api/pusher/auth", "socket_id=1.2&channel_name=", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth bad escape", "POST", "/api/pusher/auth", "socket_id=1.2&channel_name=%zz", "application/x-www-form-urlencoded", 400, "invalid"},
		{"auth json unknown field", "POST", "/api/pusher/auth", `{"socket_id":"1.2","channel_name":"private-user-pat","x":1}`, "application/json", 400, "invalid"},
		{"auth oversize form", "POST", "/api/pusher/auth", "socket_id=1.2&channel_name=" + strings.Repeat("a", 2000), "application/x-www-form-urlencoded", 413, "too_large"},
		{"auth xml", "POST", "/api/pusher/auth", "<x/>", "text/xml", 415, "unsupported_media_type"},
		{"unknown endpoint", "GET", "/api/v1/nope", nil, "", 404, "not_found"},
		{"wrong method", "PUT", "/api/v1/threads", `{}`, "application/json", 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.body == nil {
				r = e.do("pat", tc.method, tc.path, nil)
			} else {
				r = e.do("pat", tc.method, tc.path, tc.body, tc.ct)
			}
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if got := r.errCode(t); got != tc.code {
				t.Fatalf("code = %q, want %q (%s)", got, tc.code, r.Body)
			}
		})
	}

	t.Run("405 carries Allow", func(t *testing.T) {
		r := e.do("pat", "DELETE", "/api/v1/threads", nil)
		if r.Status != 405 || !strings.Contains(r.Header.Get("Allow"), "POST") || !strings.Contains(r.Header.Get("Allow"), "GET") {
			t.Fatalf("status %d Allow %q", r.Status, r.Header.Get("Allow"))
		}
	})
	t.Run("messages name the problem", func(t *testing.T) {
		r := e.do("pat", "POST", msgs, `{"clientId":"a","content":"b","admin":true}`, "application/json")
		if !strings.Contains(string(r.Body), `admin`) {
			t.Fatalf("unknown-field message does not name the field: %s", r.Body)
		}
		r = e.do("pat", "POST", msgs, `{"clientId":1}`, "application/json")
		if !strings.Contains(string(r.Body), `clientId`) || !strings.Contains(string(r.Body), `string`) {
			t.Fatalf("type message does not name field and type: %s", r.Body)
		}
	})
	t.Run("bad tokens", func(t *testing.T) {
		for name, h := range map[string]string{
			"garbage":   "Bearer not-a-jwt",
			"basic":     "Basic dXNlcjpwYXNz",
			"no scheme": e.tokens["pat"],
		} {
			r := e.doHeader("GET", "/api/v1/me", h)
			if r.Status != 401 || r.errCode(t) != "unauthorized" || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("%s: %d %q %s", name, r.Status, r.Header.Get("WWW-Authenticate"), r.Body)
			}
		}
	})
	t.Run("request id echoed or made", func(t *testing.T) {
		r := e.do("pat", "GET", "/api/v1/me", nil)
		if len(r.Header.Get("X-Request-Id")) < 16 {
			t.Fatalf("X-Request-Id = %q", r.Header.Get("X-Request-Id"))
		}
	})
}
