package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
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
	dst = append(dst, 0x80|opcode) // FIN
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
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

// Write passes the handshake through; after it, gorilla's control frames
// join the connection's queue.
func (w *wire) Write(p []byte) (int, error) {
	if c := w.c.Load(); c != nil {
		c.enqueueControl(p)
		return len(p), nil
	}
	return w.Conn.Write(p)
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

// tryWrite writes as much of p as the kernel takes without waiting. It
// returns errWouldBlock, with the count written, when it could not take all.
func (w *wire) tryWrite(p []byte) (int, error) {
	if w.raw == nil {
		return 0, errWouldBlock // only a blocking write can do it
	}
	n := 0
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:])
			if m > 0 {
				n += m
			}
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				werr = errWouldBlock
			case err != nil:
				werr = err
			case m == 0:
				werr = errWouldBlock
			}
			if werr != nil {
				break
			}
		}
		return true // done either way: never park in the poller here
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// writeBlocking writes all of p, waiting up to wait (or the floor) for a
// client that reads slowly.
func (w *wire) writeBlocking(p []byte, wait time.Duration) error {
	w.Conn.SetWriteDeadline(w.atLeastFloor(time.Now().Add(wait)))
	_, err := w.Conn.Write(p)
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
