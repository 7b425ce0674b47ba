package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Listener returns a listener for the http.Server that serves Handler on
// ln: WebSocket upgrades (GET /ws) that pass every check are taken off
// ln's connections before net/http sees them, and every other connection
// (a refused upgrade included) goes to the http.Server with the bytes read
// so far put back. headerTimeout bounds the wait for the request's header,
// as the http.Server's ReadHeaderTimeout does.
//
// What it saves: net/http's per-request cost (the request's parsing into
// an http.Request and its header map, its bufio.Writer, the connection's
// goroutine whose stack grows through ServeHTTP) was a fifth of the
// server's CPU per WebSocket connect. gobwas/ws's upgrader reads the
// handshake with a pooled buffer and hands chatd the few headers it looks
// at (Host, Origin, Cookie, Authorization).
//
// Only plain TCP connections are read here; anything else (a TLS listener
// or a test's pipe) goes to the http.Server untouched, since net/http
// needs the *tls.Conn itself (r.TLS, ALPN).
func (s *Server) Listener(ln net.Listener, headerTimeout time.Duration) net.Listener {
	l := &wsListener{
		Listener:      ln,
		s:             s,
		headerTimeout: headerTimeout,
		conns:         make(chan net.Conn),
		errs:          make(chan error),
		closed:        make(chan struct{}),
		reading:       make(map[net.Conn]struct{}),
		work:          make(chan *net.TCPConn),
	}
	go l.acceptLoop()
	return l
}

// wsListener accepts on the wrapped listener itself and passes the
// connections that are not WebSocket upgrades to Accept's caller.
type wsListener struct {
	net.Listener
	s             *Server
	headerTimeout time.Duration
	conns         chan net.Conn // to Accept: for net/http
	errs          chan error    // to Accept: the wrapped listener's errors
	closed        chan struct{} // closed by Close
	closeOnce     sync.Once
	closeErr      error

	mu sync.Mutex // guards the following
	// reading: connections whose request is being read here; Close closes
	// them, as http.Server's Shutdown closes its idle connections.
	reading map[net.Conn]struct{}

	work chan *net.TCPConn // to an upgrader waiting for its next connection (upgrader)
	idle atomic.Int32      // upgraders waiting on work, or about to
}

// maxIdleUpgraders bounds the upgraders that wait for a next connection
// once theirs is served; one finishing beyond it ends.
const maxIdleUpgraders = 128

// Accept returns the next connection for net/http.
func (l *wsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections whose request is still
// being read.
func (l *wsListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.closeErr = l.Listener.Close()
		l.mu.Lock()
		for c := range l.reading {
			c.Close()
		}
		l.reading = nil
		l.mu.Unlock()
	})
	return l.closeErr
}

// acceptLoop accepts until the wrapped listener fails for good. Its errors
// go to Accept's caller, one per Accept call, so that net/http's back-off
// on a temporary error (too many open files) paces this loop too.
func (l *wsListener) acceptLoop() {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.closed:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		tc, ok := nc.(*net.TCPConn)
		if !ok {
			l.handOff(nc)
			continue
		}
		l.dispatch(tc)
	}
}

// dispatch gives tc to an upgrader waiting for one, or to a new one.
func (l *wsListener) dispatch(tc *net.TCPConn) {
	select {
	case l.work <- tc:
	default:
		go l.upgrader(tc)
	}
}

// upgrader serves tc, then waits for another connection (dispatch) while
// fewer than maxIdleUpgraders wait, until the listener closes.
//
// Why not a goroutine per connection, as before: a connect's upgrade and
// welcome (gobwas's upgrader, the session and rooms reads, the welcome's
// encoding) need a stack of several KiB, and a new goroutine's starts at
// 2 KiB; it grew, copying itself and adjusting every frame, at each
// doubling, a twentieth of the server's CPU per connect in a profile
// (runtime.newstack under readers.do). A waiting upgrader keeps its grown
// stack (the collector may halve an idle one's), so that a connect served
// by one grows it seldom if at all.
func (l *wsListener) upgrader(tc *net.TCPConn) {
	for {
		l.serve(tc)
		if l.idle.Add(1) > maxIdleUpgraders {
			l.idle.Add(-1)
			return
		}
		var ok bool
		tc, ok = l.next()
		l.idle.Add(-1)
		if !ok {
			return
		}
	}
}

// upgraderStackKeep is the stack a waiting upgrader holds in use, so that
// the collector, which halves the stack of a goroutine that uses less than
// a quarter of it, leaves it the 16 KiB a connect grows it to (without
// it, profiles showed the stacks shrunk while waiting and grown again).
const upgraderStackKeep = 4 << 10

// next waits for a connection from dispatch; false if the listener closed.
//
//go:noinline
func (l *wsListener) next() (*net.TCPConn, bool) {
	var keep [upgraderStackKeep]byte
	defer touch(keep[:])
	select {
	case tc := <-l.work:
		return tc, true
	case <-l.closed:
		return nil, false
	}
}

// touch uses b, so that the compiler keeps it (next's stack frame).
//
//go:noinline
func touch(b []byte) { b[0] = 0 }

// handOff gives c to net/http, or closes it if the listener is closed.
func (l *wsListener) handOff(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

// track adds c to the connections Close closes, or reports false if the
// listener is closed already; untrack takes it off.
func (l *wsListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reading == nil {
		return false
	}
	l.reading[c] = struct{}{}
	return true
}

func (l *wsListener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reading != nil {
		delete(l.reading, c)
	}
}

// wsRequestLine is how a request this listener may serve itself begins;
// the byte after it is ' ' or '?'.
const wsRequestLine = "GET /ws"

// maxWSHeaderBytes bounds what the upgrade reads here: net/http's own
// limit (DefaultMaxHeaderBytes and the 4096 bytes it allows on top). A
// longer request goes to net/http, which answers 431.
const maxWSHeaderBytes = http.DefaultMaxHeaderBytes + 4096

// rejected: a check of upgrade's refused the handshake (the request goes
// to net/http, which answers why).
var rejected = errors.New("refused")

// errHeaderTooLong: the request passed maxWSHeaderBytes.
var errHeaderTooLong = errors.New("request header too long")

// serve reads the start of tc's first request and upgrades it if it is a
// WebSocket handshake that passes every check; it gives the connection to
// net/http, with what was read, if it is anything else.
func (l *wsListener) serve(tc *net.TCPConn) {
	if !l.track(tc) {
		tc.Close()
		return
	}
	tc.SetReadDeadline(time.Now().Add(l.headerTimeout))
	rr := &recordingReader{r: tc, rec: make([]byte, 0, 512)}
	for len(rr.rec) <= len(wsRequestLine) && bytes.HasPrefix([]byte(wsRequestLine), rr.rec) {
		if err := rr.fill(); err != nil {
			l.untrack(tc)
			if len(rr.rec) == 0 || isTimeout(err) {
				tc.Close() // nothing to answer, as net/http would not
				return
			}
			l.giveBack(tc, rr.rec)
			return
		}
	}
	if !bytes.HasPrefix(rr.rec, []byte(wsRequestLine)) || (rr.rec[len(wsRequestLine)] != ' ' && rr.rec[len(wsRequestLine)] != '?') {
		l.untrack(tc)
		l.giveBack(tc, rr.rec)
		return
	}
	w, id, ok := l.upgrade(tc, rr)
	l.untrack(tc)
	if !ok {
		if rr.err != nil && isTimeout(rr.err) {
			tc.Close()
			return
		}
		l.giveBack(tc, rr.rec)
		return
	}
	tc.SetReadDeadline(time.Time{}) // the connection's reader sets its own
	l.s.hub.serve(newConn(l.s, w, id), w.takeHandshake())
}

// upgrade runs gobwas's upgrader over what rr reads, with handleWS's
// checks (the Origin allowlist, then the session) before it answers. The
// answer is held by the wire, as the upgrader's in handleWS is. It reports
// false, having written nothing, if anything refuses the upgrade, if the
// request is longer than the header it read, or if reading fails: net/http
// then serves the same request from the start, with handleWS answering.
func (l *wsListener) upgrade(tc *net.TCPConn, rr *recordingReader) (*wire, identity, bool) {
	w := newWire(tc)
	w.hold = true
	var (
		host   string
		hosts  int
		header = make(http.Header, 2)
		id     identity
	)
	u := ws.Upgrader{
		OnRequest: func(uri []byte) error {
			path, _, _ := bytes.Cut(uri, []byte{'?'})
			if string(path) != "/ws" {
				return rejected
			}
			return nil
		},
		OnHost: func(h []byte) error {
			host = string(h)
			hosts++
			return nil
		},
		OnHeader: func(k, v []byte) error {
			switch string(k) {
			case "Origin", "Cookie", "Authorization":
				header[string(k)] = append(header[string(k)], string(v))
			}
			return nil
		},
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			if hosts != 1 { // net/http refuses a repeated Host
				return nil, rejected
			}
			var err error
			if id, err = l.s.admitWS(&http.Request{Method: http.MethodGet, Host: host, Header: header}); err != nil {
				return nil, rejected
			}
			return nil, nil
		},
	}
	if _, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{rr, w}); err != nil {
		return nil, identity{}, false
	}
	// Bytes past the header (a body, or frames sent before the answer)
	// would be lost in the upgrader's buffer: net/http's path refuses
	// such a request, so it gets it.
	end := bytes.Index(rr.rec, []byte("\r\n\r\n"))
	if end < 0 || end+4 != len(rr.rec) {
		return nil, identity{}, false
	}
	w.br = bufio.NewReaderSize(w, readBufferSize)
	return w, id, true
}

// giveBack hands c to net/http with rec, the bytes already read from it,
// to be read first.
func (l *wsListener) giveBack(tc *net.TCPConn, rec []byte) {
	l.handOff(&replayConn{TCPConn: tc, pending: rec})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// recordingReader reads from r and keeps every byte read in rec (up to
// maxWSHeaderBytes), so that they can be read again.
type recordingReader struct {
	r   net.Conn
	rec []byte
	off int   // Read's position in rec
	err error // the first read error
}

// fill reads more from r onto rec.
func (rr *recordingReader) fill() error {
	if rr.err != nil {
		return rr.err
	}
	if len(rr.rec) >= maxWSHeaderBytes {
		rr.err = errHeaderTooLong
		return rr.err
	}
	if len(rr.rec) == cap(rr.rec) {
		rr.rec = append(rr.rec, 0)[:len(rr.rec)]
	}
	n, err := rr.r.Read(rr.rec[len(rr.rec):min(cap(rr.rec), maxWSHeaderBytes)])
	rr.rec = rr.rec[:len(rr.rec)+n]
	if err != nil && n == 0 {
		rr.err = err
		return err
	}
	return nil
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	if rr.off == len(rr.rec) {
		if err := rr.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, rr.rec[rr.off:])
	rr.off += n
	return n, nil
}

// replayConn is a connection net/http reads pending from before the
// socket. It keeps *net.TCPConn's other methods (ReadFrom for sendfile,
// CloseWrite for a graceful close).
type replayConn struct {
	*net.TCPConn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.TCPConn.Read(p)
}
