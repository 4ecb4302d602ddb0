//go:build !linux

package ws

import (
	"errors"
	"syscall"
)

// The transport drives sockets with epoll; other systems are not
// supported (NewServer fails), but the package builds so that tools do.

type poller struct{}

var errUnsupported = errors.New("ws: the WebSocket transport needs Linux (epoll)")

func newPoller() (*poller, error)                           { return nil, errUnsupported }
func (p *poller) arm(int, int32, bool) error                { return errUnsupported }
func (p *poller) wait([]pollEvent, func(fd, id int32)) bool { return false }
func (p *poller) wake()                                     {}
func (p *poller) close()                                    {}

type pollEvent struct{}

type ioWorker struct {
	buf             []byte
	n               int
	errno           syscall.Errno
	readFn, writeFn func(uintptr) bool
}

func newIOWorker(int) *ioWorker         { return &ioWorker{} }
func (w *ioWorker) setIOV([][]byte) int { return 0 }
func (w *ioWorker) clearIOV()           {}
func wouldBlock(syscall.Errno) bool     { return false }
func shutdownWrite(int) error           { return errUnsupported }
