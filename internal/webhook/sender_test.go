package webhook

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	pushersdk "github.com/pusher/pusher-http-go/v5"

	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/syncbuf"
)

// TestGoldenSignature is the vector of the protocol reference §7: the
// body bytes we produce and their signature.
func TestGoldenSignature(t *testing.T) {
	body, err := encodeBody(pusher.WebhookBody{TimeMs: 1327078148132,
		Events: []pusher.WebhookEvent{{Name: "channel_occupied", Channel: "my-channel"}}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}`
	if string(body) != want {
		t.Fatalf("body %s\nwant %s", body, want)
	}
	if sig := pusher.SignBytes(testSecret, body); sig != "c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf" {
		t.Fatalf("signature %s", sig)
	}
}

func TestDeliveryAcceptedByOfficialVerifier(t *testing.T) {
	r := newReceiver(t)
	s := openSender(t, Options{Now: func() time.Time { return time.UnixMilli(1700000000123) }})
	app := testApp(r.hook())
	count := 3
	in := []pusher.WebhookEvent{
		{Name: pusher.HookChannelOccupied, Channel: "presence-room"},
		{Name: pusher.HookMemberAdded, Channel: "presence-room", UserID: "u1"},
		{Name: pusher.HookClientEvent, Channel: "presence-room", Event: "client-typing", Data: `{"on":true,"t":"<b>&"}`, SocketID: "1.2", UserID: "u1"},
		{Name: pusher.HookCacheMiss, Channel: "cache-price"},
		{Name: pusher.HookSubscriptionCount, Channel: "news", SubscriptionCount: &count},
	}
	for _, e := range in {
		s.Observe(app, e)
	}
	// The sender counts a delivery once the receiver's answer is back.
	eventually(t, "5 deliveries", func() bool { return s.Stats().Delivered == 5 })
	posts, _, rejected := r.snapshot()
	if len(rejected) > 0 {
		t.Fatalf("the SDK rejected deliveries: %v", rejected)
	}
	want := []pushersdk.WebhookEvent{
		{Name: "channel_occupied", Channel: "presence-room"},
		{Name: "member_added", Channel: "presence-room", UserID: "u1"},
		{Name: "client_event", Channel: "presence-room", Event: "client-typing", Data: `{"on":true,"t":"<b>&"}`, SocketID: "1.2", UserID: "u1"},
		{Name: "cache_miss", Channel: "cache-price"},
		{Name: "subscription_count", Channel: "news"},
	}
	if got := r.events(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %+v\nwant %+v", got, want)
	}
	for _, p := range posts {
		if len(p.events) != 1 {
			t.Errorf("unbatched receiver got %d events in one POST", len(p.events))
		}
		if ct := p.header["Content-Type"]; len(ct) != 1 || ct[0] != "application/json" {
			t.Errorf("Content-Type %q, want exactly application/json", ct)
		}
		if k := p.header["X-Pusher-Key"]; len(k) != 1 || k[0] != testKey {
			t.Errorf("X-Pusher-Key %q", k)
		}
		if sig := p.header.Get("X-Pusher-Signature"); sig != pusher.SignBytes(testSecret, p.body) {
			t.Errorf("X-Pusher-Signature %s does not sign the body", sig)
		}
		if !bytes.HasPrefix(p.body, []byte(`{"time_ms":1700000000123,"events":[`)) {
			t.Errorf("body %s", p.body)
		}
	}
	if !bytes.Contains(posts[4].body, []byte(`"subscription_count":3`)) {
		t.Errorf("subscription_count body %s lacks the integer count", posts[4].body)
	}
	if st := s.Stats(); st.Delivered != 5 || st.Posts != 5 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWrongSecretIsRejectedByVerifier(t *testing.T) {
	r := newReceiver(t)
	s := openSender(t, Options{RetryFor: 30 * time.Millisecond})
	app := testApp(r.hook())
	app.Secret = "not-the-secret"
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "c"})
	eventually(t, "the SDK to reject", func() bool { _, _, rej := r.snapshot(); return len(rej) > 0 })
}

func TestHoldIsCancelledByQuickReturn(t *testing.T) {
	r := newReceiver(t)
	s := openSender(t, Options{HoldFor: 100 * time.Millisecond})
	app := testApp(r.hook())

	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "presence-room"})
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookMemberAdded, Channel: "presence-room", UserID: "7"})
	// A quick reconnect: the member and the channel go and come back.
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookMemberRemoved, Channel: "presence-room", UserID: "7"})
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: "presence-room"})
	if n := s.Held(); n != 2 {
		t.Fatalf("%d events held, want 2", n)
	}
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "presence-room"})
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookMemberAdded, Channel: "presence-room", UserID: "7"})
	if n, c := s.Held(), s.Stats().Cancelled; n != 0 || c != 2 {
		t.Fatalf("held %d cancelled %d, want 0 and 2", n, c)
	}
	// A held event observed afterwards comes out after the cancelled
	// ones would have; when it arrives, they would be there too.
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: "sentinel"})
	eventually(t, "the sentinel", func() bool { return len(r.events()) == 3 })
	want := []string{"channel_occupied:presence-room", "member_added:presence-room:7", "channel_vacated:sentinel"}
	if got := names(r.events()); !reflect.DeepEqual(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

func TestHeldEventsArriveAfterTheDelay(t *testing.T) {
	r := newReceiver(t)
	const hold = 120 * time.Millisecond
	s := openSender(t, Options{HoldFor: hold})
	app := testApp(r.hook())
	start := time.Now()
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookMemberRemoved, Channel: "presence-a", UserID: "9"})
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: "presence-a"})
	// A different member coming back does not cancel user 9's removal.
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookMemberAdded, Channel: "presence-a", UserID: "10"})
	eventually(t, "the held events", func() bool { return len(r.events()) == 3 })
	posts, _, _ := r.snapshot()
	got := map[string]time.Time{}
	for _, p := range posts {
		got[names(p.events)[0]] = p.at
	}
	for _, n := range []string{"member_removed:presence-a:9", "channel_vacated:presence-a"} {
		at, ok := got[n]
		if !ok {
			t.Fatalf("%s missing from %v", n, names(r.events()))
		}
		if at.Sub(start) < hold {
			t.Errorf("%s arrived %v after observe, before the %v hold", n, at.Sub(start), hold)
		}
	}
	if _, ok := got["member_added:presence-a:10"]; !ok {
		t.Fatal("member_added for another user was swallowed")
	}
}

func TestRetryUntilDelivered(t *testing.T) {
	r := newReceiver(t)
	r.failFirst = 3
	const base = 20 * time.Millisecond
	s := openSender(t, Options{RetryBase: base})
	s.Observe(testApp(r.hook()), pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "c"})
	eventually(t, "delivery", func() bool { return s.Stats().Delivered == 1 })
	posts, attempts, _ := r.snapshot()
	if len(attempts) != 4 || len(posts) != 1 {
		t.Fatalf("%d attempts, %d accepted posts; want 4 and 1", len(attempts), len(posts))
	}
	// Retry n waits at least 0.75·base·2^(n-1): the gaps grow.
	for i := 1; i < len(attempts); i++ {
		min := time.Duration(float64(base<<(i-1)) * 0.75)
		if gap := attempts[i].Sub(attempts[i-1]); gap < min {
			t.Errorf("gap before attempt %d is %v, want at least %v", i+1, gap, min)
		}
	}
	if st := s.Stats(); st.Retries != 3 || st.Delivered != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGiveUpAfterRetryFor(t *testing.T) {
	r := newReceiver(t)
	r.failAll = true
	var logs syncbuf.Buffer
	s := openSender(t, Options{RetryBase: 5 * time.Millisecond, RetryFor: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Observe(testApp(r.hook()), pusher.WebhookEvent{Name: pusher.HookClientEvent, Channel: "private-thread-1",
		Event: "client-typing", Data: `{"note":"patient data"}`, SocketID: "1.1"})
	eventually(t, "giving up", func() bool { return s.Stats().Failed == 1 })
	_, attempts, _ := r.snapshot()
	if len(attempts) < 2 {
		t.Fatalf("%d attempts before giving up, want retries", len(attempts))
	}
	// Delays of at least 3.75, 7.5, 15, 30 and 60 ms: a fifth retry would
	// start past the 100 ms RetryFor, so there are at most five attempts.
	if len(attempts) > 5 || s.Stats().Retries != int64(len(attempts)-1) {
		t.Errorf("%d attempts, stats %+v: retried past RetryFor", len(attempts), s.Stats())
	}
	out := logs.String()
	if !strings.Contains(out, "webhook delivery abandoned") || !strings.Contains(out, "private-thread-1") {
		t.Errorf("log lacks the abandonment: %s", out)
	}
	if strings.Contains(out, "patient data") || strings.Contains(out, "client-typing") {
		t.Errorf("log leaks event content: %s", out)
	}
}

func TestEventTypesFilter(t *testing.T) {
	only, all := newReceiver(t), newReceiver(t)
	s := openSender(t, Options{})
	app := testApp(only.hook(pusher.HookMemberAdded), all.hook())
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "presence-r"})
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookMemberAdded, Channel: "presence-r", UserID: "1"})
	eventually(t, "both receivers", func() bool { return len(only.events()) == 1 && len(all.events()) == 2 })
	if got := names(only.events()); !reflect.DeepEqual(got, []string{"member_added:presence-r:1"}) {
		t.Fatalf("filtered receiver got %v", got)
	}
}

func TestBatching(t *testing.T) {
	batched, single := newReceiver(t), newReceiver(t)
	s := openSender(t, Options{BatchWindow: 300 * time.Millisecond, MaxBatch: 3})
	bh := batched.hook()
	bh.Batch = true
	app := testApp(bh, single.hook())
	for i := 0; i < 7; i++ {
		s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "c" + string(rune('0'+i))})
	}
	eventually(t, "all events", func() bool { return len(batched.events()) == 7 && len(single.events()) == 7 })
	posts, _, _ := batched.snapshot()
	var sizes []int
	for _, p := range posts {
		sizes = append(sizes, len(p.events))
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 1}) {
		t.Fatalf("batch sizes %v, want [3 3 1]", sizes)
	}
	if got := names(batched.events()); got[0] != "channel_occupied:c0" || got[6] != "channel_occupied:c6" {
		t.Fatalf("order lost: %v", got)
	}
	if p, _, _ := single.snapshot(); len(p) != 7 {
		t.Fatalf("unbatched receiver got %d posts, want 7", len(p))
	}
}

func TestBlockedReceiverDelaysNoOne(t *testing.T) {
	stuck, fine := newReceiver(t), newReceiver(t)
	release := stuck.blocking(t)
	s := openSender(t, Options{QueueSize: 2})
	app := testApp(stuck.hook(), fine.hook())
	// One at a time: each reaches the healthy receiver while the stuck
	// one has not answered the first.
	for i := 1; i <= 10; i++ {
		s.Observe(app, pusher.WebhookEvent{Name: pusher.HookCacheMiss, Channel: "cache-x"})
		eventually(t, "the healthy receiver", func() bool { return len(fine.events()) == i })
	}
	// The stuck receiver's queue holds 2 and its worker at most 1 more.
	if d := s.Stats().Dropped; d < 7 || d > 8 {
		t.Fatalf("dropped %d, want 7 or 8", d)
	}
	release()
	eventually(t, "the stuck receiver to catch up", func() bool { return len(stuck.events()) >= 2 })
}

func TestCloseFlushesHeldEvents(t *testing.T) {
	r := newReceiver(t)
	s := New(Options{HoldFor: time.Hour})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != ErrOpen {
		t.Fatalf("second Open: %v", err)
	}
	app := testApp(r.hook())
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: "c"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := names(r.events()); !reflect.DeepEqual(got, []string{"channel_vacated:c"}) {
		t.Fatalf("after Close the receiver has %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s.Observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "c"})
	if st := s.Stats(); st.Dropped != 1 {
		t.Fatalf("event after Close: stats %+v, want one drop", st)
	}
}

func TestCloseGivesUpOnDeadReceiver(t *testing.T) {
	r := newReceiver(t)
	r.blocking(t)
	s := New(Options{CloseTimeout: 50 * time.Millisecond})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	s.Observe(testApp(r.hook()), pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "c"})
	s.Observe(testApp(r.hook()), pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: "d"})
	if err := s.Close(); err != nil { // returns although the receiver never answers
		t.Fatal(err)
	}
	if st := s.Stats(); st.Failed != 2 {
		t.Fatalf("stats %+v, want both events failed", st)
	}
}

func TestAppWithoutWebhooks(t *testing.T) {
	s := openSender(t, Options{})
	s.Observe(&pusher.App{ID: "1"}, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: "c"})
	s.Observe(nil, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: "c"})
	if s.Held() != 0 || s.Stats() != (Stats{}) {
		t.Fatalf("held %d stats %+v", s.Held(), s.Stats())
	}
}

func TestBackoffGrows(t *testing.T) {
	const base, limit = time.Second, time.Minute
	for _, r := range []float64{0, 0.5, 0.999} {
		prevMax := time.Duration(0)
		for n := 1; n <= 10; n++ {
			d := backoff(n, base, limit, r)
			nominal := min(base<<(n-1), limit)
			if d > nominal || d < nominal*3/4 {
				t.Fatalf("r=%v n=%d: %v outside [0.75, 1]×%v", r, n, d, nominal)
			}
			// Every delay exceeds the largest possible previous one
			// until the cap.
			if nominal < limit && d <= prevMax {
				t.Fatalf("r=%v n=%d: %v does not exceed %v", r, n, d, prevMax)
			}
			prevMax = nominal
		}
	}
}
