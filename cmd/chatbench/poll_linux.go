//go:build linux

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
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

	// A connection dialled on the poller (dialPolled) starts in setup:
	// the poller appends what it reads to pending and wakes the dialling
	// goroutine, which reads the handshake's answer and the setup replies
	// from there as from a socket. running is set, under mu, once the
	// goroutine hands the connection over (wsConn.read); from then on the
	// poller parses and calls f itself, as for readPolled's connections.
	running atomic.Bool
	p       *poller
	mu      sync.Mutex // guards pending and err during setup
	pending []byte
	err     error         // why the connection ended during setup
	wantOut bool          // waiting for the connect: EPOLLOUT is on
	ready   chan struct{} // cap 1: pending or err changed
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
	pc.running.Store(true)
	// Frames that came with the handshake or during the setup reads.
	if err := c.parsed(time.Now(), f); err != nil {
		close(fc.released)
		end(err)
		return nil
	}
	if err := nextPoller().add(pc); err != nil {
		close(fc.released)
		end(err)
	}
	return nil
}

// nextPoller picks a poller for a new connection, in turn.
func nextPoller() *poller {
	return pollers.ps[int(pollers.next.Add(1))%len(pollers.ps)]
}

// add starts watching pc's socket for reads.
func (p *poller) add(pc *polledConn) error {
	pc.p = p
	fd := pc.fc.fd
	p.mu.Lock()
	p.conns[int32(fd)] = pc
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, int32(fd))
		p.mu.Unlock()
		return os.NewSyscallError("epoll_ctl", err)
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
				p.serve(pc, ev.Events)
			}
		}
	}
}

// serve reads a ready connection once and hands on what it completed.
func (p *poller) serve(pc *polledConn, events uint32) {
	if !pc.running.Load() && p.serveSetup(pc, events) {
		return
	}
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
	p.remove(pc)
	pc.end(err)
}

// remove takes pc out of the poller for good.
func (p *poller) remove(pc *polledConn) {
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, pc.fc.fd, nil)
	p.mu.Lock()
	delete(p.conns, int32(pc.fc.fd))
	p.mu.Unlock()
	close(pc.fc.released)
}

// serveSetup reads a connection still in setup into its pending bytes and
// wakes its goroutine. It returns false if the connection was handed over
// meanwhile: the caller then serves it as a running one.
func (p *poller) serveSetup(pc *polledConn, events uint32) bool {
	pc.mu.Lock()
	if pc.running.Load() {
		pc.mu.Unlock()
		return false
	}
	if events&syscall.EPOLLOUT != 0 && pc.err == nil && pc.wantOut {
		// The connect completed (or failed): back to reads only.
		pc.wantOut = false
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(pc.fc.fd)}
		if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, pc.fc.fd, &ev); err != nil {
			pc.err = fmt.Errorf("epoll_ctl: %w", err)
			p.remove(pc)
		}
	}
	if pc.err == nil && events&^syscall.EPOLLOUT != 0 {
		var scratch [16 << 10]byte
		n, err := syscall.Read(pc.fc.fd, scratch[:])
		switch {
		case n > 0:
			pc.pending = append(pc.pending, scratch[:n]...)
		case err == syscall.EAGAIN || err == syscall.EINTR:
		case err == nil:
			pc.err = io.EOF
		default:
			pc.err = err
		}
		if pc.err != nil {
			p.remove(pc)
		}
	}
	pc.mu.Unlock()
	select {
	case pc.ready <- struct{}{}:
	default:
	}
	return true
}

// dialPolled opens a WebSocket to u the way dialWS does, but on the
// pollers instead of through Go's netpoller: the socket is made and
// connected by hand, non-blocking, and added to a poller once, which reads
// the handshake's answer and everything after it. Go's dial costs about a
// dozen more system calls (its own epoll registration and wait,
// SO_ERROR, the two address reads) and, to move the descriptor to a
// poller afterwards, a dup, a close and a second epoll_ctl. The request
// and its answer are gobwas/ws's (Dialer.Upgrade) over the setupConn.
// It returns errNotPollable, having done nothing, when u's host is not an
// IP address.
func dialPolled(ctx context.Context, u *url.URL, d ws.Dialer, bufSize int) (*wsConn, error) {
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil, errNotPollable
	}
	ip = ip.Unmap()
	port, err := strconv.Atoi(cmp.Or(u.Port(), "80"))
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", u.Port(), err)
	}
	if err := loopbackControl("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil); err != nil {
		return nil, err
	}
	pollers.once.Do(startPollers)
	if pollers.err != nil {
		return nil, pollers.err
	}
	var sa syscall.Sockaddr
	domain := syscall.AF_INET
	if ip.Is4() {
		sa = &syscall.SockaddrInet4{Port: port, Addr: ip.As4()}
	} else {
		domain = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	fd, err := syscall.Socket(domain, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	// A connect to loopback answers EINPROGRESS, and by the time it
	// returns the kernel has usually completed it; the request's write
	// waits (fdConn.Write) if it has not.
	if err := syscall.Connect(fd, sa); err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	// As Go's dialer does: the bench's frames are small and latency is
	// what it measures.
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	fc := &fdConn{fd: fd, released: make(chan struct{})}
	c := &wsConn{buf: make([]byte, max(bufSize, 4096))}
	pc := &polledConn{ws: c, fc: fc, ready: make(chan struct{}, 1)}
	sc := &setupConn{pc: pc, ctx: ctx}
	c.nc = sc
	if err := nextPoller().add(pc); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	deadline := time.Now().Add(d.Timeout)
	sc.SetReadDeadline(deadline)
	fc.SetWriteDeadline(deadline)
	br, _, err := d.Upgrade(sc, u)
	if err != nil {
		c.Close()
		return nil, err
	}
	sc.SetReadDeadline(time.Time{})
	fc.SetWriteDeadline(time.Time{})
	if err := c.takeBuffered(br); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

var errNotPollable = errors.New("not an IP address")

// writeWaits counts the setup writes that had to wait for the connect
// (for the tests).
var writeWaits atomic.Int64

// setupConn is a connection in setup as its goroutine sees it: reads come
// from what the poller read, writes go to the socket.
type setupConn struct {
	pc        *polledConn
	ctx       context.Context
	rdeadline time.Time
}

// Read returns pending bytes, waiting for the poller to read some until
// the read deadline.
func (s *setupConn) Read(p []byte) (int, error) {
	pc := s.pc
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		pc.mu.Lock()
		if len(pc.pending) > 0 {
			n := copy(p, pc.pending)
			pc.pending = pc.pending[:copy(pc.pending, pc.pending[n:])]
			pc.mu.Unlock()
			return n, nil
		}
		err := pc.err
		pc.mu.Unlock()
		if err != nil {
			return 0, err
		}
		var expired <-chan time.Time
		if !s.rdeadline.IsZero() {
			wait := time.Until(s.rdeadline)
			if wait <= 0 {
				return 0, fmt.Errorf("read: %w", errTimeout)
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			expired = timer.C
		}
		select {
		case <-pc.ready:
		case <-expired:
		case <-s.ctx.Done():
			return 0, context.Cause(s.ctx)
		}
	}
}

// Write writes all of p. A connect to loopback is complete by the time
// connect returns unless the server's accept queue dropped the SYN: then
// the write waits, with the poller watching for the socket to become
// writable, until the kernel's retransmitted SYN gets through (a second or
// more) or the write deadline. (Sleeping and retrying, as fdConn.Write
// does for a full socket buffer, cost a storm's 10,000 dials a wake-up
// every 100 µs each while the server's queue was full.)
func (s *setupConn) Write(p []byte) (int, error) {
	pc := s.pc
	done := 0
	for done < len(p) {
		n, err := syscall.Write(pc.fc.fd, p[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == syscall.EAGAIN:
			if err := s.waitWritable(); err != nil {
				return done, err
			}
		case err == syscall.EINTR:
		case err != nil:
			return done, os.NewSyscallError("write", err)
		}
	}
	return done, nil
}

// waitWritable turns on EPOLLOUT and waits for the poller to see it (or
// anything else), until the write deadline.
func (s *setupConn) waitWritable() error {
	writeWaits.Add(1)
	pc := s.pc
	pc.mu.Lock()
	if pc.err != nil {
		err := pc.err
		pc.mu.Unlock()
		return err
	}
	if !pc.wantOut {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP, Fd: int32(pc.fc.fd)}
		if err := syscall.EpollCtl(pc.p.epfd, syscall.EPOLL_CTL_MOD, pc.fc.fd, &ev); err != nil {
			pc.mu.Unlock()
			return os.NewSyscallError("epoll_ctl", err)
		}
		pc.wantOut = true
	}
	pc.mu.Unlock()
	var expired <-chan time.Time
	if d := pc.fc.wdeadline.Load(); d != 0 {
		wait := time.Until(time.Unix(0, d))
		if wait <= 0 {
			return fmt.Errorf("write: %w", errTimeout)
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-pc.ready:
	case <-expired:
		return fmt.Errorf("write: %w", errTimeout)
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
	return nil
}

func (s *setupConn) Close() error                       { return s.pc.fc.Close() }
func (s *setupConn) SetWriteDeadline(t time.Time) error { return s.pc.fc.SetWriteDeadline(t) }

func (s *setupConn) SetReadDeadline(t time.Time) error {
	s.rdeadline = t
	return nil
}

// run hands a connection in setup over to its poller: the bytes read so
// far move to the wsConn's buffer, f gets the messages among them, and the
// poller reads and parses from then on.
func (s *setupConn) run(c *wsConn, f func(now time.Time, msg []byte), end func(error)) {
	pc := s.pc
	pc.mu.Lock()
	c.nc = pc.fc
	pc.f, pc.end = f, end
	// The buffer may hold messages already (read with the handshake's
	// answer); pending's follow them.
	err := c.parsed(time.Now(), f)
	for len(pc.pending) > 0 && err == nil {
		if err = c.room(); err != nil {
			break
		}
		n := copy(c.buf[c.w:], pc.pending)
		c.w += n
		pc.pending = pc.pending[n:]
		err = c.parsed(time.Now(), f)
	}
	pc.pending = nil
	ended := pc.err != nil
	switch {
	case err == nil && ended:
		err = pc.err
		if errors.Is(err, io.EOF) {
			err = &closeError{code: closeAbnormal, text: "connection ended without a close frame"}
		}
	case err != nil && !ended:
		pc.p.remove(pc)
	case err == nil:
		pc.running.Store(true)
	}
	pc.mu.Unlock()
	if err != nil {
		end(err)
	}
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
