// Package redisbroker makes several Parley nodes one cluster on Redis: it
// implements hub.Broker with Redis pub/sub and hub.State with Redis sets
// and hashes changed by Lua scripts, so "first connection" and "last
// connection" are decided atomically for the whole cluster.
//
// Every fact a node writes is also listed under the node's own key. Nodes
// heartbeat; when a node's heartbeat expires, a survivor reaps its facts and
// the hub announces the departures (member_removed, watchlist offline,
// webhooks). After a Redis outage each node reconciles its facts with what
// its live connections hold.
//
// All methods are safe for concurrent use.
package redisbroker
