package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// WebSocket opcodes (RFC 6455 §5.2) of the frames the server writes itself.
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
)

// appendFrame appends one complete, final, unmasked WebSocket frame to dst.
// A server's frames are never masked (RFC 6455 §5.1), so a broadcast's frame
// is the same bytes for every recipient: it is encoded once per event and
// copied into each connection's out buffer. gorilla/websocket's
// PreparedMessage does the same but can only be written through its Conn,
// one write per frame; here many frames share one write.
func appendFrame(dst []byte, opcode byte, payload []byte) []byte {
	return append(appendFrameHeader(dst, opcode, len(payload)), payload...)
}

// maxFrameHeader is the longest header appendFrameHeader writes.
const maxFrameHeader = 10

// appendFrameHeader appends the header of an unmasked final frame whose
// payload is n bytes long.
func appendFrameHeader(dst []byte, opcode byte, n int) []byte {
	dst = append(dst, 0x80|opcode) // FIN
	switch {
	case n <= 125:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}

// appendTextFrameOf appends to dst one text frame whose payload enc
// appends, encoded in place: the payload is written once, after room for
// the longest header, and moved back over what its header leaves of that
// room. (Encoding into a buffer of its own and framing that would allocate
// and copy it once more.)
func appendTextFrameOf(dst []byte, enc func([]byte) []byte) []byte {
	at := len(dst)
	dst = enc(append(dst, make([]byte, maxFrameHeader)...))
	n := len(dst) - at - maxFrameHeader
	h := len(appendFrameHeader(dst[at:at], opText, n))
	copy(dst[at+h:], dst[at+maxFrameHeader:])
	return dst[:at+h+n]
}

// textFrame encodes payload as one text frame.
func textFrame(payload []byte) []byte {
	return appendFrame(make([]byte, 0, len(payload)+10), opText, payload)
}

// wire is a WebSocket's TCP connection as the server writes to it. Once the
// upgrade is done (attached), every byte written goes through the
// connection's out buffer and its flusher: gorilla's own control frames
// (a pong, the answer to a close) are queued behind the data frames instead
// of being written between the halves of a partial write.
type wire struct {
	net.Conn
	raw syscall.RawConn // for writes that never block and the poller; nil if the Conn has no descriptor (TLS)
	br  *bufio.Reader   // what the upgrade read through; frames are read from it

	c atomic.Pointer[conn] // set when attached

	// floor is a write deadline (Unix ns) no write may cut short: set by
	// extend, while a blocked write may be in progress.
	floor atomic.Int64

	// hold says the upgrader's writes are kept in handshake, not written:
	// the handshake's response then leaves with the welcome, in one write
	// (a connect costs the server one write syscall instead of two, and
	// the client one read). Both are the connecting goroutine's only,
	// until takeHandshake.
	hold      bool
	handshake []byte
}

func newWire(nc net.Conn) *wire {
	w := &wire{Conn: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	return w
}

// Write keeps the handshake's response (hold) or passes it through; after
// the handshake, gorilla's control frames join the connection's queue.
func (w *wire) Write(p []byte) (int, error) {
	if c := w.c.Load(); c != nil {
		c.enqueueControl(p)
		return len(p), nil
	}
	if w.hold {
		w.handshake = append(w.handshake, p...)
		return len(p), nil
	}
	return w.Conn.Write(p)
}

// takeHandshake ends hold and returns what the upgrader wrote meanwhile.
func (w *wire) takeHandshake() []byte {
	w.hold = false
	p := w.handshake
	w.handshake = nil
	return p
}

// SetWriteDeadline is the flushers' business once attached: gorilla sets one
// per control frame, which would cut a slow client's data write short.
func (w *wire) SetWriteDeadline(t time.Time) error {
	if w.c.Load() != nil {
		return nil
	}
	return w.Conn.SetWriteDeadline(t)
}

// errWouldBlock: the socket's send buffer is full.
var errWouldBlock = errors.New("write would block")

// tryWrite writes as much of segs as the kernel takes without waiting, in
// writev calls of up to maxIovecs frames. It returns errWouldBlock, with the
// count written, when it could not take all.
func (w *wire) tryWrite(segs [][]byte) (int, error) {
	if w.raw == nil {
		return 0, errWouldBlock // only a blocking write can do it
	}
	rw := rawWriters.Get().(*rawWriter)
	rw.segs = segs
	err := w.raw.Write(rw.fn)
	n, werr := rw.n, rw.err
	rw.segs, rw.n, rw.err = nil, 0, nil
	rawWriters.Put(rw)
	if err != nil {
		return n, err
	}
	return n, werr
}

// rawWriter is one tryWrite's state and the function RawConn.Write calls
// with the descriptor. A closure over tryWrite's variables would be
// allocated on every write (RawConn.Write keeps its argument), and at a
// thousand connections written every round that was most of the server's
// garbage under fan-out; these are pooled, their function bound once.
type rawWriter struct {
	segs [][]byte
	n    int   // bytes written
	err  error // errWouldBlock when the kernel took only part
	fn   func(fd uintptr) bool
}

var rawWriters = sync.Pool{New: func() any {
	rw := &rawWriter{}
	rw.fn = rw.write
	return rw
}}

// write writes rw.segs to fd with writev until done or the kernel takes
// no more.
func (rw *rawWriter) write(fd uintptr) bool {
	segs := rw.segs
	var iov [maxIovecs]syscall.Iovec
	i, off := 0, 0 // the next byte to write: segs[i][off]
	for i < len(segs) && rw.err == nil {
		k, want := 0, 0
		for j := i; j < len(segs) && k < len(iov); j++ {
			p := segs[j]
			if j == i {
				p = p[off:]
			}
			if len(p) == 0 {
				continue
			}
			iov[k].Base = &p[0]
			iov[k].SetLen(len(p))
			k++
			want += len(p)
		}
		if k == 0 {
			break
		}
		// Raw: the socket never blocks (EAGAIN instead), so the flusher
		// keeps its P through the call as through any other work. With
		// Syscall, a writev longer than a sysmon tick (they take 10-30 µs
		// under fan-out) could have its P handed to another thread, and
		// the flusher then waited to get one back: thread wake-ups and
		// switches, which cost a PVM guest like this one dearly.
		m, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(k))
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			rw.err = errWouldBlock
			continue
		case errno != 0:
			rw.err = errno
			continue
		case m == 0:
			rw.err = errWouldBlock
			continue
		}
		rw.n += int(m)
		for left := int(m); left > 0; {
			if rest := len(segs[i]) - off; left >= rest {
				left -= rest
				i, off = i+1, 0
			} else {
				off += left
				left = 0
			}
		}
		for i < len(segs) && off == len(segs[i]) { // empty frames
			i, off = i+1, 0
		}
		if int(m) < want {
			rw.err = errWouldBlock // the socket's buffer is full
		}
	}
	return true // done either way: never park in the poller here
}

// maxIovecs is how many frames one writev takes; the kernel takes at most
// IOV_MAX (1024), and a few dozen already make the syscall's cost small.
const maxIovecs = 64

// writeBlocking writes segs from byte off on, waiting up to wait (or the
// floor) for a client that reads slowly.
func (w *wire) writeBlocking(segs [][]byte, off int, wait time.Duration) error {
	w.Conn.SetWriteDeadline(w.atLeastFloor(time.Now().Add(wait)))
	for len(segs) > 0 && off >= len(segs[0]) {
		off -= len(segs[0])
		segs = segs[1:]
	}
	if len(segs) == 0 {
		return nil
	}
	if w.raw == nil {
		// TLS: a record per Write, so one Write of all.
		var buf []byte
		for i, p := range segs {
			if i == 0 {
				p = p[off:]
			}
			buf = append(buf, p...)
		}
		_, err := w.Conn.Write(buf)
		return err
	}
	bufs := make(net.Buffers, len(segs)) // WriteTo consumes it: a copy of segs
	copy(bufs, segs)
	bufs[0] = bufs[0][off:]
	_, err := bufs.WriteTo(w.Conn)
	return err
}

// extend makes the write in progress, and every later one, last at least
// until t.
func (w *wire) extend(t time.Time) {
	w.floor.Store(t.UnixNano())
	w.Conn.SetWriteDeadline(t)
}

func (w *wire) atLeastFloor(t time.Time) time.Time {
	if f := w.floor.Load(); f != 0 && t.UnixNano() < f {
		return time.Unix(0, f)
	}
	return t
}

// hijackWriter hands the upgrader a wire when it hijacks the connection.
type hijackWriter struct {
	http.ResponseWriter
	wire *wire
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response does not support hijacking")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.wire = newWire(nc)
	h.wire.hold = true
	h.wire.br = brw.Reader
	if brw.Reader.Buffered() == 0 {
		// Frames are read through this buffer for as long as the socket
		// lives; frame headers and small requests fit in a small one, and
		// larger payloads are read past it. (Bytes already buffered make
		// the upgrade fail anyway.)
		h.wire.br = bufio.NewReaderSize(h.wire, readBufferSize)
		brw = bufio.NewReadWriter(h.wire.br, brw.Writer)
	}
	return h.wire, brw, nil
}

// readBufferSize is a connection's read buffer.
const readBufferSize = 512
