package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "r1")
		w.WriteHeader(http.StatusTeapot)
	})
	do := func(c *CORS, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		c.Wrap(next).ServeHTTP(w, r)
		return w
	}
	preflight := map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type"}
	listed := NewCORS("/api/", []string{"https://app.example"})
	wildcard := NewCORS("/api/", []string{"*"})
	none := NewCORS("/api/", nil)

	t.Run("preflight from a listed origin", func(t *testing.T) {
		w := do(listed, http.MethodOptions, "/api/pusher/auth", preflight)
		h := w.Header()
		if w.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			h.Get("Access-Control-Allow-Headers") != "authorization, content-type" || h.Get("Access-Control-Max-Age") == "" {
			t.Fatalf("%d %v", w.Code, h)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Error("credentials offered: the API takes bearer tokens, never cookies")
		}
	})
	t.Run("actual request from a listed origin", func(t *testing.T) {
		w := do(listed, http.MethodGet, "/api/v1/me", map[string]string{"Origin": "https://app.example"})
		h := w.Header()
		if w.Code != http.StatusTeapot || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Request-Id") || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Fatalf("%d %v", w.Code, h)
		}
	})
	t.Run("unlisted origin", func(t *testing.T) {
		other := map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
		if w := do(listed, http.MethodOptions, "/api/v1/threads", other); w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight: %d %v", w.Code, w.Header())
		}
		w := do(listed, http.MethodGet, "/api/v1/me", map[string]string{"Origin": "https://evil.example"})
		if w.Code != http.StatusTeapot || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("actual request: %d %v", w.Code, w.Header())
		}
	})
	t.Run("wildcard echoes the origin", func(t *testing.T) {
		w := do(wildcard, http.MethodOptions, "/api/v1/threads", map[string]string{"Origin": "https://x.example", "Access-Control-Request-Method": "GET"})
		if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://x.example" {
			t.Fatalf("%d %v", w.Code, w.Header())
		}
	})
	t.Run("outside the prefix, without an origin, or with none configured: untouched", func(t *testing.T) {
		for _, w := range []*httptest.ResponseRecorder{
			do(listed, http.MethodOptions, "/apps/1/events", preflight),
			do(listed, http.MethodGet, "/api/v1/me", nil),
			do(none, http.MethodOptions, "/api/pusher/auth", preflight),
		} {
			if w.Code != http.StatusTeapot || w.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("%d %v", w.Code, w.Header())
			}
		}
	})
}
