package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

func TestIdempotentSend(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	path := "/api/v1/threads/" + tid + "/messages"
	body := map[string]string{"clientId": "retry-me", "content": "hello"}
	var first, second messenger.Message
	e.must(201, e.do("pat", "POST", path, body)).decode(t, &first)
	e.must(200, e.do("pat", "POST", path, body)).decode(t, &second)
	if first.ID == "" || first.ID != second.ID || first.Seq != second.Seq {
		t.Fatalf("retry returned another message: %+v vs %+v", first, second)
	}

	t.Run("concurrent retries store one message", func(t *testing.T) {
		const n = 16
		var wg sync.WaitGroup
		statuses := make([]int, n)
		ids := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("doc", "POST", path, map[string]string{"clientId": "burst", "content": "once"})
				var m messenger.Message
				_ = json.Unmarshal(r.Body, &m)
				statuses[i], ids[i] = r.Status, m.ID
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			switch statuses[i] {
			case 201:
				created++
			case 200:
			default:
				t.Fatalf("status %d", statuses[i])
			}
			if ids[i] != ids[0] || ids[i] == "" {
				t.Fatalf("ids differ: %v", ids)
			}
		}
		if created != 1 {
			t.Fatalf("%d requests answered 201, want exactly 1", created)
		}
		var page messenger.MessagePage
		e.must(200, e.do("pat", "GET", path+"?limit=100", nil)).decode(t, &page)
		if len(page.Messages) != 2 {
			t.Fatalf("history has %d messages, want 2", len(page.Messages))
		}
		for i, m := range page.Messages {
			if m.Seq != int64(i+1) {
				t.Fatalf("seqs not gapless: %+v", page.Messages)
			}
		}
	})
}

func TestHistoryAndEdits(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	path := "/api/v1/threads/" + tid + "/messages"
	for i := 1; i <= 5; i++ {
		e.send("doc", tid, fmt.Sprint("c", i), fmt.Sprint("m", i))
	}
	var page messenger.MessagePage
	e.must(200, e.do("pat", "GET", path+"?before=5&limit=2", nil)).decode(t, &page)
	if len(page.Messages) != 2 || page.Messages[0].Seq != 3 || page.Messages[1].Seq != 4 || !page.HasMore {
		t.Fatalf("before=5 limit=2: %+v", page)
	}
	e.must(200, e.do("pat", "GET", path+"?after=3", nil)).decode(t, &page)
	if len(page.Messages) != 2 || page.Messages[0].Seq != 4 || page.HasMore {
		t.Fatalf("after=3: %+v", page)
	}
	mid := page.Messages[0].ID
	var m messenger.Message
	e.must(200, e.do("doc", "PATCH", path+"/"+mid, map[string]string{"content": "fixed"})).decode(t, &m)
	if m.Content != "fixed" || m.EditedAt == nil {
		t.Fatalf("edited: %+v", m)
	}
	e.pub.waitFor(t, "message-updated", func(p published) bool { return p.Event == "message-updated" })
	e.must(200, e.do("doc", "DELETE", path+"/"+mid, nil)).decode(t, &m)
	if m.Content != "" || m.DeletedAt == nil {
		t.Fatalf("deleted: %+v", m)
	}
	e.pub.waitFor(t, "message-deleted", func(p published) bool { return p.Event == "message-deleted" })
	if r := e.do("doc", "PATCH", path+"/"+mid, map[string]string{"content": "again"}); r.Status != 409 || r.errCode(t) != "conflict" {
		t.Fatalf("edit after delete: %d %s", r.Status, r.Body)
	}
	if r := e.do("doc", "PATCH", path+"/no-such-message", map[string]string{"content": "x"}); r.Status != 404 {
		t.Fatalf("edit of a missing message: %d", r.Status)
	}
}

func TestReadReceiptsMonotonic(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	for i := 1; i <= 3; i++ {
		e.send("doc", tid, fmt.Sprint("c", i), "hi")
	}
	var th messenger.Thread
	e.must(200, e.do("pat", "GET", "/api/v1/threads/"+tid, nil)).decode(t, &th)
	if th.Unread != 3 || th.ReadSeq != 0 {
		t.Fatalf("before reading: unread %d readSeq %d", th.Unread, th.ReadSeq)
	}
	read := func(seq int64) int64 {
		var rc messenger.Receipt
		e.must(200, e.do("pat", "POST", "/api/v1/threads/"+tid+"/read", map[string]int64{"seq": seq})).decode(t, &rc)
		return rc.Seq
	}
	for _, step := range []struct{ in, want int64 }{{2, 2}, {1, 2}, {0, 2}, {3, 3}, {2, 3}, {99, 3}} {
		if got := read(step.in); got != step.want {
			t.Fatalf("read(%d) = %d, want %d", step.in, got, step.want)
		}
	}
	e.must(200, e.do("pat", "GET", "/api/v1/threads/"+tid, nil)).decode(t, &th)
	if th.Unread != 0 || th.ReadSeq != 3 {
		t.Fatalf("after reading: unread %d readSeq %d", th.Unread, th.ReadSeq)
	}
	_, ev := e.pub.waitFor(t, "message-read seq 3", func(p published) bool {
		return p.Event == "message-read" && strings.Contains(string(p.Data), `"seq":3`)
	})
	var rc messenger.Receipt
	if err := json.Unmarshal(ev.Data, &rc); err != nil || rc.UserID != "pat" || rc.ThreadID != tid || ev.Channels[0] != "private-thread-"+tid {
		t.Fatalf("message-read event: %+v %s", ev.Channels, ev.Data)
	}
}

func TestNewMessagePublished(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	m := e.send("pat", tid, "c-1", "hello doc")
	_, ev := e.pub.waitFor(t, "new-message", func(p published) bool { return p.Event == "new-message" })
	var got messenger.Message
	if err := json.Unmarshal(ev.Data, &got); err != nil || got.ID != m.ID || got.ClientID != "c-1" || ev.Channels[0] != "private-thread-"+tid {
		t.Fatalf("new-message: %v %s", ev.Channels, ev.Data)
	}
	_, inbox := e.pub.waitFor(t, "inbox for doc", func(p published) bool { return p.Event == "inbox-update" && p.Channels[0] == "private-user-doc" })
	if !strings.Contains(string(inbox.Data), `"unread":1`) || strings.Contains(string(inbox.Data), "hello doc") {
		t.Fatalf("inbox-update: %s", inbox.Data)
	}
}

// typingEvents returns the typing events published so far for thread.
func typingEvents(e *env, thread string) []string {
	var out []string
	for _, p := range e.pub.snapshot() {
		if p.Event == EventTypingStart || p.Event == EventTypingStop {
			var te TypingEvent
			_ = json.Unmarshal(p.Data, &te)
			if te.ThreadID == thread && p.Channels[0] == "private-thread-"+thread {
				out = append(out, p.Event+":"+te.UserID)
			}
		}
	}
	return out
}

func waitTyping(t *testing.T, e *env, thread string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := typingEvents(e, thread)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) {
			t.Fatalf("typing events = %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TypingTTL = 100 * time.Millisecond })
	tid := e.thread()
	typing := "/api/v1/threads/" + tid + "/typing"

	t.Run("stops by itself", func(t *testing.T) {
		e.must(204, e.do("pat", "POST", typing, nil))
		waitTyping(t, e, tid, "typing-start:pat", "typing-stop:pat")
	})
	t.Run("explicit stop", func(t *testing.T) {
		e.must(204, e.do("doc", "POST", typing, map[string]bool{"typing": true}))
		e.must(204, e.do("doc", "POST", typing, map[string]bool{"typing": false}))
		waitTyping(t, e, tid, "typing-start:pat", "typing-stop:pat", "typing-start:doc", "typing-stop:doc")
	})
	t.Run("sending stops typing", func(t *testing.T) {
		e.must(204, e.do("pat", "POST", typing, `{"typing":true}`))
		e.send("pat", tid, "t-1", "done typing")
		waitTyping(t, e, tid, "typing-start:pat", "typing-stop:pat", "typing-start:doc", "typing-stop:doc", "typing-start:pat", "typing-stop:pat")
	})
	t.Run("stop when not typing publishes nothing", func(t *testing.T) {
		e.must(204, e.do("pat", "POST", typing, map[string]bool{"typing": false}))
		if got := typingEvents(e, tid); len(got) != 6 {
			t.Fatalf("typing events = %v", got)
		}
	})
}

// TestTypingRefresh: refreshes inside the TTL publish no second start, and
// the stop comes after the last refresh.
func TestTypingRefresh(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TypingTTL = time.Hour })
	tid := e.thread()
	for range 3 {
		e.must(204, e.do("pat", "POST", "/api/v1/threads/"+tid+"/typing", nil))
	}
	waitTyping(t, e, tid, "typing-start:pat")
	// Close sends the pending stop instead of leaving an indicator on.
	if err := e.api.Close(); err != nil {
		t.Fatal(err)
	}
	waitTyping(t, e, tid, "typing-start:pat", "typing-stop:pat")
}

func TestSyncLongPoll(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	var page messenger.SyncPage
	e.must(200, e.do("doc", "GET", "/api/v1/sync", nil)).decode(t, &page)
	for page.HasMore {
		e.must(200, e.do("doc", "GET", "/api/v1/sync?since="+page.Cursor, nil)).decode(t, &page)
	}
	cursor := page.Cursor

	t.Run("returns when a message arrives", func(t *testing.T) {
		done := make(chan response, 1)
		go func() { done <- e.do("doc", "GET", "/api/v1/sync?wait=30&since="+cursor, nil) }()
		// The send may land before or after the poll starts waiting; either
		// way the poll must answer with it, long before 30 s.
		m := e.send("pat", tid, "lp-1", "are you there?")
		var got messenger.SyncPage
		select {
		case r := <-done:
			e.must(200, r).decode(t, &got)
		case <-time.After(20 * time.Second):
			t.Fatal("long-poll did not return after a message was sent")
		}
		if len(got.Changes) == 0 || got.Changes[0].Message == nil || got.Changes[0].Message.ID != m.ID || got.Cursor == cursor {
			t.Fatalf("sync page = %+v", got)
		}
		cursor = got.Cursor
	})
	t.Run("no changes, short wait: empty page, same cursor", func(t *testing.T) {
		var got messenger.SyncPage
		e.must(200, e.do("doc", "GET", "/api/v1/sync?wait=1&since="+cursor, nil)).decode(t, &got)
		if len(got.Changes) != 0 || got.Cursor != cursor {
			t.Fatalf("idle sync = %+v", got)
		}
	})
	t.Run("since=now: no history, then only what comes next", func(t *testing.T) {
		var now messenger.SyncPage
		e.must(200, e.do("doc", "GET", "/api/v1/sync?since=now", nil)).decode(t, &now)
		if len(now.Changes) != 0 || now.HasMore || now.Cursor == "" {
			t.Fatalf("since=now = %+v", now)
		}
		// A long-poll may start from now too; with nothing new it ends
		// with an empty page at the head.
		var idle messenger.SyncPage
		e.must(200, e.do("doc", "GET", "/api/v1/sync?wait=1&since=now", nil)).decode(t, &idle)
		if len(idle.Changes) != 0 || idle.Cursor != now.Cursor {
			t.Fatalf("idle long-poll from now = %+v, want cursor %q", idle, now.Cursor)
		}
		m := e.send("pat", tid, "lp-now", "after now")
		var got messenger.SyncPage
		e.must(200, e.do("doc", "GET", "/api/v1/sync?since="+now.Cursor, nil)).decode(t, &got)
		if len(got.Changes) != 1 || got.Changes[0].Message == nil || got.Changes[0].Message.ID != m.ID {
			t.Fatalf("from the now cursor: %+v", got.Changes)
		}
	})
}

// waitObserver is the real service with a signal when a long-poll starts
// waiting, so the test knows the request is parked before closing.
type waitObserver struct {
	Messenger
	entered chan struct{}
}

func (w *waitObserver) Wait(ctx context.Context, userID, cursor string) error {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	return w.Messenger.Wait(ctx, userID, cursor)
}

func TestCloseEndsLongPoll(t *testing.T) {
	obs := &waitObserver{entered: make(chan struct{}, 1)}
	e := newEnv(t, func(c *Config) { obs.Messenger = c.Messenger; c.Messenger = obs })
	var page messenger.SyncPage
	e.must(200, e.do("doc", "GET", "/api/v1/sync", nil)).decode(t, &page)
	done := make(chan response, 1)
	go func() { done <- e.do("doc", "GET", "/api/v1/sync?wait=30&since="+page.Cursor, nil) }()
	select {
	case <-obs.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll never started waiting")
	}
	if err := e.api.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		var got messenger.SyncPage
		e.must(200, r).decode(t, &got)
		if len(got.Changes) != 0 || got.Cursor != page.Cursor {
			t.Fatalf("page after Close = %+v", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not end the long-poll")
	}
	// After Close a new poll does not wait either.
	e.must(200, e.do("doc", "GET", "/api/v1/sync?wait=30&since="+page.Cursor, nil))
}

func TestSendRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SendRate = 0.001; c.SendBurst = 2 })
	tid := e.thread()
	e.send("pat", tid, "r1", "one")
	e.send("pat", tid, "r2", "two")
	r := e.do("pat", "POST", "/api/v1/threads/"+tid+"/messages", map[string]string{"clientId": "r3", "content": "three"})
	if r.Status != 429 || r.errCode(t) != "rate_limited" {
		t.Fatalf("third send: %d %s", r.Status, r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	// Another user has their own bucket.
	e.send("doc", tid, "d1", "mine")
}

// TestAccessLogHasNoPHI: the log names routes and users, never content,
// names or tokens.
func TestAccessLogHasNoPHI(t *testing.T) {
	e := newEnv(t, nil)
	tid := e.thread()
	e.send("pat", tid, "c-1", secretText)
	e.do("eve", "GET", "/api/v1/threads/"+tid, nil)
	logs := e.logs.String()
	for _, bad := range []string{secretText, "Pat Patient", "Dr Doc", e.tokens["pat"], "Follow-up"} {
		if strings.Contains(logs, bad) {
			t.Fatalf("log contains %q", bad)
		}
	}
	for _, want := range []string{`"route":"POST /api/v1/threads/{id}/messages"`, `"status":201`, `"user_id":"pat"`, `"status":404`, `"request_id":`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t, nil)
	var u messenger.User
	e.must(200, e.do("doc", "GET", "/api/v1/me", nil)).decode(t, &u)
	if u.ID != "doc" || u.Role != messenger.RoleProvider || u.Name != "Dr Doc" {
		t.Fatalf("me = %+v", u)
	}
}

// panicky is the real service except that GetUser panics.
type panicky struct{ Messenger }

func (panicky) GetUser(context.Context, string) (*messenger.User, error) {
	panic("boom with " + secretText)
}

func TestPanicIsA500WithoutLeaks(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Messenger = panicky{c.Messenger} })
	r := e.do("pat", "GET", "/api/v1/me", nil)
	if r.Status != 500 || r.errCode(t) != "internal" {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if strings.Contains(e.logs.String(), secretText) || strings.Contains(string(r.Body), secretText) {
		t.Fatal("panic value leaked into the log or the response")
	}
	// The server keeps serving.
	e.must(200, e.do("pat", "GET", "/api/v1/threads", nil))
}
