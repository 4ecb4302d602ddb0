// Package bench is Parley's load generator: raw WebSocket clients speaking
// Pusher protocol 7 or Centrifugo's JSON protocol, HTTP publishers for both
// servers' APIs, and the scenarios that measure a server with them (idle,
// fanout, threads, presence, messenger). cmd/parley-bench is its command.
//
// Every scenario is bounded in connections, publishes and time, and only
// dials addresses in 127.0.0.0/8: Target.Validate refuses anything else.
//
// Concurrency: a Client is used by one reader goroutine plus any number of
// writers (writes are serialised by the client). Hist, Recv and the
// publishers are safe for concurrent use. A scenario's Run function is
// called from one goroutine and owns everything it starts; it returns only
// after its connections, workers and goroutines are closed.
package bench
