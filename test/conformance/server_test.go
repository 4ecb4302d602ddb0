package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/parleyhq/parley/internal/syncbuf"
)

// Credentials of the apps every test server is configured with.
const (
	appID       = "1"
	appKey      = "app-key"
	appSecret   = "app-secret"
	disabledKey = "disabled-key"
)

var (
	binPath  string // the parley binary under test
	repoRoot string // module root, where cmd/parley lives
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	repoRoot = root
	if bin := os.Getenv("PARLEY_BIN"); bin != "" {
		binPath = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "parley-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "parley")
	args := []string{"build", "-o", binPath}
	if os.Getenv("PARLEY_CONFORMANCE_RACE") == "1" {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/parley")
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: go build ./cmd/parley failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// serverOptions are the knobs a test group may change in the config file.
type serverOptions struct {
	WebhookURL            string        // empty: no webhooks
	WebhookBatch          bool          // Pusher's batch webhooks
	VacateDelay           time.Duration // channel_vacated / member_removed hold
	ClientEventsPerSecond int
}

var configTemplate = template.Must(template.New("cfg").Parse(`apps:
  - id: "1"
    key: app-key
    secret: app-secret
    enabled: true
    client_events: true
    user_authentication: true
    watchlist: true
    subscription_count: true
    authorized_connections_timeout: 0s
{{- if .WebhookURL}}
    webhooks:
      - url: {{.WebhookURL}}
        event_types: []
        batch: {{.WebhookBatch}}
{{- end}}
    limits: {max_presence_members: 100, client_events_per_second: {{.ClientEventsPerSecond}}, max_event_data_bytes: 10240, cache_ttl: 30m}
  - id: "2"
    key: disabled-key
    secret: disabled-secret
    enabled: false
webhook_vacate_delay: {{.VacateDelay}}
`))

// server is one running parley process.
type server struct {
	Addr    string // host:port of WebSocket and HTTP
	Port    int
	Options serverOptions
	logs    *syncbuf.Buffer
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// startServer starts parley with opts and waits until /readyz answers 200.
// The process is stopped with SIGTERM when the test ends; its log is shown
// if the test failed.
func startServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	if opts.VacateDelay == 0 {
		opts.VacateDelay = 3 * time.Second
	}
	if opts.ClientEventsPerSecond == 0 {
		opts.ClientEventsPerSecond = 10
	}
	var lastErr error
	// A free port found by listening and closing can be taken by someone
	// else before parley binds it; try a few ports.
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStart(t, opts)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("parley did not start: %v", lastErr)
	return nil
}

func tryStart(t *testing.T, opts serverOptions) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "parley.yaml")
	var cfg bytes.Buffer
	if err := configTemplate.Execute(&cfg, opts); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o600); err != nil {
		return nil, err
	}
	s := &server{
		Addr:    fmt.Sprintf("127.0.0.1:%d", port),
		Port:    port,
		Options: opts,
		logs:    &syncbuf.Buffer{},
		exited:  make(chan struct{}),
	}
	s.cmd = exec.Command(binPath, "serve")
	s.cmd.Env = append(os.Environ(),
		"PARLEY_ADDR="+s.Addr,
		"PARLEY_APP_ID="+appID,
		"PARLEY_APP_KEY="+appKey,
		"PARLEY_APP_SECRET="+appSecret,
		"PARLEY_DATA_DIR="+filepath.Join(dir, "data"),
		"PARLEY_CONFIG="+cfgPath,
	)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(15 * time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("%w\nconfig:\n%s\nlog:\n%s", err, cfg.String(), s.logs.String())
	}
	t.Cleanup(func() { s.stop(t) })
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /readyz until it answers 200, the process exits, or the
// deadline passes.
func (s *server) waitReady(limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond) // polling interval
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("parley exited before it was ready: %v", s.exitErr)
		default:
		}
		resp, err := client.Get("http://" + s.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz not 200 within %s (last error %v)", limit, err)
		}
		select {
		case <-tick.C:
		case <-s.exited:
		}
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// stop sends SIGTERM and expects the process to drain and exit in bounded time.
func (s *server) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("parley did not exit within 15 s of SIGTERM")
		s.kill()
	}
	var exitErr *exec.ExitError
	if s.exitErr != nil && !errors.As(s.exitErr, &exitErr) {
		t.Errorf("parley: %v", s.exitErr)
	}
	if strings.Contains(s.logs.String(), "DATA RACE") {
		t.Errorf("the server reported a data race:\n%s", s.logs.String())
	}
	if t.Failed() {
		t.Logf("parley log (%s):\n%s", s.Addr, tail(s.logs.String(), 60))
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("… %d earlier lines", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// goSDK returns a pusher-http-go client for the test app.
func (s *server) goSDK() *pusher.Client {
	return &pusher.Client{
		AppID:      appID,
		Key:        appKey,
		Secret:     appSecret,
		Host:       s.Addr,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
}

// testContext is a context bounded by the test's deadline (or a minute).
func testContext(t *testing.T, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}
