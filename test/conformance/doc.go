// Package conformance is Parley's black-box conformance suite. It builds the
// parley binary once, starts it per test group on a free loopback port with a
// temporary data directory, and drives it only through the official Pusher
// SDKs and raw protocol-7 frames:
//
//   - pusher-http-go v5.1.1 as the backend SDK (trigger, batch, queries,
//     sendToUser, signatures, webhook verification) with a raw WebSocket
//     client that shows the exact frames on failure;
//   - pusher-js 8 and the pusher Node SDK 5 through `node --test` files in
//     test/sdk (npm ci runs first when test/sdk/node_modules is missing).
//
// Environment: PARLEY_BIN uses an already built binary instead of building
// one; PARLEY_CONFORMANCE_RACE=1 builds the server with -race.
//
// The package holds only tests; nothing in it is meant to be imported.
package conformance
