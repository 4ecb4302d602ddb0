package conformance

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"
)

// hookReceiver verifies every POST with pusher-http-go's Client.Webhook
// (key header, HMAC of the exact body) and collects the events.
type hookReceiver struct {
	sdk    *pusher.Client
	srv    *http.Server
	URL    string
	mu     sync.Mutex
	events []receivedHook
	bad    []string // why a POST failed verification
	notify chan struct{}
}

type receivedHook struct {
	at    time.Time
	event pusher.WebhookEvent
	raw   string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{
		sdk:    &pusher.Client{AppID: appID, Key: appKey, Secret: appSecret},
		URL:    fmt.Sprintf("http://%s/hook", l.Addr()),
		notify: make(chan struct{}, 1),
	}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = h.srv.Serve(l) }()
	t.Cleanup(func() { _ = h.srv.Close() })
	return h
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		h.bad = append(h.bad, fmt.Sprintf("Content-Type %q, want exactly application/json (the Node SDK's verifier rejects anything else)", ct))
	}
	hook, err := h.sdk.Webhook(r.Header, body)
	if err != nil {
		h.bad = append(h.bad, fmt.Sprintf("pusher-http-go Webhook: %v; headers %v; body %s", err, r.Header, body))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	for _, e := range hook.Events {
		h.events = append(h.events, receivedHook{at: now, event: e, raw: string(body)})
	}
	select {
	case h.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hookReceiver) describe() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, e := range h.events {
		fmt.Fprintf(&b, "  %+v\n", e.event)
	}
	for _, s := range h.bad {
		fmt.Fprintf(&b, "  INVALID: %s\n", s)
	}
	return b.String()
}

// wait returns the first event matching pred, received before or after the call.
func (h *hookReceiver) wait(t *testing.T, what string, limit time.Duration, pred func(pusher.WebhookEvent) bool) receivedHook {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		for _, e := range h.events {
			if pred(e.event) {
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-deadline.C:
			t.Fatalf("no %s webhook within %s; received:\n%s", what, limit, h.describe())
		}
	}
}

func (h *hookReceiver) invalid() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bad...)
}

func TestGoWebhooks(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			hooks := newHookReceiver(t)
			delay := time.Second
			s := startServer(t, serverOptions{WebhookURL: hooks.URL, WebhookBatch: batch, VacateDelay: delay})
			sdk := s.goSDK()
			const ch = "presence-go-hooks"
			is := func(name, channel string) func(pusher.WebhookEvent) bool {
				return func(e pusher.WebhookEvent) bool { return e.Name == name && e.Channel == channel }
			}

			a := dial(t, s, "A", appKey)
			auth := authorize(t, sdk, a.SocketID, ch, &pusher.MemberData{UserID: "hook-user"})
			a.MustSubscribe(ch, auth["auth"], auth["channel_data"])
			hooks.wait(t, "channel_occupied", eventTimeout, is("channel_occupied", ch))
			added := hooks.wait(t, "member_added", eventTimeout, is("member_added", ch))
			if added.event.UserID != "hook-user" {
				t.Errorf("member_added user_id %q, want hook-user (body %s)", added.event.UserID, added.raw)
			}

			b := dial(t, s, "B", appKey)
			authB := authorize(t, sdk, b.SocketID, ch, &pusher.MemberData{UserID: "other"})
			b.MustSubscribe(ch, authB["auth"], authB["channel_data"])
			a.SendRaw([]byte(`{"event":"client-typing","data":{"on":true},"channel":"` + ch + `"}`))
			ce := hooks.wait(t, "client_event", eventTimeout, is("client_event", ch))
			if ce.event.Event != "client-typing" || ce.event.Data != `{"on":true}` || ce.event.SocketID != a.SocketID || ce.event.UserID != "hook-user" {
				t.Errorf(`client_event: want event client-typing, data "{\"on\":true}", socket_id %s, user_id hook-user; got %+v`, a.SocketID, ce.event)
			}

			b.Close()
			left := time.Now()
			a.Close()
			removed := hooks.wait(t, "member_removed", eventTimeout+delay, func(e pusher.WebhookEvent) bool {
				return e.Name == "member_removed" && e.Channel == ch && e.UserID == "hook-user"
			})
			if waited := removed.at.Sub(left); waited < delay-50*time.Millisecond {
				t.Errorf("member_removed came %s after the disconnect; the configured hold is %s", waited, delay)
			}
			vacated := hooks.wait(t, "channel_vacated", eventTimeout+delay, is("channel_vacated", ch))
			if waited := vacated.at.Sub(left); waited < delay-50*time.Millisecond {
				t.Errorf("channel_vacated came %s after the last disconnect; the configured hold is %s", waited, delay)
			}
			if bad := hooks.invalid(); len(bad) > 0 {
				t.Errorf("webhooks that failed verification:\n%s", strings.Join(bad, "\n"))
			}
		})
	}
}
