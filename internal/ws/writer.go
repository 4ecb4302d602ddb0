package ws

import (
	"errors"
	"net"
	"sync"
	"time"
)

// writeList is the unbounded FIFO of connections with frames to flush.
// A connection is in it at most once (Conn.flushing), so its length is
// bounded by the number of connections and pushing never blocks.
type writeList struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []*Conn
	head   int
	closed bool
}

func newWriteList() *writeList {
	l := &writeList{}
	l.cond.L = &l.mu
	return l
}

func (l *writeList) push(c *Conn) {
	l.mu.Lock()
	l.items = append(l.items, c)
	l.mu.Unlock()
	l.cond.Signal()
}

// pop moves up to len(dst) connections into dst; it waits while the
// list is empty and returns 0 once it is closed.
func (l *writeList) pop(dst []*Conn) int {
	l.mu.Lock()
	for l.head == len(l.items) && !l.closed {
		l.cond.Wait()
	}
	n := copy(dst, l.items[l.head:])
	clear(l.items[l.head : l.head+n])
	l.head += n
	more := l.head < len(l.items)
	if !more {
		l.items, l.head = l.items[:0], 0
	}
	l.mu.Unlock()
	if more {
		l.cond.Signal() // let another writer share the backlog
	}
	return n
}

func (l *writeList) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cond.Broadcast()
}

// writeLoop is one writer goroutine: it takes a few connections at a time
// and writes each one's queued frames with one non-blocking writev.
func (s *Server) writeLoop() {
	defer s.wg.Done()
	w := newIOWorker(0)
	batch := make([]*Conn, 32)
	for {
		n := s.writes.pop(batch)
		if n == 0 {
			return
		}
		for i, c := range batch[:n] {
			s.flush(w, c)
			batch[i] = nil
		}
	}
}

// flushRounds bounds how many queue refills one turn writes, so that a
// busy connection does not starve the others.
const flushRounds = 4

// flush writes c's queue; the caller holds c.flushing.
func (s *Server) flush(w *ioWorker, c *Conn) {
	for range flushRounds {
		c.mu.Lock()
		batch := c.queue
		if c.state == stateDone || len(batch) == 0 {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.queue = nil
		closing := c.closeQueued
		c.closeQueued = false
		c.mu.Unlock()

		rest, err := s.writeNow(w, c, batch)
		if err != nil {
			c.terminate()
			return
		}
		if len(rest) > 0 {
			// The socket buffer is full: continue in a goroutine that
			// waits in the runtime's poller under WriteTimeout. It exists
			// only while this socket is backed up.
			s.wg.Add(1)
			go s.flushBlocking(c, rest, closing)
			return
		}
		if closing {
			c.closeWritten()
			s.releaseFlush(c)
			return
		}
		s.recycle(c, batch)
	}
	s.writes.push(c) // more queued: keep flushing, after the others
}

// writeNow writes frames with non-blocking writev calls and returns the
// frames (the first one possibly cut) that did not fit in the socket.
func (s *Server) writeNow(w *ioWorker, c *Conn, frames [][]byte) ([][]byte, error) {
	for len(frames) > 0 {
		k := w.setIOV(frames)
		err := c.rc.Write(w.writeFn)
		w.clearIOV()
		if err != nil {
			return nil, err
		}
		if w.errno != 0 && !wouldBlock(w.errno) {
			return nil, w.errno
		}
		written := w.n
		s.stats.bytesOut.Add(uint64(written))
		i := 0
		for i < k && written >= len(frames[i]) {
			written -= len(frames[i])
			i++
		}
		s.stats.framesOut.Add(uint64(i))
		if i < k { // short write
			frames[i] = frames[i][written:]
			return frames[i:], nil
		}
		frames = frames[k:]
	}
	return nil, nil
}

// flushBlocking writes rest and then whatever else gets queued, waiting
// for the socket with a deadline, until the queue is empty.
func (s *Server) flushBlocking(c *Conn, rest [][]byte, closing bool) {
	defer s.wg.Done()
	for {
		frames := len(rest)
		_ = c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		bufs := net.Buffers(rest)
		n, err := bufs.WriteTo(c.nc)
		s.stats.bytesOut.Add(uint64(n))
		if err != nil {
			if errors.Is(err, errDeadline) {
				s.stats.writeTimeouts.Add(1)
				s.log.Debug("ws: write timeout, dropping slow consumer", "remote", c.nc.RemoteAddr().String())
			}
			c.terminate()
			return
		}
		s.stats.framesOut.Add(uint64(frames))
		if closing {
			c.closeWritten()
			_ = c.nc.SetWriteDeadline(time.Time{})
			s.releaseFlush(c)
			return
		}
		// Non-blocking writes by the pool must not see an old deadline.
		_ = c.nc.SetWriteDeadline(time.Time{})
		c.mu.Lock()
		rest = c.queue
		if c.state == stateDone || len(rest) == 0 {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.queue = nil
		closing = c.closeQueued
		c.closeQueued = false
		c.mu.Unlock()
	}
}

// releaseFlush ends c's turn after its close frame: nothing is sent after it.
func (s *Server) releaseFlush(c *Conn) {
	c.mu.Lock()
	c.flushing = false
	c.queue = nil
	c.mu.Unlock()
}

// recycle gives a small written batch back to c as its next queue, so an
// active connection does not allocate a slice per flush.
func (s *Server) recycle(c *Conn, batch [][]byte) {
	if cap(batch) > 64 {
		return
	}
	clear(batch)
	c.mu.Lock()
	if c.queue == nil && c.state == stateOpen {
		c.queue = batch[:0]
	}
	c.mu.Unlock()
}
