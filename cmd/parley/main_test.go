package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/pushertest"
)

const (
	testKey    = "app-key"
	testSecret = "app-secret"
)

// startMain runs a whole server in process on a free port. yaml, when
// not empty, is the configuration file; env adds PARLEY_* variables.
func startMain(t *testing.T, yaml string, env map[string]string) *Main {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"PARLEY_ADDR":       "127.0.0.1:0",
		"PARLEY_DATA_DIR":   filepath.Join(dir, "data"),
		"PARLEY_LOG_LEVEL":  "warn",
		"PARLEY_JWT_SECRET": "test-jwt-secret-of-at-least-32-bytes",
	}
	if yaml != "" {
		p := filepath.Join(dir, "parley.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		vars["PARLEY_CONFIG"] = p
	}
	for k, v := range env {
		vars[k] = v
	}
	m, err := NewMain(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// testApp is the default app every test server serves.
var testApp = pushertest.App{ID: "1", Key: testKey, Secret: testSecret}

// dial opens a raw WebSocket at path and waits for nothing.
func dial(t *testing.T, m *Main, path string) *pushertest.Client {
	t.Helper()
	return pushertest.Dial(t, "ws://"+m.Addr()+path)
}

// connect dials the default app and waits for connection_established.
func connect(t *testing.T, m *Main) *pushertest.Client {
	t.Helper()
	return pushertest.Connect(t, "ws://"+m.Addr(), testKey)
}

// publish triggers an event through the signed HTTP API.
func publish(t *testing.T, m *Main, body map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	return signedRequest(t, m, "POST", "/apps/1/events", nil, b)
}

func signedRequest(t *testing.T, m *Main, method, path string, params pusher.Query, body []byte) (int, string) {
	t.Helper()
	status, out := testApp.Request(t, "http://"+m.Addr(), method, path, params, body)
	return status, strings.TrimSpace(string(out))
}

func ptr(s string) *string { return &s }

// TestCORSForBrowserApps: with cors_origins set, a browser app on that
// origin can preflight and call the messenger API, another origin's
// preflight is refused, and the Pusher HTTP API (server to server) gets no
// CORS headers.
func TestCORSForBrowserApps(t *testing.T) {
	m := startMain(t, "", map[string]string{"PARLEY_CORS_ORIGINS": "https://clinic.example"})
	base := "http://" + m.Addr()
	send := func(method, path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	res := send(http.MethodOptions, "/api/pusher/auth", map[string]string{"Origin": "https://clinic.example",
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"})
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://clinic.example" ||
		!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	tok, err := auth.Issue([]byte("test-jwt-secret-of-at-least-32-bytes"), "p-cors", auth.Role("patient"), "Pat", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res = send(http.MethodGet, "/api/v1/me", map[string]string{"Origin": "https://clinic.example", "Authorization": "Bearer " + tok})
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "https://clinic.example" {
		t.Fatalf("GET /api/v1/me from the app's origin: %d %v", res.StatusCode, res.Header)
	}
	res = send(http.MethodOptions, "/api/v1/threads", map[string]string{"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", res.StatusCode, res.Header)
	}
	res = send(http.MethodOptions, "/apps/1/events", map[string]string{"Origin": "https://clinic.example", "Access-Control-Request-Method": "POST"})
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("the Pusher HTTP API answered a browser preflight: %v", res.Header)
	}
}
