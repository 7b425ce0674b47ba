package server

import (
	"encoding/binary"
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// poller waits, with one epoll instance, for idle connections to have
// something to read, so that an idle connection has no goroutine and so no
// stack, which was the largest part of its memory. When one is readable, a
// goroutine reads and serves what arrived (waiting in Go's own poller if a
// message is still partly on its way) and then hands the connection back.
// Registrations are one-shot: no two goroutines ever read one connection.
type poller struct {
	epfd int
	wake int // an eventfd: close writes it to stop run
	done chan struct{}

	mu    sync.Mutex // guards the following
	conns map[uint64]*conn
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	// The eventfd's data is 0, which no connection's id is.
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	p := &poller{epfd: epfd, wake: wake, done: make(chan struct{}), conns: make(map[uint64]*conn)}
	go p.run()
	return p, nil
}

func (p *poller) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				return // close
			}
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				go c.readReady()
			}
		}
	}
}

// ctl registers c (EPOLL_CTL_ADD) or arms it again (EPOLL_CTL_MOD).
// Readiness is looked at as it is armed, so bytes that arrived before are
// not missed. Events carry the connection's id, never reused, rather than
// its descriptor, which a later connection may get.
func (p *poller) ctl(c *conn, op int) error {
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.id)), Pad: int32(uint32(c.id >> 32))}
	var err error
	if cerr := c.wire.raw.Control(func(fd uintptr) { err = unix.EpollCtl(p.epfd, op, int(fd), &ev) }); cerr != nil {
		return cerr
	}
	return err
}

// add starts waiting for c to be readable.
func (p *poller) add(c *conn) error {
	p.mu.Lock()
	p.conns[c.id] = c
	p.mu.Unlock()
	if err := p.ctl(c, unix.EPOLL_CTL_ADD); err != nil {
		p.remove(c)
		return err
	}
	return nil
}

// arm waits for c to be readable again.
func (p *poller) arm(c *conn) error { return p.ctl(c, unix.EPOLL_CTL_MOD) }

// remove forgets c; closing its socket takes it out of the epoll set.
func (p *poller) remove(c *conn) {
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
}

// close stops the poller's goroutine and waits for it.
func (p *poller) close() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wake, one[:])
	<-p.done
	unix.Close(p.epfd)
	unix.Close(p.wake)
}
