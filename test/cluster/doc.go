// Package cluster tests Parley scaled out: several `parley serve`
// processes on loopback ports sharing one private redis-server (and
// PostgreSQL for the messenger), driven only from outside through raw
// Pusher protocol-7 WebSocket frames and the signed HTTP API.
//
// TestMain builds ./cmd/parley once into a temporary directory (PARLEY_BIN
// uses an already built binary instead). Every test starts its own
// redis-server on a free port, so a test may stop and restart it without
// touching the system Redis on 6379.
//
// The fan-out benchmark runs only with PARLEY_CLUSTER_BENCH=1; see
// bench_test.go and docs/deployment.md.
//
// The package holds only tests; nothing in it is meant to be imported.
package cluster
