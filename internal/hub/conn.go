package hub

// Conn is the transport's side of one client connection.
type Conn interface {
	// Send queues one complete frame, already passed through Config.Frame,
	// for writing. The slice is shared between recipients and must not be
	// modified. Send never blocks: when the connection's bounded queue is
	// full the transport closes it with pusher.ErrSlowConsumer (4100).
	Send(frame []byte)
	// Close writes what is queued, then a close frame with code and reason,
	// then closes the socket. It is idempotent and does not block on the
	// network. The transport reports the end through Client.Closed.
	Close(code int, reason string)
}
