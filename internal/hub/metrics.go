package hub

import "sync/atomic"

// Metrics are the hub's counters, read by the metrics endpoint.
type Metrics struct {
	Connections         atomic.Int64 // opened, total
	Rejected            atomic.Int64 // refused at connect (bad key, protocol, quota)
	Delivered           atomic.Uint64
	Published           atomic.Uint64 // events published (HTTP API, messenger)
	ClientEvents        atomic.Uint64
	ClientEventsLimited atomic.Uint64
	SubscribeErrors     atomic.Uint64
	PongTimeouts        atomic.Uint64
	BrokerErrors        atomic.Uint64
}
