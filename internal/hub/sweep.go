package hub

import (
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// sweepLoop checks every client's liveness and authorization deadline.
// One periodic pass replaces a timer per connection, which matters at
// tens of thousands of idle sockets.
func (h *Hub) sweepLoop() {
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			h.sweep(now)
		}
	}
}

func (h *Hub) sweep(now time.Time) {
	nowNs := now.UnixNano()
	idle := int64(h.cfg.ActivityTimeout)
	pong := int64(h.cfg.PongTimeout)
	ping := h.frame(pusher.PingFrame)
	for _, a := range h.byID {
		authTimeout := int64(a.app.AuthorizedConnectionsTimeout)
		for _, cl := range a.allClients() {
			if pinged := cl.pingedAt.Load(); pinged != 0 {
				if nowNs-pinged >= pong {
					if !cl.closing.Swap(true) {
						h.cfg.Metrics.PongTimeouts.Add(1)
						cl.conn.Close(pusher.CodePongTimeout, pusher.ErrPongTimeout.Message)
					}
				}
			} else if nowNs-cl.lastActive.Load() >= idle {
				cl.pingedAt.Store(nowNs)
				cl.conn.Send(ping)
			}
			if authTimeout > 0 && nowNs-cl.opened >= authTimeout {
				cl.mu.Lock()
				ok := cl.authorized
				cl.mu.Unlock()
				if !ok {
					cl.closeWith(pusher.ErrNotAuthorizedInTime)
				}
			}
		}
	}
}
