package ws

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Config tunes the transport. The zero value of each field means its
// documented default.
type Config struct {
	// MaxMessageSize is the largest inbound text message in bytes, after
	// reassembly of fragments; larger ones close the connection with 1009.
	// Default 65536 (Pusher frames are small; event data is capped at 10 KB).
	MaxMessageSize int
	// SendQueue is how many frames may wait for one connection's socket.
	// Send beyond it closes the connection with 4100 (slow consumer).
	// Default 1024.
	SendQueue int
	// WriteTimeout bounds how long one socket may refuse to take bytes
	// before the connection is dropped as a slow consumer. Default 10s.
	WriteTimeout time.Duration
	// CloseTimeout is how long the server waits for the client's close
	// frame after sending its own. Default 3s.
	CloseTimeout time.Duration
	// ReadWorkers is the number of goroutines that read sockets and call
	// Session.Receive. Receive may block (a broker round trip), so there
	// are more of them than cores. Default 4 × GOMAXPROCS, at least 8.
	ReadWorkers int
	// WriteWorkers is the number of goroutines that flush send queues with
	// non-blocking writes. Default GOMAXPROCS.
	WriteWorkers int
	// ReadBufferSize is the size of each read worker's buffer in bytes;
	// connections borrow it only while a read is in progress. Default 16384.
	ReadBufferSize int
}

func (c Config) withDefaults() Config {
	procs := runtime.GOMAXPROCS(0)
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 64 << 10
	}
	if c.SendQueue == 0 {
		c.SendQueue = 1024
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 3 * time.Second
	}
	if c.ReadWorkers == 0 {
		c.ReadWorkers = max(8, 4*procs)
	}
	if c.WriteWorkers == 0 {
		c.WriteWorkers = procs
	}
	if c.ReadBufferSize == 0 {
		c.ReadBufferSize = 16 << 10
	}
	return c
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("ws: "+format, args...))
		}
	}
	check(c.MaxMessageSize < 0, "MaxMessageSize %d must not be negative", c.MaxMessageSize)
	check(c.SendQueue < 0, "SendQueue %d must not be negative", c.SendQueue)
	check(c.WriteTimeout < 0, "WriteTimeout %v must not be negative", c.WriteTimeout)
	check(c.CloseTimeout < 0, "CloseTimeout %v must not be negative", c.CloseTimeout)
	check(c.ReadWorkers < 0, "ReadWorkers %d must not be negative", c.ReadWorkers)
	check(c.WriteWorkers < 0, "WriteWorkers %d must not be negative", c.WriteWorkers)
	check(c.ReadBufferSize < 0 || (c.ReadBufferSize > 0 && c.ReadBufferSize < 512),
		"ReadBufferSize %d must be at least 512", c.ReadBufferSize)
	return errors.Join(errs...)
}
