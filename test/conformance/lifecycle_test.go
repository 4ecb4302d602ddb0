package conformance

import (
	"encoding/json"
	"fmt"
	"github.com/parleyhq/parley/internal/pushertest"
	"net/url"
	"syscall"
	"testing"
)

// TestWireShutdownDrains: SIGTERM closes every socket with 4200 so that
// pusher-js reconnects at once (to another node), then the process exits.
func TestWireShutdownDrains(t *testing.T) {
	s := startServer(t, serverOptions{})
	a := dial(t, s, "A", appKey)
	b := dial(t, s, "B", appKey)
	a.MustSubscribe("drain", "", "")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.ExpectClose(4200)
	b.ExpectClose(4200)
}

// TestWireWatchlistLimit: a watchlist over 100 ids is accepted (signin
// succeeds) and answered with pusher:error 4302.
func TestWireWatchlistLimit(t *testing.T) {
	s := startServer(t, serverOptions{})
	sdk := s.goSDK()
	c := dial(t, s, "A", appKey)
	watch := make([]string, 101)
	for i := range watch {
		watch[i] = fmt.Sprint("w", i)
	}
	body, err := sdk.AuthenticateUser([]byte("socket_id="+url.QueryEscape(c.SocketID)), map[string]any{"id": "watcher", "watchlist": watch})
	if err != nil {
		t.Fatalf("pusher-http-go AuthenticateUser: %v", err)
	}
	var auth map[string]string
	if err := json.Unmarshal(body, &auth); err != nil {
		t.Fatal(err)
	}
	c.Send(map[string]any{"event": "pusher:signin", "data": auth})
	c.Await("pusher:signin_success", func(f pushertest.Frame) bool {
		if f.Event == "pusher:error" {
			t.Fatalf("signin with 101 watched ids refused instead of trimmed: %s", f.Raw)
		}
		return f.Event == "pusher:signin_success"
	})
	f := c.Await("pusher:error 4302", func(f pushertest.Frame) bool { return f.Event == "pusher:error" })
	var e struct {
		Code int `json:"code"`
	}
	if err := f.Decode(&e); err != nil || e.Code != 4302 {
		t.Errorf("want pusher:error code 4302 after signin_success, got %s", f.Raw)
	}
	c.Ping() // not a close
}
