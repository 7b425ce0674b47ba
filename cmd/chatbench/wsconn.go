package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// wsConn is the bench's client end of one WebSocket, the same code for
// every server it drives. It reads the socket into one large buffer and
// parses the frames in place: a reader goroutine costs one read syscall
// per server write (whatever number of frames that write carried), no
// allocation per frame, and one clock reading per read, which is also the
// moment the frames arrived. A general-purpose client (gorilla's, which the
// bench used before) copies every message out through an io.Reader and
// costs a clock reading per frame; at a million deliveries a second on two
// shared cores that was a third of the bench's CPU, and every millisecond
// of it delays every server's deliveries alike.
type wsConn struct {
	nc conn

	// Reader-only: unread bytes are buf[r:w]; frag gathers a fragmented
	// message.
	buf    []byte
	r, w   int
	frag   []byte
	fragOp ws.OpCode

	wmu  sync.Mutex // serializes writes
	wbuf []byte     // guarded by wmu
}

// conn is the socket under a wsConn: a net.Conn, or on Linux once a
// poller reads it, an fdConn.
type conn interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// maxMessageBytes bounds one message from a server; a longer one is an
// error, not an allocation.
const maxMessageBytes = 16 << 20

// closeError is how the server ended the connection: its close frame's
// code (1005 when it carried none), or 1006 when the TCP stream ended
// without one, as RFC 6455 §7.1.5 names them.
type closeError struct {
	code int
	text string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("websocket closed: %d %s", e.code, e.text)
}

// Close codes the bench uses.
const (
	closeNormal   = 1000
	closeNoStatus = 1005
	closeAbnormal = 1006
)

// dialWS opens a WebSocket to url (ws://) with header, reading through a
// buffer of bufSize bytes. With polled, on Linux and to an IP address, it
// is dialled on the pollers (dialPolled), and its read must be polled too.
func dialWS(ctx context.Context, rawURL string, header http.Header, bufSize int, polled bool) (*wsConn, error) {
	var status int
	d := ws.Dialer{
		Timeout: 10 * time.Second,
		Header:  ws.HandshakeHeaderHTTP(header),
		NetDial: loopbackDialer().DialContext,
		OnStatusError: func(s int, _ []byte, _ io.Reader) {
			status = s
		},
	}
	c, err := dialConn(ctx, d, rawURL, bufSize, polled)
	if err != nil && status != 0 {
		return nil, fmt.Errorf("%w (HTTP %d)", err, status)
	}
	return c, err
}

// dialConn is dialWS's dial: on the pollers if polled and it can be, through
// Go's netpoller otherwise.
func dialConn(ctx context.Context, d ws.Dialer, rawURL string, bufSize int, polled bool) (*wsConn, error) {
	if polled {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, err
		}
		if c, err := dialPolled(ctx, u, d, bufSize); err != errNotPollable {
			return c, err
		}
	}
	nc, br, _, err := d.Dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	c := &wsConn{nc: nc, buf: make([]byte, max(bufSize, 4096))}
	if err := c.takeBuffered(br); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// takeBuffered moves what br read past the handshake's answer (the
// server's first frames, if it sent them with it) into c's buffer, and
// gives br back to gobwas/ws. br may be nil: nothing was read past it.
func (c *wsConn) takeBuffered(br *bufio.Reader) error {
	if br == nil {
		return nil
	}
	defer ws.PutReader(br)
	for br.Buffered() > 0 {
		if err := c.room(); err != nil {
			return err
		}
		n, _ := br.Read(c.buf[c.w:])
		c.w += n
	}
	return nil
}

// room makes room after buf[w:] for the next bytes: back to the start of
// the buffer once everything in it is parsed, and grown when it is full.
func (c *wsConn) room() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.w == len(c.buf) {
		return c.grow()
	}
	return nil
}

// grow makes room for more bytes after buf[w:]: moves the unread bytes to
// the front, or doubles the buffer.
func (c *wsConn) grow() error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
		if c.w < len(c.buf) {
			return nil
		}
	}
	if len(c.buf) >= maxMessageBytes+14 {
		return fmt.Errorf("a frame longer than %d bytes", maxMessageBytes)
	}
	b := make([]byte, 2*len(c.buf))
	copy(b, c.buf[:c.w])
	c.buf = b
	return nil
}

// fill reads once from the socket; the time is when the bytes arrived.
// Once everything read is parsed, it reads to the start of the buffer
// again: walking through the whole 64 KiB of each of a thousand buffers
// would keep the CPU's caches cold (it made the bench measure gorilla and
// Centrifugo, whose writes are small and many, a third slower).
func (c *wsConn) fill() (time.Time, error) {
	if err := c.room(); err != nil {
		return time.Time{}, err
	}
	n, err := c.nc.Read(c.buf[c.w:])
	now := time.Now()
	c.w += n
	if n > 0 {
		return now, nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if errors.Is(err, io.EOF) {
		return now, &closeError{code: closeAbnormal, text: "connection ended without a close frame"}
	}
	return now, err
}

// next returns the next complete data message among the bytes read, or
// nil when more must be read. It answers pings, and returns a closeError
// for the server's close frame (after answering it). The message is valid
// until the next call.
func (c *wsConn) next() ([]byte, error) {
	for {
		b := c.buf[c.r:c.w]
		if len(b) < 2 {
			return nil, nil
		}
		fin, op, masked, n := b[0]&0x80 != 0, ws.OpCode(b[0]&0x0f), b[1]&0x80 != 0, int64(b[1]&0x7f)
		hl := 2
		switch n {
		case 126:
			if len(b) < 4 {
				return nil, nil
			}
			n, hl = int64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return nil, nil
			}
			n, hl = int64(binary.BigEndian.Uint64(b[2:])), 10
		}
		if masked {
			return nil, errors.New("the server sent a masked frame")
		}
		if n > maxMessageBytes {
			return nil, fmt.Errorf("a frame of %d bytes", n)
		}
		if int64(len(b)-hl) < n {
			if int64(len(c.buf)-hl) < n { // will never fit: make room now
				if err := c.grow(); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}
		p := b[hl : hl+int(n)]
		c.r += hl + int(n)
		switch {
		case op == ws.OpPing:
			if err := c.writeFrame(ws.OpPong, p); err != nil {
				return nil, err
			}
		case op == ws.OpPong:
		case op == ws.OpClose:
			ce := &closeError{code: closeNoStatus}
			if len(p) >= 2 {
				ce.code, ce.text = int(binary.BigEndian.Uint16(p)), string(p[2:])
			}
			c.writeClose(ce.code, "")
			return nil, ce
		case op == ws.OpContinuation:
			if c.frag == nil {
				return nil, errors.New("a continuation frame without a first fragment")
			}
			if len(c.frag)+len(p) > maxMessageBytes {
				return nil, errors.New("a fragmented message too long")
			}
			c.frag = append(c.frag, p...)
			if fin {
				m := c.frag
				c.frag = nil
				return m, nil
			}
		case c.frag != nil:
			return nil, errors.New("a new message inside a fragmented one")
		case !fin:
			c.frag, c.fragOp = append(make([]byte, 0, 2*len(p)), p...), op
		default:
			return p, nil
		}
	}
}

// readMessage returns the next data message, reading as needed (setup:
// the socket's read deadline applies).
func (c *wsConn) readMessage() ([]byte, error) {
	for {
		m, err := c.next()
		if m != nil || err != nil {
			return m, err
		}
		if _, err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// each calls f for every data message until the connection ends, with
// the time the read that completed it returned, and returns why it ended.
func (c *wsConn) each(f func(now time.Time, msg []byte)) error {
	var now time.Time
	for {
		if err := c.parsed(now, f); err != nil {
			return err
		}
		var err error
		if now, err = c.fill(); err != nil {
			return err
		}
	}
}

// parsed calls f for every complete data message among the bytes read.
func (c *wsConn) parsed(now time.Time, f func(now time.Time, msg []byte)) error {
	for {
		m, err := c.next()
		if m == nil || err != nil {
			return err
		}
		f(now, m)
	}
}

// read calls f for every data message until the connection ends, then end
// with why, once: on a poller where there is one (Linux), otherwise on a
// goroutine of the connection's own. With polled false it is always the
// goroutine.
func (c *wsConn) read(polled bool, f func(now time.Time, msg []byte), end func(error)) {
	if sc, ok := c.nc.(*setupConn); ok {
		sc.run(c, f, end) // dialled on a poller: read there
		return
	}
	if polled && readPolled(c, f, end) == nil {
		return
	}
	go func() { end(c.each(f)) }()
}

// writeText sends one text message.
func (c *wsConn) writeText(p []byte) error { return c.writeFrame(ws.OpText, p) }

// writeClose sends a close frame (code 0: none).
func (c *wsConn) writeClose(code int, text string) error {
	if code == 0 || code == closeNoStatus {
		return c.writeFrame(ws.OpClose, nil)
	}
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(text)), uint16(code))
	return c.writeFrame(ws.OpClose, append(p, text...))
}

// writeFrame sends one final frame, masked as a client's must be.
func (c *wsConn) writeFrame(op ws.OpCode, p []byte) error { return c.writeFrames(op, p) }

// writeTexts sends a text message for each of ps in one write, as a
// client with several messages to send at once would.
func (c *wsConn) writeTexts(ps [][]byte) error { return c.writeFrames(ws.OpText, ps...) }

// writeFrames sends a final frame of op for each of ps, in one write.
func (c *wsConn) writeFrames(op ws.OpCode, ps ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	for _, p := range ps {
		b = appendFrame(b, op, p)
	}
	c.wbuf = b
	c.nc.SetWriteDeadline(time.Now().Add(writeWait))
	_, err := c.nc.Write(b)
	return err
}

// appendFrame appends p as one final frame, masked.
func appendFrame(b []byte, op ws.OpCode, p []byte) []byte {
	b = append(b, 0x80|byte(op))
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := ws.NewMask()
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, p...)
	ws.Cipher(b[start:], mask, 0)
	return b
}

// Close drops the TCP connection.
func (c *wsConn) Close() error { return c.nc.Close() }

// closeCodeOf names how a connection ended for the report: its close
// code, "reset" or "error".
func closeCodeOf(err error) string {
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		return strconv.Itoa(ce.code)
	case isReset(err):
		return "reset"
	default:
		return "error"
	}
}
