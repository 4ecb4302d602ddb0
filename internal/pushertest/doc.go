// Package pushertest is a raw Pusher protocol-7 WebSocket client for tests.
// It speaks the wire frames itself (github.com/gobwas/ws) so a test sees
// exactly what the server sent, and every failure it reports carries the
// client's frame log (C→S and S→C, in order).
//
// Only tests import it: cmd/parley, test/cluster and test/conformance. It
// is a non-test package so that the three suites can share it; nothing in
// the server may import it.
//
// A Client keeps every frame it receives. Two ways of reading coexist:
//
//   - Expect, ExpectNone, Await and Until consume frames in order, through
//     a cursor: "the next frame must be X", "nothing more arrives".
//   - WaitFor, WaitFrom, Count and Frames look at the whole log without
//     consuming it, for tests that count deliveries or wait for frames that
//     may arrive in any order.
//
// Concurrency: the waiting, expecting and sending methods call t.Fatalf,
// so they belong to the test's goroutine. Send and SendRaw are also safe
// to call while the read loop answers pings. Frames, Count, Mark and
// Transcript are safe from any goroutine. App's Do is safe from any
// goroutine; App's Request only from the test's.
package pushertest
