package messenger

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendJSONString: the hand-written encoder writes exactly what
// encoding/json writes for any string, valid UTF-8 or not.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "pat-1", `q"uote\back`, "<a>&b", "\x00\x01\b\f\n\r\t\x1f\x7f", "é日本\u2028\u2029", "\xff\xfe bad", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestCompactEncodersMatchJSON: the stored record of a send and the inbox
// event are byte for byte what json.Marshal makes of them.
func TestCompactEncodersMatchJSON(t *testing.T) {
	for _, rec := range []sentRecord{
		{ThreadID: "t1", MessageID: "m1", Seq: 42, SenderID: "pat-1", Unread: []unreadCount{{"doc-1", 3}, {"pat-1", 0}}},
		{ThreadID: `we"ird`, MessageID: "m<2>", Seq: -1, SenderID: "", Unread: []unreadCount{}},
	} {
		want, _ := json.Marshal(rec)
		if got := rec.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("sentRecord = %s, want %s", got, want)
		}
		var back sentRecord
		if err := json.Unmarshal(rec.appendJSON(nil), &back); err != nil || back.MessageID != rec.MessageID || back.Seq != rec.Seq {
			t.Fatalf("decoded %+v, %v", back, err)
		}
	}
	e := InboxEvent{ThreadID: "t1", Seq: 7, SenderID: "doc&1", Unread: 2}
	want, _ := json.Marshal(e)
	if got := appendInboxJSON(nil, e); !bytes.Equal(got, want) {
		t.Fatalf("inbox = %s, want %s", got, want)
	}
}
