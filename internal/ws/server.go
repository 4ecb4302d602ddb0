package ws

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

var errDeadline = os.ErrDeadlineExceeded

// Server upgrades HTTP requests to WebSocket connections and drives them
// with one epoll loop and two small worker pools: no goroutine waits on an
// idle socket, and a connection holds a buffer only while it has a
// partial frame or frames queued.
type Server struct {
	cfg      Config
	handler  Handler
	log      *slog.Logger
	upgrader ws.HTTPUpgrader
	poll     *poller
	writes   *writeList
	reads    chan *Conn
	stats    counters

	mu       sync.Mutex
	closed   bool
	conns    []*Conn         // indexed by fd
	closing  map[*Conn]int64 // close frame sent: deadline in Unix ns
	upgrades sync.WaitGroup  // ServeHTTP calls past the closed check
	nextID   int32

	wg        sync.WaitGroup // every goroutine the server started
	pollDone  chan struct{}
	stopSweep chan struct{}
	closeOnce sync.Once
}

// NewServer starts the epoll loop, the worker pools and the close sweeper.
// Stop them with Close or Shutdown.
func NewServer(cfg Config, h Handler, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("ws: nil Handler")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg.withDefaults(),
		handler:   h,
		log:       logger,
		upgrader:  ws.HTTPUpgrader{Timeout: 5 * time.Second},
		poll:      p,
		writes:    newWriteList(),
		closing:   make(map[*Conn]int64),
		pollDone:  make(chan struct{}),
		stopSweep: make(chan struct{}),
	}
	s.reads = make(chan *Conn, 4*s.cfg.ReadWorkers)
	s.wg.Add(2 + s.cfg.ReadWorkers + s.cfg.WriteWorkers)
	go s.pollLoop()
	go s.sweepLoop()
	for range s.cfg.ReadWorkers {
		go s.readLoop()
	}
	for range s.cfg.WriteWorkers {
		go s.writeLoop()
	}
	return s, nil
}

// ServeHTTP upgrades the request and hands the connection to the
// Handler. Requests that are not valid WebSocket handshakes get a 4xx;
// after Close or Shutdown began, 503.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.upgrades.Add(1)
	s.mu.Unlock()
	defer s.upgrades.Done()

	nc, rw, _, err := s.upgrader.Upgrade(r, w)
	if err != nil {
		s.stats.handshakeFailures.Add(1)
		s.log.Debug("ws: handshake failed", "err", err, "remote", r.RemoteAddr)
		if nc != nil {
			_ = nc.Close()
		}
		return
	}
	sc, ok := nc.(syscall.Conn)
	var rc syscall.RawConn
	if ok {
		rc, err = sc.SyscallConn()
	}
	fd := -1
	if err == nil && rc != nil {
		err = rc.Control(func(f uintptr) { fd = int(f) })
	}
	if fd < 0 || err != nil {
		s.log.Error("ws: connection has no file descriptor", "err", err)
		_ = nc.Close()
		return
	}
	// Bytes the client sent right after its handshake are already in the
	// HTTP server's buffer; copy them out, since that buffer is dropped.
	var pending []byte
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		pending = append([]byte(nil), b...)
	}
	c := &Conn{srv: s, nc: nc, rc: rc, fd: int32(fd), reading: true}
	c.fr.maxMessage = int64(s.cfg.MaxMessageSize)
	s.register(c)
	s.stats.accepted.Add(1)

	// This goroutine owns the read side until releaseRead, so the session
	// is set before any read worker can see the connection.
	c.session = s.handler.Open(c, r)
	if c.session == nil {
		c.Close(StatusInternal, "connection refused")
	}
	if len(pending) > 0 {
		s.consume(c, pending)
	}
	c.releaseRead()
}

// register makes c findable by fd for the poll loop and for Close.
func (s *Server) register(c *Conn) {
	s.mu.Lock()
	s.nextID++
	if s.nextID < 0 {
		s.nextID = 1 // -1 tags the wake eventfd
	}
	c.id = s.nextID
	for int(c.fd) >= len(s.conns) {
		s.conns = append(s.conns, make([]*Conn, max(1024, len(s.conns)))...)
	}
	s.conns[c.fd] = c
	s.mu.Unlock()
	s.stats.open.Add(1)
}

// unregister forgets c; its fd is still open, so it cannot be reused yet.
func (s *Server) unregister(c *Conn) {
	s.mu.Lock()
	if int(c.fd) < len(s.conns) && s.conns[c.fd] == c {
		s.conns[c.fd] = nil
	}
	delete(s.closing, c)
	s.mu.Unlock()
	s.stats.open.Add(-1)
}

func (s *Server) lookup(fd, id int32) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fd < 0 || int(fd) >= len(s.conns) {
		return nil
	}
	if c := s.conns[fd]; c != nil && c.id == id {
		return c
	}
	return nil
}

// schedule puts c in the write list when the caller set c.flushing.
func (s *Server) schedule(c *Conn, sched bool) {
	if sched {
		s.writes.push(c)
	}
}

func (s *Server) pollLoop() {
	defer s.wg.Done()
	defer close(s.pollDone)
	events := make([]pollEvent, 256)
	ready := func(fd, id int32) {
		if c := s.lookup(fd, id); c != nil && c.acquireRead() {
			s.reads <- c
		}
	}
	for s.poll.wait(events, ready) {
	}
}

func (s *Server) readLoop() {
	defer s.wg.Done()
	w := newIOWorker(s.cfg.ReadBufferSize)
	for c := range s.reads {
		s.readOnce(w, c)
	}
}

// readOnce reads what the socket has (one read; level-triggered epoll
// reports the rest) and handles the frames in it. The caller owns c's
// read side.
func (s *Server) readOnce(w *ioWorker, c *Conn) {
	err := c.rc.Read(w.readFn)
	switch {
	case err != nil:
		c.terminate()
	case w.errno != 0 && wouldBlock(w.errno):
	case w.errno != 0 || w.n == 0: // reset or EOF
		c.terminate()
	default:
		s.consume(c, w.buf[:w.n])
	}
	c.releaseRead()
}

func (s *Server) consume(c *Conn, b []byte) {
	s.stats.bytesIn.Add(uint64(len(b)))
	frames, cerr := c.fr.consume(b, c)
	s.stats.framesIn.Add(uint64(frames))
	if cerr != nil {
		c.fail(cerr)
	}
}

// awaitClose gives c until deadline to answer our close frame.
func (s *Server) awaitClose(c *Conn, deadline time.Time) {
	s.mu.Lock()
	s.closing[c] = deadline.UnixNano()
	s.mu.Unlock()
}

// sweepLoop closes connections whose peer never answered our close frame.
// One ticker serves every connection: no timer per connection.
func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(min(time.Second, s.cfg.CloseTimeout/2))
	defer t.Stop()
	var expired []*Conn
	for {
		select {
		case <-s.stopSweep:
			return
		case now := <-t.C:
			s.mu.Lock()
			for c, d := range s.closing {
				if now.UnixNano() >= d {
					expired = append(expired, c)
				}
			}
			s.mu.Unlock()
			for i, c := range expired {
				c.terminate()
				expired[i] = nil
			}
			expired = expired[:0]
		}
	}
}

// Shutdown stops accepting upgrades, closes every connection with 4200
// (reconnect at once, elsewhere), waits until the clients answered or ctx
// ends, then stops the server like Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	for _, c := range s.snapshot() {
		c.Close(codeShuttingDown, reasonShuttingDown)
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var err error
	for s.stats.open.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
	}
	s.Close()
	return err
}

// Close closes every connection at once, stops the loops and waits for
// them. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopAccepting()
		for _, c := range s.snapshot() {
			c.terminate()
		}
		s.poll.wake()
		<-s.pollDone
		close(s.reads)
		s.writes.close()
		close(s.stopSweep)
		s.wg.Wait()
		// A connection whose Conn.Close raced with the above may still
		// hold its socket: nothing will flush it any more.
		for _, c := range s.snapshot() {
			c.terminate()
		}
		s.poll.close()
	})
	return nil
}

// stopAccepting refuses new upgrades and waits for those in progress, so
// that snapshot afterwards sees every connection.
func (s *Server) stopAccepting() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.upgrades.Wait()
}

func (s *Server) snapshot() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Conn
	for _, c := range s.conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}
