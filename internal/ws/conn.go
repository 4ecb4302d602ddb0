package ws

import (
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// Handler opens a session for each upgraded connection.
type Handler interface {
	// Open is called once, right after the handshake and before any
	// Receive. It may call c.Send and c.Close. It returns nil when it
	// refused the connection; then it should have called c.Close (if it
	// did not, the transport closes with 1011).
	Open(c *Conn, r *http.Request) Session
}

// Session is the application's side of one connection.
type Session interface {
	// Receive is one complete text message. The session owns msg. Calls
	// for one session never overlap and stop once Close was called.
	Receive(msg []byte)
	// Touch reports a WebSocket ping or pong frame (liveness).
	Touch()
	// Closed is called exactly once, when the socket is gone for any
	// reason; nothing is called on the session after it.
	Closed()
}

type connState uint8

const (
	stateOpen      connState = iota
	stateClosing             // our close frame is queued
	stateCloseSent           // our close frame is written; waiting for the peer's
	stateDone                // socket closed
)

// Conn is one upgraded WebSocket connection. Send and Close are safe for
// concurrent use and never block on the network.
type Conn struct {
	srv *Server
	nc  net.Conn
	rc  syscall.RawConn // every syscall on fd goes through it, so a closed fd is never reused under us
	fd  int32
	id  int32 // tags epoll events, so an event for a closed fd is not taken for its reuse

	// Read side: touched only by the goroutine that owns reading.
	session Session
	fr      frameReader

	mu             sync.Mutex
	state          connState
	reading        bool // a goroutine owns the read side (epoll is disarmed)
	armed          bool // the fd was added to epoll once
	flushing       bool // in the write list, being flushed, or in a blocking flush
	closeQueued    bool // the last frame in queue is our close frame
	dropAfterClose bool // terminate right after our close frame is written
	closedNotified bool
	queue          [][]byte // frames not yet taken by a writer
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Send queues frame (built by TextFrame) for writing. frame is shared
// with other connections and never modified. Send never blocks: when
// SendQueue frames are already waiting, the unsent ones are dropped and
// the connection is closed with 4100 (pusher.ErrSlowConsumer).
func (c *Conn) Send(frame []byte) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.srv.cfg.SendQueue {
		clear(c.queue)
		c.queue = c.queue[:0]
		sched := c.closeLocked(pusher.ErrSlowConsumer.Code, pusher.ErrSlowConsumer.Message, false)
		c.mu.Unlock()
		c.srv.stats.slowConsumers.Add(1)
		c.srv.schedule(c, sched)
		return
	}
	c.queue = append(c.queue, frame)
	sched := !c.flushing
	c.flushing = true
	c.mu.Unlock()
	c.srv.schedule(c, sched)
}

// Close writes what is queued, then a close frame with code and reason
// (cut to 123 bytes), then closes the socket once the client answered or
// CloseTimeout passed. It is idempotent and does not block.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	sched := c.closeLocked(code, reason, false)
	c.mu.Unlock()
	c.srv.schedule(c, sched)
}

// closeLocked queues the close frame and reports whether the caller must
// schedule a flush. c.mu is held and the state is open.
func (c *Conn) closeLocked(code int, reason string, drop bool) bool {
	c.state = stateClosing
	c.dropAfterClose = drop
	c.queue = append(c.queue, closeFrame(code, reason))
	c.closeQueued = true
	if c.flushing {
		return false
	}
	c.flushing = true
	return true
}

// fail closes the connection after a protocol error; the socket is
// closed as soon as the close frame is out.
func (c *Conn) fail(e *closeError) {
	c.srv.stats.protocolErrors.Add(1)
	c.srv.log.Debug("ws: failing connection", "code", e.code, "reason", e.reason, "remote", c.nc.RemoteAddr().String())
	c.fr.closed = true // ignore whatever else the client sends
	c.mu.Lock()
	sched := false
	switch c.state {
	case stateOpen:
		sched = c.closeLocked(e.code, e.reason, true)
	case stateClosing:
		c.dropAfterClose = true
	case stateCloseSent:
		c.mu.Unlock()
		c.terminate()
		return
	}
	c.mu.Unlock()
	c.srv.schedule(c, sched)
}

// closeWritten runs once our close frame is on the wire.
func (c *Conn) closeWritten() {
	c.mu.Lock()
	if c.state == stateDone {
		c.mu.Unlock()
		return
	}
	if c.dropAfterClose {
		c.mu.Unlock()
		c.terminate()
		return
	}
	c.state = stateCloseSent
	c.mu.Unlock()
	c.srv.awaitClose(c, time.Now().Add(c.srv.cfg.CloseTimeout))
	// FIN after the close frame tells the client nothing more follows;
	// reading goes on until its close frame or EOF.
	_ = c.rc.Control(func(fd uintptr) { _ = shutdownWrite(int(fd)) })
}

// terminate closes the socket now, dropping whatever is queued. The
// session learns of it from whoever owns the read side.
func (c *Conn) terminate() {
	c.mu.Lock()
	if c.state == stateDone {
		c.mu.Unlock()
		return
	}
	c.state = stateDone
	c.queue = nil
	owns := !c.reading
	c.reading = true // the read side stays owned for good
	c.mu.Unlock()
	c.srv.unregister(c)
	_ = c.nc.Close()
	if owns {
		c.notifyClosed()
	}
}

// notifyClosed tells the session; only the read side's owner calls it.
func (c *Conn) notifyClosed() {
	c.mu.Lock()
	done := c.closedNotified
	c.closedNotified = true
	c.mu.Unlock()
	if !done && c.session != nil {
		c.session.Closed()
	}
}

// acquireRead takes ownership of the read side for an epoll event.
func (c *Conn) acquireRead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading || c.state == stateDone {
		return false
	}
	c.reading = true
	return true
}

// releaseRead gives the read side back and re-arms epoll, or tells the
// session the connection is gone. Events that arrived while the side was
// owned were dropped; re-arming a level-triggered one-shot registration
// reports them again.
func (c *Conn) releaseRead() {
	c.mu.Lock()
	if c.state == stateDone {
		c.mu.Unlock()
		c.notifyClosed()
		return
	}
	c.reading = false
	add := !c.armed
	c.armed = true
	c.mu.Unlock()
	p, id := c.srv.poll, c.id
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { err = p.arm(int(fd), id, add) }); cerr != nil {
		return // closed meanwhile: terminate saw reading == false and told the session
	}
	if err != nil {
		c.srv.log.Warn("ws: epoll arm failed", "err", err)
		c.terminate()
	}
}

// The frameSink methods run on the read side's owner.

func (c *Conn) message(msg []byte) {
	c.mu.Lock()
	open := c.state == stateOpen
	c.mu.Unlock()
	if open {
		c.srv.stats.messagesIn.Add(1)
		c.session.Receive(msg)
	}
}

func (c *Conn) ping(payload []byte) {
	c.enqueueControl(appendFrame(make([]byte, 0, 2+len(payload)), opPong, payload))
	c.touch()
}

func (c *Conn) pong() { c.touch() }

func (c *Conn) touch() {
	c.mu.Lock()
	open := c.state == stateOpen
	c.mu.Unlock()
	if open {
		c.session.Touch()
	}
}

func (c *Conn) peerClose(code int, reason string) {
	c.mu.Lock()
	switch c.state {
	case stateOpen:
		sched := c.closeLocked(code, "", true) // echo the code (RFC 6455 §5.5.1)
		c.mu.Unlock()
		c.srv.schedule(c, sched)
	case stateClosing:
		c.dropAfterClose = true
		c.mu.Unlock()
	case stateCloseSent:
		c.mu.Unlock()
		c.terminate()
	default:
		c.mu.Unlock()
	}
}

// enqueueControl queues a frame the transport itself answers with.
func (c *Conn) enqueueControl(frame []byte) { c.Send(frame) }
