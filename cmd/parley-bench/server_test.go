package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	parleyBin string
	buildErr  error
	buildOut  []byte
)

// buildParley builds ./cmd/parley once per test binary.
func buildParley(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bench-test-")
		if err != nil {
			buildErr = err
			return
		}
		parleyBin = filepath.Join(dir, "parley")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			goBin = "go"
		}
		cmd := exec.Command(goBin, "build", "-o", parleyBin, "github.com/parleyhq/parley/cmd/parley")
		cmd.Dir = "../.."
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building cmd/parley: %v\n%s", buildErr, buildOut)
	}
	return parleyBin
}

// startParley runs the real Parley server on a free loopback port with a
// throwaway data directory and returns its address and process id.
func startParley(t *testing.T) (addr string, pid int) {
	t.Helper()
	bin := buildParley(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = append(os.Environ(),
		"PARLEY_ADDR=127.0.0.1:0",
		"PARLEY_DATA_DIR="+t.TempDir(),
		"PARLEY_JWT_SECRET=parley-bench-test-secret-0123456789abcdef",
		"PARLEY_LOG_FORMAT=json",
		"PARLEY_LOG_LEVEL=info",
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "parley listening" {
				found <- line.Addr
			}
		}
	}()
	select {
	case addr = <-found:
		return addr, cmd.Process.Pid
	case <-time.After(60 * time.Second):
		t.Fatal("parley did not log its listening address within 60 s")
	}
	return "", 0
}
