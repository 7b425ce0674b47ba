//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// On Linux the bench reads its connections with a few poller goroutines
// instead of a goroutine per connection. Go's reader tries the socket
// first and parks on EAGAIN, so each server write used to cost the bench
// two read syscalls and a goroutine wake-up; a poller waits on a
// level-triggered epoll set for many sockets at once and reads each ready
// one once. The connection's descriptor leaves Go's own poller for it (a
// duplicate is kept, the original closed), so it is read and written with
// raw syscalls from then on.

// pollers are the shared poller goroutines, started on first use.
var pollers struct {
	once sync.Once
	ps   []*poller
	err  error
	next atomic.Uint32
}

// poller is one epoll set and the goroutine that serves it.
type poller struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]*polledConn
}

// polledConn is a connection a poller reads.
type polledConn struct {
	ws  *wsConn
	fc  *fdConn
	f   func(now time.Time, msg []byte)
	end func(error)
}

// readPolled starts reading c on a poller: f for every data message, end
// once when the connection ends. It returns an error, and changes nothing,
// when c cannot be polled; the caller then reads it on a goroutine.
func readPolled(c *wsConn, f func(now time.Time, msg []byte), end func(error)) error {
	pollers.once.Do(startPollers)
	if pollers.err != nil {
		return pollers.err
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("a %T has no descriptor", c.nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) { fd, dupErr = syscall.Dup(int(s)) }); err != nil {
		return err
	}
	if dupErr != nil {
		return dupErr
	}
	syscall.CloseOnExec(fd)
	// The duplicate shares the socket (and its O_NONBLOCK); closing the
	// original takes it out of Go's poller without closing the socket.
	c.nc.Close()
	fc := &fdConn{fd: fd, released: make(chan struct{})}
	c.nc = fc
	pc := &polledConn{ws: c, fc: fc, f: f, end: end}
	// Frames that came with the handshake or during the setup reads.
	if err := c.parsed(time.Now(), f); err != nil {
		close(fc.released)
		end(err)
		return nil
	}
	p := pollers.ps[int(pollers.next.Add(1))%len(pollers.ps)]
	p.mu.Lock()
	p.conns[int32(fd)] = pc
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, int32(fd))
		p.mu.Unlock()
		close(fc.released)
		end(fmt.Errorf("epoll_ctl: %w", err))
	}
	return nil
}

func startPollers() {
	for range runtime.GOMAXPROCS(0) {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			pollers.err = fmt.Errorf("epoll_create1: %w", err)
			return
		}
		p := &poller{epfd: epfd, conns: make(map[int32]*polledConn)}
		pollers.ps = append(pollers.ps, p)
		go p.run()
	}
}

// run serves the poller's connections for the life of the process.
func (p *poller) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			panic(fmt.Sprintf("chatbench: epoll_wait: %v", err))
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			pc := p.conns[ev.Fd]
			p.mu.Unlock()
			if pc != nil {
				p.serve(pc)
			}
		}
	}
}

// serve reads a ready connection once and hands on what it completed.
func (p *poller) serve(pc *polledConn) {
	now, err := pc.ws.fill()
	if errors.Is(err, errWouldBlock) {
		return
	}
	if err == nil {
		err = pc.ws.parsed(now, pc.f)
	}
	if err == nil {
		return
	}
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, pc.fc.fd, nil)
	p.mu.Lock()
	delete(p.conns, int32(pc.fc.fd))
	p.mu.Unlock()
	close(pc.fc.released)
	pc.end(err)
}

// errWouldBlock is a read of a socket with nothing to read.
var errWouldBlock = errors.New("would block")

// fdConn is a socket read and written with raw syscalls. The descriptor
// stays open until Close, so its number cannot be reused while a poller
// or a writer might still use it.
type fdConn struct {
	fd       int
	released chan struct{} // closed when no poller reads it any more

	wdeadline atomic.Int64 // unix ns; 0: none
	closed    atomic.Bool
}

func (c *fdConn) Read(p []byte) (int, error) {
	n, err := syscall.Read(c.fd, p)
	switch {
	case err == syscall.EAGAIN:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting for room in the socket's buffer until
// the write deadline.
func (c *fdConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(c.fd, p[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == syscall.EAGAIN:
			if d := c.wdeadline.Load(); d != 0 && time.Now().UnixNano() > d {
				return done, fmt.Errorf("write: %w", errTimeout)
			}
			time.Sleep(100 * time.Microsecond)
		case err == syscall.EINTR:
		case err != nil:
			return done, err
		}
	}
	return done, nil
}

var errTimeout = errors.New("i/o timeout")

// Close ends the connection: a shutdown makes the poller see its end and
// let go of it, then the descriptor is closed.
func (c *fdConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	<-c.released
	return syscall.Close(c.fd)
}

func (c *fdConn) SetReadDeadline(time.Time) error { return nil }

func (c *fdConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.wdeadline.Store(0)
	} else {
		c.wdeadline.Store(t.UnixNano())
	}
	return nil
}
