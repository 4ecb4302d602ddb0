package messenger

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestErrorCode(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", Errorf(ENOTFOUND, "thread not found"))
	if ErrorCode(err) != ENOTFOUND || ErrorMessage(err) != "thread not found" {
		t.Fatalf("got %q %q", ErrorCode(err), ErrorMessage(err))
	}
	if ErrorCode(errors.New("driver: boom")) != EINTERNAL || ErrorMessage(errors.New("x")) != "Internal error." {
		t.Fatal("foreign errors must be internal and hide their text")
	}
	if ErrorCode(nil) != "" {
		t.Fatal("nil has no code")
	}
}

func TestSignMatchesHMAC(t *testing.T) {
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte("body"))
	if got, want := Sign([]byte("k"), []byte("body")), hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestRetryDelayDoublesAndCaps(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := retryDelay(i+1, time.Second, time.Minute); got != w {
			t.Fatalf("attempt %d: %v, want %v", i+1, got, w)
		}
	}
	if got := retryDelay(40, time.Second, time.Minute); got != time.Minute {
		t.Fatalf("cap: %v", got)
	}
}

func TestCursorsRoundTrip(t *testing.T) {
	p := ChangePos{TxOrder: 77, ID: 12345}
	got, err := parseChangeCursor(formatChangeCursor(p))
	if err != nil || got != p {
		t.Fatalf("change cursor: %v %v", got, err)
	}
	c := ThreadCursor{LastActivity: time.UnixMicro(1_700_000_000_123_456).UTC(), ID: "abc"}
	gc, ok := parseThreadCursor(formatThreadCursor(c))
	if !ok || gc != c {
		t.Fatalf("thread cursor: %v %v", gc, ok)
	}
	for _, bad := range []string{"x", "1", "1.", ".1", "-1.2", "1.-2", "1.2.3", "99999999999999999999.1"} {
		if _, err := parseChangeCursor(bad); ErrorCode(err) != EINVALID {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, ok := range []string{"a", "A-b_c=d@e,f.g;h", string(make([]byte, 0)) + "x"} {
		if !validID(ok) {
			t.Fatalf("%q rejected", ok)
		}
	}
	long := make([]byte, MaxIDLength+1)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", "a b", "a/b", "é", string(long), "a\x00"} {
		if validID(bad) {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// Cursors come from clients: they must never panic and must round-trip.
func FuzzParseChangeCursor(f *testing.F) {
	for _, s := range []string{"", "0.1", "12.34", "x", "1.2.3", "-1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseChangeCursor(s)
		if err != nil || s == "" {
			return
		}
		if q, err := parseChangeCursor(formatChangeCursor(p)); err != nil || q != p {
			t.Fatalf("%q: round trip %v -> %v (%v)", s, p, q, err)
		}
	})
}

func FuzzParseThreadCursor(f *testing.F) {
	f.Add(formatThreadCursor(ThreadCursor{LastActivity: time.Unix(1, 0), ID: "t1"}))
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseThreadCursor(s)
		if !ok {
			return
		}
		if !validID(c.ID) || c.LastActivity.Before(time.Unix(0, 0)) {
			t.Fatalf("%q parsed to invalid %+v", s, c)
		}
	})
}
