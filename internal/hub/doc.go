// Package hub is one node's real-time engine: apps, connections, channel
// subscriptions, presence, signed-in users and fan-out. It speaks the
// Pusher protocol through package pusher and reaches other nodes only
// through the Broker and Presence interfaces it declares; the in-memory
// implementations here serve a single node (and tests of several hubs in
// one process).
//
// Concurrency: every exported method is safe for concurrent use, except
// that the transport calls Client.Receive for one client from one
// goroutine at a time. Conn.Send is called from many goroutines and must
// never block.
//
// Lock order: Hub.mu → appState.mu → Client.mu. Conn methods are called
// with no hub lock held except appState.mu read locks during fan-out,
// which is why Conn.Send must not block or call back into the hub.
package hub
