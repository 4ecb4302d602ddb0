package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

var (
	npmOnce sync.Once
	npmErr  error
)

// sdkDir is the Node project holding pusher-js and the pusher Node SDK.
func sdkDir() string { return filepath.Join(repoRoot, "test", "sdk") }

// ensureNodeModules runs npm ci once when test/sdk/node_modules is missing.
func ensureNodeModules(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed; the SDK conformance tests need Node.js 20+ and npm")
	}
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(sdkDir(), "node_modules", "pusher-js", "package.json")); err == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = sdkDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", sdkDir(), err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
}

// runNode runs one node:test file of test/sdk against s and fails with the
// runner's output when any test in it fails.
func runNode(t *testing.T, s *server, file string, extraEnv ...string) {
	t.Helper()
	ensureNodeModules(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", file)
	cmd.Dir = sdkDir()
	cmd.Env = append(os.Environ(),
		"PARLEY_WS_HOST=127.0.0.1",
		"PARLEY_WS_PORT="+strconv.Itoa(s.Port),
		"APP_ID="+appID,
		"KEY="+appKey,
		"SECRET="+appSecret,
		"DISABLED_KEY="+disabledKey,
		"WEBHOOK_VACATE_DELAY_MS="+strconv.FormatInt(s.Options.VacateDelay.Milliseconds(), 10),
		"NO_COLOR=1",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("node --test %s failed (%v):\n%s", file, err, out)
		return
	}
	if testing.Verbose() {
		t.Logf("node --test %s:\n%s", file, out)
	}
}

// TestSDKNode runs each focused pusher-js / pusher Node SDK file against its
// own fresh server.
func TestSDKNode(t *testing.T) {
	files := []string{
		"connect.test.mjs",
		"private.test.mjs",
		"presence.test.mjs",
		"client-events.test.mjs",
		"http-api.test.mjs",
		"user.test.mjs",
		"cache.test.mjs",
		"subscription-count.test.mjs",
		"encrypted.test.mjs",
		"echo.test.mjs",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverOptions{})
			runNode(t, s, file)
		})
	}
}

// TestSDKNodeWebhooks runs webhooks.test.mjs: its receiver listens on a port
// chosen here, and the server's app sends its webhooks there.
func TestSDKNodeWebhooks(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{
		WebhookURL:  fmt.Sprintf("http://127.0.0.1:%d/hook", port),
		VacateDelay: time.Second,
	})
	runNode(t, s, "webhooks.test.mjs", "WEBHOOK_PORT="+strconv.Itoa(port))
}
