package attachapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// TestUploadRefusals: every refused upload answers the documented status
// and code and leaves nothing stored and no row.
func TestUploadRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, bs blob.Store) {
		e := newEnv(t, bs, envOptions{upload: upload.Config{MaxBytes: 64 << 10, MaxPixels: 250_000}})
		pat := token(t, "pat1", auth.RolePatient)
		cases := []struct {
			name, file, ctype string
			data              []byte
			status            int
			code              string
		}{
			{"executable renamed .png", "photo.png", "image/png", elf(), 415, "unsupported_media_type"},
			{"html renamed .pdf", "lab.pdf", "application/pdf", []byte("<!DOCTYPE html><script>alert(1)</script>"), 415, "unsupported_media_type"},
			{"one byte over the limit", "big.txt", "text/plain", bytes.Repeat([]byte("a"), 64<<10+1), 413, "too_large"},
			{"far over the limit", "big.pdf", "application/pdf", pdf(3 << 20), 413, "too_large"},
			{"image over MaxPixels", "huge.png", "image/png", photo(t, 600, 500), 422, "image_too_large"},
			{"empty file", "empty.txt", "text/plain", nil, 400, "invalid"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.upload(pat, c.file, c.ctype, c.data)
				if r.status != c.status || errorCode(t, r.body) != c.code {
					t.Errorf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
				}
				wantNothingStored(t, e, "pat1")
			})
		}
		t.Run("exactly at the limit is accepted", func(t *testing.T) {
			u := e.mustUpload(pat, "limit.txt", "text/plain", bytes.Repeat([]byte("a"), 64<<10))
			if u.Size != 64<<10 || u.ContentType != "text/plain" {
				t.Errorf("%+v", u)
			}
		})
		t.Run("not multipart", func(t *testing.T) {
			r := e.do("POST", "/api/v1/attachments", pat, strings.NewReader("hello"), map[string]string{"Content-Type": "text/plain"})
			if r.status != 400 || errorCode(t, r.body) != "invalid" {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
		t.Run("no file field", func(t *testing.T) {
			body, ct := multipartBody(t, "document", "a.pdf", "application/pdf", pdf(1000))
			r := e.do("POST", "/api/v1/attachments", pat, body, map[string]string{"Content-Type": ct})
			if r.status != 400 || errorCode(t, r.body) != "invalid" {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
		t.Run("no token", func(t *testing.T) {
			r := e.upload("", "a.pdf", "application/pdf", pdf(1000))
			if r.status != 401 || errorCode(t, r.body) != "unauthorized" || r.header.Get("WWW-Authenticate") != `Bearer realm="parley"` {
				t.Errorf("%d %s %v", r.status, r.body, r.header)
			}
			r = e.do("GET", "/api/v1/attachments/x", "not-a-jwt", nil, nil)
			if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("bad token download: %d %v", r.status, r.header)
			}
		})
		t.Run("methods", func(t *testing.T) {
			if r := e.do("GET", "/api/v1/attachments", pat, nil, nil); r.status != 405 || r.header.Get("Allow") != "POST" || errorCode(t, r.body) != "method_not_allowed" {
				t.Errorf("GET collection: %d %v", r.status, r.header)
			}
			if r := e.do("DELETE", "/api/v1/attachments/abc", pat, nil, nil); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("DELETE: %d %v", r.status, r.header)
			}
			if r := e.do("GET", "/api/v1/attachments/a/b", pat, nil, nil); r.status != 404 || errorCode(t, r.body) != "not_found" {
				t.Errorf("nested path: %d", r.status)
			}
		})
	})
}

// wantNothingStored checks the store is empty and the user has no pending
// row (no half-visible attachment).
func wantNothingStored(t *testing.T, e *env, user string) {
	t.Helper()
	// The handler may still be cleaning up after the client saw the answer.
	deadline := time.Now().Add(5 * time.Second)
	for len(e.keys()) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	if k := e.keys(); len(k) != 0 {
		t.Errorf("blobs left: %v", k)
	}
	if n, err := e.db.PendingUploadBytes(t.Context(), user); err != nil || n != 0 {
		t.Errorf("pending bytes of %s: %d %v", user, n, err)
	}
}

// TestFilenameSanitised: names are never trusted, whatever the client sends.
func TestFilenameSanitised(t *testing.T) {
	bs := storeMakers(t)["local"](t)
	e := newEnv(t, bs, envOptions{})
	pat := token(t, "pat1", auth.RolePatient)
	for _, c := range []struct{ in, want string }{
		{"../../../etc/passwd.pdf", "passwd.pdf"},
		{`..\..\windows\evil.exe`, "evil.pdf"},
		{"report\u202Efdp.exe", "reportfdp.pdf"},
		{"CON.pdf", "_CON.pdf"},
		{"", "attachment.pdf"},
	} {
		u := e.mustUpload(pat, c.in, "application/pdf", pdf(500))
		if u.Name != c.want {
			t.Errorf("name %q stored as %q, want %q", c.in, u.Name, c.want)
		}
		r := e.do("GET", "/api/v1/attachments/"+u.ID, pat, nil, nil)
		if cd := r.header.Get("Content-Disposition"); strings.ContainsAny(cd, "/\\\"\r\n") {
			t.Errorf("Content-Disposition %q", cd)
		}
	}
}

// TestQuota: the pending quota counts files and bytes, answers 429 before
// streaming, and frees up once uploads are attached.
func TestQuota(t *testing.T) {
	forEachStore(t, func(t *testing.T, bs blob.Store) {
		e := newEnv(t, bs, envOptions{quota: messenger.UploadQuota{MaxFiles: 2, MaxBytes: 250_000}})
		pat, prov := token(t, "pat1", auth.RolePatient), token(t, "prov1", auth.RoleProvider)
		thread := e.setupThread(pat, prov, "prov1")
		a := e.mustUpload(pat, "a.pdf", "application/pdf", pdf(100_000))
		keysAfterFirst := len(e.keys())
		// Bytes: 100 000 + 160 000 > 250 000.
		r := e.upload(pat, "b.pdf", "application/pdf", pdf(160_000))
		if r.status != 429 || errorCode(t, r.body) != "quota_exceeded" {
			t.Fatalf("byte quota: %d %s", r.status, r.body)
		}
		if len(e.keys()) != keysAfterFirst {
			t.Errorf("refused upload left blobs: %v", e.keys())
		}
		e.mustUpload(pat, "c.pdf", "application/pdf", pdf(1000))
		// Files: a third pending upload.
		if r := e.upload(pat, "d.pdf", "application/pdf", pdf(1000)); r.status != 429 {
			t.Fatalf("file quota: %d %s", r.status, r.body)
		}
		// Another user has their own quota.
		e.mustUpload(prov, "p.pdf", "application/pdf", pdf(1000))
		// Attaching frees the quota.
		if r := e.json("POST", "/api/v1/threads/"+thread+"/messages", pat,
			map[string]any{"clientId": "q", "content": "", "attachments": []string{a.ID}}); r.status != 201 {
			t.Fatalf("send: %d %s", r.status, r.body)
		}
		e.mustUpload(pat, "e.pdf", "application/pdf", pdf(1000))
	})
}

// TestBrokenUploadLeavesNothing: a client that goes away mid-file leaves
// no blob and no row (a crash mid-upload is the same for the store).
func TestBrokenUploadLeavesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, bs blob.Store) {
		e := newEnv(t, bs, envOptions{})
		pat := token(t, "pat1", auth.RolePatient)
		full, ct := multipartBody(t, "file", "a.pdf", "application/pdf", pdf(300_000))
		b, _ := io.ReadAll(full)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(b[:200_000])
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}()
		req, _ := http.NewRequest("POST", e.url+"/api/v1/attachments", pr)
		req.Header.Set("Authorization", "Bearer "+pat)
		req.Header.Set("Content-Type", ct)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode < 400 {
				t.Fatalf("broken upload answered %d", res.StatusCode)
			}
		}
		wantNothingStored(t, e, "pat1")
	})
}

// TestQuotaUnderConcurrency: uploads racing for the last quota slots never
// overshoot, because the check and the insert share one transaction.
func TestQuotaUnderConcurrency(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { testQuotaUnderConcurrency(t, db == "postgres") })
	}
}

func testQuotaUnderConcurrency(t *testing.T, postgres bool) {
	bs := storeMakers(t)["local"](t)
	e := newEnv(t, bs, envOptions{quota: messenger.UploadQuota{MaxFiles: 3}, postgres: postgres})
	pat := token(t, "pat1", auth.RolePatient)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		body, ct := multipartBody(t, "file", "a.pdf", "application/pdf", pdf(20_000))
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.url+"/api/v1/attachments", body)
			req.Header.Set("Authorization", "Bearer "+pat)
			req.Header.Set("Content-Type", ct)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	wg.Wait()
	created, limited := 0, 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 429:
			limited++
		}
	}
	if created != 3 || limited != 5 {
		t.Errorf("statuses %v: %d created, %d refused; want 3 and 5", statuses, created, limited)
	}
	// Refused uploads removed their blobs: three files remain.
	deadline := time.Now().Add(5 * time.Second)
	for len(e.keys()) != 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	if k := e.keys(); len(k) != 3 {
		t.Errorf("blobs: %v", k)
	}
}
