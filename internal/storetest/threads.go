package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

func testCreateThreadRules(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	for _, a := range []messenger.Actor{patient, provider, outsider} {
		if err := svc.Touch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("patient alone is refused", func(t *testing.T) {
		_, err := svc.CreateThread(ctx, patient, messenger.NewThread{})
		mustCode(t, err, messenger.EINVALID)
	})
	t.Run("patient with only patients is refused", func(t *testing.T) {
		_, err := svc.CreateThread(ctx, patient, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: outsider.UserID}}})
		mustCode(t, err, messenger.EINVALID)
	})
	t.Run("provider without patient is refused", func(t *testing.T) {
		_, err := svc.CreateThread(ctx, provider, messenger.NewThread{})
		mustCode(t, err, messenger.EINVALID)
	})
	t.Run("unknown participant is refused for non-service callers", func(t *testing.T) {
		_, err := svc.CreateThread(ctx, patient, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: "ghost", Role: messenger.RoleProvider}}})
		mustCode(t, err, messenger.EINVALID)
	})
	t.Run("bad participant id", func(t *testing.T) {
		_, err := svc.CreateThread(ctx, patient, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: "a b"}}})
		mustCode(t, err, messenger.EINVALID)
	})
	t.Run("invalid actor", func(t *testing.T) {
		_, err := svc.CreateThread(ctx, messenger.Actor{UserID: "", Role: messenger.RolePatient}, messenger.NewThread{})
		mustCode(t, err, messenger.EUNAUTHORIZED)
	})
	t.Run("too many participants", func(t *testing.T) {
		var ps []messenger.ParticipantInput
		for i := range 60 {
			ps = append(ps, messenger.ParticipantInput{ID: "u" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))})
		}
		_, err := svc.CreateThread(ctx, service, messenger.NewThread{Participants: ps})
		mustCode(t, err, messenger.ETOOLARGE)
	})
	t.Run("patient with provider", func(t *testing.T) {
		th, err := svc.CreateThread(ctx, patient, messenger.NewThread{Subject: "Hi", Participants: []messenger.ParticipantInput{{ID: provider.UserID}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(th.Participants) != 2 || th.Subject != "Hi" || th.ID == "" {
			t.Fatalf("thread = %+v", th)
		}
		got, err := svc.GetThread(ctx, provider, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]messenger.Role{}
		for _, p := range got.Participants {
			roles[p.ID] = p.Role
		}
		if roles[patient.UserID] != messenger.RolePatient || roles[provider.UserID] != messenger.RoleProvider {
			t.Fatalf("participants = %+v", got.Participants)
		}
	})
}

func testAuthorization(t *testing.T, f Factory) {
	svc := newService(t, f(t)(), messenger.Config{})
	ctx := ctxT(t)
	th := seeded(t, svc)
	m := send(t, svc, patient, th.ID, "hello")
	missing := "doesnotexist"

	for _, a := range []messenger.Actor{patient, provider} {
		if _, err := svc.GetThread(ctx, a, th.ID); err != nil {
			t.Fatalf("%s GetThread: %v", a.UserID, err)
		}
		if ok, err := svc.IsParticipant(ctx, a.UserID, th.ID); err != nil || !ok {
			t.Fatalf("%s IsParticipant = %v, %v", a.UserID, ok, err)
		}
	}
	// An outsider and a missing thread must look exactly alike.
	for _, id := range []string{th.ID, missing} {
		checks := map[string]error{}
		_, checks["GetThread"] = svc.GetThread(ctx, outsider, id)
		_, checks["ListMessages"] = svc.ListMessages(ctx, outsider, id, messenger.MessageQuery{})
		_, _, checks["SendMessage"] = svc.SendMessage(ctx, outsider, id, messenger.NewMessage{ClientID: "x", Content: "hi"})
		_, checks["EditMessage"] = svc.EditMessage(ctx, outsider, id, m.ID, "x")
		_, checks["DeleteMessage"] = svc.DeleteMessage(ctx, outsider, id, m.ID)
		_, checks["MarkRead"] = svc.MarkRead(ctx, outsider, id, 1)
		for name, err := range checks {
			if messenger.ErrorCode(err) != messenger.ENOTFOUND || messenger.ErrorMessage(err) != "thread not found" {
				t.Errorf("%s on %s: %v, want ENOTFOUND \"thread not found\"", name, id, err)
			}
		}
	}
	if ok, _ := svc.IsParticipant(ctx, outsider.UserID, th.ID); ok {
		t.Fatal("outsider is a participant")
	}
	if ok, _ := svc.SharesThread(ctx, outsider.UserID, patient.UserID); ok {
		t.Fatal("outsider shares a thread with the patient")
	}
	if ok, _ := svc.SharesThread(ctx, provider.UserID, patient.UserID); !ok {
		t.Fatal("provider does not share a thread with the patient")
	}
	partners := must[[]string](t)(svc.Partners(ctx, patient.UserID))
	if len(partners) != 1 || partners[0] != provider.UserID {
		t.Fatalf("partners = %v", partners)
	}
	// The other participant may not change someone else's message.
	_, err := svc.EditMessage(ctx, provider, th.ID, m.ID, "changed")
	mustCode(t, err, messenger.EFORBIDDEN)
	_, err = svc.DeleteMessage(ctx, provider, th.ID, m.ID)
	mustCode(t, err, messenger.EFORBIDDEN)
	// A message id from another thread is not found in this one.
	th2, err := svc.CreateThread(ctx, provider, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: outsider.UserID}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.EditMessage(ctx, outsider, th2.ID, m.ID, "x")
	mustCode(t, err, messenger.ENOTFOUND)
	// Attachments of a thread are invisible to outsiders.
	if _, err := svc.AttachmentForDownload(ctx, outsider, "nope"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
		t.Fatalf("AttachmentForDownload = %v", err)
	}
	// A non-service caller may not post for someone else.
	_, _, err = svc.SendMessage(ctx, patient, th.ID, messenger.NewMessage{ClientID: "y", Content: "hi", OnBehalfOf: provider.UserID})
	mustCode(t, err, messenger.EFORBIDDEN)
}

func testListThreads(t *testing.T, f Factory) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { // strictly increasing, so the order is defined
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	svc := newService(t, f(t)(), messenger.Config{Now: clock})
	ctx := ctxT(t)
	seeded(t, svc)
	var ids []string
	for range 5 {
		th, err := svc.CreateThread(ctx, provider, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: patient.UserID}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, th.ID)
	}
	// Activity in the oldest of them moves it to the top.
	send(t, svc, provider, ids[0], "bump")
	var got []*messenger.Thread
	cursor := ""
	for {
		page, err := svc.ListThreads(ctx, patient, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Threads...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(got) != 6 {
		t.Fatalf("got %d threads, want 6", len(got))
	}
	if got[0].ID != ids[0] || got[0].Unread != 1 || got[0].LastMessage == nil || got[0].LastMessage.Content != "bump" {
		t.Fatalf("top thread = %+v", got[0])
	}
	for i := 1; i < len(got); i++ {
		if got[i].LastActivity.After(got[i-1].LastActivity) {
			t.Fatalf("threads not ordered by activity at %d", i)
		}
	}
	seen := map[string]bool{}
	for _, th := range got {
		if seen[th.ID] {
			t.Fatalf("thread %s listed twice", th.ID)
		}
		seen[th.ID] = true
	}
	if _, err := svc.ListThreads(ctx, patient, "!!", 10); messenger.ErrorCode(err) != messenger.EINVALID {
		t.Fatalf("bad cursor: %v", err)
	}
	if _, err := svc.ListThreads(ctx, patient, "", 101); messenger.ErrorCode(err) != messenger.EINVALID {
		t.Fatalf("bad limit: %v", err)
	}
	page := must[*messenger.ThreadPage](t)(svc.ListThreads(ctx, outsider, "", 10))
	if len(page.Threads) != 0 {
		t.Fatalf("outsider sees %d threads", len(page.Threads))
	}
}

func testPresence(t *testing.T, f Factory) {
	pres := &presence{}
	svc := newService(t, f(t)(), messenger.Config{Presence: pres})
	ctx := ctxT(t)
	th := seeded(t, svc)
	pres.set(provider.UserID, true)
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := svc.UserWentOffline(ctx, patient.UserID, at); err != nil {
		t.Fatal(err)
	}
	got := must[*messenger.Thread](t)(svc.GetThread(ctx, patient, th.ID))
	for _, p := range got.Participants {
		switch p.ID {
		case provider.UserID:
			if !p.Online {
				t.Fatal("provider should be online")
			}
		case patient.UserID:
			if p.Online || p.LastSeen == nil || !p.LastSeen.Equal(at) {
				t.Fatalf("patient presence = %+v", p)
			}
		}
	}
	u := must[*messenger.User](t)(svc.GetUser(ctx, patient.UserID))
	if u.Name != patient.Name || u.Role != messenger.RolePatient {
		t.Fatalf("user = %+v", u)
	}
	if _, err := svc.GetUser(ctx, "nobody"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
		t.Fatalf("GetUser(nobody) = %v", err)
	}
}

func testServiceActor(t *testing.T, f Factory) {
	rec := &Recorder{}
	svc := newService(t, f(t)(), messenger.Config{Publisher: rec})
	ctx := ctxT(t)
	_, err := svc.CreateThread(ctx, service, messenger.NewThread{Participants: []messenger.ParticipantInput{{ID: "p-new"}, {ID: "d-new", Role: messenger.RoleProvider}}})
	mustCode(t, err, messenger.EINVALID) // p-new is unknown and has no role
	th, err := svc.CreateThread(ctx, service, messenger.NewThread{Subject: "Intake", Participants: []messenger.ParticipantInput{
		{ID: "p-new", Role: messenger.RolePatient, Name: "New Patient"}, {ID: "d-new", Role: messenger.RoleProvider, Name: "New Doc"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Participants) != 2 {
		t.Fatalf("service is not a participant; got %+v", th.Participants)
	}
	_, _, err = svc.SendMessage(ctx, service, th.ID, messenger.NewMessage{ClientID: "s1", Content: "Welcome"})
	mustCode(t, err, messenger.EINVALID)
	m, _, err := svc.SendMessage(ctx, service, th.ID, messenger.NewMessage{ClientID: "s1", Content: "Welcome", OnBehalfOf: "d-new"})
	if err != nil {
		t.Fatal(err)
	}
	if m.SenderID != "d-new" {
		t.Fatalf("sender = %q", m.SenderID)
	}
	_, _, err = svc.SendMessage(ctx, service, th.ID, messenger.NewMessage{ClientID: "s2", Content: "x", OnBehalfOf: "stranger"})
	mustCode(t, err, messenger.ENOTFOUND)
	pat := messenger.Actor{UserID: "p-new", Role: messenger.RolePatient, Name: "New Patient"}
	page := must[*messenger.MessagePage](t)(svc.ListMessages(ctx, pat, th.ID, messenger.MessageQuery{}))
	if len(page.Messages) != 1 || page.Messages[0].Content != "Welcome" {
		t.Fatalf("patient sees %+v", page.Messages)
	}
}
