package chatdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/protocol"
	"github.com/gorilla/websocket"
)

// Wait is how long a client waits for an expected frame.
var Wait = 5 * time.Second

// Frame is one frame the server sent.
type Frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// Decode unmarshals the payload into v or fails the test.
func (f Frame) Decode(tb testing.TB, v any) {
	tb.Helper()
	mustUnmarshal(tb, f.Payload, v)
}

// Client is a real WebSocket client over loopback. A goroutine reads every
// frame into a buffer; the Expect methods take frames from it.
type Client struct {
	tb     testing.TB
	WS     *websocket.Conn
	Resp   *http.Response
	nextID int

	mu       sync.Mutex // guards the following
	frames   []Frame
	closed   bool
	closeErr error
	news     chan struct{}
}

// Dial opens a WebSocket with a bearer token and returns the client; it
// fails the test if the upgrade fails.
func (s *Server) Dial(tb testing.TB, token string) *Client {
	tb.Helper()
	c, err := s.TryDial(tb, token, nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	return c
}

// TryDial opens a WebSocket with extra headers; a failed upgrade returns the
// error with c.Resp set when the server answered.
func (s *Server) TryDial(tb testing.TB, token string, header http.Header) (*Client, error) {
	tb.Helper()
	return DialURL(tb, s.WSURL(), token, header, nil)
}

// DialURL dials url; dialer may be nil.
func DialURL(tb testing.TB, url, token string, header http.Header, dialer *websocket.Dialer) (*Client, error) {
	tb.Helper()
	if header == nil {
		header = http.Header{}
	}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	if dialer == nil {
		dialer = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	ws, resp, err := dialer.Dial(url, header)
	c := &Client{tb: tb, Resp: resp, news: make(chan struct{}, 1)}
	if err != nil {
		return c, err
	}
	c.WS = ws
	go c.readLoop()
	tb.Cleanup(func() { ws.Close() })
	return c, nil
}

func (c *Client) readLoop() {
	for {
		_, data, err := c.WS.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.closed, c.closeErr = true, err
			c.mu.Unlock()
			c.notify()
			return
		}
		var f Frame
		if jerr := json.Unmarshal(data, &f); jerr != nil {
			f = Frame{Type: "!invalid-json", Payload: json.RawMessage(strconv.Quote(string(data)))}
		}
		c.frames = append(c.frames, f)
		c.mu.Unlock()
		c.notify()
	}
}

func (c *Client) notify() {
	select {
	case c.news <- struct{}{}:
	default:
	}
}

// take removes and returns the first buffered frame that match accepts,
// waiting up to d.
func (c *Client) take(match func(Frame) bool, d time.Duration) (Frame, error) {
	deadline := time.After(d)
	for {
		c.mu.Lock()
		for i, f := range c.frames {
			if match(f) {
				c.frames = append(c.frames[:i:i], c.frames[i+1:]...)
				c.mu.Unlock()
				return f, nil
			}
		}
		closed, cerr := c.closed, c.closeErr
		c.mu.Unlock()
		if closed {
			return Frame{}, fmt.Errorf("connection closed: %w", cerr)
		}
		select {
		case <-c.news:
		case <-deadline:
			return Frame{}, errTimeout
		}
	}
}

// Send writes a frame without an id.
func (c *Client) Send(typ string, payload any) {
	c.tb.Helper()
	c.write(protocol.Envelope{Type: typ, Payload: mustJSON(c.tb, payload)})
}

// SendRaw writes a text frame as is.
func (c *Client) SendRaw(data []byte) error {
	return c.WS.WriteMessage(websocket.TextMessage, data)
}

func (c *Client) write(env protocol.Envelope) {
	c.tb.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		c.tb.Fatal(err)
	}
	if err := c.WS.WriteMessage(websocket.TextMessage, b); err != nil {
		c.tb.Fatalf("write %s: %v", env.Type, err)
	}
}

// Request sends a frame with a fresh id and returns the reply to it (an
// ack or an error frame).
func (c *Client) Request(typ string, payload any) Frame {
	c.tb.Helper()
	c.nextID++
	id := "r" + strconv.Itoa(c.nextID)
	c.write(protocol.Envelope{Type: typ, ID: id, Payload: mustJSON(c.tb, payload)})
	f, err := c.take(func(f Frame) bool { return f.ID == id && (f.Type == "ack" || f.Type == "error") }, Wait)
	if err != nil {
		c.tb.Fatalf("no reply to %s: %v", typ, err)
	}
	return f
}

// Ack sends a request, requires an ack and decodes it into v (if not nil).
func (c *Client) Ack(typ string, payload, v any) {
	c.tb.Helper()
	f := c.Request(typ, payload)
	if f.Type != "ack" {
		c.tb.Fatalf("%s %s: got %s", typ, mustJSON(c.tb, payload), describe(f))
	}
	if v != nil {
		f.Decode(c.tb, v)
	}
}

// ErrorCode sends a request, requires an error reply and returns its code.
func (c *Client) ErrorCode(typ string, payload any) string {
	c.tb.Helper()
	f := c.Request(typ, payload)
	if f.Type != "error" {
		c.tb.Fatalf("%s %s: got %s, want an error", typ, mustJSON(c.tb, payload), describe(f))
	}
	var p protocol.ErrorPayload
	f.Decode(c.tb, &p)
	if p.Message == "" {
		c.tb.Errorf("error frame for %s has no message", typ)
	}
	return string(p.Code)
}

// Expect waits for the next buffered frame of type typ for which match
// (if not nil) is true.
func (c *Client) Expect(typ string, match func(Frame) bool) Frame {
	c.tb.Helper()
	return c.ExpectWithin(typ, match, Wait)
}

// ExpectWithin is Expect with a wait of d instead of Wait, for a frame
// that comes after much work.
func (c *Client) ExpectWithin(typ string, match func(Frame) bool, d time.Duration) Frame {
	c.tb.Helper()
	f, err := c.take(func(f Frame) bool { return f.Type == typ && (match == nil || match(f)) }, d)
	if err != nil {
		c.tb.Fatalf("expected a %s frame: %v (buffered: %s)", typ, err, c.buffered())
	}
	return f
}

// ExpectNone asserts that no frame of type typ matching match arrives
// within d.
func (c *Client) ExpectNone(typ string, match func(Frame) bool, d time.Duration) {
	c.tb.Helper()
	f, err := c.take(func(f Frame) bool { return f.Type == typ && (match == nil || match(f)) }, d)
	if err == nil {
		c.tb.Fatalf("unexpected %s", describe(f))
	}
}

// Next returns the next buffered frame of any type.
func (c *Client) Next() Frame {
	c.tb.Helper()
	f, err := c.take(func(Frame) bool { return true }, Wait)
	if err != nil {
		c.tb.Fatalf("expected a frame: %v", err)
	}
	return f
}

// Drain removes and returns every frame buffered so far.
func (c *Client) Drain() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.frames
	c.frames = nil
	return out
}

// Welcome takes the welcome frame, which must be the first.
func (c *Client) Welcome() protocol.Welcome {
	c.tb.Helper()
	f := c.Next()
	if f.Type != protocol.TypeWelcome {
		c.tb.Fatalf("first frame is %s, want welcome", describe(f))
	}
	var w protocol.Welcome
	f.Decode(c.tb, &w)
	return w
}

// WaitClosed waits for the connection to end and returns the close code
// the server sent (websocket.CloseAbnormalClosure if none) and its text.
func (c *Client) WaitClosed(d time.Duration) (int, string) {
	c.tb.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		closed, err := c.closed, c.closeErr
		c.mu.Unlock()
		if closed {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			return websocket.CloseAbnormalClosure, err.Error()
		}
		select {
		case <-c.news:
		case <-deadline:
			c.tb.Fatalf("connection still open after %v", d)
		}
	}
}

func (c *Client) buffered() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for _, f := range c.frames {
		s += "\n  " + describe(f)
	}
	return s
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
