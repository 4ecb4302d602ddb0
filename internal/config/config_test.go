package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	apps := c.PusherApps()
	if c.Addr != ":6001" || c.DataDir != "./data" || len(apps) != 1 {
		t.Fatalf("defaults %+v", c)
	}
	a := apps[0]
	if a.ID != "1" || a.Key != "app-key" || a.Secret != "app-secret" || !a.Enabled || !a.ClientEvents || a.Limits.MaxEventDataBytes != 10240 {
		t.Fatalf("default app %+v", a)
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte("addr: \":7000\"\ndata_dir: /from/file\nlog_level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"--addr", ":9000"}, env(map[string]string{"PARLEY_CONFIG": p, "PARLEY_ADDR": ":8000", "PARLEY_DATA_DIR": "/from/env", "PARLEY_PONG_TIMEOUT": "5s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || c.DataDir != "/from/env" || c.LogLevel != "debug" || c.PongTimeout != 5*time.Second {
		t.Fatalf("precedence wrong: %+v", c)
	}
}

func TestAppsFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	yaml := `
apps:
  - id: "7"
    key: k7
    secret: s7
    client_events: false
    subscription_count: true
    webhooks: [{url: "http://127.0.0.1:1/hook", event_types: [member_added]}]
    limits: {max_presence_members: 5, cache_ttl: 1m}
`
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"--config=" + p}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := c.PusherApps()[0]
	if a.ID != "7" || a.ClientEvents || !a.SubscriptionCount || !a.Enabled || a.Limits.MaxPresenceMembers != 5 || a.Limits.CacheTTL != time.Minute || a.Limits.MaxEventDataBytes != 10240 {
		t.Fatalf("app %+v", a)
	}
	if len(a.Webhooks) != 1 || !a.Webhooks[0].Wants("member_added") || a.Webhooks[0].Wants("client_event") {
		t.Fatalf("webhooks %+v", a.Webhooks)
	}
}

func TestInvalidConfigsAreReportedTogether(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte("apps:\n  - {id: abc, key: k, secret: \"\"}\nlog_format: xml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(nil, env(map[string]string{"PARLEY_CONFIG": p}), io.Discard)
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"must be numeric", "needs a key and a secret", "log_format"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := Load(nil, env(map[string]string{"PARLEY_PONG_TIMEOUT": "soon"}), io.Discard); err == nil || !strings.Contains(err.Error(), "PARLEY_PONG_TIMEOUT") {
		t.Fatalf("bad env value: %v", err)
	}
	if err := os.WriteFile(p, []byte("adress: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(nil, env(map[string]string{"PARLEY_CONFIG": p}), io.Discard); err == nil {
		t.Fatal("unknown key accepted")
	}
}

// Every setting is documented in docs/configuration.md.
func TestEveryOptionIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, o := range options(&c) {
		if !strings.Contains(string(doc), "`"+o.env+"`") || !strings.Contains(string(doc), "`--"+o.flag+"`") {
			t.Errorf("%s / --%s missing from docs/configuration.md", o.env, o.flag)
		}
	}
}

// CORS origins: a comma-separated list of bare origins or "*"; anything a
// browser would never send as Origin is refused at start, each named.
func TestCORSOrigins(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"PARLEY_CORS_ORIGINS": " https://app.example, http://localhost:3000 ,,*"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := c.CORSOriginList()
	if strings.Join(got, "|") != "https://app.example|http://localhost:3000|*" {
		t.Fatalf("origins %q", got)
	}
	if d := Default(); len(d.CORSOriginList()) != 0 {
		t.Fatalf("default origins %q, want none", d.CORSOriginList())
	}
	for _, bad := range []string{"app.example", "https://app.example/", "https://app.example/x", "ftp://app.example",
		"https://", "https://u:p@app.example", "https://app.example?x=1", "null"} {
		_, err := Load(nil, env(map[string]string{"PARLEY_CORS_ORIGINS": "https://ok.example," + bad}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "cors_origins") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}
