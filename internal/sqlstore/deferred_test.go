package sqlstore

import (
	"encoding/json"
	"testing"
)

// appendEvents must produce exactly what json.Marshal produced before, since
// ClaimOutbox decodes rows written either way.
func TestAppendEventsMatchesMarshal(t *testing.T) {
	evs := []outboxEvent{
		{Channels: []string{"private-thread-a"}, Event: "new-message", Data: json.RawMessage(`{"id":"m1","content":"<b>\"hi\"</b> \u2028"}`)},
		{Channels: []string{"private-user-1", "private-user-2"}, Event: "inbox", Data: json.RawMessage(`{"unread":3}`)},
		{Channels: nil, Event: "odd \"name\"", Data: nil},
	}
	want, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := appendEvents(nil, evs)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []outboxEvent
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("appendEvents output is not JSON: %v\n%s", err, got)
	}
	json.Unmarshal(want, &b)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("decoded differently:\n got %s\nwant %s", ja, jb)
	}
}
