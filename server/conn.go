package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

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

// upgrader does the WebSocket handshake only: frames are read by
// reader.go from the small buffer hijackWriter hands it (zero ReadBufferSize:
// no buffer of gorilla's own) and written by the flushers (a pool: gorilla
// never needs a write buffer of its own). Its response is written to the
// wire, which holds it for the welcome's write.
var upgrader = websocket.Upgrader{
	WriteBufferPool:   &sync.Pool{},
	EnableCompression: false,
	// The Origin allowlist runs before the upgrade (originAllowed).
	CheckOrigin: func(*http.Request) bool { return true },
}

// frameKind says how a broadcast counts and what a full queue does to it.
type frameKind int

const (
	frameMessage frameKind = iota // new_message: counted as a delivery
	frameEvent                    // other room events, which must arrive
	// frameEphemeral frames (presence, typing) are dropped rather than
	// queued when the queue is half full: a burst of them (a thousand users
	// going offline at once) must not cost a client its connection, and a
	// client that missed some asks who instead.
	frameEphemeral
)

// conn is one WebSocket connection: read by one goroutine at a time, which
// also runs the requests in order (one started by the poller when the
// connection is readable, or one of its own; see reader.go), and a bounded
// queue of outbound frames (out) that a flusher writes. A broadcast never
// waits for a connection: when the queue is full the connection is closed
// with 1013 and its client recovers from history.
type conn struct {
	id        uint64 // set by hub.register
	s         *Server
	wire      *wire
	lu        *localUser // the hub's record of the user's connections
	flusher   *flusher
	user      chat.User
	tokenHash []byte
	pinger    *time.Timer
	// flushed is closed once the connection will write nothing more: its
	// close frame is out, or a write failed.
	flushed chan struct{}

	// mu guards the following. It is the flusher's qmu, shared by all the
	// connections that flusher writes, so that a broadcast takes it once
	// per flusher (room.broadcastLocked); nothing holds it across a wait,
	// and nobody holds two connections' at once.
	mu *sync.Mutex
	// out holds whole frames that no write has started on, in order. A
	// broadcast's frame is the same bytes for every recipient: out refers
	// to it rather than copying it, and one writev hands the kernel all of
	// a connection's frames, each read from where every connection reads it.
	out       [][]byte
	outBytes  int    // bytes in out
	outFrames int    // data frames in out, for the queue bound
	ctl       []byte // gorilla's control frames (pong, close): written after out, never dropped
	scheduled bool   // on the flusher's list
	started   bool   // the welcome is queued: flushing may begin
	writing   bool   // a write is in progress (flusher or blocking); only it may take out
	// stalled: the socket's buffer is full, so the client is behind, and a
	// blocking write is waiting for it to read. Frames queued meanwhile are
	// what the queue's frame bound counts: frames that only wait for their
	// flusher's turn (a burst from one group commit, say) are the server's
	// backlog, not the client's.
	stalled   bool
	closing   bool
	closeCode int // 0: no close frame (the peer is gone or closed first)
	closeText string
	closeOut  bool             // the close frame (if any) was taken from out: nothing more is written
	finished  bool             // flushed is closed
	rooms     map[string]*room // attached rooms: this connection's view of its memberships
	// awaitingPong: a ping was sent and its pong has not arrived; the read
	// deadline is set for it.
	awaitingPong bool
	// draining: the server is shutting down; the reader finishes the
	// request in hand and stops (its read deadline is now).
	draining bool
	// closeInCtl: a close frame gorilla or the frame reader wrote (an
	// answer to the client's, or a protocol error) is queued in ctl.
	closeInCtl bool

	// Reading a connection the poller holds (polled): reading while a
	// goroutine reads it, readEnded once reading is over for good (hub.end
	// runs, once). The read deadline, which the socket enforces only on a
	// read in progress, is also a timer (deadline) for the time between
	// reads.
	polled       bool
	reading      bool
	readEnded    bool
	readDeadline time.Time
	deadline     *time.Timer

	// sending counts the pipelined sends whose commit has not been
	// reported; sendSlots bounds them.
	sending   sync.WaitGroup
	sendSlots chan struct{}

	// Owned by the reader goroutine.
	current    string      // the seed's "current room"
	badFrames  []time.Time // recent bad frames, oldest first
	lastTyping map[string]time.Time
}

func newConn(s *Server, w *wire, id identity) *conn {
	f := s.hub.pickFlusher()
	c := &conn{
		s:          s,
		wire:       w,
		flusher:    f,
		mu:         &f.qmu,
		user:       id.user,
		tokenHash:  id.tokenHash,
		flushed:    make(chan struct{}),
		sendSlots:  make(chan struct{}, maxSendsInFlight),
		rooms:      make(map[string]*room),
		current:    chat.General,
		lastTyping: make(map[string]time.Time),
	}
	w.c.Store(c)
	return c
}

// scheduleLocked puts c on its flusher's list unless it is there already or
// a write in progress will see the news.
func (c *conn) scheduleLocked() {
	if c.started && !c.scheduled && !c.writing {
		c.scheduled = true
		c.flusher.add(c)
	}
}

// admitLocked applies the queue bound to a frame of size bytes: false if it
// must not be queued (dropped, or the connection is now closing). The byte
// bound always applies, the frame bound while the client is behind
// (stalled).
func (c *conn) admitLocked(size int, kind frameKind) bool {
	if c.closing {
		return false
	}
	cfg := &c.s.cfg
	frames, bytes := 0, c.outBytes+size
	if c.stalled {
		frames = c.outFrames + 1
	}
	if kind == frameEphemeral && (2*frames > cfg.QueueFrames || 2*bytes > cfg.QueueBytes) {
		c.s.metrics.ephemeralDropped.Inc()
		return false
	}
	if frames > cfg.QueueFrames || bytes > cfg.QueueBytes {
		c.s.metrics.slowConsumers.Inc()
		c.closeLocked(websocket.CloseTryAgainLater, "try again later", true)
		return false
	}
	return true
}

// queueFrameLocked queues an encoded frame (a broadcast's, shared by all
// its recipients) without ever blocking.
func (c *conn) queueFrameLocked(frame []byte, kind frameKind) {
	if !c.admitLocked(len(frame), kind) {
		return
	}
	c.pushLocked(frame)
	c.outFrames++
	c.scheduleLocked()
}

// pushLocked appends a frame, which nobody changes any more, to out.
func (c *conn) pushLocked(frame []byte) {
	if c.out == nil {
		c.out = getSegs()
	}
	c.out = append(c.out, frame)
	c.outBytes += len(frame)
}

// dropOutLocked forgets what out holds.
func (c *conn) dropOutLocked() {
	putSegs(c.out)
	c.out, c.outBytes, c.outFrames = nil, 0, 0
}

// enqueueBytes queues a text frame for this connection alone (a reply).
func (c *conn) enqueueBytes(payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.admitLocked(len(payload), frameEvent) {
		return
	}
	c.pushLocked(textFrame(payload))
	c.outFrames++
	c.scheduleLocked()
}

// enqueueControl queues a frame gorilla wrote (a pong, a close) as it is.
func (c *conn) enqueueControl(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeOut || c.closeInCtl {
		return // a close frame is on its way: nothing may follow it
	}
	if len(frame) >= 2 && frame[0]&0x0f == opClose {
		// Closing now: nothing more may be queued behind it.
		c.closeInCtl = true
		if !c.closing {
			c.closing, c.closeCode = true, 0
			if len(frame) >= 4 && frame[1]&0x7f >= 2 {
				c.closeCode = int(frame[2])<<8 | int(frame[3])
			}
		}
	}
	c.ctl = append(c.ctl, frame...)
	c.scheduleLocked()
}

// start queues payload as a text frame before everything queued so far,
// with head (the handshake's response) in front of it, and lets writing
// begin: the welcome frame, which must precede the events of the rooms
// attached while it was built. The caller writes it (flush): the
// connect's goroutine, about to end, rather than a flusher woken for it.
func (c *conn) start(head, payload []byte) {
	c.startFramed(appendFrame(append(make([]byte, 0, len(head)+len(payload)+maxFrameHeader), head...), opText, payload))
}

// startFramed is start with the handshake's answer and the first frame
// already in one buffer, f.
func (c *conn) startFramed(f []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = true
	if !c.closing {
		c.pushLocked(nil)
		copy(c.out[1:], c.out)
		c.out[0] = f
		c.outBytes += len(c.out[0])
		c.outFrames++
	}
}

// closeWith starts closing: what is queued is written (nothing if drop),
// then a close frame with code (none if code is 0).
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
		// A write may be stuck behind a client that stopped reading. Give
		// it time to read again, drain and see the 1013, instead of the
		// usual write wait and heartbeat, which would end it without a word.
		until := time.Now().Add(slowConsumerGrace)
		c.setReadDeadlineLocked(until)
		c.wire.extend(until)
	}
	if drop {
		c.dropOutLocked()
	}
	c.scheduleLocked()
}

// takeLocked takes everything queued for one write, with the close frame
// behind it once closing. last: nothing will be written after it.
func (c *conn) takeLocked() (segs [][]byte, last bool) {
	if len(c.ctl) > 0 {
		c.pushLocked(c.ctl)
		c.ctl = nil
	}
	if c.closing && !c.closeOut {
		c.closeOut = true
		if c.closeCode != 0 && !c.closeInCtl {
			c.pushLocked(appendFrame(nil, opClose, websocket.FormatCloseMessage(c.closeCode, c.closeText)))
		}
	}
	segs, c.out, c.outBytes, c.outFrames = c.out, nil, 0, 0
	return segs, c.closeOut
}

// flush is the flusher's turn with c: one write of everything queued that
// does not wait for the client. If the kernel takes only part, a goroutine
// of c's own finishes the job with blocking writes.
func (c *conn) flush() {
	c.mu.Lock()
	c.scheduled = false
	if c.writing || c.finished {
		c.mu.Unlock()
		return
	}
	segs, last := c.takeLocked()
	if len(segs) == 0 {
		c.mu.Unlock()
		putSegs(segs)
		if last {
			c.finish()
		}
		return
	}
	c.writing = true
	c.mu.Unlock()

	n, err := c.wire.tryWrite(segs)
	switch {
	case err == nil:
		c.wrote(segs, last)
	case err == errWouldBlock:
		c.mu.Lock()
		c.stalled = true
		c.mu.Unlock()
		go c.writeSlow(segs, n, last)
	default:
		c.writeFailed(segs)
	}
}

// writeSlow writes segs from byte off on, and then whatever was queued
// meanwhile, with blocking writes, until the queue is empty; then c is the
// flushers' again.
func (c *conn) writeSlow(segs [][]byte, off int, last bool) {
	for {
		if err := c.wire.writeBlocking(segs, off, c.s.cfg.WriteWait); err != nil {
			c.writeFailed(segs)
			return
		}
		putSegs(segs)
		c.mu.Lock()
		if last {
			c.writing = false
			c.mu.Unlock()
			c.finish()
			return
		}
		segs, last = c.takeLocked()
		if len(segs) == 0 {
			c.writing, c.stalled = false, false // caught up
			c.mu.Unlock()
			putSegs(segs)
			if last {
				c.finish()
			}
			return
		}
		c.mu.Unlock()
		off = 0
	}
}

// wrote ends a write that the kernel took whole.
func (c *conn) wrote(segs [][]byte, last bool) {
	putSegs(segs)
	c.mu.Lock()
	c.writing = false
	if !last && (len(c.out) > 0 || len(c.ctl) > 0 || c.closing) {
		c.scheduleLocked() // queued during the write
	}
	c.mu.Unlock()
	if last {
		c.finish()
	}
}

// writeFailed: the client is gone or stuck past the write wait. Closing the
// socket ends the reader, which cleans up; a connection between reads ends
// now.
func (c *conn) writeFailed(segs [][]byte) {
	putSegs(segs)
	c.wire.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	c.closing, c.closeOut = true, true
	c.dropOutLocked()
	c.finishLocked(0)
}

// finish marks the connection's writing done: the reader now waits only
// for the client's answer to the close frame.
func (c *conn) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishLocked(closeGrace)
}

// finishLocked marks writing done and gives the reader grace to go on.
func (c *conn) finishLocked(grace time.Duration) {
	if c.finished {
		return
	}
	c.finished = true
	c.setReadDeadlineLocked(time.Now().Add(grace))
	close(c.flushed)
}

// The lists of frames in out are pooled, so that an idle connection holds
// none. A sync.Pool holds pointers: the boxes a list travels in are
// pooled too (emptySegs), or every put would allocate one, once per write.
var segPool, emptySegs sync.Pool

func getSegs() [][]byte {
	if p, ok := segPool.Get().(*[][]byte); ok {
		s := *p
		*p = nil
		emptySegs.Put(p)
		return s
	}
	return make([][]byte, 0, 16)
}

// putSegs gives a list back, forgetting its frames.
func putSegs(s [][]byte) {
	if s == nil || cap(s) > 4096 {
		return
	}
	clear(s)
	p, ok := emptySegs.Get().(*[][]byte)
	if !ok {
		p = new([][]byte)
	}
	*p = s[:0]
	segPool.Put(p)
}

// drain makes the reader stop after the request in hand, whose reply is
// still queued; serve then closes with 1001.
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	c.setReadDeadlineLocked(time.Now())
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

// serve registers the connection, queues its welcome and leaves it to a
// goroutine of its own. The welcome's store calls run here, on the HTTP
// server's goroutine, which ends with them: the connection's long-lived
// reader starts with a small stack, and an idle one keeps it small.
func (h *hub) serve(c *conn, head []byte) {
	lu, ok := h.register(c)
	if !ok { // shutting down: nobody else writes to the socket yet
		c.wire.writeBlocking([][]byte{head, appendFrame(nil, opClose,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "going away"))}, 0, time.Second)
		c.wire.Close()
		return
	}
	c.lu = lu
	h.s.metrics.connections.Inc()
	h.s.metrics.connectsTotal.Inc()

	var welcome protocol.Welcome
	err := lu.err
	if err != nil {
		err = chat.Errorf(chat.CodeUnavailable, "the server cannot follow this account's sessions; try again later")
	} else {
		welcome, err = h.welcome(c)
	}
	if err != nil {
		if !errors.As(err, new(reportedError)) { // a store failure is logged, rate-limited, where it happened
			h.s.log.Warn("welcome failed", "user", c.user.Username, "err", err)
		}
		c.start(head, errorFrame("", err))
		c.closeWith(websocket.CloseTryAgainLater, "try again later", false)
	} else {
		h.presence.sync(c.user)
		// Counted after this user's own presence, so that they count.
		for i := range welcome.Rooms {
			welcome.Rooms[i].MembersOnline = h.presence.online(welcome.Rooms[i].Name)
		}
		c.startFramed(welcomeFrame(head, &welcome))
	}
	c.flush()
	if h.s.log.Enabled(context.Background(), slog.LevelDebug) { // the address's String allocates: not for nothing
		h.s.log.Debug("connection opened", "conn", c.id, "user", c.user.Username, "remote", c.wire.RemoteAddr().String())
	}
	if f := h.welcomed.Load(); f != nil {
		(*f)()
	}
	c.mu.Lock()
	c.pinger = time.AfterFunc(h.s.cfg.PingInterval, c.ping)
	if h.poller != nil && c.wire.raw != nil {
		c.polled = true
		if err := h.poller.add(c); err == nil {
			// A deadline set before polling (a shutdown's drain since the
			// welcome, a 1013's grace) was on the socket only, which the
			// poller does not watch: its timer takes over.
			c.armDeadlineLocked()
			c.mu.Unlock()
			return
		}
		c.polled = false
	}
	c.mu.Unlock()
	go h.end(c, c.readLoop())
}

// end cleans up after a connection's last read: it answers what is in
// flight, closes, and forgets the connection.
func (h *hub) end(c *conn, readErr error) {
	defer h.connsWG.Done()
	defer h.s.metrics.connections.Dec()
	if c.polled {
		h.poller.remove(c)
	}
	c.sending.Wait() // pipelined sends: their acks go out before the close

	// The reader is done. In a shutdown its last request has been answered
	// and queued: flush the queue and say 1001, then wait for the client's
	// close frame (closing TCP with its data unread would reset the
	// connection, and the client might never see ours). Otherwise stop
	// writing (a close frame of ours may still be on its way).
	draining := c.isDraining()
	if draining {
		c.closeWith(websocket.CloseGoingAway, "going away", false)
	} else {
		c.closeWith(0, "", true)
	}
	c.mu.Lock()
	c.pinger.Stop() // closing: a ping running now does not rearm it
	c.mu.Unlock()
	select {
	case <-c.flushed:
		if draining {
			c.wire.SetReadDeadline(time.Now().Add(closeGrace))
			for {
				if _, _, err := c.readUnit(false); err != nil {
					break
				}
			}
		}
	case <-time.After(closeGrace):
	}
	c.wire.Close()
	<-c.flushed // a write in progress fails now

	for _, r := range c.takeRooms() {
		h.detach(c, r)
	}
	h.unregister(c, c.lu)
	h.presence.sync(c.user)
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
		stored := rooms[i].LastSeq
		err := h.attach(c, rooms[i].Name, func(cursor int64) { rooms[i].LastSeq = cursor })
		if err != nil {
			return protocol.Welcome{}, err
		}
		if rooms[i].Hidden {
			// A hidden DM: attached for presence and for its return, not
			// shown, unless a message came since the store's look.
			rooms[i].Hidden = h.hide(c, rooms[i], stored)
			if rooms[i].Hidden {
				continue
			}
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
		Rooms:       shown(rooms),
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
			MaxUploadBytes:    cfg.MaxUploadBytes,
		},
	}, nil
}

// The heartbeat: each ping must be answered within PongWait of being sent.
// Sending a ping sets the read deadline to that moment, and its pong lifts
// it; no new ping goes out while one is unanswered, so a pong can only lift
// the deadline it answers. (Resetting the deadline at each pong instead
// would give a pong only PongWait-PingInterval, 1 s by default, after its
// ping, and drop any client whose requests took longer than that to serve.)

// pingFrame is every ping: it carries nothing, so it is the same bytes.
var pingFrame = appendFrame(nil, opPing, nil)

// ping sends a ping and arms its deadline, unless one is unanswered (its
// deadline stands), and comes back after PingInterval. A runtime timer per
// connection, not a goroutine: an idle connection costs no wake-up between
// pings.
func (c *conn) ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.draining {
		return
	}
	if !c.awaitingPong {
		c.awaitingPong = true
		c.setReadDeadlineLocked(time.Now().Add(c.s.cfg.PongWait))
		c.pushLocked(pingFrame)
		c.scheduleLocked()
	}
	c.pinger.Reset(c.s.cfg.PingInterval)
}

// pongArrived lifts the heartbeat's read deadline.
func (c *conn) pongArrived() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.awaitingPong && !c.closing && !c.draining { // those have deadlines of their own
		c.awaitingPong = false
		c.setReadDeadlineLocked(time.Time{})
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
