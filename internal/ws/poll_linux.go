//go:build linux

package ws

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollEvent is one epoll event; Pad carries the connection id.
type pollEvent = unix.EpollEvent

// poller is a level-triggered, one-shot epoll set for readability. One
// shot makes one event hand a connection to exactly one read worker;
// re-arming after the read reports data that arrived meanwhile.
type poller struct {
	epfd   int
	wakefd int // an eventfd that ends wait
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd), Pad: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	return &poller{epfd: epfd, wakefd: wakefd}, nil
}

// arm registers fd (add) or re-arms it for one readability event.
func (p *poller) arm(fd int, id int32, add bool) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd), Pad: id}
	op := unix.EPOLL_CTL_MOD
	if add {
		op = unix.EPOLL_CTL_ADD
	}
	return unix.EpollCtl(p.epfd, op, fd, &ev)
}

// wait blocks until events arrive and calls ready for each; it returns
// false once wake was called.
func (p *poller) wait(events []pollEvent, ready func(fd, id int32)) bool {
	n, err := unix.EpollWait(p.epfd, events, -1)
	if err != nil {
		return errors.Is(err, unix.EINTR)
	}
	for i := range events[:n] {
		ev := &events[i]
		if ev.Pad == -1 && ev.Fd == int32(p.wakefd) {
			return false
		}
		ready(ev.Fd, ev.Pad)
	}
	return true
}

// wake ends the current and every later wait.
func (p *poller) wake() {
	var one = [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
}

func (p *poller) close() {
	unix.Close(p.epfd)
	unix.Close(p.wakefd)
}

// ioWorker holds one worker goroutine's buffers and the callbacks it
// passes to syscall.RawConn, bound once so that no call allocates.
type ioWorker struct {
	buf     []byte
	iov     []unix.Iovec
	n       int
	errno   unix.Errno
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
}

const maxIOV = 1024 // IOV_MAX on Linux

func newIOWorker(bufSize int) *ioWorker {
	w := &ioWorker{iov: make([]unix.Iovec, 0, 64)}
	if bufSize > 0 {
		w.buf = make([]byte, bufSize)
	}
	w.readFn = w.doRead
	w.writeFn = w.doWritev
	return w
}

// doRead is one non-blocking read into w.buf. It returns true so that
// RawConn.Read never parks the goroutine: waiting is epoll's job.
func (w *ioWorker) doRead(fd uintptr) bool {
	w.io(unix.SYS_READ, fd, unsafe.Pointer(&w.buf[0]), len(w.buf))
	return true
}

// doWritev is one non-blocking writev of w.iov.
func (w *ioWorker) doWritev(fd uintptr) bool {
	w.io(unix.SYS_WRITEV, fd, unsafe.Pointer(&w.iov[0]), len(w.iov))
	return true
}

// io makes one read-like system call, retrying only on EINTR, and leaves
// its result in w.n and w.errno (w.n is 0 on error).
func (w *ioWorker) io(trap, fd uintptr, p unsafe.Pointer, n int) {
	for {
		r, _, e := unix.Syscall(trap, fd, uintptr(p), uintptr(n))
		if e == unix.EINTR {
			continue
		}
		w.n, w.errno = int(r), e
		if e != 0 {
			w.n = 0
		}
		return
	}
}

// setIOV points w.iov at up to maxIOV frames and returns how many.
func (w *ioWorker) setIOV(frames [][]byte) int {
	k := min(len(frames), maxIOV)
	w.iov = w.iov[:0]
	for _, f := range frames[:k] {
		v := unix.Iovec{Base: &f[0]}
		v.SetLen(len(f))
		w.iov = append(w.iov, v)
	}
	return k
}

// clearIOV drops the frame pointers so that written frames can be freed.
func (w *ioWorker) clearIOV() {
	clear(w.iov)
	w.iov = w.iov[:0]
}

func wouldBlock(e unix.Errno) bool { return e == unix.EAGAIN || e == unix.EWOULDBLOCK }

func shutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }
