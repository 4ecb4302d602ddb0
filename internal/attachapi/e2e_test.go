package attachapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
)

// TestEndToEnd: a patient uploads a photo and a PDF, attaches both to a
// message; the provider sees their metadata in new-message and history and
// downloads the same bytes, with Range; an outsider gets 404 throughout;
// attaching is the uploader's, once, in their own thread; deleting the
// message makes the files unreachable and the janitor removes them.
func TestEndToEnd(t *testing.T) {
	forEachStore(t, func(t *testing.T, bs blob.Store) {
		e := newEnv(t, bs, envOptions{})
		pat, prov, out := token(t, "pat1", auth.RolePatient), token(t, "prov1", auth.RoleProvider), token(t, "out1", auth.RolePatient)
		thread := e.setupThread(pat, prov, "prov1")

		img, doc := photo(t, 400, 300), pdf(150_000)
		pu := e.mustUpload(pat, "rash.png", "image/png", img)
		du := e.mustUpload(pat, "Résumé ü labs.pdf", "application/octet-stream", doc)

		t.Run("upload response", func(t *testing.T) {
			if pu.ContentType != "image/png" || pu.Size != int64(len(img)) || pu.SHA256 != sum(img) || pu.Name != "rash.png" {
				t.Errorf("photo: %+v", pu)
			}
			if pu.Width != 400 || pu.Height != 300 || len(pu.Thumbnails) != 2 ||
				pu.Thumbnails[0].Size != 160 || pu.Thumbnails[0].Width != 160 || pu.Thumbnails[0].Height != 120 ||
				pu.Thumbnails[1].Size != 480 || pu.Thumbnails[1].Width != 400 || pu.Thumbnails[1].Height != 300 {
				t.Errorf("photo thumbnails: %+v", pu)
			}
			if du.ContentType != "application/pdf" || du.Size != int64(len(doc)) || du.SHA256 != sum(doc) ||
				du.Name != "Résumé ü labs.pdf" || len(du.Thumbnails) != 0 {
				t.Errorf("pdf: %+v", du)
			}
		})

		t.Run("pending: uploader only", func(t *testing.T) {
			if r := e.do("GET", "/api/v1/attachments/"+du.ID, pat, nil, nil); r.status != 200 || !bytes.Equal(r.body, doc) {
				t.Errorf("uploader: %d, %d bytes", r.status, len(r.body))
			}
			for _, tok := range []string{prov, out} {
				if r := e.do("GET", "/api/v1/attachments/"+du.ID, tok, nil, nil); r.status != 404 || errorCode(t, r.body) != "not_found" {
					t.Errorf("non-uploader on pending: %d %s", r.status, r.body)
				}
			}
		})

		t.Run("only the uploader attaches", func(t *testing.T) {
			r := e.json("POST", "/api/v1/threads/"+thread+"/messages", prov,
				map[string]any{"clientId": "p-steal", "content": "mine now", "attachments": []string{pu.ID}})
			if r.status != 400 || errorCode(t, r.body) != "invalid" {
				t.Errorf("provider attaching the patient's upload: %d %s", r.status, r.body)
			}
		})

		t.Run("only to a thread of the uploader", func(t *testing.T) {
			other := token(t, "prov2", auth.RoleProvider)
			outThread := e.setupThread(out, other, "prov2")
			r := e.json("POST", "/api/v1/threads/"+outThread+"/messages", pat,
				map[string]any{"clientId": "elsewhere", "content": "x", "attachments": []string{pu.ID}})
			if r.status != 404 {
				t.Errorf("attach into a foreign thread: %d %s", r.status, r.body)
			}
		})

		// The send that works.
		r := e.json("POST", "/api/v1/threads/"+thread+"/messages", pat,
			map[string]any{"clientId": "c1", "content": "see attached", "attachments": []string{pu.ID, du.ID}})
		if r.status != http.StatusCreated {
			t.Fatalf("send: %d %s", r.status, r.body)
		}
		var msg struct {
			ID          string
			Attachments []map[string]any
		}
		json.Unmarshal(r.body, &msg)

		wantRefs := func(t *testing.T, where string, refs []map[string]any) {
			t.Helper()
			if len(refs) != 2 {
				t.Fatalf("%s: %d attachments: %v", where, len(refs), refs)
			}
			if refs[0]["id"] == du.ID {
				// History orders attachments by (created_at, id), the send
				// response by the order sent; both uploads share a created_at
				// under the frozen clock.
				refs = []map[string]any{refs[1], refs[0]}
			}
			for i, u := range []uploaded{pu, du} {
				keys := make([]string, 0, len(refs[i]))
				for k := range refs[i] {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if !slices.Equal(keys, []string{"contentType", "id", "name", "size"}) {
					t.Errorf("%s: attachment fields %v, want exactly id, name, contentType, size", where, keys)
				}
				if refs[i]["id"] != u.ID || refs[i]["name"] != u.Name || refs[i]["contentType"] != u.ContentType || refs[i]["size"] != float64(u.Size) {
					t.Errorf("%s: %v, want %+v", where, refs[i], u)
				}
			}
		}
		wantRefs(t, "send response", msg.Attachments)

		t.Run("new-message event carries metadata only", func(t *testing.T) {
			ev := e.rec.waitFor(t, "new-message", func(p published) bool {
				return p.Event == "new-message" && bytes.Contains(p.Data, []byte(msg.ID))
			})
			var m struct{ Attachments []map[string]any }
			json.Unmarshal(ev.Data, &m)
			wantRefs(t, "new-message", m.Attachments)
			for _, bad := range []string{"att/", "http", "sha256", "storage"} {
				if bytes.Contains(ev.Data, []byte(bad)) {
					t.Errorf("new-message event contains %q: %s", bad, ev.Data)
				}
			}
		})

		t.Run("provider sees history", func(t *testing.T) {
			r := e.do("GET", "/api/v1/threads/"+thread+"/messages", prov, nil, nil)
			var page struct {
				Messages []struct {
					ID          string
					Attachments []map[string]any
				}
			}
			json.Unmarshal(r.body, &page)
			if r.status != 200 || len(page.Messages) != 1 {
				t.Fatalf("history: %d %s", r.status, r.body)
			}
			wantRefs(t, "history", page.Messages[0].Attachments)
		})

		t.Run("provider downloads identical bytes", func(t *testing.T) {
			r := e.do("GET", "/api/v1/attachments/"+du.ID, prov, nil, nil)
			if r.status != 200 || sum(r.body) != du.SHA256 {
				t.Fatalf("download: %d, sha %s", r.status, sum(r.body))
			}
			wantHeaders(t, r.header, map[string]string{
				"Content-Type":            "application/pdf",
				"Content-Disposition":     "attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%20%C3%BC%20labs.pdf",
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "sandbox; default-src 'none'",
				"Cache-Control":           "private, no-store",
				"Accept-Ranges":           "bytes",
				"Content-Length":          fmt.Sprint(len(doc)),
				"Etag":                    `"` + du.SHA256 + `"`,
			})
			r = e.do("GET", "/api/v1/attachments/"+pu.ID, prov, nil, nil)
			if r.status != 200 || !bytes.Equal(r.body, img) {
				t.Fatalf("photo download: %d", r.status)
			}
			wantHeaders(t, r.header, map[string]string{
				"Content-Type":        "image/png",
				"Content-Disposition": "inline; filename*=UTF-8''rash.png",
			})
		})

		t.Run("range", func(t *testing.T) {
			// 70 000.. crosses the local store's 64 KiB chunk boundary.
			r := e.do("GET", "/api/v1/attachments/"+du.ID, prov, nil, map[string]string{"Range": "bytes=65000-70099"})
			if r.status != http.StatusPartialContent || !bytes.Equal(r.body, doc[65000:70100]) {
				t.Fatalf("range: %d, %d bytes", r.status, len(r.body))
			}
			wantHeaders(t, r.header, map[string]string{"Content-Range": fmt.Sprintf("bytes 65000-70099/%d", len(doc))})
			r = e.do("GET", "/api/v1/attachments/"+du.ID, prov, nil, map[string]string{"Range": "bytes=-10"})
			if r.status != 206 || !bytes.Equal(r.body, doc[len(doc)-10:]) {
				t.Errorf("suffix range: %d %q", r.status, r.body)
			}
			r = e.do("GET", "/api/v1/attachments/"+du.ID, prov, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(doc)+5)})
			if r.status != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("range past the end: %d", r.status)
			}
		})

		t.Run("thumbnails", func(t *testing.T) {
			for _, c := range []struct{ size, w, h int }{{160, 160, 120}, {480, 400, 300}} {
				r := e.do("GET", fmt.Sprintf("/api/v1/attachments/%s?thumb=%d", pu.ID, c.size), prov, nil, nil)
				if r.status != 200 {
					t.Fatalf("thumb %d: %d %s", c.size, r.status, r.body)
				}
				cfg, format, err := image.DecodeConfig(bytes.NewReader(r.body))
				if err != nil || format != "jpeg" || cfg.Width != c.w || cfg.Height != c.h {
					t.Errorf("thumb %d: %s %dx%d %v", c.size, format, cfg.Width, cfg.Height, err)
				}
				wantHeaders(t, r.header, map[string]string{"Content-Type": "image/jpeg",
					"Content-Disposition":    fmt.Sprintf("inline; filename*=UTF-8''rash.t%d.jpg", c.size),
					"X-Content-Type-Options": "nosniff"})
			}
			if r := e.do("GET", "/api/v1/attachments/"+pu.ID+"?thumb=999", prov, nil, nil); r.status != 400 {
				t.Errorf("unknown thumb size: %d", r.status)
			}
			if r := e.do("GET", "/api/v1/attachments/"+du.ID+"?thumb=160", prov, nil, nil); r.status != 404 {
				t.Errorf("thumb of a PDF: %d", r.status)
			}
			if r := e.do("GET", "/api/v1/attachments/"+pu.ID+"?thumb=160", out, nil, nil); r.status != 404 {
				t.Errorf("outsider thumb: %d", r.status)
			}
		})

		t.Run("outsider gets 404", func(t *testing.T) {
			for _, id := range []string{pu.ID, du.ID, "nosuchattachment", "..%2F..%2Fetc"} {
				r := e.do("GET", "/api/v1/attachments/"+id, out, nil, nil)
				if r.status != 404 || errorCode(t, r.body) != "not_found" {
					t.Errorf("outsider %s: %d %s", id, r.status, r.body)
				}
			}
		})

		t.Run("attach twice refused", func(t *testing.T) {
			r := e.json("POST", "/api/v1/threads/"+thread+"/messages", pat,
				map[string]any{"clientId": "c2", "content": "again", "attachments": []string{pu.ID}})
			if r.status != 400 || errorCode(t, r.body) != "invalid" {
				t.Errorf("second attach: %d %s", r.status, r.body)
			}
		})

		t.Run("deleting the message removes the files", func(t *testing.T) {
			before := e.keys()
			if len(before) != 5 { // photo, 2 thumbnails, manifest, pdf
				t.Fatalf("blobs before: %v", before)
			}
			if r := e.do("DELETE", "/api/v1/threads/"+thread+"/messages/"+msg.ID, pat, nil, nil); r.status != 200 {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			for _, tok := range []string{pat, prov} {
				if r := e.do("GET", "/api/v1/attachments/"+du.ID, tok, nil, nil); r.status != 404 {
					t.Errorf("download after delete: %d", r.status)
				}
			}
			n, err := e.janitor.SweepExpired(t.Context())
			if err != nil || n != 2 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			if k := e.keys(); len(k) != 0 {
				t.Errorf("blobs left after the sweep: %v", k)
			}
		})
	})
}

func wantHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if strings.Contains(h.Get("Content-Disposition"), "\n") {
		t.Errorf("header splitting in %q", h.Get("Content-Disposition"))
	}
}
