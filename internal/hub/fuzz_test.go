package hub

import (
	"testing"

	"github.com/parleyhq/parley/internal/pusher"
)

// FuzzClientReceive feeds arbitrary client frames to one connection of a
// live hub: nothing a client sends may panic the engine or leave it
// unable to serve the next frame.
func FuzzClientReceive(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:00","channel_data":"{\"user_id\":1}"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"cache-x\"}"}`,
		`{"event":"pusher:signin","data":{"auth":"k:00","user_data":"{\"id\":\"1\",\"watchlist\":[\"2\"]}"}}`,
		`{"event":"client-x","channel":"private-x","data":{"a":[1,2,{}]}}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"x"}}`,
		`{"event":"pusher:ping","data":""}`,
		`{"event":"#server-to-user-1"}`,
		`{"event":5}`, `null`, `"str"`,
	} {
		f.Add([]byte(s))
	}
	h, err := New(Config{Apps: []*pusher.App{testApp()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = h.Close() })
	f.Fuzz(func(t *testing.T, msg []byte) {
		c := &countingConn{}
		cl := h.Connect(c, "k", pusher.Query{"protocol": "7"})
		cl.Receive(msg)
		before := c.n.Load()
		cl.Receive([]byte(`{"event":"pusher:ping","data":{}}`))
		if c.n.Load() == before && !cl.closing.Load() {
			t.Fatalf("no pong after %q", msg)
		}
		cl.Closed()
	})
}
