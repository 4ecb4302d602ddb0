package ws

import (
	"sync/atomic"

	"github.com/parleyhq/parley/internal/pusher"
)

var (
	codeShuttingDown   = pusher.ErrShuttingDown.Code
	reasonShuttingDown = pusher.ErrShuttingDown.Message
)

// Stats is a snapshot of the server's counters, for /metrics. All but
// Open only grow.
type Stats struct {
	Open              int64  // connections open now
	Accepted          uint64 // successful upgrades
	HandshakeFailures uint64 // requests refused during the upgrade
	FramesIn          uint64 // frames read from clients
	MessagesIn        uint64 // text messages handed to sessions
	FramesOut         uint64 // frames fully written to sockets
	BytesIn           uint64
	BytesOut          uint64
	SlowConsumers     uint64 // closes with 4100: send queue overflow
	WriteTimeouts     uint64 // sockets dropped after WriteTimeout
	ProtocolErrors    uint64 // connections failed for a bad frame
}

type counters struct {
	open                                         atomic.Int64
	accepted, handshakeFailures                  atomic.Uint64
	framesIn, messagesIn, framesOut              atomic.Uint64
	bytesIn, bytesOut                            atomic.Uint64
	slowConsumers, writeTimeouts, protocolErrors atomic.Uint64
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Open:              c.open.Load(),
		Accepted:          c.accepted.Load(),
		HandshakeFailures: c.handshakeFailures.Load(),
		FramesIn:          c.framesIn.Load(),
		MessagesIn:        c.messagesIn.Load(),
		FramesOut:         c.framesOut.Load(),
		BytesIn:           c.bytesIn.Load(),
		BytesOut:          c.bytesOut.Load(),
		SlowConsumers:     c.slowConsumers.Load(),
		WriteTimeouts:     c.writeTimeouts.Load(),
		ProtocolErrors:    c.protocolErrors.Load(),
	}
}
