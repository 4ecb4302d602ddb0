package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const stepTimeout = 30 * time.Second

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func artifactsDir(t *testing.T) string {
	dir := filepath.Join(repoRoot(), "test", "browser", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts one headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("no Chromium at %s (run scripts/install-chromium.sh): %v", chromiumPath(), err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()),
		chromedp.NoSandbox, // root in CI; the sandbox needs user namespaces
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// This machine has no network but loopback: keep Chromium from
		// trying to reach Google's services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-domain-reliability", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// page is one tab in its own browser context (its own cookies and
// sessionStorage): one person at one device.
type page struct {
	t      *testing.T
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	logs   []string
}

func newPage(t *testing.T, browser context.Context, name string, width, height int64) *page {
	t.Helper()
	p := &page{t: t, name: name}
	p.ctx, p.cancel = chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.listen))
	enableLog := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(p.ctx, enableLog, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("%s: new tab: %v", name, err)
	}
	t.Cleanup(p.close)
	return p
}

// listen keeps the page's console output and uncaught exceptions, for the
// artifacts and for the check that the CSP blocked nothing.
func (p *page) listen(ev any) {
	var line string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else if a.Description != "" {
				parts = append(parts, a.Description)
			}
		}
		line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		line = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + e.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		// CSP violations and failed requests are reported here, not on
		// the console API.
		line = fmt.Sprintf("log.%s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
	default:
		return
	}
	p.mu.Lock()
	p.logs = append(p.logs, time.Now().Format("15:04:05.000 ")+line)
	p.mu.Unlock()
}

func (p *page) consoleText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

func (p *page) close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	_ = os.WriteFile(filepath.Join(artifactsDir(p.t), "console-"+p.name+".log"), []byte(p.consoleText()+"\n"), 0o644)
}

// do runs steps with a per-step timeout.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

func (p *page) fail(what string, err error) {
	p.t.Helper()
	p.shot("FAILED-" + fileSafe(what))
	p.t.Fatalf("%s: %s: %v\nconsole:\n%s", p.name, what, err, p.consoleText())
}

// waitJS polls a JavaScript predicate until it is truthy. Evaluation
// errors (the page navigating, an element not there yet) count as "not
// yet" until the deadline.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	start := time.Now()
	deadline := start.Add(stepTimeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			if d := time.Since(start); d > time.Second {
				p.t.Logf("%s: %s took %v", p.name, what, d.Round(time.Millisecond))
			}
			return
		}
		last = err
		if time.Now().After(deadline) {
			p.fail("waiting for "+what, fmt.Errorf("not true within %v (last error %v); predicate %s", stepTimeout, last, expr))
		}
		select {
		case <-p.ctx.Done():
			p.fail("waiting for "+what, p.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// evalJS evaluates an expression (awaiting a promise) into T.
func evalJS[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluating "+expr, err)
	}
	return v
}

// shot saves a PNG of the viewport as artifacts/<step>-<page>.png.
func (p *page) shot(step string) {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("%s: screenshot %s: %v", p.name, step, err)
		return
	}
	name := filepath.Join(artifactsDir(p.t), fmt.Sprintf("%s-%s.png", step, p.name))
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Logf("writing %s: %v", name, err)
	}
}

// cspViolations lists console lines about a Content-Security-Policy block.
func (p *page) cspViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.logs {
		if strings.Contains(l, "Content Security Policy") {
			out = append(out, l)
		}
	}
	return out
}

// fileSafe turns a step description into a short file name part.
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
