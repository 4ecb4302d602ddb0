package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPayloadStampSurvivesBothEncodings(t *testing.T) {
	want := stamp{Seq: 42, SentAt: 1732680000123456789, Writer: 7}
	data := payload(want, 120)
	if len(data) != 120 {
		t.Errorf("payload is %d bytes, want 120", len(data))
	}
	if !json.Valid([]byte(data)) {
		t.Fatalf("payload is not JSON: %s", data)
	}
	quoted, _ := json.Marshal(data) // Pusher: data as a JSON string
	frames := map[string]string{
		"pusher":     `{"event":"bench","channel":"c","data":` + string(quoted) + `}`,
		"centrifugo": `{"push":{"channel":"c","pub":{"data":` + data + `,"offset":3}}}`,
	}
	for name, f := range frames {
		got, ok := parseStamp([]byte(f))
		if !ok || got != want {
			t.Errorf("%s: parseStamp = %+v, %v; want %+v", name, got, ok, want)
		}
	}
	if _, ok := parseStamp([]byte(`{"event":"pusher:pong","data":"{}"}`)); ok {
		t.Error("a frame without a stamp was taken for a benchmark message")
	}
}

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	s := h.Snapshot()
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.99, 990}, {0.999, 999}} {
		got := s.Quantile(c.q)
		if math.Abs(got-c.want)/c.want > 0.04 {
			t.Errorf("q%.3f = %.1f ms, want %.0f ±4%%", c.q, got, c.want)
		}
	}
	if s.Summary().Max != 1000 {
		t.Errorf("max = %v, want 1000", s.Summary().Max)
	}
	// Merging two halves gives the same counts as one histogram.
	var a, b Hist
	for i := 1; i <= 1000; i++ {
		if i%2 == 0 {
			a.Record(time.Duration(i) * time.Millisecond)
		} else {
			b.Record(time.Duration(i) * time.Millisecond)
		}
	}
	m := a.Snapshot()
	m.Merge(b.Snapshot())
	if m.Count() != 1000 || m.Quantile(0.99) != s.Quantile(0.99) {
		t.Errorf("merged: count %d p99 %v; want 1000 and %v", m.Count(), m.Quantile(0.99), s.Quantile(0.99))
	}
}

func TestHistIndexIsMonotonic(t *testing.T) {
	prev := 0
	for us := int64(0); us < 1<<22; us += 1 + us/50 {
		i := histIndex(us)
		if i < prev {
			t.Fatalf("histIndex(%d) = %d < %d", us, i, prev)
		}
		if us > histValue(i) {
			t.Fatalf("value %d above its bucket's bound %d", us, histValue(i))
		}
		prev = i
	}
}

func TestTargetValidateRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:6001", "192.168.1.2:80", "example.com:6001", "8.8.8.8:53"} {
		tg := Target{Protocol: ProtoPusher, Addr: addr, AppID: "1", AppKey: "k", AppSecret: "s"}
		if err := tg.Validate(); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: err = %v, want a loopback refusal", addr, err)
		}
	}
	ok := Target{Protocol: ProtoCentrifugo, Addr: "127.0.0.3:8000", APIKey: "k"}
	if err := ok.Validate(); err != nil {
		t.Errorf("127.0.0.3: %v", err)
	}
}

func TestMemberUser(t *testing.T) {
	cases := map[string]int{
		`{"event":"pusher_internal:member_added","channel":"presence-room-0","data":"{\"user_id\":\"u17\",\"user_info\":{}}"}`: 17,
		`{"push":{"channel":"presence:room-0","join":{"info":{"user":"u3","client":"abc"}}}}`:                                  3,
	}
	for raw, want := range cases {
		if got, ok := memberUser([]byte(raw)); !ok || got != want {
			t.Errorf("memberUser(%s) = %d, %v; want %d", raw, got, ok, want)
		}
	}
}

// FuzzParseStamp feeds server bytes to the receive-side scanners, which
// must never panic whatever a server sends.
func FuzzParseStamp(f *testing.F) {
	f.Add([]byte(`{"event":"bench","data":"{\"_bs\":1,\"_bt\":2,\"_bw\":-1}"}`))
	f.Add([]byte(`{"push":{"pub":{"data":{"_bs":-5,"_bt":`))
	f.Add([]byte(`_bs\":`))
	f.Add([]byte(`"user_id\":\"u`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStamp(b)
		_, _ = memberUser(b)
		_ = classifyPusher(b, 0)
	})
}
