package browser

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// startWSBlockingProxy puts an HTTP reverse proxy in front of srv that
// refuses every WebSocket upgrade, as some corporate proxies do: pages
// loaded through it get the REST API but never a socket. It returns the
// proxy's base URL. (Chromium's own URL blocking over CDP does not stop
// WebSocket handshakes in the Chromium this runs with, so the block is made
// on the wire instead.)
func startWSBlockingProxy(t *testing.T, srv *server) string {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: srv.addr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		// Long-polls answer late; stream nothing, but never buffer either.
		FlushInterval: -1,
	}
	px := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "WebSockets are not allowed through this proxy", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		px.CloseClientConnections()
		px.Close()
	})
	return px.URL
}
