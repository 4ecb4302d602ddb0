package httpx

import (
	"net/http"
	"slices"
	"strings"
)

// CORS lets browser apps on other origins call the messenger's API (a
// clinic's web app on app.example calling Parley on chat.example). Only
// paths under Prefix are covered, and only the listed origins — or every
// origin with "*" — are answered with CORS headers; requests authenticate
// with a bearer token, never a cookie, so no credentials mode is offered.
// A preflight from an origin not listed gets 403; an actual request from
// one is served without CORS headers, and the browser withholds the answer.
type CORS struct {
	Prefix  string
	origins []string // exact "scheme://host[:port]" values, or "*"
	any     bool
}

// corsMethods are the methods the API uses.
const corsMethods = "GET, POST, PUT, PATCH, DELETE"

// corsExposed are response headers a cross-origin caller may read: request
// ids for support, Retry-After on 429, and what downloads need.
const corsExposed = "X-Request-Id, Retry-After, Content-Disposition, Content-Range, Accept-Ranges, Content-Length"

// NewCORS covers paths under prefix for origins, each "*" or an exact
// origin as a browser sends it (config.Validate checks their form).
func NewCORS(prefix string, origins []string) *CORS {
	return &CORS{Prefix: prefix, origins: origins, any: slices.Contains(origins, "*")}
}

// Enabled reports whether any origin is allowed.
func (c *CORS) Enabled() bool { return c != nil && len(c.origins) > 0 }

func (c *CORS) allowed(origin string) bool {
	return c.any || slices.Contains(c.origins, origin)
}

// Wrap answers preflights and adds CORS headers under Prefix; other paths,
// and everything when no origin is configured, go to next untouched.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	if !c.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !strings.HasPrefix(r.URL.Path, c.Prefix) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !c.allowed(origin) {
			if preflight {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if !preflight {
			h.Set("Access-Control-Expose-Headers", corsExposed)
			next.ServeHTTP(w, r)
			return
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		// The API reads Authorization and Content-Type; pusher-js may add
		// headers of the app's own (auth.headers), so the requested ones
		// are allowed as asked.
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}
