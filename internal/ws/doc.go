// Package ws is Parley's WebSocket transport: it upgrades HTTP requests
// (RFC 6455, via github.com/gobwas/ws), then drives every socket from one
// epoll loop and two small worker pools, so that no goroutine is parked
// on an idle connection and an idle connection holds no buffer.
//
// Reading: a level-triggered one-shot epoll registration hands a readable
// socket to one read worker, which reads what is there into its own
// buffer, parses the client's frames (masked text, continuation, ping,
// pong, close), and calls Session.Receive with each complete message.
// Only a frame split across reads is copied into a per-connection buffer.
//
// Writing: Conn.Send appends a shared, pre-framed []byte (TextFrame) to a
// bounded per-connection queue and never blocks; write workers flush a
// whole queue with one non-blocking writev. A socket that cannot take
// more gets a goroutine that waits for it under WriteTimeout, only while
// it is backed up. Overflow closes the connection with 4100.
//
// Concurrency: Server methods and Conn.Send/Close are safe for concurrent
// use. Session methods are called from the transport's goroutines:
// Receive and Touch for one session never overlap, and Closed is called
// exactly once, last. A Session must not block long in Receive (it holds
// a read worker). Handler.Open runs on the HTTP server's goroutine.
//
// Every syscall on a socket goes through its syscall.RawConn, so a
// descriptor closed by one goroutine is never reused under another; epoll
// events carry a connection id for the same reason.
package ws
