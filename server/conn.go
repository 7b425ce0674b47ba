package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
	"github.com/gorilla/websocket"
)

// closeGrace is how long a connection waits for the client's answer to its
// close frame before dropping the TCP connection.
const closeGrace = 2 * time.Second

// slowConsumerGrace is how long a connection closed for not reading (1013)
// may take to read what was already sent and the close frame.
const slowConsumerGrace = 30 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:    4096,
	WriteBufferSize:   4096,
	WriteBufferPool:   &sync.Pool{},
	EnableCompression: false,
	// The Origin allowlist runs before the upgrade (originAllowed).
	CheckOrigin: func(*http.Request) bool { return true },
}

// outFrame is one queued frame: a prepared broadcast frame shared by all its
// recipients, or bytes for this connection alone.
type outFrame struct {
	pm   *websocket.PreparedMessage
	data []byte
	size int
	// ephemeral frames (presence, typing) are dropped rather than queued
	// when the queue is half full: a burst of them (a thousand users going
	// offline at once) must not cost a client its connection, and a client
	// that missed some asks who instead.
	ephemeral bool
}

// frameKind says how a broadcast counts and what a full queue does to it.
type frameKind int

const (
	frameMessage   frameKind = iota // new_message: counted as a delivery
	frameEvent                      // other room events, which must arrive
	frameEphemeral                  // presence and typing: see outFrame.ephemeral
)

// conn is one WebSocket connection: exactly one reader goroutine (which also
// runs the requests, in order) and one writer goroutine fed by a bounded
// queue. A broadcast never waits for a connection: when the queue is full
// the connection is closed with 1013 and its client recovers from history.
type conn struct {
	id        uint64 // set by hub.register
	s         *Server
	ws        *websocket.Conn
	out       *batchConn // ws's connection: gathers a batch of frames per write
	user      chat.User
	tokenHash []byte

	wake       chan struct{} // capacity 1: the queue has news
	writerDone chan struct{}

	mu         sync.Mutex // guards the following
	queue      []outFrame
	queueBytes int
	closing    bool
	closeCode  int // 0: no close frame (the peer is gone or closed first)
	closeText  string
	rooms      map[string]*room // attached rooms: this connection's view of its memberships
	// awaitingPong: a ping was sent and its pong has not arrived; the read
	// deadline is set for it.
	awaitingPong bool
	// draining: the server is shutting down; the reader finishes the
	// request in hand and stops (its read deadline is now).
	draining bool

	// Owned by the reader goroutine.
	current    string      // the seed's "current room"
	badFrames  []time.Time // recent bad frames, oldest first
	lastTyping map[string]time.Time
}

func newConn(s *Server, ws *websocket.Conn, id identity) *conn {
	return &conn{
		s:          s,
		ws:         ws,
		user:       id.user,
		tokenHash:  id.tokenHash,
		wake:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
		rooms:      make(map[string]*room),
		current:    chat.General,
		lastTyping: make(map[string]time.Time),
	}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue queues a frame without ever blocking.
func (c *conn) enqueue(f outFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	if f.ephemeral && (2*len(c.queue) >= c.s.cfg.QueueFrames || 2*(c.queueBytes+f.size) > c.s.cfg.QueueBytes) {
		c.s.metrics.ephemeralDropped.Inc()
		return
	}
	if len(c.queue) >= c.s.cfg.QueueFrames || c.queueBytes+f.size > c.s.cfg.QueueBytes {
		c.s.metrics.slowConsumers.Inc()
		c.closeLocked(websocket.CloseTryAgainLater, "try again later", true)
		return
	}
	c.queue = append(c.queue, f)
	c.queueBytes += f.size
	c.signal()
}

func (c *conn) enqueueBytes(data []byte) { c.enqueue(outFrame{data: data, size: len(data)}) }

// pushFront queues data before everything queued so far: the welcome frame,
// which must precede the events of the rooms attached while it was built.
func (c *conn) pushFront(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.queue = append([]outFrame{{data: data, size: len(data)}}, c.queue...)
	c.queueBytes += len(data)
	c.signal()
}

// closeWith starts closing: the writer sends what is queued (nothing if
// drop), then a close frame with code (none if code is 0).
func (c *conn) closeWith(code int, text string, drop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, text, drop)
}

func (c *conn) closeLocked(code int, text string, drop bool) {
	if c.closing {
		return
	}
	c.closing, c.closeCode, c.closeText = true, code, text
	if code == websocket.CloseTryAgainLater {
		// The writer is stuck behind a client that stopped reading. Give it
		// time to read again, drain and see the 1013, instead of the usual
		// write wait and heartbeat, which would end it without a word.
		until := time.Now().Add(slowConsumerGrace)
		c.ws.SetReadDeadline(until)
		if c.out != nil {
			c.out.extend(until)
		}
	}
	if drop {
		clear(c.queue)
		c.queue, c.queueBytes = c.queue[:0], 0
	}
	c.signal()
}

// drain makes the reader stop after the request in hand, whose reply is
// still queued; serve then closes with 1001.
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	c.ws.SetReadDeadline(time.Now())
}

func (c *conn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// addRoom records an attached room; false if the connection is closing
// (its rooms were or will be detached by its cleanup).
func (c *conn) addRoom(name string, r *room) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rooms == nil {
		return false
	}
	c.rooms[name] = r
	return true
}

func (c *conn) removeRoom(name string) *room {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[name]
	delete(c.rooms, name)
	return r
}

func (c *conn) hasRoom(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.rooms[name]
	return ok
}

// takeRooms empties the connection's rooms for its cleanup.
func (c *conn) takeRooms() map[string]*room {
	c.mu.Lock()
	defer c.mu.Unlock()
	rooms := c.rooms
	c.rooms = nil
	return rooms
}

// writeLoop is the connection's only writer of data frames. It writes
// everything queued since it last woke, pings on schedule, and finally the
// close frame.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	var batch []outFrame
	for {
		select {
		case <-c.wake:
		case <-ping.C:
			if !c.armHeartbeat() {
				continue // the last ping is still unanswered: its deadline stands
			}
			c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteWait))
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.ws.Close()
				return
			}
			continue
		}
		c.mu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.queueBytes = 0
		closing, code, text := c.closing, c.closeCode, c.closeText
		c.mu.Unlock()

		if err := c.writeBatch(batch); err != nil {
			c.ws.Close() // the reader sees it and cleans up
			return
		}
		clear(batch) // let go of shared frames
		if closing {
			if code != 0 {
				msg := websocket.FormatCloseMessage(code, text)
				c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.s.cfg.WriteWait))
			}
			// The reader waits for the client's close frame, not longer.
			c.ws.SetReadDeadline(time.Now().Add(closeGrace))
			return
		}
	}
}

// writeBatch writes frames, in as few syscalls as the batch buffer allows.
func (c *conn) writeBatch(batch []outFrame) error {
	if len(batch) == 0 {
		return nil
	}
	c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteWait))
	if c.out != nil {
		c.out.begin()
	}
	for _, f := range batch {
		var err error
		if f.pm != nil {
			err = c.ws.WritePreparedMessage(f.pm)
		} else {
			err = c.ws.WriteMessage(websocket.TextMessage, f.data)
		}
		if err != nil {
			if c.out != nil {
				c.out.flush()
			}
			return err
		}
	}
	if c.out != nil {
		return c.out.flush()
	}
	return nil
}

// serve runs the connection until it closes: welcome, then the reader loop
// in this goroutine and the writer in another.
func (h *hub) serve(c *conn) {
	lu, ok := h.register(c)
	if !ok {
		c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "going away"), time.Now().Add(time.Second))
		c.ws.Close()
		return
	}
	defer h.connsWG.Done()
	h.s.metrics.connections.Inc()
	h.s.metrics.connectsTotal.Inc()
	defer h.s.metrics.connections.Dec()

	welcome, err := h.welcome(c)
	if err != nil {
		h.s.log.Warn("welcome failed", "user", c.user.Username, "err", err)
		c.pushFront(errorFrame("", err))
		c.closeWith(websocket.CloseTryAgainLater, "try again later", false)
	} else {
		h.syncPresence(c.user)
		// Counted after this user's own presence, so that they count.
		for i := range welcome.Rooms {
			welcome.Rooms[i].MembersOnline = h.presence.online(welcome.Rooms[i].Name)
		}
		c.pushFront(frame(protocol.TypeWelcome, "", welcome))
	}
	h.s.log.Debug("connection opened", "conn", c.id, "user", c.user.Username, "remote", c.ws.RemoteAddr().String())
	go c.writeLoop()
	readErr := c.readLoop()

	// The reader is done. In a shutdown its last request has been answered
	// and queued: flush the queue and say 1001, then wait for the client's
	// close frame (closing TCP with its data unread would reset the
	// connection, and the client might never see ours). Otherwise stop the
	// writer (it may still be flushing a close frame of ours).
	draining := c.isDraining()
	if draining {
		c.closeWith(websocket.CloseGoingAway, "going away", false)
	} else {
		c.closeWith(0, "", true)
	}
	select {
	case <-c.writerDone:
		if draining {
			c.ws.SetReadDeadline(time.Now().Add(closeGrace))
			for {
				if _, _, err := c.ws.NextReader(); err != nil {
					break
				}
			}
		}
	case <-time.After(closeGrace):
	}
	c.ws.Close()
	<-c.writerDone

	for _, r := range c.takeRooms() {
		h.detach(c, r)
	}
	h.unregister(c, lu)
	h.syncPresence(c.user)
	c.mu.Lock()
	code, text := c.closeCode, c.closeText
	c.mu.Unlock()
	level := slog.LevelDebug
	switch code {
	case websocket.CloseTryAgainLater, websocket.ClosePolicyViolation, websocket.CloseInvalidFramePayloadData:
		level = slog.LevelInfo // the server cut the client off: worth seeing
	}
	h.s.log.Log(context.Background(), level, "connection closed", "conn", c.id, "user", c.user.Username,
		"close_code", code, "close_reason", text, "read_err", readErr)
}

// welcome attaches c to all its user's rooms and returns the welcome
// payload, whose last_seq values are the connection's cursors.
func (h *hub) welcome(c *conn) (protocol.Welcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	rooms, err := timed(h.s.metrics, "rooms", func() ([]chat.Room, error) { return h.s.store.Rooms(ctx, c.user.ID) })
	if err != nil {
		return protocol.Welcome{}, err
	}
	current := ""
	for i := range rooms {
		err := h.attach(c, rooms[i].Name, func(cursor int64) { rooms[i].LastSeq = cursor })
		if err != nil {
			return protocol.Welcome{}, err
		}
		if rooms[i].Name == chat.General || current == "" {
			current = rooms[i].Name
		}
	}
	if current != chat.General {
		c.current = current
	}
	cfg := h.s.cfg
	return protocol.Welcome{
		User:        c.user,
		Rooms:       rooms,
		CurrentRoom: current,
		Server:      "chatd/" + cfg.Version,
		Heartbeat: protocol.Heartbeat{
			PingIntervalMS: cfg.PingInterval.Milliseconds(),
			PongWaitMS:     cfg.PongWait.Milliseconds(),
		},
		Limits: protocol.Limits{
			MaxFrameBytes:     cfg.MaxFrameBytes,
			MaxTextChars:      chat.MaxTextChars,
			MessagesPerSecond: cfg.RateLimit,
		},
	}, nil
}

// The heartbeat: each ping must be answered within PongWait of being sent.
// Sending a ping sets the read deadline to that moment, and its pong lifts
// it; no new ping goes out while one is unanswered, so a pong can only lift
// the deadline it answers. (Resetting the deadline at each pong instead
// would give a pong only PongWait-PingInterval, 1 s by default, after its
// ping, and drop any client whose requests took longer than that to serve.)

// armHeartbeat sets the deadline for a ping about to be sent; false if one
// is outstanding or the connection is closing.
func (c *conn) armHeartbeat() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.awaitingPong || c.closing || c.draining {
		return false
	}
	c.awaitingPong = true
	c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.PongWait))
	return true
}

// pongArrived lifts the heartbeat's read deadline.
func (c *conn) pongArrived() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.awaitingPong && !c.closing && !c.draining { // those have deadlines of their own
		c.awaitingPong = false
		c.ws.SetReadDeadline(time.Time{})
	}
}

// readLoop reads and handles frames until the connection fails or closes,
// and returns why it stopped reading.
func (c *conn) readLoop() error {
	cfg := c.s.cfg
	c.ws.SetReadLimit(cfg.MaxFrameBytes) // gorilla closes with 1009 beyond it
	c.ws.SetPongHandler(func(string) error {
		c.pongArrived()
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		if c.isClosing() {
			continue // draining until the client answers our close frame
		}
		if typ != websocket.TextMessage {
			c.badFrame("", chat.Errorf(chat.CodeBadRequest, "frames must be JSON text"))
			continue
		}
		if !utf8.Valid(data) {
			c.closeWith(websocket.CloseInvalidFramePayloadData, "invalid UTF-8", false)
			continue
		}
		c.handle(data)
	}
}

// badFrame answers a malformed frame and closes the connection with 1008
// when there were too many lately.
func (c *conn) badFrame(id string, err error) {
	c.s.metrics.badFrames.Inc()
	c.enqueueBytes(errorFrame(id, err))
	now := time.Now()
	cfg := c.s.cfg
	c.badFrames = append(c.badFrames, now)
	if len(c.badFrames) > cfg.BadFrameLimit {
		c.badFrames = c.badFrames[1:]
	}
	if len(c.badFrames) >= cfg.BadFrameLimit && now.Sub(c.badFrames[0]) <= cfg.BadFrameWindow {
		c.closeWith(websocket.ClosePolicyViolation, "too many bad frames", false)
	}
}
