package pushertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// script starts a WebSocket server that sends frames, then, for every
// client frame it reads, sends reply; closeCode > 0 closes after the
// frames. It returns the ws:// base URL.
func script(t *testing.T, frames []string, reply string, closeCode int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		for _, f := range frames {
			if wsutil.WriteServerText(conn, []byte(f)) != nil {
				return
			}
		}
		if closeCode > 0 {
			_ = ws.WriteFrame(conn, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusCode(closeCode), "bye")))
			return
		}
		for {
			if _, _, err := wsutil.ReadClientData(conn); err != nil {
				return
			}
			if reply != "" && wsutil.WriteServerText(conn, []byte(reply)) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

const established = `{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}`

func TestConnectConsumesAndLooks(t *testing.T) {
	url := script(t, []string{
		established,
		`{"event":"a","channel":"c","data":"x"}`,
		`{"event":"b","channel":"c","data":{"k":1}}`,
		`{"event":"marker","data":"{}"}`,
	}, "", 0)
	c := Connect(t, url, "key", WithName("test"), WithTimeout(5*time.Second))
	if c.SocketID != "1.2" {
		t.Fatalf("SocketID = %q, want 1.2", c.SocketID)
	}
	// Looking does not consume: the first frame is still found later.
	if f := c.WaitFor("a", IsEvent("a", "c")); f.DataString() != "x" || !f.IsStringData() {
		t.Fatalf("a = %+v", f)
	}
	m, skipped := c.Until("marker", IsEventName("marker"))
	if m.Event != "marker" || len(skipped) != 2 || skipped[0].Event != "a" || skipped[1].Event != "b" {
		t.Fatalf("Until = %v skipped %v, want a and b skipped", m, skipped)
	}
	var d struct{ K int }
	if err := skipped[1].Decode(&d); err != nil || d.K != 1 || skipped[1].IsStringData() {
		t.Fatalf("object data decoded to %+v (%v)", d, err)
	}
	if n := c.Count(func(Frame) bool { return true }); n != 4 {
		t.Fatalf("Count = %d, want all 4 frames kept", n)
	}
	c.ExpectNone(50 * time.Millisecond)
	if !strings.Contains(c.Transcript(), `S→C {"event":"marker"`) {
		t.Fatalf("transcript lacks the marker:\n%s", c.Transcript())
	}
}

func TestMustSubscribeIgnoresAnEarlierRefusal(t *testing.T) {
	url := script(t, []string{
		established,
		`{"event":"pusher:subscription_error","channel":"private-x","data":{"type":"AuthError","status":401}}`,
	}, `{"event":"pusher_internal:subscription_succeeded","channel":"private-x","data":"{}"}`, 0)
	c := Connect(t, url, "key")
	c.WaitFor("the refusal of an earlier subscribe", IsEvent("pusher:subscription_error", "private-x"))
	if f := c.MustSubscribe("private-x", "key:sig", ""); f.DataString() != "{}" {
		t.Fatalf("subscription_succeeded = %+v", f)
	}
	if !strings.Contains(c.Transcript(), `C→S {"data":{"auth":"key:sig","channel":"private-x"},"event":"pusher:subscribe"}`) {
		t.Fatalf("transcript lacks the subscribe:\n%s", c.Transcript())
	}
}

func TestExpectClose(t *testing.T) {
	url := script(t, []string{`{"event":"pusher:error","data":{"code":4001,"message":"no"}}`}, "", 4001)
	c := Dial(t, url+"/app/nope")
	if f := c.Expect("pusher:error"); !strings.Contains(string(f.Data), "4001") {
		t.Fatalf("error = %s", f.Raw)
	}
	c.ExpectClose(4001)
}
