package browser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the parley binary built once by TestMain.
var binary string

// repoRoot is the module root, two levels up from this package.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root := repoRoot()
	if _, err := os.Stat(filepath.Join(root, "web", "dist", "index.html")); err != nil {
		// The binary embeds web/dist; without a build it would serve the
		// placeholder page and every browser step would fail obscurely.
		fmt.Fprintln(os.Stderr, "browser tests: building the web client (npm ci && npm run build)")
		for _, args := range [][]string{{"--prefix", "web", "ci", "--no-audit", "--no-fund"}, {"--prefix", "web", "run", "build"}} {
			cmd := exec.Command("npm", args...)
			cmd.Dir = root
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "browser tests: npm %s: %v\n", strings.Join(args, " "), err)
				return 1
			}
		}
	}
	// Screenshots of an earlier run would pass for this run's.
	if err := os.RemoveAll(filepath.Join(root, "test", "browser", "artifacts")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "parley-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "parley")
	// -race: the end-to-end run doubles as a race check of the server.
	build := exec.Command("go", "build", "-race", "-o", binary, "./cmd/parley")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "browser tests: go build ./cmd/parley: %v\n", err)
		return 1
	}
	return m.Run()
}

// server is one `parley serve --demo` process; restart keeps its address
// and data directory, so browsers reconnect to the same server state.
type server struct {
	t       *testing.T
	dataDir string
	secret  string
	addr    string // host:port, known after the first start
	cmd     *exec.Cmd
	done    chan struct{}
	logMu   sync.Mutex
	log     bytes.Buffer
}

func startServer(t *testing.T) *server {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dataDir: t.TempDir(), secret: hex.EncodeToString(b)}
	s.start("127.0.0.1:0")
	t.Cleanup(func() {
		s.stop()
		s.logMu.Lock()
		defer s.logMu.Unlock()
		_ = os.WriteFile(filepath.Join(artifactsDir(t), "server.log"), s.log.Bytes(), 0o644)
	})
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

func (s *server) start(addr string) {
	s.t.Helper()
	if err := s.tryStart(addr); err != nil {
		s.t.Fatal(err)
	}
}

// tryStart starts parley on addr and waits until it is ready.
func (s *server) tryStart(addr string) error {
	cmd := exec.Command(binary, "serve", "--demo", "--addr", addr)
	cmd.Env = append(os.Environ(),
		"PARLEY_DATA_DIR="+s.dataDir,
		"PARLEY_JWT_SECRET="+s.secret,
		"PARLEY_LOG_FORMAT=json",
		"PARLEY_LOG_LEVEL=info",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	listening := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Bytes()
			s.logMu.Lock()
			s.log.Write(line)
			s.log.WriteByte('\n')
			s.logMu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "parley listening" && rec.Addr != "" {
				select {
				case listening <- rec.Addr:
				default:
				}
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case a := <-listening:
		s.addr = a
	case <-s.done:
		s.cmd = nil
		return fmt.Errorf("parley exited before listening:\n%s", s.logText())
	case <-time.After(60 * time.Second):
		s.kill()
		return fmt.Errorf("parley did not report listening within 60 s:\n%s", s.logText())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.url("/readyz"))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readyz %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("parley not ready: %v", err)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// kill ends the server abruptly, as a crash would.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// restart starts the server again on the same address and data directory.
func (s *server) restart() {
	s.t.Helper()
	// The port is normally bindable at once (Go listeners set
	// SO_REUSEADDR); retry the whole start in case it is not yet.
	waitFor(s.t, 30*time.Second, "parley restart on "+s.addr, func() error { return s.tryStart(s.addr) })
}

func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func (s *server) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// call makes a REST request with a bearer token and decodes a JSON answer
// into out (when out is not nil). It fails the test on a non-2xx status.
func (s *server) call(method, path, token string, body, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.url(path), rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: status %d, body %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// download GETs path with a bearer token and returns the sha256 of the
// body in hex. It fails the test on a non-200 status.
func (s *server) download(path, token string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url(path), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		s.t.Fatalf("GET %s: status %d, body %s", path, res.StatusCode, body)
	}
	h := sha256.New()
	if _, err := io.Copy(h, res.Body); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type demoUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Token string `json:"token"`
}

type participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type thread struct {
	ID           string        `json:"id"`
	Participants []participant `json:"participants"`
}

// threadsOf lists the caller's threads, whether the server wraps the list
// or not.
func (s *server) threadsOf(token string) []thread {
	s.t.Helper()
	var raw json.RawMessage
	s.call(http.MethodGet, "/api/v1/threads", token, nil, &raw)
	var list []thread
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var wrapped struct {
		Threads []thread `json:"threads"`
		Items   []thread `json:"items"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		s.t.Fatalf("GET /api/v1/threads: unexpected body %s", raw)
	}
	if wrapped.Threads != nil {
		return wrapped.Threads
	}
	return wrapped.Items
}

// waitFor polls check until it returns nil or the deadline passes.
func waitFor(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
		<-time.After(50 * time.Millisecond)
	}
}
