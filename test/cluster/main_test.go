package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Credentials of the default app every node serves.
const (
	appID     = "1"
	appKey    = "app-key"
	appSecret = "app-secret"
)

// waitTimeout bounds every wait for something that should happen at once.
// Passing runs never wait this long; it decides how soon a broken cluster
// fails the test.
const waitTimeout = 15 * time.Second

var binPath string // the parley binary under test

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// The test's own Redis client polls a starting server; its dial
	// failures are expected and would only clutter the output.
	redis.SetLogger(quietLogger{})
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "cluster: redis-server not found on PATH (apt-get install redis-server):", err)
		return 1
	}
	if bin := os.Getenv("PARLEY_BIN"); bin != "" {
		binPath = bin
		return m.Run()
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "parley-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "parley")
	cmd := exec.Command("go", "build", "-o", binPath, "./cmd/parley")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: go build ./cmd/parley failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// redisServer is a private redis-server on a free loopback port. It keeps
// nothing on disk, so a restart comes back empty, like a failover to a
// fresh replica.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	r := &redisServer{t: t, port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	waitUntil(r.t, "redis-server to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
}

// stop kills the server (an outage, not a clean shutdown).
func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// freePort returns a loopback port that was free a moment ago. Only Redis
// needs one: it must come back on the same port after a restart.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// node is one `parley serve` process.
type node struct {
	t    *testing.T
	name string
	id   string
	env  []string
	addr string

	cmd    *exec.Cmd
	exited chan struct{}
	logs   *logBuffer
}

// nodeOptions change one node's environment.
type nodeOptions struct {
	RedisURL    string
	DatabaseURL string
	JWTSecret   string
	ID          string // default: the node's name
	DataDir     string // default: a fresh temporary directory
	Extra       []string
}

// startNode starts a node listening on 127.0.0.1:0 and waits until it is
// ready. It is stopped with SIGTERM when the test ends.
func startNode(t *testing.T, name string, o nodeOptions) *node {
	t.Helper()
	if o.ID == "" {
		o.ID = name
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"PARLEY_ADDR=127.0.0.1:0",
		"PARLEY_DATA_DIR=" + o.DataDir,
		"PARLEY_NODE_ID=" + o.ID,
		"PARLEY_LOG_FORMAT=json",
		"PARLEY_REDIS_URL=" + o.RedisURL,
		"PARLEY_SHUTDOWN_TIMEOUT=3s",
	}
	if o.DatabaseURL != "" {
		env = append(env, "PARLEY_DATABASE_URL="+o.DatabaseURL)
	}
	if o.JWTSecret != "" {
		env = append(env, "PARLEY_JWT_SECRET="+o.JWTSecret)
	}
	env = append(env, o.Extra...)
	n := &node{t: t, name: name, id: o.ID, env: env}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) start() {
	n.t.Helper()
	n.cmd = exec.Command(binPath, "serve")
	n.cmd.Env = n.env
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	n.logs = &logBuffer{}
	listening := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.logs.add(line)
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "parley listening" {
				select {
				case listening <- rec.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	cmd := n.cmd
	go func() {
		<-scanned // Wait closes the pipe; read everything first
		_ = cmd.Wait()
		close(n.exited)
	}()
	select {
	case n.addr = <-listening:
	case <-n.exited:
		n.t.Fatalf("%s exited before listening:\n%s", n.name, n.logs)
	case <-time.After(waitTimeout):
		n.t.Fatalf("%s did not log its address within %s:\n%s", n.name, waitTimeout, n.logs)
	}
	waitUntil(n.t, n.name+" /readyz", func() bool {
		resp, err := http.Get(n.url("/readyz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (n *node) url(path string) string { return "http://" + n.addr + path }

// stop ends the node gracefully (SIGTERM), or kills it after a bound.
func (n *node) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.exited:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	n.cmd = nil
}

// kill ends the node with SIGKILL: no goodbye, its state stays in Redis.
func (n *node) kill() {
	n.t.Helper()
	if err := n.cmd.Process.Kill(); err != nil {
		n.t.Fatal(err)
	}
	<-n.exited
	n.cmd = nil
}

// logged reports whether the node logged a record whose msg contains s.
func (n *node) logged(s string) bool {
	for _, line := range n.logs.lines() {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.Msg, s) {
			return true
		}
	}
	return false
}

// logBuffer keeps a node's log lines for assertions and failure reports.
type logBuffer struct {
	mu sync.Mutex
	ls []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ls = append(b.ls, line)
}

func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.ls...)
}

func (b *logBuffer) String() string { return strings.Join(b.lines(), "\n") }

// startCluster starts n nodes named A, B, C… on one Redis.
func startCluster(t *testing.T, redisURL string, count int) []*node {
	t.Helper()
	nodes := make([]*node, count)
	for i := range nodes {
		nodes[i] = startNode(t, string(rune('A'+i)), nodeOptions{RedisURL: redisURL})
	}
	return nodes
}

// waitUntil polls ok until it holds or waitTimeout passes.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	waitUntilFor(t, waitTimeout, what, ok)
}

func waitUntilFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond) // polling a condition with a deadline
	}
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
