package server

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch bounds how much one connection gathers before writing.
const maxBatch = 64 << 10

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, maxBatch); return &b }}

// batchConn lets a connection's writer gather the frames it has queued and
// hand them to the kernel in one write, instead of one syscall per frame
// (gorilla/websocket writes each frame as it completes). Between begin and
// flush, writes are appended to a pooled buffer; at other times, and for
// control frames that gorilla writes from other goroutines, they go
// straight through.
type batchConn struct {
	net.Conn

	mu       sync.Mutex // guards the following; held while writing to Conn
	batching bool
	buf      *[]byte
	deadline time.Time // the latest write deadline set during the batch

	// floor is a write deadline (Unix ns) no flush may cut short: set by
	// extend without b.mu, which a stuck flush holds.
	floor atomic.Int64
}

// SetWriteDeadline applies at once outside a batch. During one, gorilla
// sets a deadline per frame and per control frame (1 s for a pong): the
// flush gets the latest of them, not whichever came last.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		if t.After(b.deadline) {
			b.deadline = t
		}
		return nil
	}
	return b.Conn.SetWriteDeadline(b.atLeastFloor(t))
}

// extend makes the write in progress, and every later one, last at least
// until t. It does not wait for a stuck flush.
func (b *batchConn) extend(t time.Time) {
	b.floor.Store(t.UnixNano())
	b.Conn.SetWriteDeadline(t)
}

func (b *batchConn) atLeastFloor(t time.Time) time.Time {
	if f := b.floor.Load(); f != 0 && t.UnixNano() < f {
		return time.Unix(0, f)
	}
	return t
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return b.Conn.Write(p)
	}
	if len(*b.buf)+len(p) > maxBatch {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > maxBatch {
		return b.Conn.Write(p)
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// begin starts gathering writes.
func (b *batchConn) begin() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = true
	b.deadline = time.Time{}
	if b.buf == nil {
		b.buf = batchPool.Get().(*[]byte)
	}
}

// flush writes what was gathered (under the write deadline set last) and
// stops gathering; the buffer goes back to the pool, so an idle connection
// holds none.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	b.batching = false
	if b.buf != nil {
		*b.buf = (*b.buf)[:0]
		batchPool.Put(b.buf)
		b.buf = nil
	}
	return err
}

func (b *batchConn) flushLocked() error {
	if b.buf == nil || len(*b.buf) == 0 {
		return nil
	}
	if !b.deadline.IsZero() {
		b.Conn.SetWriteDeadline(b.atLeastFloor(b.deadline))
	}
	_, err := b.Conn.Write(*b.buf)
	*b.buf = (*b.buf)[:0]
	return err
}

// batchingWriter hands the upgrader a batchConn when it hijacks the
// connection.
type batchingWriter struct {
	http.ResponseWriter
	conn *batchConn
}

func (w *batchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response does not support hijacking")
	}
	c, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &batchConn{Conn: c}
	return w.conn, brw, nil
}
