package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

func countEvents(evs []Published, event string) int {
	n := 0
	for _, e := range evs {
		if e.Event == event {
			n++
		}
	}
	return n
}

func testOutboxPublishes(t *testing.T, f Factory) {
	rec := &Recorder{}
	svc := newService(t, f(t)(), messenger.Config{Publisher: rec})
	ctx := ctxT(t)
	th := seeded(t, svc)
	m := send(t, svc, patient, th.ID, "hello")
	must[*messenger.Receipt](t)(svc.MarkRead(ctx, provider, th.ID, m.Seq))
	must[*messenger.Message](t)(svc.EditMessage(ctx, patient, th.ID, m.ID, "hello!"))
	must[*messenger.Message](t)(svc.DeleteMessage(ctx, patient, th.ID, m.ID))
	// A failed send publishes nothing.
	_, _, err := svc.SendMessage(ctx, outsider, th.ID, messenger.NewMessage{ClientID: "z", Content: "no"})
	mustCode(t, err, messenger.ENOTFOUND)

	eventually(t, 10*time.Second, "events published", func() bool { return countEvents(rec.Snapshot(), messenger.EventMessageDeleted) == 1 })
	evs := rec.Snapshot()
	var order []string
	for _, e := range evs {
		order = append(order, e.Event)
	}
	want := map[string]int{messenger.EventThreadCreated: 1, messenger.EventNewMessage: 1, messenger.EventInbox: 3,
		messenger.EventMessageRead: 1, messenger.EventMessageUpdated: 1, messenger.EventMessageDeleted: 1}
	for ev, n := range want {
		if got := countEvents(evs, ev); got != n {
			t.Fatalf("%s published %d times, want %d (all: %v)", ev, got, n, order)
		}
	}
	for _, e := range evs {
		switch e.Event {
		case messenger.EventNewMessage:
			var p map[string]any
			if err := json.Unmarshal(e.Data, &p); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"id", "threadId", "seq", "senderId", "content", "createdAt", "clientId", "attachments"} {
				if _, ok := p[k]; !ok {
					t.Fatalf("new-message lacks %q: %s", k, e.Data)
				}
			}
			if len(e.Channels) != 1 || e.Channels[0] != "private-thread-"+th.ID || p["content"] != "hello" {
				t.Fatalf("new-message = %v %s", e.Channels, e.Data)
			}
		case messenger.EventMessageRead:
			var r map[string]any
			json.Unmarshal(e.Data, &r)
			if r["threadId"] != th.ID || r["userId"] != provider.UserID || r["seq"] != float64(1) || r["readAt"] == nil {
				t.Fatalf("message-read = %s", e.Data)
			}
		case messenger.EventInbox:
			var ie messenger.InboxEvent
			json.Unmarshal(e.Data, &ie)
			if ie.ThreadID != th.ID || !strings.HasPrefix(e.Channels[0], "private-user-") {
				t.Fatalf("inbox = %v %s", e.Channels, e.Data)
			}
			if e.Channels[0] == "private-user-"+provider.UserID && ie.SenderID == patient.UserID && ie.Unread != 1 {
				t.Fatalf("provider inbox unread = %d", ie.Unread)
			}
		case messenger.EventMessageDeleted:
			var dm messenger.Message
			json.Unmarshal(e.Data, &dm)
			if dm.Content != "" || dm.DeletedAt == nil || dm.ID != m.ID {
				t.Fatalf("deleted event carries content: %s", e.Data)
			}
		}
	}
	// The counter moves after the entries are marked done.
	eventually(t, 10*time.Second, "published counter", func() bool { return svc.Stats().Published == int64(len(evs)) })
}

// testOutboxRecovery: a message committed while no relay runs (the process
// "crashed" before publishing) is published exactly once after restart.
func testOutboxRecovery(t *testing.T, f Factory) {
	open := f(t)
	store := open()
	crashed := messenger.NewService(store, messenger.Config{}) // no publisher: nothing is relayed
	ctx := ctxT(t)
	th := seeded(t, crashed)
	m := send(t, crashed, patient, th.ID, "survives")
	gone := send(t, crashed, patient, th.ID, "deleted before the restart")
	must[*messenger.Message](t)(crashed.DeleteMessage(ctx, patient, th.ID, gone.ID))
	crashed.Close()
	store.Close()

	rec := &Recorder{}
	newService(t, open(), messenger.Config{Publisher: rec, RelayPoll: 20 * time.Millisecond})
	eventually(t, 10*time.Second, "recovered publish", func() bool { return countEvents(rec.Snapshot(), messenger.EventMessageDeleted) == 1 })
	// The sends are published as their messages are now: the first as it
	// was sent, the deleted one without its content; and with the inbox
	// updates their commits counted.
	var first messenger.Message
	for _, e := range rec.Snapshot() {
		switch {
		case strings.Contains(string(e.Data), `"content":"deleted before`):
			t.Fatalf("recovery republished deleted content: %s %s", e.Event, e.Data)
		case e.Event == messenger.EventNewMessage && strings.Contains(string(e.Data), m.ID):
			json.Unmarshal(e.Data, &first)
		case e.Event == messenger.EventInbox && e.Channels[0] == messenger.UserChannel(provider.UserID):
			var ie messenger.InboxEvent
			json.Unmarshal(e.Data, &ie)
			if ie.Unread != ie.Seq || ie.SenderID != patient.UserID {
				t.Fatalf("recovered inbox update for the provider = %s, want unread = seq from %s", e.Data, patient.UserID)
			}
		}
	}
	if first.Content != "survives" || first.Seq != m.Seq || first.ClientID != m.ClientID || !first.CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("recovered new-message = %+v, want %+v", first, *m)
	}
	if n := countEvents(rec.Snapshot(), messenger.EventNewMessage); n != 2 {
		t.Fatalf("%d new-message events recovered, want 2", n)
	}
	// Give a second chance to double-publish: another drain must find nothing.
	other := &Recorder{}
	newService(t, open(), messenger.Config{Publisher: other, RelayPoll: 20 * time.Millisecond})
	send(t, newService(t, open(), messenger.Config{}), provider, th.ID, "marker")
	eventually(t, 10*time.Second, "marker published", func() bool {
		return countEvents(rec.Snapshot(), messenger.EventNewMessage)+countEvents(other.Snapshot(), messenger.EventNewMessage) == 3
	})
	all := append(rec.Snapshot(), other.Snapshot()...)
	n := 0
	for _, e := range all {
		if e.Event == messenger.EventNewMessage && strings.Contains(string(e.Data), m.ID) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("recovered message published %d times", n)
	}
	_ = ctx
}

// testOutboxLeasedToWriter: rows written while a relay runs are leased to
// it, so no other relay can claim them; once its service stops, its store
// writes rows unleased, which any relay claims at once; and rows the dead
// relay never published (its publisher failed to the end) are taken over
// by another relay when the lease ends, and published once.
func testOutboxLeasedToWriter(t *testing.T, f Factory) {
	open := f(t)
	ctx := ctxT(t)
	store := open()
	broken := &Recorder{fail: 1 << 30}
	dying := newService(t, store, messenger.Config{Publisher: broken, RelayLease: 2 * time.Second, RelayPoll: 20 * time.Millisecond})
	th := seeded(t, dying)
	orphan := send(t, dying, patient, th.ID, "orphan")
	intruder := open()
	if got, err := intruder.ClaimOutbox(ctx, "intruder", time.Now(), time.Second, 100); err != nil || len(got) != 0 {
		t.Fatalf("another relay claimed %d entries leased to the writer (err %v)", len(got), err)
	}
	dying.Close()

	after := send(t, messenger.NewService(store, messenger.Config{}), provider, th.ID, "unleased")
	got, err := intruder.ClaimOutbox(ctx, "intruder", time.Now(), 100*time.Millisecond, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || !strings.Contains(string(got[0].Data), after.ID) {
		t.Fatalf("claim after the relay stopped = %+v, want the unleased row only", got)
	}
	for _, e := range got {
		if strings.Contains(string(e.Data), orphan.ID) {
			t.Fatalf("claimed a row still leased to the stopped relay: %s", e.Data)
		}
	}

	// The intruder's short lease ends too; a live relay publishes both.
	rec := &Recorder{}
	newService(t, open(), messenger.Config{Publisher: rec, RelayPoll: 20 * time.Millisecond})
	eventually(t, 10*time.Second, "takeover after the leases end", func() bool {
		return countEvents(rec.Snapshot(), messenger.EventNewMessage) == 2
	})
	n := 0
	for _, e := range rec.Snapshot() {
		if e.Event == messenger.EventNewMessage && strings.Contains(string(e.Data), orphan.ID) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the orphaned message was published %d times", n)
	}
}

// testOutboxTakeoverWhileBusy: a relay kept busy by its own node's sends
// still takes over rows a dead relay left leased, once the lease ends.
func testOutboxTakeoverWhileBusy(t *testing.T, f Factory) {
	open := f(t)
	dying := newService(t, open(), messenger.Config{Publisher: &Recorder{fail: 1 << 30}, RelayLease: 300 * time.Millisecond})
	th := seeded(t, dying)
	orphan := send(t, dying, patient, th.ID, "orphan")
	dying.Close()

	rec := &Recorder{}
	busy := newService(t, open(), messenger.Config{Publisher: rec, RelayPoll: 20 * time.Millisecond})
	ctx := ctxT(t)
	stop := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				sent <- nil
				return
			default:
			}
			in := messenger.NewMessage{ClientID: fmt.Sprint("busy-", i), Content: "load"}
			if _, _, err := busy.SendMessage(ctx, provider, th.ID, in); err != nil {
				sent <- err
				return
			}
		}
	}()
	eventually(t, 10*time.Second, "the orphaned message taken over while the relay is busy", func() bool {
		for _, e := range rec.Snapshot() {
			if e.Event == messenger.EventNewMessage && strings.Contains(string(e.Data), orphan.ID) {
				return true
			}
		}
		return false
	})
	close(stop)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// testOutboxHandOffOrder: concurrent sends into one thread are handed to
// the relay right after their commits and published in seq order, each
// once.
func testOutboxHandOffOrder(t *testing.T, f Factory) {
	rec := &Recorder{}
	svc := newService(t, f(t)(), messenger.Config{Publisher: rec})
	ctx := ctxT(t)
	th := seeded(t, svc)
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := messenger.NewMessage{ClientID: fmt.Sprint("order-", i), Content: "x"}
			if _, _, err := svc.SendMessage(ctx, []messenger.Actor{patient, provider}[i%2], th.ID, in); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	eventually(t, 10*time.Second, "every new-message published", func() bool {
		return countEvents(rec.Snapshot(), messenger.EventNewMessage) >= n
	})
	var last int64
	for _, e := range rec.Snapshot() {
		if e.Event != messenger.EventNewMessage {
			continue
		}
		var m messenger.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq != last+1 {
			t.Fatalf("new-message seq %d published after %d", m.Seq, last)
		}
		last = m.Seq
	}
	if last != n {
		t.Fatalf("last published seq %d, want %d", last, n)
	}
}

// testOutboxUndecodable: a stored send entry that cannot be decoded is
// logged, counted and dropped; it does not stop the relay, and the sends
// after it are published.
func testOutboxUndecodable(t *testing.T, f Factory) {
	open := f(t)
	store := open()
	quiet := messenger.NewService(store, messenger.Config{}) // no relay: rows wait
	th := seeded(t, quiet)
	ctx := ctxT(t)
	err := store.Write(ctx, func(ctx context.Context, tx messenger.Tx) error {
		return tx.InsertOutbox(ctx, []messenger.OutboxEntry{{Event: "parley:sent", Data: []byte(`{"m":5}`)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	after := send(t, quiet, patient, th.ID, "after the bad row")
	quiet.Close()

	rec := &Recorder{}
	svc := newService(t, open(), messenger.Config{Publisher: rec, RelayPoll: 20 * time.Millisecond})
	eventually(t, 10*time.Second, "the send after the bad row", func() bool {
		for _, e := range rec.Snapshot() {
			if e.Event == messenger.EventNewMessage && strings.Contains(string(e.Data), after.ID) {
				return true
			}
		}
		return false
	})
	if n := svc.Stats().OutboxDropped; n != 1 {
		t.Fatalf("OutboxDropped = %d, want 1", n)
	}
	for _, e := range rec.Snapshot() {
		if e.Event == "parley:sent" || len(e.Channels) == 0 {
			t.Fatalf("published the stored entry itself: %+v", e)
		}
	}
}

// stallingPublisher blocks on its first publish until the context ends,
// then reports success — as the hub does when the broker publish it could
// not finish is only logged — and records every later publish.
type stallingPublisher struct {
	Recorder
	stalled atomic.Bool
}

func (p *stallingPublisher) Publish(ctx context.Context, channels []string, event string, data []byte) error {
	if p.stalled.CompareAndSwap(false, true) {
		<-ctx.Done()
		return nil
	}
	return p.Recorder.Publish(ctx, channels, event, data)
}

// testOutboxPublishDeadline: an event whose publish deadline ended is
// published again, even when the publisher reported success.
func testOutboxPublishDeadline(t *testing.T, f Factory) {
	pub := &stallingPublisher{}
	svc := newService(t, f(t)(), messenger.Config{Publisher: pub, PublishTimeout: 50 * time.Millisecond})
	th := seeded(t, svc)
	eventually(t, 10*time.Second, "thread-created published after the stalled attempt", func() bool {
		return countEvents(pub.Snapshot(), messenger.EventThreadCreated) == 1
	})
	if !pub.stalled.Load() {
		t.Fatal("the publisher never stalled")
	}
	m := send(t, svc, patient, th.ID, "after the stall")
	eventually(t, 10*time.Second, "the next send", func() bool {
		for _, e := range pub.Snapshot() {
			if e.Event == messenger.EventNewMessage && strings.Contains(string(e.Data), m.ID) {
				return true
			}
		}
		return false
	})
}

// testOutboxLease: entries claimed by a relay that died are taken over after
// the lease, and published once; a publish failure is retried in order.
func testOutboxLease(t *testing.T, f Factory) {
	open := f(t)
	store := open()
	quiet := messenger.NewService(store, messenger.Config{})
	th := seeded(t, quiet)
	send(t, quiet, patient, th.ID, "one")
	ctx := ctxT(t)
	claimed, err := store.ClaimOutbox(ctx, "dead-node", time.Now(), 300*time.Millisecond, 100)
	if err != nil || len(claimed) == 0 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	// While leased, another owner gets nothing.
	if again, err := store.ClaimOutbox(ctx, "other", time.Now(), time.Second, 100); err != nil || len(again) != 0 {
		t.Fatalf("claimed leased rows: %v %d", err, len(again))
	}
	rec := &Recorder{fail: 2}
	newService(t, open(), messenger.Config{Publisher: rec, RelayPoll: 20 * time.Millisecond})
	eventually(t, 10*time.Second, "takeover", func() bool { return countEvents(rec.Snapshot(), messenger.EventNewMessage) == 1 })
	// The claimed rows hold thread-created and the send, which stands for
	// new-message and both participants' inbox updates.
	evs := rec.Snapshot()
	if len(evs) != 4 || countEvents(evs, messenger.EventInbox) != 2 {
		t.Fatalf("published %d events (%d inbox updates) from %d claimed entries, want 4 (2)", len(evs), countEvents(evs, messenger.EventInbox), len(claimed))
	}
	if evs[0].Event != messenger.EventThreadCreated {
		t.Fatalf("order broken after failures: first is %s", evs[0].Event)
	}
}

func testSync(t *testing.T, f Factory) {
	open := f(t)
	a := newService(t, open(), messenger.Config{})
	b := newService(t, open(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, a)

	// A reader syncs continuously while two stores write concurrently.
	const writers, each = 4, 20
	var wg sync.WaitGroup
	var stop atomic.Bool
	seen := map[string]int{}
	var kinds []string
	cursor := ""
	reader := make(chan error, 1)
	go func() {
		for {
			done := stop.Load()
			page, err := a.Sync(ctx, provider, cursor, 7)
			if err != nil {
				reader <- err
				return
			}
			for _, c := range page.Changes {
				kinds = append(kinds, c.Kind)
				if c.Kind == messenger.ChangeNewMessage {
					seen[c.Message.ClientID]++
				}
			}
			cursor = page.Cursor
			if done && !page.HasMore {
				reader <- nil
				return
			}
			if len(page.Changes) == 0 {
				wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				a.Wait(wctx, provider.UserID, cursor)
				cancel()
			}
		}
	}()
	for w := range writers {
		svc := a
		if w%2 == 1 {
			svc = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: fmt.Sprintf("s%d-%d", w, i), Content: "x"})
			}
		}()
	}
	wg.Wait()
	// Everything is committed; on PostgreSQL the feed may hold back rows
	// until older transactions end, so poll until the last one shows.
	eventually(t, 10*time.Second, "feed catches up", func() bool {
		p, err := a.Sync(ctx, provider, "", 500)
		return err == nil && len(p.Changes) >= 1+writers*each
	})
	stop.Store(true)
	if err := <-reader; err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*each {
		t.Fatalf("sync saw %d distinct messages, want %d", len(seen), writers*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s seen %d times", id, n)
		}
	}
	if kinds[0] != messenger.ChangeThreadCreated {
		t.Fatalf("first change = %s", kinds[0])
	}
	// Edits, deletes and reads show up after the cursor, with current state.
	m := send(t, a, patient, th.ID, "later")
	must[*messenger.Message](t)(a.EditMessage(ctx, patient, th.ID, m.ID, "edited"))
	must[*messenger.Receipt](t)(a.MarkRead(ctx, provider, th.ID, m.Seq))
	must[*messenger.Message](t)(a.DeleteMessage(ctx, patient, th.ID, m.ID))
	var tail []messenger.Change
	eventually(t, 10*time.Second, "tail", func() bool {
		p, err := a.Sync(ctx, provider, cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		tail = p.Changes
		return len(tail) == 4
	})
	wantKinds := []string{messenger.ChangeNewMessage, messenger.ChangeMessageUpdated, messenger.ChangeMessageRead, messenger.ChangeMessageDeleted}
	for i, c := range tail {
		if c.Kind != wantKinds[i] {
			t.Fatalf("tail[%d] = %s, want %s", i, c.Kind, wantKinds[i])
		}
		if c.Message != nil && c.Message.Content != "" {
			t.Fatalf("deleted message still has content in sync")
		}
	}
	if tail[2].Receipt == nil || tail[2].Receipt.Seq != m.Seq || tail[2].Receipt.UserID != provider.UserID {
		t.Fatalf("read change = %+v", tail[2].Receipt)
	}
	// An outsider sees nothing of it.
	p := must[*messenger.SyncPage](t)(a.Sync(ctx, outsider, "", 100))
	if len(p.Changes) != 0 {
		t.Fatalf("outsider sync = %d changes", len(p.Changes))
	}
	if _, err := a.Sync(ctx, provider, "garbage", 10); messenger.ErrorCode(err) != messenger.EINVALID {
		t.Fatalf("bad cursor: %v", err)
	}
}

func testWait(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	head := must[*messenger.SyncPage](t)(svc.Sync(ctx, provider, "", 500)).Cursor
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := svc.Wait(short, provider.UserID, head); err != context.DeadlineExceeded {
		t.Fatalf("Wait with nothing new = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Wait(ctx, provider.UserID, head) }()
	send(t, svc, patient, th.ID, "wake")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p := must[*messenger.SyncPage](t)(svc.Sync(ctx, provider, head, 10))
	if len(p.Changes) != 1 || p.Changes[0].Message.Content != "wake" {
		t.Fatalf("after wait: %+v", p.Changes)
	}
}

// testSyncNow checks the "now" cursor: it carries no changes, and following
// it yields every change committed afterwards exactly once. On PostgreSQL
// the head lies below every transaction still running anywhere on the
// server, so changes committed shortly before may come again (clients
// dedupe them), and changes may become visible a moment after commit.
func testSyncNow(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	before := send(t, svc, patient, th.ID, "before")
	now := must[*messenger.SyncPage](t)(svc.Sync(ctx, provider, messenger.SyncNow, 10))
	if len(now.Changes) != 0 || now.HasMore || now.Cursor == "" || now.Cursor == messenger.SyncNow {
		t.Fatalf("since=now: %+v", now)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := messenger.NewMessage{ClientID: fmt.Sprint("now-", i), Content: fmt.Sprint("after-", i)}
			if _, _, err := svc.SendMessage(ctx, patient, th.ID, in); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	cursor := now.Cursor
	eventually(t, 10*time.Second, "every message sent after since=now", func() bool {
		for {
			p := must[*messenger.SyncPage](t)(svc.Sync(ctx, provider, cursor, 7))
			for _, c := range p.Changes {
				switch {
				case c.Kind == messenger.ChangeThreadCreated && c.ThreadID == th.ID,
					c.Message != nil && c.Message.ID == before.ID:
					// committed before "now": may come again on PostgreSQL
				case c.Message == nil || !strings.HasPrefix(c.Message.Content, "after-"):
					t.Fatalf("since=now returned a change it never should: %+v", c)
				case seen[c.Message.Content]:
					t.Fatalf("since=now returned %q twice", c.Message.Content)
				default:
					seen[c.Message.Content] = true
				}
			}
			cursor = p.Cursor
			if !p.HasMore {
				return len(seen) == n
			}
		}
	})
	// The head of an empty feed is a usable cursor too.
	empty := newService(t, f(t)(), messenger.Config{})
	head := must[*messenger.SyncPage](t)(empty.Sync(ctx, provider, messenger.SyncNow, 10)).Cursor
	th2 := seeded(t, empty)
	eventually(t, 10*time.Second, "the thread created after since=now on an empty feed", func() bool {
		p := must[*messenger.SyncPage](t)(empty.Sync(ctx, provider, head, 10))
		return len(p.Changes) == 1 && p.Changes[0].Kind == messenger.ChangeThreadCreated && p.Changes[0].ThreadID == th2.ID
	})
}

func testNotifications(t *testing.T, f Factory) {
	secret := []byte("s3cret")
	var (
		mu     sync.Mutex
		bodies [][]byte
		calls  atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(messenger.SignatureHeader) != messenger.Sign(secret, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if calls.Add(1) <= 2 { // fail twice: retries must follow
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	pres := &presence{}
	svc := newService(t, f(t)(), messenger.Config{WebhookURL: srv.URL, WebhookSecret: secret, Presence: pres,
		NotifyDelay: 50 * time.Millisecond, NotifyPoll: 10 * time.Millisecond, NotifyRetryBase: 10 * time.Millisecond})
	ctx := ctxT(t)
	th := seeded(t, svc)
	pres.set(patient.UserID, true) // the patient is online: no webhook for them
	m := send(t, svc, patient, th.ID, "secret diagnosis")
	eventually(t, 10*time.Second, "webhook delivered", func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) == 1 })
	send(t, svc, provider, th.ID, "reply for an online patient")
	mu.Lock()
	body := bodies[0]
	mu.Unlock()
	var ev messenger.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.UserID != provider.UserID || ev.ThreadID != th.ID || ev.MessageID != m.ID || ev.Seq != m.Seq || ev.Unread != 1 {
		t.Fatalf("webhook = %s", body)
	}
	for _, leak := range []string{"secret", "diagnosis", patient.Name, provider.Name} {
		if strings.Contains(string(body), leak) {
			t.Fatalf("webhook leaks %q: %s", leak, body)
		}
	}
	eventually(t, 10*time.Second, "skip counted", func() bool { return svc.Stats().WebhooksSkipped >= 1 })
	st := svc.Stats()
	if st.WebhookErrors != 2 || st.WebhooksSent != 1 {
		t.Fatalf("stats = %+v", st)
	}
	// A message read before the delay sends nothing.
	m2 := send(t, svc, patient, th.ID, "read quickly")
	must[*messenger.Receipt](t)(svc.MarkRead(ctx, provider, th.ID, m2.Seq))
	eventually(t, 10*time.Second, "read one skipped", func() bool { return svc.Stats().WebhooksSkipped >= 2 })
	if svc.Stats().WebhooksSent != 1 {
		t.Fatal("a read message was notified")
	}
}

func testAttachments(t *testing.T, f Factory) {
	store := f(t)()
	svc := newService(t, store, messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	now := time.Now().UTC().Truncate(time.Microsecond)
	up := func(id, owner string, size int64) {
		t.Helper()
		err := store.CreateUpload(ctx, &messenger.Attachment{ID: id, OwnerID: owner, Name: id + ".pdf", ContentType: "application/pdf",
			Size: size, SHA256: strings.Repeat("a", 64), StorageKey: "k/" + id, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	up("att1", patient.UserID, 100)
	up("att2", patient.UserID, 50)
	up("att3", provider.UserID, 7)
	if err := store.CreateUpload(ctx, &messenger.Attachment{ID: "att1", OwnerID: "x", CreatedAt: now}); messenger.ErrorCode(err) != messenger.ECONFLICT {
		t.Fatalf("duplicate upload id: %v", err)
	}
	if n := must[int64](t)(store.PendingUploadBytes(ctx, patient.UserID)); n != 150 {
		t.Fatalf("pending bytes = %d", n)
	}
	// Someone else's upload cannot be attached; nothing is linked then.
	_, _, err := svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: "a0", Content: "x", AttachmentIDs: []string{"att1", "att3"}})
	mustCode(t, err, messenger.EINVALID)
	if a := must[*messenger.Attachment](t)(store.GetAttachment(ctx, "att1")); a.Status != messenger.AttachmentPending {
		t.Fatalf("att1 status after failed send = %s", a.Status)
	}
	m, _, err := svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: "a1", AttachmentIDs: []string{"att2", "att1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].ID != "att2" || m.Attachments[1].Size != 100 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if m.Seq != 1 {
		t.Fatalf("failed send consumed a seq: %d", m.Seq)
	}
	p := must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{}))
	if len(p.Messages[0].Attachments) != 2 {
		t.Fatalf("history attachments = %+v", p.Messages[0].Attachments)
	}
	a := must[*messenger.Attachment](t)(svc.AttachmentForDownload(ctx, provider, "att1"))
	if a.MessageID != m.ID || a.ThreadID != th.ID || a.Status != messenger.AttachmentAttached {
		t.Fatalf("attachment = %+v", a)
	}
	if _, err := svc.AttachmentForDownload(ctx, outsider, "att1"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
		t.Fatalf("outsider download: %v", err)
	}
	if _, err := svc.AttachmentForDownload(ctx, patient, "att3"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
		t.Fatalf("someone else's pending upload: %v", err)
	}
	// Reusing an attached upload fails.
	_, _, err = svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: "a2", AttachmentIDs: []string{"att1"}})
	mustCode(t, err, messenger.EINVALID)
	// Deleting the message frees its attachments for cleanup.
	must[*messenger.Message](t)(svc.DeleteMessage(ctx, patient, th.ID, m.ID))
	exp := must[[]*messenger.Attachment](t)(store.ListExpiredUploads(ctx, now, 10))
	if len(exp) != 2 {
		t.Fatalf("expired after delete = %d", len(exp))
	}
	exp = must[[]*messenger.Attachment](t)(store.ListExpiredUploads(ctx, now.Add(time.Hour), 10))
	if len(exp) != 3 { // + att3, pending and old
		t.Fatalf("expired incl. stale pending = %d", len(exp))
	}
	for _, a := range exp {
		if err := store.DeleteAttachment(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.GetAttachment(ctx, "att3"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
		t.Fatalf("deleted attachment: %v", err)
	}
}
