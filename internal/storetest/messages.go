package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/messenger"
)

func testSendAndHistory(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{MaxContentRunes: 10})
	ctx := ctxT(t)
	th := seeded(t, svc)
	for i := 1; i <= 7; i++ {
		m := send(t, svc, patient, th.ID, fmt.Sprintf("m%d", i))
		if m.Seq != int64(i) || m.ThreadID != th.ID || m.SenderID != patient.UserID || m.CreatedAt.IsZero() {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
	// Newest page, then older by before.
	p := must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{Limit: 3}))
	if seqs(p.Messages) != "5,6,7" || !p.HasMore {
		t.Fatalf("newest page = %s hasMore=%v", seqs(p.Messages), p.HasMore)
	}
	p = must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{Before: 5, Limit: 3}))
	if seqs(p.Messages) != "2,3,4" || !p.HasMore {
		t.Fatalf("before 5 = %s hasMore=%v", seqs(p.Messages), p.HasMore)
	}
	p = must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{Before: 2, Limit: 3}))
	if seqs(p.Messages) != "1" || p.HasMore {
		t.Fatalf("before 2 = %s hasMore=%v", seqs(p.Messages), p.HasMore)
	}
	p = must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{After: 4, Limit: 2}))
	if seqs(p.Messages) != "5,6" || !p.HasMore {
		t.Fatalf("after 4 = %s hasMore=%v", seqs(p.Messages), p.HasMore)
	}
	p = must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{After: 2, Before: 5}))
	if seqs(p.Messages) != "3,4" || p.HasMore {
		t.Fatalf("between = %s", seqs(p.Messages))
	}
	for _, q := range []messenger.MessageQuery{{Limit: 101}, {Limit: -1}, {Before: -1}, {After: 5, Before: 5}} {
		if _, err := svc.ListMessages(ctx, provider, th.ID, q); messenger.ErrorCode(err) != messenger.EINVALID {
			t.Fatalf("query %+v: %v", q, err)
		}
	}
	// Validation.
	cases := []struct {
		in   messenger.NewMessage
		code string
	}{
		{messenger.NewMessage{ClientID: "a", Content: strings.Repeat("é", 11)}, messenger.ETOOLARGE},
		{messenger.NewMessage{ClientID: "", Content: "x"}, messenger.EINVALID},
		{messenger.NewMessage{ClientID: strings.Repeat("c", 129), Content: "x"}, messenger.EINVALID},
		{messenger.NewMessage{ClientID: "b", Content: "  "}, messenger.EINVALID},
		{messenger.NewMessage{ClientID: "c", Content: "bad\xff"}, messenger.EINVALID},
		{messenger.NewMessage{ClientID: "d", Content: "x", AttachmentIDs: make([]string, 11)}, messenger.ETOOLARGE},
	}
	for _, c := range cases {
		_, _, err := svc.SendMessage(ctx, patient, th.ID, c.in)
		mustCode(t, err, c.code)
	}
	// Exactly 10 runes is allowed.
	if _, _, err := svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: "ok", Content: strings.Repeat("é", 10)}); err != nil {
		t.Fatal(err)
	}
}

func seqs(ms []*messenger.Message) string {
	var b []string
	for _, m := range ms {
		b = append(b, fmt.Sprint(m.Seq))
	}
	return strings.Join(b, ",")
}

func testIdempotency(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	const n = 50
	var wg sync.WaitGroup
	type result struct {
		m   *messenger.Message
		dup bool
		err error
	}
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, dup, err := svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: "same-key", Content: "once"})
			results[i] = result{m, dup, err}
		}()
	}
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !r.dup {
			fresh++
		}
		if r.m.ID != results[0].m.ID || r.m.Seq != 1 {
			t.Fatalf("retry returned %s seq %d, want %s seq 1", r.m.ID, r.m.Seq, results[0].m.ID)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d sends were not duplicates, want 1", fresh)
	}
	p := must[*messenger.MessagePage](t)(svc.ListMessages(ctx, patient, th.ID, messenger.MessageQuery{}))
	if len(p.Messages) != 1 {
		t.Fatalf("stored %d messages, want 1", len(p.Messages))
	}
	// The next message still gets seq 2: failed duplicates used no seq.
	if m := send(t, svc, provider, th.ID, "next"); m.Seq != 2 {
		t.Fatalf("next seq = %d, want 2", m.Seq)
	}
	// The same clientId from another sender is another message.
	m, dup, err := svc.SendMessage(ctx, provider, th.ID, messenger.NewMessage{ClientID: "same-key", Content: "mine"})
	if err != nil || dup || m.Seq != 3 {
		t.Fatalf("other sender: %+v dup=%v err=%v", m, dup, err)
	}
}

func testGaplessSeq(t *testing.T, f Factory) {
	open := f(t)
	a := newService(t, open(), messenger.Config{})
	b := newService(t, open(), messenger.Config{}) // a second store instance on the same database
	ctx := ctxT(t)
	th := seeded(t, a)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		svc, who := a, patient
		if w%2 == 1 {
			svc, who = b, provider
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, _, err := svc.SendMessage(ctx, who, th.ID, messenger.NewMessage{ClientID: fmt.Sprintf("w%d-%d", w, i), Content: "x"})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []*messenger.Message
	before := int64(0)
	for { // newest first, page by page backwards
		p := must[*messenger.MessagePage](t)(a.ListMessages(ctx, patient, th.ID, messenger.MessageQuery{Before: before, Limit: 100}))
		all = append(p.Messages, all...)
		if !p.HasMore {
			break
		}
		before = p.Messages[0].Seq
	}
	if len(all) != writers*each {
		t.Fatalf("stored %d messages, want %d", len(all), writers*each)
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: not gapless", i, m.Seq)
		}
	}
	th2 := must[*messenger.Thread](t)(b.GetThread(ctx, provider, th.ID))
	if th2.LastSeq != writers*each {
		t.Fatalf("thread last seq = %d", th2.LastSeq)
	}
}

func testReceipts(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	for i := range 4 {
		send(t, svc, patient, th.ID, fmt.Sprint("p", i))
	}
	got := must[*messenger.Thread](t)(svc.GetThread(ctx, provider, th.ID))
	if got.Unread != 4 || got.ReadSeq != 0 {
		t.Fatalf("provider unread = %d readSeq = %d", got.Unread, got.ReadSeq)
	}
	if u := must[*messenger.Thread](t)(svc.GetThread(ctx, patient, th.ID)).Unread; u != 0 {
		t.Fatalf("own messages count as unread: %d", u)
	}
	r := must[*messenger.Receipt](t)(svc.MarkRead(ctx, provider, th.ID, 3))
	if r.Seq != 3 || r.UserID != provider.UserID || r.ReadAt.IsZero() {
		t.Fatalf("receipt = %+v", r)
	}
	// Never backwards.
	r = must[*messenger.Receipt](t)(svc.MarkRead(ctx, provider, th.ID, 1))
	if r.Seq != 3 {
		t.Fatalf("marker moved back to %d", r.Seq)
	}
	// Clamped to the last message.
	r = must[*messenger.Receipt](t)(svc.MarkRead(ctx, provider, th.ID, 99))
	if r.Seq != 4 {
		t.Fatalf("marker = %d, want clamp to 4", r.Seq)
	}
	if _, err := svc.MarkRead(ctx, provider, th.ID, -1); messenger.ErrorCode(err) != messenger.EINVALID {
		t.Fatalf("negative seq: %v", err)
	}
	// Sending counts as reading.
	send(t, svc, patient, th.ID, "more")
	send(t, svc, provider, th.ID, "reply")
	got = must[*messenger.Thread](t)(svc.GetThread(ctx, provider, th.ID))
	if got.Unread != 0 || got.ReadSeq != 6 {
		t.Fatalf("after reply: unread = %d readSeq = %d", got.Unread, got.ReadSeq)
	}
	if u := must[*messenger.Thread](t)(svc.GetThread(ctx, patient, th.ID)).Unread; u != 1 {
		t.Fatalf("patient unread = %d, want 1", u)
	}
	// Concurrent markers end at the highest.
	var wg sync.WaitGroup
	for s := int64(1); s <= 6; s++ {
		wg.Add(1)
		go func() { defer wg.Done(); svc.MarkRead(ctx, patient, th.ID, s) }()
	}
	wg.Wait()
	if got := must[*messenger.Thread](t)(svc.GetThread(ctx, patient, th.ID)); got.ReadSeq != 6 || got.Unread != 0 {
		t.Fatalf("after concurrent reads: %d / %d", got.ReadSeq, got.Unread)
	}
}

func testEditDelete(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	m := send(t, svc, patient, th.ID, "typo")
	e := must[*messenger.Message](t)(svc.EditMessage(ctx, patient, th.ID, m.ID, "fixed"))
	if e.Content != "fixed" || e.EditedAt == nil || e.Seq != m.Seq {
		t.Fatalf("edited = %+v", e)
	}
	if _, err := svc.EditMessage(ctx, patient, th.ID, "nosuch", "x"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
		t.Fatalf("edit missing: %v", err)
	}
	d := must[*messenger.Message](t)(svc.DeleteMessage(ctx, patient, th.ID, m.ID))
	if d.Content != "" || d.DeletedAt == nil || len(d.Attachments) != 0 {
		t.Fatalf("deleted = %+v", d)
	}
	again := must[*messenger.Message](t)(svc.DeleteMessage(ctx, patient, th.ID, m.ID))
	if !again.DeletedAt.Equal(*d.DeletedAt) {
		t.Fatal("second delete changed deletedAt")
	}
	if _, err := svc.EditMessage(ctx, patient, th.ID, m.ID, "back"); messenger.ErrorCode(err) != messenger.ECONFLICT {
		t.Fatalf("edit deleted: %v", err)
	}
	p := must[*messenger.MessagePage](t)(svc.ListMessages(ctx, provider, th.ID, messenger.MessageQuery{}))
	if len(p.Messages) != 1 || p.Messages[0].Content != "" || p.Messages[0].DeletedAt == nil {
		t.Fatalf("history after delete = %+v", p.Messages[0])
	}
	if u := must[*messenger.Thread](t)(svc.GetThread(ctx, provider, th.ID)).Unread; u != 0 {
		t.Fatalf("deleted message counts as unread: %d", u)
	}
}
