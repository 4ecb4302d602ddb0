package pushertest

import (
	"errors"
	"time"

	"github.com/gobwas/ws/wsutil"
)

// next waits for the first unconsumed frame and consumes it; i is its
// index in the log. ok is false when the socket ended first; timedOut when
// the deadline passed.
func (c *Client) next(timer *time.Timer) (f Frame, i int, ok, timedOut bool) {
	for {
		c.mu.Lock()
		if i = c.cursor; i < len(c.frames) {
			f = c.frames[i]
			c.cursor++
			c.mu.Unlock()
			return f, i, true, false
		}
		if c.ended {
			c.mu.Unlock()
			return Frame{}, i, false, false
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return Frame{}, i, false, true
		}
	}
}

// Expect consumes the next frame and requires it to be event: any other
// frame first, the socket ending or the deadline passing fails the test.
func (c *Client) Expect(event string) Frame {
	c.t.Helper()
	f, _ := c.until(event, func(_ int, f Frame) bool {
		c.t.Helper()
		if f.Event != event {
			c.fatalf("got %s %s %s, want %s", f.Event, f.Channel, f.Data, event)
		}
		return true
	})
	return f
}

// ExpectNone fails if an unconsumed frame arrives within window. It proves
// an absence, so it has to wait; keep the window small. A socket that ends
// without sending anything passes.
func (c *Client) ExpectNone(window time.Duration) {
	c.t.Helper()
	timer := time.NewTimer(window)
	defer timer.Stop()
	if f, _, ok, _ := c.next(timer); ok {
		c.fatalf("unexpected frame %s %s %s", f.Event, f.Channel, f.Data)
	}
}

// Await consumes frames until one matches pred and returns it; what names
// it in the failure message when none arrives in time or the socket ends.
func (c *Client) Await(what string, pred func(Frame) bool) Frame {
	c.t.Helper()
	f, _ := c.Until(what, pred)
	return f
}

// AwaitEvent is Await for event on channel.
func (c *Client) AwaitEvent(event, channel string) Frame {
	c.t.Helper()
	return c.Await(event+" on "+channel, IsEvent(event, channel))
}

// Until is Await that also returns the frames it skipped, so a test can
// assert what did not arrive before a marker.
func (c *Client) Until(what string, pred func(Frame) bool) (Frame, []Frame) {
	c.t.Helper()
	return c.until(what, func(_ int, f Frame) bool { return pred(f) })
}

// until is Until with each frame's index in the log.
func (c *Client) until(what string, pred func(int, Frame) bool) (Frame, []Frame) {
	c.t.Helper()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	var skipped []Frame
	for {
		f, i, ok, timedOut := c.next(timer)
		switch {
		case timedOut:
			c.fatalf("no %s within %s", what, c.timeout)
		case !ok:
			c.fatalf("socket closed (%v) while waiting for %s", c.err(), what)
		case pred(i, f):
			return f, skipped
		}
		skipped = append(skipped, f)
	}
}

// Frames returns a copy of every frame received so far, consumed or not.
func (c *Client) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// Count returns how many received frames match pred.
func (c *Client) Count(pred func(Frame) bool) int {
	n := 0
	for _, f := range c.Frames() {
		if pred(f) {
			n++
		}
	}
	return n
}

// Mark returns how many frames have been received, for WaitFrom.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// WaitFor returns the first frame received, ever, that matches pred,
// waiting up to the client's timeout. It consumes nothing.
func (c *Client) WaitFor(what string, pred func(Frame) bool) Frame {
	c.t.Helper()
	return c.WaitFrom(0, c.timeout, what, pred)
}

// WaitWithin is WaitFor with its own bound d.
func (c *Client) WaitWithin(d time.Duration, what string, pred func(Frame) bool) Frame {
	c.t.Helper()
	return c.WaitFrom(0, d, what, pred)
}

// WaitFrom is WaitWithin that looks only at frames received after the
// first mark (see Mark).
func (c *Client) WaitFrom(mark int, d time.Duration, what string, pred func(Frame) bool) Frame {
	c.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		for _, f := range c.frames[min(mark, len(c.frames)):] {
			if pred(f) {
				c.mu.Unlock()
				return f
			}
		}
		ended, changed := c.ended, c.changed
		c.mu.Unlock()
		if ended {
			c.fatalf("socket ended (%v) while waiting for %s", c.err(), what)
		}
		select {
		case <-changed:
		case <-timer.C:
			c.fatalf("no %s within %s", what, d)
		}
	}
}

func (c *Client) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// WaitClosed waits until the server closes the socket and returns the
// close code; ending without a close frame fails the test.
func (c *Client) WaitClosed() int {
	c.t.Helper()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		c.fatalf("socket still open after %s", c.timeout)
	}
	var ce wsutil.ClosedError
	if !errors.As(c.err(), &ce) {
		c.fatalf("socket ended with %v, not a close frame", c.err())
	}
	return int(ce.Code)
}

// ExpectClose waits for the server to close the socket with code,
// whatever frames come first.
func (c *Client) ExpectClose(code int) {
	c.t.Helper()
	if got := c.WaitClosed(); got != code {
		var ce wsutil.ClosedError
		errors.As(c.err(), &ce)
		c.fatalf("closed with %d %q, want %d", got, ce.Reason, code)
	}
}
