package server

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
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
