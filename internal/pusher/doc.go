// Package pusher holds the Pusher Channels wire protocol as pure functions:
// frame encoding and decoding, close codes, channel-name rules, socket ids
// and every HMAC signature the protocol uses (channel auth, user sign-in,
// HTTP API requests, webhooks).
//
// Nothing here does I/O or keeps state; every function is safe to call
// concurrently. The parsers read untrusted bytes and are fuzzed.
package pusher
