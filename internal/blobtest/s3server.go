package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parleyhq/parley/internal/syncbuf"
)

// S3 describes a running S3-compatible server and one empty bucket on it.
type S3 struct {
	Endpoint  string // 127.0.0.1:port, plain HTTP, path-style
	AccessKey string
	SecretKey string
	Bucket    string
}

// S3Server starts versitygw (a real S3 gateway over a temporary directory)
// on a free loopback port for the calling test and stops it in Cleanup;
// NewBucket on the result makes a fresh bucket. When the binary is missing
// the test fails with instructions, or is skipped if PARLEY_TEST_S3=off.
func S3Server(tb testing.TB) *S3Gateway {
	tb.Helper()
	bin := findVersityGW()
	if bin == "" {
		if os.Getenv("PARLEY_TEST_S3") == "off" {
			tb.Skip("versitygw not installed and PARLEY_TEST_S3=off")
		}
		tb.Fatal("versitygw not found on PATH or in GOPATH/bin: run scripts/install-versitygw.sh " +
			"(or set PARLEY_TEST_S3=off to skip the S3 tests)")
	}
	g := &S3Gateway{access: "parleytest", secret: randHex(16)}
	var lastErr error
	for range 3 { // the free port may be taken between probe and start
		if lastErr = g.start(tb, bin); lastErr == nil {
			return g
		}
	}
	tb.Fatalf("start versitygw: %v", lastErr)
	return nil
}

// S3Gateway is a running versitygw process.
type S3Gateway struct {
	access, secret, endpoint string
	client                   *minio.Client
	mu                       sync.Mutex
	buckets                  int
}

func findVersityGW() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	dirs := []string{os.Getenv("GOBIN")}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (g *S3Gateway) start(tb testing.TB, bin string) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	root := tb.TempDir()
	// A sidecar directory keeps metadata in files, so the test does not
	// depend on the temporary file system supporting extended attributes.
	sidecar := tb.TempDir()
	cmd := exec.Command(bin, "--access", g.access, "--secret", g.secret, "--port", addr, "--quiet",
		"posix", "--sidecar", sidecar, root)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	cl, err := minio.New(addr, &minio.Options{
		Creds:        credentials.NewStaticV4(g.access, g.secret, ""),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		stop()
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = cl.ListBuckets(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			return &gatewayError{"versitygw exited: " + out.String()}
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return &gatewayError{"versitygw not ready after 30s: " + err.Error() + "\n" + out.String()}
		}
		time.Sleep(50 * time.Millisecond) // polling readiness with a deadline, not waiting for an event
	}
	g.endpoint, g.client = addr, cl
	tb.Cleanup(stop)
	return nil
}

type gatewayError struct{ msg string }

func (e *gatewayError) Error() string { return strings.TrimSpace(e.msg) }

// NewBucket creates an empty bucket and returns how to reach it.
func (g *S3Gateway) NewBucket(tb testing.TB) S3 {
	tb.Helper()
	g.mu.Lock()
	g.buckets++
	name := "parley-test-" + strings.ToLower(randHex(4))
	g.mu.Unlock()
	if err := g.client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("make bucket %s: %v", name, err)
	}
	return S3{Endpoint: g.endpoint, AccessKey: g.access, SecretKey: g.secret, Bucket: name}
}
