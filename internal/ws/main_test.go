package ws

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(benchClientEnv); addr != "" {
		os.Exit(runBenchClient(addr))
	}
	goleak.VerifyTestMain(m)
}
