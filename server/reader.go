package server

import (
	"errors"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
)

// Reading. gorilla/websocket does the upgrade; after it, a connection's
// frames are read with gobwas/ws's frame reader from the small buffer the
// upgrade left (wire.br). Reading frame by frame is what lets an idle
// connection wait in the poller with no goroutine: gorilla's reader, once
// it has served a pong, waits inside for the next frame and cannot be left.
//
// A connection with a file descriptor is read when the poller says it is
// readable (readReady); one without (TLS) has a goroutine that reads it
// (readLoop). Either way exactly one goroutine reads a connection at a
// time, and hub.end cleans up after the last read.

// errNothingBuffered: readUnit served control frames and the buffer is
// empty: nothing more to do until the socket is readable again.
var errNothingBuffered = errors.New("nothing buffered")

// readUnit reads the next data message, serving the control frames before
// it and between its fragments: a ping is answered with a pong queued like
// any frame, a pong lifts the heartbeat's deadline, a close is answered
// and ends reading. With stopWhenDrained, it returns errNothingBuffered
// instead of waiting when a control frame left the buffer empty.
func (c *conn) readUnit(stopWhenDrained bool) (ws.OpCode, []byte, error) {
	rd := wsutil.Reader{
		Source:         c.wire.br,
		State:          ws.StateServerSide,
		MaxMessageSize: c.s.cfg.MaxFrameBytes,
		OnIntermediate: c.onControl,
	}
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			return 0, nil, c.readFailed(err)
		}
		if hdr.OpCode.IsControl() {
			if err := c.onControl(hdr, &rd); err != nil {
				return 0, nil, c.readFailed(err)
			}
			if stopWhenDrained && c.wire.br.Buffered() == 0 {
				return 0, nil, errNothingBuffered
			}
			continue
		}
		payload := make([]byte, 0, int(min(hdr.Length, 4096)))
		for {
			if len(payload) == cap(payload) {
				payload = append(payload, 0)[:len(payload)]
			}
			n, err := rd.Read(payload[len(payload):cap(payload)])
			payload = payload[:len(payload)+n]
			if err == io.EOF {
				return hdr.OpCode, payload, nil
			}
			if err != nil {
				return 0, nil, c.readFailed(err)
			}
		}
	}
}

// onControl serves a control frame.
func (c *conn) onControl(h ws.Header, r io.Reader) error {
	if h.OpCode == ws.OpPong {
		c.pongArrived()
	}
	return wsutil.ControlHandler{Src: r, Dst: c.wire, State: ws.StateServerSide, DisableSrcCiphering: true}.Handle(h)
}

// readFailed closes the connection as RFC 6455 asks for a frame it cannot
// take, and returns err.
func (c *conn) readFailed(err error) error {
	var pe ws.ProtocolError
	switch {
	case errors.Is(err, wsutil.ErrMessageTooLarge), errors.Is(err, wsutil.ErrFrameTooLarge):
		c.closeWith(websocket.CloseMessageTooBig, "message too big", false)
	case errors.As(err, &pe):
		c.closeWith(websocket.CloseProtocolError, pe.Error(), false)
	}
	return err
}

// serveMessage runs one message the client sent.
func (c *conn) serveMessage(op ws.OpCode, data []byte) {
	switch {
	case c.isClosing():
		// Draining until the client answers our close frame.
	case op != ws.OpText:
		c.badFrame("", chat.Errorf(chat.CodeBadRequest, "frames must be JSON text"))
	case !utf8.Valid(data):
		c.closeWith(websocket.CloseInvalidFramePayloadData, "invalid UTF-8", false)
	default:
		c.handle(data)
	}
}

// readLoop reads and serves messages until the connection fails or closes,
// and returns why it stopped: the reader of a connection the poller cannot
// hold.
func (c *conn) readLoop() error {
	for {
		op, data, err := c.readUnit(false)
		if err != nil {
			return err
		}
		c.serveMessage(op, data)
	}
}

// readReady reads and serves what a readable connection has, then hands it
// back to the poller.
func (c *conn) readReady() {
	c.mu.Lock()
	if c.reading || c.readEnded {
		c.mu.Unlock()
		return
	}
	c.reading = true
	c.mu.Unlock()
	for {
		op, data, err := c.readUnit(true)
		if err == errNothingBuffered {
			break
		}
		if err != nil {
			c.endReading(err)
			return
		}
		c.serveMessage(op, data)
		if c.wire.br.Buffered() == 0 {
			break
		}
	}
	c.mu.Lock()
	var err error
	if c.deadlinePassedLocked() {
		err = os.ErrDeadlineExceeded
	} else {
		err = c.s.hub.poller.arm(c)
	}
	if err != nil {
		c.readEnded = true
		c.mu.Unlock()
		c.s.hub.end(c, err)
		return
	}
	c.reading = false
	c.mu.Unlock()
}

// endReading ends a polled connection's reading for good.
func (c *conn) endReading(err error) {
	c.mu.Lock()
	c.readEnded = true
	c.mu.Unlock()
	c.s.hub.end(c, err)
}

// setReadDeadlineLocked sets the read deadline: on the socket, for a read
// in progress, and, for a connection waiting in the poller with no read in
// progress, as a timer that ends it.
func (c *conn) setReadDeadlineLocked(t time.Time) {
	c.wire.SetReadDeadline(t)
	c.readDeadline = t // kept before polling starts too: the poller arms it then (armDeadlineLocked)
	if c.polled {
		c.armDeadlineLocked()
	}
}

// armDeadlineLocked makes the read deadline's timer match readDeadline.
func (c *conn) armDeadlineLocked() {
	t := c.readDeadline
	if t.IsZero() {
		if c.deadline != nil {
			c.deadline.Stop()
		}
		return
	}
	if c.deadline == nil {
		c.deadline = time.AfterFunc(time.Until(t), c.deadlineFired)
	} else {
		c.deadline.Reset(time.Until(t))
	}
}

func (c *conn) deadlinePassedLocked() bool {
	return !c.readDeadline.IsZero() && !time.Now().Before(c.readDeadline)
}

// deadlineFired ends a polled connection whose read deadline passed while
// nothing was reading it; a read in progress sees the deadline itself.
func (c *conn) deadlineFired() {
	c.mu.Lock()
	if c.reading || c.readEnded || !c.deadlinePassedLocked() {
		c.mu.Unlock()
		return
	}
	c.readEnded = true
	c.mu.Unlock()
	c.s.hub.end(c, os.ErrDeadlineExceeded)
}
