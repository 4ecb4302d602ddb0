package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testSite() fstest.MapFS {
	return fstest.MapFS{
		"dist/.keep":                {Data: nil},
		"dist/index.html":           {Data: []byte("<!doctype html><title>app</title>")},
		"dist/assets/app-ABC123.js": {Data: []byte("console.log(1)")},
		"dist/assets/style-X.css":   {Data: []byte("body{}")},
		"placeholder/index.html":    {Data: []byte("<!doctype html><title>placeholder</title>")},
	}
}

func serve(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func builtHandler(t *testing.T) http.Handler {
	t.Helper()
	root, built := site(testSite())
	if !built {
		t.Fatal("site with dist/index.html reported as not built")
	}
	return newHandler(root)
}

func TestHandler(t *testing.T) {
	h := builtHandler(t)

	t.Run("hashed assets are cached forever", func(t *testing.T) {
		res, body := serve(t, h, http.MethodGet, "/assets/app-ABC123.js")
		if res.StatusCode != http.StatusOK || body != "console.log(1)" {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("Cache-Control = %q", got)
		}
		if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
			t.Errorf("Content-Type = %q", got)
		}
	})

	t.Run("index is revalidated and carries a strict CSP", func(t *testing.T) {
		res, body := serve(t, h, http.MethodGet, "/")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "<title>app</title>") {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("Cache-Control = %q", got)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("CSP allows unsafe sources: %q", csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Error("missing nosniff")
		}
	})

	t.Run("client-side paths get the app page", func(t *testing.T) {
		res, body := serve(t, h, http.MethodGet, "/threads/abc")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "<title>app</title>") {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
	})

	t.Run("a missing asset is 404, not the app page", func(t *testing.T) {
		res, _ := serve(t, h, http.MethodGet, "/assets/app-OLD.js")
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", res.StatusCode)
		}
	})

	t.Run("path traversal stays inside the site", func(t *testing.T) {
		res, body := serve(t, h, http.MethodGet, "/assets/../../placeholder/index.html")
		if strings.Contains(body, "placeholder") {
			t.Fatalf("escaped dist: %d %q", res.StatusCode, body)
		}
	})

	t.Run("unknown API paths are 404", func(t *testing.T) {
		res, _ := serve(t, h, http.MethodGet, "/api/v1/nope")
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", res.StatusCode)
		}
	})

	t.Run("only GET and HEAD", func(t *testing.T) {
		res, _ := serve(t, h, http.MethodPost, "/")
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("status %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
		res, body := serve(t, h, http.MethodHead, "/")
		if res.StatusCode != http.StatusOK || body != "" {
			t.Fatalf("HEAD: %d %q", res.StatusCode, body)
		}
	})
}

func TestPlaceholderWithoutBuild(t *testing.T) {
	fsys := testSite()
	delete(fsys, "dist/index.html")
	delete(fsys, "dist/assets/app-ABC123.js")
	delete(fsys, "dist/assets/style-X.css")
	root, built := site(fsys)
	if built {
		t.Fatal("site without dist/index.html reported as built")
	}
	res, body := serve(t, newHandler(root), http.MethodGet, "/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "placeholder") {
		t.Fatalf("got %d %q", res.StatusCode, body)
	}
}

func TestEmbeddedHandlerServesSomething(t *testing.T) {
	res, body := serve(t, Handler(), http.MethodGet, "/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("got %d %q", res.StatusCode, body)
	}
	if Built() != strings.Contains(body, "/assets/app-") {
		t.Errorf("Built() = %v but the page is %q", Built(), body)
	}
}
