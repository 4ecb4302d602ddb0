package attachapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/attachapi"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
)

// TestJanitorExpiresPendingUploads: an upload never attached is removed
// (row and every blob) once PendingTTL has passed, and not before; an
// attached one is kept.
func TestJanitorExpiresPendingUploads(t *testing.T) {
	forEachStore(t, func(t *testing.T, bs blob.Store) {
		e := newEnv(t, bs, envOptions{})
		pat, prov := token(t, "pat1", auth.RolePatient), token(t, "prov1", auth.RoleProvider)
		thread := e.setupThread(pat, prov, "prov1")
		kept := e.mustUpload(pat, "kept.png", "image/png", photo(t, 300, 200))
		if r := e.json("POST", "/api/v1/threads/"+thread+"/messages", pat,
			map[string]any{"clientId": "k", "attachments": []string{kept.ID}}); r.status != 201 {
			t.Fatalf("send: %d %s", r.status, r.body)
		}
		keptKeys := e.keys()
		e.clock.Advance(time.Hour)
		gone := e.mustUpload(pat, "gone.png", "image/png", photo(t, 300, 200))
		if len(e.keys()) != 2*len(keptKeys) {
			t.Fatalf("keys: %v", e.keys())
		}

		e.clock.Advance(23*time.Hour + 59*time.Minute) // just short of 24 h for "gone"
		if n, err := e.janitor.SweepExpired(t.Context()); err != nil || n != 0 {
			t.Fatalf("early sweep removed %d (%v)", n, err)
		}
		if r := e.do("GET", "/api/v1/attachments/"+gone.ID, pat, nil, nil); r.status != 200 {
			t.Fatalf("pending upload before its TTL: %d", r.status)
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := e.janitor.SweepExpired(t.Context()); err != nil || n != 1 {
			t.Fatalf("sweep removed %d (%v), want 1", n, err)
		}
		if r := e.do("GET", "/api/v1/attachments/"+gone.ID, pat, nil, nil); r.status != 404 {
			t.Errorf("expired upload still downloadable: %d", r.status)
		}
		if k := e.keys(); !slices.Equal(k, keptKeys) {
			t.Errorf("keys after sweep %v, want only the attached upload's %v", k, keptKeys)
		}
		if r := e.do("GET", "/api/v1/attachments/"+kept.ID+"?thumb=160", prov, nil, nil); r.status != 200 {
			t.Errorf("attached upload after sweep: %d", r.status)
		}
		// An expired id can no longer be attached.
		if r := e.json("POST", "/api/v1/threads/"+thread+"/messages", pat,
			map[string]any{"clientId": "late", "attachments": []string{gone.ID}}); r.status != 400 {
			t.Errorf("attach after expiry: %d %s", r.status, r.body)
		}
	})
}

// TestJanitorOrphans: blobs no row references (a crash between storing and
// recording) are removed once older than OrphanAge; referenced ones and
// keys outside the prefix are kept.
func TestJanitorOrphans(t *testing.T) {
	forEachStore(t, func(t *testing.T, bs blob.Store) {
		e := newEnv(t, bs, envOptions{})
		pat := token(t, "pat1", auth.RolePatient)
		live := e.mustUpload(pat, "live.png", "image/png", photo(t, 200, 200))
		liveKeys := e.keys()
		ctx := t.Context()
		orphans := []string{"att/ab/00112233445566778899aabbccddeeff", "att/ab/00112233445566778899aabbccddeeff.t160", "att/ab/00112233445566778899aabbccddeeff.meta"}
		for _, k := range append(slices.Clone(orphans), "other/keep") {
			if _, err := bs.Put(ctx, k, strings.NewReader("x"), 1); err != nil {
				t.Fatal(err)
			}
		}
		j, err := attachapi.NewJanitor(attachapi.JanitorConfig{Lifecycle: e.svc, Store: bs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: func() time.Time { return time.Now().Add(25 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		young, _ := attachapi.NewJanitor(attachapi.JanitorConfig{Lifecycle: e.svc, Store: bs})
		if n, err := young.SweepOrphans(ctx); err != nil || n != 0 {
			t.Fatalf("orphans younger than OrphanAge removed: %d %v", n, err)
		}
		n, err := j.SweepOrphans(ctx)
		if err != nil || n != len(orphans) {
			t.Fatalf("removed %d (%v), want %d", n, err, len(orphans))
		}
		want := append(slices.Clone(liveKeys), "other/keep")
		slices.Sort(want)
		if k := e.keys(); !slices.Equal(k, want) {
			t.Errorf("keys %v, want %v", k, want)
		}
		if r := e.do("GET", "/api/v1/attachments/"+live.ID+"?thumb=480", pat, nil, nil); r.status != 200 {
			t.Errorf("live upload after the walk: %d", r.status)
		}
	})
}

// TestJanitorRuns: Open sweeps in the background; Close stops it and is
// idempotent.
func TestJanitorRuns(t *testing.T) {
	bs := storeMakers(t)["local"](t)
	e := newEnv(t, bs, envOptions{})
	pat := token(t, "pat1", auth.RolePatient)
	u := e.mustUpload(pat, "a.pdf", "application/pdf", pdf(1000))
	j, err := attachapi.NewJanitor(attachapi.JanitorConfig{Lifecycle: e.svc, Store: bs, PendingTTL: time.Minute,
		SweepInterval: 10 * time.Millisecond, Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Open(); err != nil {
		t.Fatal(err)
	}
	if j.Open() == nil {
		t.Error("second Open succeeded")
	}
	e.clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for len(e.keys()) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	if k := e.keys(); len(k) != 0 {
		t.Fatalf("background sweep did not run: %v", k)
	}
	if r := e.do("GET", "/api/v1/attachments/"+u.ID, pat, nil, nil); r.status != 404 {
		t.Errorf("expired: %d", r.status)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPresignedRedirect: with PresignedLinks on an S3 store, an authorised
// download is a redirect to a short-lived URL serving the same bytes as an
// attachment; unauthorised callers still get 404 and no link.
func TestPresignedRedirect(t *testing.T) {
	bs := storeMakers(t)["s3"](t)
	e := newEnv(t, bs, envOptions{presign: true})
	pat, out := token(t, "pat1", auth.RolePatient), token(t, "out1", auth.RolePatient)
	doc := pdf(20_000)
	u := e.mustUpload(pat, "lab.pdf", "application/pdf", doc)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(tok string) *http.Response {
		req, _ := http.NewRequest("GET", e.url+"/api/v1/attachments/"+u.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get(out); res.StatusCode != 404 || res.Header.Get("Location") != "" {
		t.Fatalf("outsider: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res := get(pat)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.Contains(loc, "X-Amz-Expires=300") || res.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("redirect: %d %q %v", res.StatusCode, loc, res.Header)
	}
	dl, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	b, _ := io.ReadAll(dl.Body)
	if dl.StatusCode != 200 || !bytes.Equal(b, doc) || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("presigned download: %d %d bytes %v", dl.StatusCode, len(b), dl.Header)
	}
}
