package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist is the client build; placeholder is served when dist holds none.
// The all: prefix keeps dist/.keep, which makes the pattern match before
// the first build.
//
//go:embed all:dist placeholder
var files embed.FS

// ContentSecurityPolicy is sent with every response of Handler. Scripts and
// styles come only from this origin (no inline code, no eval), images may be
// blob: URLs (attachments are fetched with the bearer token and shown from
// memory), and connections go only to this origin, which covers the
// WebSocket to the same host and port. A deployment whose WebSocket host
// differs (GET /api/v1/config wsHost) must widen connect-src in front of
// Parley.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// Handler serves the chat client: hashed assets under /assets/ are cached
// for a year (their names change with their content), everything else gets
// index.html, revalidated on every load, so client-side paths work and a new
// deploy is picked up at once. It answers GET and HEAD only.
func Handler() http.Handler {
	root, _ := site(files)
	return newHandler(root)
}

func newHandler(root fs.FS) *handler {
	return &handler{root: root, modTime: time.Now()}
}

// Built reports whether the binary embeds a client build (as opposed to the
// placeholder page).
func Built() bool {
	_, built := site(files)
	return built
}

// site picks the client build when there is one, else the placeholder.
func site(fsys fs.FS) (fs.FS, bool) {
	if _, err := fs.Stat(fsys, "dist/index.html"); err == nil {
		sub, _ := fs.Sub(fsys, "dist")
		return sub, true
	}
	sub, _ := fs.Sub(fsys, "placeholder")
	return sub, false
}

type handler struct {
	root    fs.FS
	modTime time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if strings.HasPrefix(name, "assets/") {
		data, err := fs.ReadFile(h.root, name)
		if err != nil {
			// A missing hashed asset is a 404, never index.html: a stale
			// page asking for an old bundle must fail loudly.
			hd.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		http.ServeContent(w, r, name, h.modTime, bytes.NewReader(data))
		return
	}
	if strings.HasPrefix(name, "api/") {
		// The API mux should have answered; do not disguise a wrong API
		// path as the app page.
		hd.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(h.root, "index.html")
	if err != nil {
		http.Error(w, "web client missing", http.StatusInternalServerError)
		return
	}
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", h.modTime, bytes.NewReader(data))
}
