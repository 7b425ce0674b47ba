package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
	"github.com/gorilla/websocket"
)

// storeTimeout bounds one store call made on behalf of a request or of the
// hub. It does not come from the connection, so that a closing connection
// (or a shutdown) lets an in-flight write finish; it is short enough that a
// shutdown (8 s in cmd/chatd) still has time for the close handshake after
// the request in hand, even with a stalling store.
const storeTimeout = 5 * time.Second

// hub tracks this node's connections, the rooms they are attached to and
// the users they belong to, and delivers bus events to them.
//
// A room's deliveries and its attaches are serialised by room.mu: a
// connection attached at cursor C has received, or will receive, exactly the
// room's messages with seq > C, in order. A message whose predecessor the bus
// lost or reordered is preceded by a fill from the store.
//
// Locks, in the order they may be taken: presence.syncMu, room.deliverMu,
// hub.mu, room.mu, conn.mu, flusher.mu, roster.mu. conn.mu is its
// flusher's qmu, shared by that flusher's connections: nothing holds two
// connections' at once. hub.mu and room.mu are held only to look up or
// queue, never across a store call, a bus call or a wait; a
// room's store calls (its init and gap fills) hold its deliverMu, which
// only that room's own bus events wait for.
type hub struct {
	s        *Server
	node     string // this node's random ID on the bus
	presence *presence
	done     chan struct{} // closed by shutdown: stops store retries

	// welcomed, if set, runs on a connection's serving goroutine once its
	// welcome is written and before its reading starts: a test's way into
	// that moment (export_test.go).
	welcomed atomic.Pointer[func()]

	mu      sync.Mutex // guards the following
	rooms   map[string]*room
	users   map[string]*localUser
	conns   map[*conn]struct{}
	nextID  uint64
	closed  bool
	connsWG sync.WaitGroup // one per connection being served

	flushers    []*flusher
	poller      *poller // nil: every connection has a goroutine that reads it
	nextFlusher atomic.Uint32

	pollers sync.WaitGroup // the goroutines that poll the store: revoked sessions, old uploads
}

type localUser struct {
	id    string
	conns map[*conn]struct{}
	ready chan struct{} // closed when sub is set, or err
	sub   chat.Subscription
	err   error // the user's topic could not be subscribed to
}

func newHub(s *Server) (*hub, error) {
	var b [8]byte
	rand.Read(b[:])
	h := &hub{
		s:     s,
		node:  hex.EncodeToString(b[:]),
		done:  make(chan struct{}),
		rooms: make(map[string]*room),
		users: make(map[string]*localUser),
		conns: make(map[*conn]struct{}),
	}
	for range s.cfg.Flushers {
		h.flushers = append(h.flushers, newFlusher(s.cfg.WriteDelay))
	}
	if !s.cfg.ReadGoroutines {
		p, err := newPoller()
		if err != nil {
			s.log.Warn("no epoll poller: every connection gets a reading goroutine", "err", err)
		} else {
			h.poller = p
		}
	}
	p, err := startPresence(h.node, s.bus, s.log, s.cfg.NodeHeartbeat, h)
	if err != nil {
		return nil, err
	}
	h.presence = p
	h.pollers.Add(2)
	go h.watchRevocations()
	go h.sweepUploads()
	return h, nil
}

// room is one room as this node delivers it.
type room struct {
	name  string
	h     *hub
	refs  int           // attached connections plus attaches under way; guarded by hub.mu
	ready chan struct{} // closed when init finished
	err   error         // init failure; set before ready is closed
	sub   chat.Subscription

	// deliverMu serialises what the room delivers from the bus and from
	// the store (onBus, resync, fill), in seq order. It is held across
	// store calls and their retries, so nothing but the room's own bus
	// events waits for it: attaches, detaches and presence take mu only.
	deliverMu sync.Mutex

	mu sync.Mutex // guards the following; held only to queue frames, never across a store call or a wait
	// conns are the attached connections, each with its index in its
	// flusher's group: a broadcast queues to a group under the flusher's
	// one lock (see broadcastLocked).
	conns     map[*conn]int
	groups    []connGroup
	delivered int64 // highest seq delivered to conns; written under deliverMu and mu
	// hidden holds the attached connections whose user hid this DM, with
	// the room as they last saw it: they get no events until its next
	// message, which brings it back (see dmhide.go).
	hidden map[*conn]chat.Room
}

// attach adds c to the room's local delivery. Under the room's lock it
// calls onAttach with the cursor: c receives every message with a higher
// seq, and only those, after whatever onAttach queues. Attaching a
// connection that is attached already just reports the cursor again.
func (h *hub) attach(c *conn, name string, onAttach func(cursor int64)) error {
	h.mu.Lock()
	r := h.rooms[name]
	creator := r == nil
	if creator {
		r = &room{name: name, h: h, ready: make(chan struct{}), conns: make(map[*conn]int)}
		h.rooms[name] = r
		r.deliverMu.Lock() // bus events wait until the cursor is known
		h.s.metrics.rooms.Inc()
	}
	r.refs++
	h.mu.Unlock()

	if creator {
		r.init()
	} else {
		<-r.ready
	}
	if r.err != nil {
		h.release(r)
		return r.err
	}
	r.mu.Lock()
	_, already := r.conns[c]
	if !already {
		r.addConnLocked(c)
	}
	delete(r.hidden, c) // joined again: shown
	if onAttach != nil {
		onAttach(r.delivered)
	}
	r.mu.Unlock()
	if already {
		h.release(r)
		return nil
	}
	if !c.addRoom(name, r) { // c closed meanwhile
		h.detach(c, r)
	}
	return nil
}

// init subscribes to the room's topic and then reads its last seq, with
// r.deliverMu held since attach: a message published after the read
// reaches the subscription, and one stored before it is not delivered
// twice. Nobody attaches before ready is closed.
func (r *room) init() {
	defer close(r.ready)
	sub, err := r.h.s.bus.Subscribe(roomTopic(r.name), r.onBus)
	if err != nil {
		r.err = err
		r.deliverMu.Unlock()
		return
	}
	last, err := r.h.lastSeq(r.name)
	if err != nil {
		r.err = err
		r.deliverMu.Unlock()
		unsubscribe(r.h.s.log, sub, roomTopic(r.name)) // not under deliverMu: a blocked handler holds the subscription
		return
	}
	r.sub = sub
	r.mu.Lock()
	r.delivered = last
	r.mu.Unlock()
	r.deliverMu.Unlock()
}

func (h *hub) lastSeq(name string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return timed(h.s.metrics, "last_seq", func() (int64, error) { return h.s.store.LastSeq(ctx, name) })
}

// detach removes c from the room.
func (h *hub) detach(c *conn, r *room) {
	r.mu.Lock()
	_, ok := r.conns[c]
	if ok {
		r.removeConnLocked(c)
	}
	delete(r.hidden, c)
	r.mu.Unlock()
	if ok {
		h.release(r)
	}
}

// release drops one reference; the last one unsubscribes the room.
func (h *hub) release(r *room) {
	h.mu.Lock()
	r.refs--
	last := r.refs == 0
	if last && h.rooms[r.name] == r {
		delete(h.rooms, r.name)
		h.s.metrics.rooms.Dec()
	}
	h.mu.Unlock()
	if last && r.sub != nil {
		unsubscribe(h.s.log, r.sub, roomTopic(r.name))
	}
}

// onBus handles one event of the room's topic (nil: events may be lost).
func (r *room) onBus(data []byte) {
	if data == nil {
		r.resync()
		return
	}
	ev, ok := decodeMessageEvent(data)
	if !ok {
		if err := json.Unmarshal(data, &ev); err != nil {
			r.h.s.log.Error("bad room event on bus", "room", r.name, "err", err)
			return
		}
	}
	r.deliverMu.Lock()
	defer r.deliverMu.Unlock()
	if r.err != nil {
		return
	}
	switch ev.Kind {
	case evMessage:
		if ev.Seq > r.delivered+1 {
			r.fill(ev.Seq - 1) // which may deliver this one too
		}
		if ev.Seq <= r.delivered {
			return // delivered already (filled from the store, or a duplicate)
		}
		r.deliver(ev.Frame, ev.Seq)
	case evUpdated:
		r.broadcast(ev.Frame, nil, frameEvent)
	case evTyping:
		if ev.User != nil {
			r.broadcast(ev.Frame, func(c *conn) bool { return c.user.ID != ev.User.ID }, frameEphemeral)
		}
	}
}

// deliver queues message seq's frame to the room's connections and moves
// the cursor past it; the caller holds deliverMu.
func (r *room) deliver(data []byte, seq int64) {
	r.mu.Lock()
	if len(r.hidden) > 0 {
		r.reviveLocked()
	}
	r.broadcastLocked(data, nil, frameMessage)
	r.delivered = seq
	r.mu.Unlock()
}

// broadcast queues a frame to the room's connections that want it.
func (r *room) broadcast(data []byte, want func(*conn) bool, kind frameKind) {
	r.mu.Lock()
	r.broadcastLocked(data, want, kind)
	r.mu.Unlock()
}

// resync delivers whatever the store has beyond the cursor: the bus said
// it may have lost events.
func (r *room) resync() {
	r.deliverMu.Lock()
	defer r.deliverMu.Unlock()
	if r.err != nil {
		return
	}
	last, err := retry(r.h, func() (int64, error) { return r.h.lastSeq(r.name) })
	if err != nil {
		r.h.s.log.Error("room resync failed", "room", r.name, "err", err)
		return
	}
	if last > r.delivered {
		r.fill(last)
	}
}

// fill delivers the room's messages from delivered+1 to upTo from the
// store; the caller holds deliverMu, and mu is taken only to queue. While the store is unavailable it retries (delivery in this room
// waits); it gives up only when the hub shuts down or the store keeps
// failing, and then skips ahead so that the room does not stall for good.
//
// A fill is paced by the room's connections: a bus outage at a thousand
// messages a second leaves a gap of hundreds, and queueing them all at once
// would overflow every bounded queue and cut its reader off with 1013. So
// the fill queues a quarter of a queue at a time, each once every
// connection has at most half of its queue left to write (see fillPacer).
//
// Meanwhile the bus holds back the live messages, which would arrive all at
// once after the fill: the very burst it avoided. So a fill that took more
// than a page, or had to wait, catches up: it reads on past upTo, paced
// alike, until the store has no more (the bus then holds little beyond
// delivered, and skips what the fill delivered) or it has read as many
// again as the gap (a room that outruns its readers is left to the queue
// bound, as it would be without an outage).
func (r *room) fill(upTo int64) {
	h := r.h
	page := int64(max(1, min(100, h.s.cfg.QueueFrames/4)))
	pace := fillPacer{r: r}
	gap := upTo - r.delivered
	catchingUp := false // past upTo
	for pages := 1; r.delivered < upTo; pages++ {
		after := r.delivered
		limit := int(min(upTo-after, page))
		read := func() ([]chat.Message, error) {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			defer cancel()
			return timed(h.s.metrics, "messages_after", func() ([]chat.Message, error) {
				return h.s.store.MessagesAfter(ctx, r.name, after, limit)
			})
		}
		var msgs []chat.Message
		var err error
		if catchingUp {
			msgs, err = read() // no retries: the bus delivers what this misses
			if err != nil {
				return
			}
		} else {
			msgs, err = retry(h, read)
			if err != nil || len(msgs) == 0 {
				h.s.log.Error("cannot fill a gap from the store; skipping", "room", r.name,
					"from", after+1, "to", upTo, "err", err)
				r.skip(upTo)
				return
			}
		}
		for _, m := range msgs {
			if m.Seq > upTo {
				break
			}
			data := frame(protocol.TypeNewMessage, "", m)
			if !pace.admit(len(data)) {
				if !catchingUp {
					h.s.log.Warn("hub shutting down: gap fill abandoned", "room", r.name,
						"from", m.Seq, "to", upTo)
					r.skip(upTo)
				}
				return
			}
			h.s.metrics.gapFills.Inc()
			r.deliver(data, m.Seq)
		}
		switch {
		case catchingUp && len(msgs) < limit:
			return // caught up with the store
		case !catchingUp && r.delivered == upTo && (pages > 1 || pace.waited):
			catchingUp = true
			upTo += gap
		}
	}
}

// skip moves the cursor to seq without delivering what lies before it.
func (r *room) skip(seq int64) {
	r.mu.Lock()
	r.delivered = seq
	r.mu.Unlock()
}

// fillPollInterval is how often a paced fill looks whether the room's
// queues have drained. The flushers drain them without the room's lock, so
// polling a few connections for a few milliseconds is all a wait costs.
const fillPollInterval = 2 * time.Millisecond

// fillPacer paces one gap fill. It hands out a budget of a quarter of a
// queue (frames and bytes), and renews it once every connection of the room
// has at most half of its queue bound queued, so that the fill never takes
// more than three quarters of a queue, leaving the rest for replies and
// other events. A connection that makes no progress for WriteWait is a
// slow consumer, as its writer would find: the fill stops waiting for it,
// and it overflows and is closed with 1013 as on any other broadcast, so
// that one stuck client cannot stall the room.
type fillPacer struct {
	r       *room
	frames  int // budget left
	bytes   int
	waiting map[*conn]fillProgress // connections above half, since when
	slow    map[*conn]bool         // given up on
	waited  bool                   // for the queues to drain, at least once
}

// fillProgress is what a connection had queued when last seen, and since
// when it has made no progress.
type fillProgress struct {
	frames, bytes int
	since         time.Time
}

// admit takes a frame of size bytes from the budget, first waiting for the
// queues to drain if it is spent. false: the hub is shutting down.
func (p *fillPacer) admit(size int) bool {
	cfg := &p.r.h.s.cfg
	size += 10 // the frame header, at most
	if p.frames < 1 || p.bytes < size {
		if !p.wait() {
			return false
		}
		p.frames, p.bytes = max(1, cfg.QueueFrames/4), max(size, cfg.QueueBytes/4)
	}
	p.frames--
	p.bytes -= size
	return true
}

// wait polls the room's connections until each of them has at most half
// of its queue bound queued or has been given up on. false: the hub is
// shutting down.
func (p *fillPacer) wait() bool {
	r := p.r
	cfg := &r.h.s.cfg
	var tick *time.Ticker
	for {
		now := time.Now()
		full := false
		r.mu.Lock()
		conns := make([]*conn, 0, len(r.conns))
		for c := range r.conns {
			conns = append(conns, c)
		}
		r.mu.Unlock()
		for _, c := range conns {
			if p.slow[c] {
				continue
			}
			frames, bytes := c.backlog()
			if 2*frames <= cfg.QueueFrames && 2*bytes <= cfg.QueueBytes {
				delete(p.waiting, c)
				continue
			}
			last, seen := p.waiting[c]
			switch {
			case !seen || frames < last.frames || bytes < last.bytes:
				last.since = now // a write took some
			case now.Sub(last.since) >= cfg.WriteWait:
				r.h.s.log.Warn("gap fill stops waiting for a connection that does not read",
					"room", r.name, "conn", c.id, "user", c.user.Username, "queued_frames", frames)
				if p.slow == nil {
					p.slow = make(map[*conn]bool)
				}
				p.slow[c] = true
				delete(p.waiting, c)
				continue
			}
			last.frames, last.bytes = frames, bytes
			if p.waiting == nil {
				p.waiting = make(map[*conn]fillProgress)
			}
			p.waiting[c] = last
			full = true
		}
		if !full {
			return true
		}
		if tick == nil {
			tick = time.NewTicker(fillPollInterval)
			defer tick.Stop()
		}
		p.waited = true
		select {
		case <-r.h.done:
			return false
		case <-tick.C:
		}
	}
}

// retry calls f until it succeeds, the hub shuts down or about 30 s pass.
func retry[T any](h *hub, f func() (T, error)) (T, error) {
	backoff := 50 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := f()
		if err == nil || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-h.done:
			return v, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// connGroup is a room's connections written by one flusher, which share
// its lock.
type connGroup struct {
	f     *flusher
	conns []*conn
}

// addConnLocked attaches c, which is not attached, to the room.
func (r *room) addConnLocked(c *conn) {
	i := 0
	for i < len(r.groups) && r.groups[i].f != c.flusher {
		i++
	}
	if i == len(r.groups) {
		r.groups = append(r.groups, connGroup{f: c.flusher})
	}
	g := &r.groups[i]
	r.conns[c] = len(g.conns)
	g.conns = append(g.conns, c)
}

// removeConnLocked detaches c, which is attached, from the room: the last
// of its group takes its place.
func (r *room) removeConnLocked(c *conn) {
	at := r.conns[c]
	delete(r.conns, c)
	for i := range r.groups {
		g := &r.groups[i]
		if g.f != c.flusher {
			continue
		}
		last := len(g.conns) - 1
		if at != last {
			moved := g.conns[last]
			g.conns[at] = moved
			r.conns[moved] = at
		}
		g.conns[last] = nil
		g.conns = g.conns[:last]
		return
	}
}

// broadcastChunk is how many connections a broadcast queues to under one
// hold of their flusher's lock: the flusher waits for it at most that long
// (a few microseconds) when it takes a connection's frames.
const broadcastChunk = 64

// broadcastLocked queues one frame, encoded once for all, to the room's
// connections that want it, taking each flusher's lock once per
// broadcastChunk of its connections rather than once per connection.
func (r *room) broadcastLocked(data []byte, want func(*conn) bool, kind frameKind) {
	if len(r.conns) == 0 || len(data) == 0 {
		return
	}
	f := textFrame(data)
	n := 0
	someHidden := len(r.hidden) > 0 // only in a DM someone hid: no lookup per connection elsewhere
	for gi := range r.groups {
		conns := r.groups[gi].conns
		if len(conns) == 0 {
			continue
		}
		mu := &r.groups[gi].f.qmu
		mu.Lock()
		for i, c := range conns {
			if i > 0 && i%broadcastChunk == 0 {
				mu.Unlock()
				mu.Lock()
			}
			if _, hid := r.hidden[c]; someHidden && hid {
				continue
			}
			if want == nil || want(c) {
				c.queueFrameLocked(f, kind)
				n++
			}
		}
		mu.Unlock()
	}
	if kind == frameMessage {
		r.h.s.metrics.deliveries.Add(float64(n))
	}
}

// roomConns calls f for each local connection attached to room, under the
// room's lock.
func (h *hub) withRoom(name string, f func(r *room)) {
	h.mu.Lock()
	r := h.rooms[name]
	h.mu.Unlock()
	if r == nil {
		return
	}
	select {
	case <-r.ready:
	default:
		return // being initialised: its connections are not attached yet
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		f(r)
	}
}

// register adds c to the hub and its user, subscribing to the user's topic
// for their first connection on this node. If that fails, lu.err says so:
// such a connection would never learn of a logout, so it must not stay
// (and the user's next connection tries again).
func (h *hub) register(c *conn) (lu *localUser, ok bool) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, false
	}
	h.nextID++
	c.id = h.nextID
	h.conns[c] = struct{}{}
	h.connsWG.Add(1)
	lu = h.users[c.user.ID]
	first := lu == nil
	if first {
		lu = &localUser{id: c.user.ID, conns: make(map[*conn]struct{}), ready: make(chan struct{})}
		h.users[c.user.ID] = lu
	}
	lu.conns[c] = struct{}{}
	h.mu.Unlock()
	if first {
		sub, err := h.s.bus.Subscribe(userTopic(c.user.ID), func(data []byte) { h.onUserEvent(lu, data) })
		h.mu.Lock()
		if err != nil {
			h.s.log.Error("subscribe to user topic", "user", c.user.ID, "err", err)
			lu.err = err
			if h.users[lu.id] == lu {
				delete(h.users, lu.id)
			}
		} else {
			lu.sub = sub
		}
		h.mu.Unlock()
		close(lu.ready)
	} else {
		<-lu.ready
	}
	return lu, true
}

// unregister removes c from the hub and its user.
func (h *hub) unregister(c *conn, lu *localUser) {
	h.mu.Lock()
	delete(h.conns, c)
	delete(lu.conns, c)
	last := len(lu.conns) == 0
	var sub chat.Subscription
	if last && h.users[lu.id] == lu {
		delete(h.users, lu.id)
		sub = lu.sub
	}
	h.mu.Unlock()
	if sub != nil {
		unsubscribe(h.s.log, sub, userTopic(lu.id))
	}
}

// userConns returns a snapshot of the local connections of a user.
func (h *hub) userConns(lu *localUser) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(lu.conns))
	for c := range lu.conns {
		out = append(out, c)
	}
	return out
}

func (h *hub) onUserEvent(lu *localUser, data []byte) {
	if data == nil {
		return // lost membership events heal on the user's next connection
	}
	var ev busEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		h.s.log.Error("bad user event on bus", "err", err)
		return
	}
	origin := func(c *conn) bool { return ev.Node == h.node && ev.Conn == c.id }
	for _, c := range h.userConns(lu) {
		switch ev.Kind {
		case evAdded:
			if ev.RoomObj == nil || origin(c) || (c.hasRoom(ev.RoomObj.Name) && !h.isHidden(c, ev.RoomObj.Name)) {
				continue
			}
			room := *ev.RoomObj
			err := h.attach(c, room.Name, func(cursor int64) {
				room.LastSeq = cursor
				room.Joined = true
				room.MembersOnline = h.presence.online(room.Name)
				c.enqueueBytes(frame(protocol.TypeRoomAdded, "", room))
			})
			if err != nil {
				h.s.log.Warn("attach after room_added failed", "room", room.Name, "err", err)
			}
		case evRemoved:
			if origin(c) {
				continue
			}
			if ev.RoomObj != nil { // a DM hidden, not left
				if h.hide(c, *ev.RoomObj, math.MaxInt64) {
					c.enqueueBytes(frame(protocol.TypeRoomRemoved, "", protocol.RoomRef{Room: ev.Room}))
				}
				continue
			}
			if r := c.removeRoom(ev.Room); r != nil {
				h.detach(c, r)
				c.enqueueBytes(frame(protocol.TypeRoomRemoved, "", protocol.RoomRef{Room: ev.Room}))
			}
		case evRead:
			if !origin(c) {
				c.enqueueBytes(ev.Frame)
			}
		case evLogout:
			if bytes.Equal(c.tokenHash, ev.Session) {
				c.closeWith(websocket.CloseNormalClosure, "logged out", false)
			}
		}
	}
}

// connected reports whether this node has a connection of a user.
func (h *hub) connected(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	lu := h.users[userID]
	return lu != nil && len(lu.conns) > 0
}

// localRooms returns the rooms this node's connections of a user are
// attached to, and whether it has any connection of theirs.
func (h *hub) localRooms(userID string) ([]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lu := h.users[userID]
	if lu == nil || len(lu.conns) == 0 {
		return nil, false
	}
	set := map[string]struct{}{}
	for c := range lu.conns {
		c.mu.Lock()
		for name := range c.rooms {
			set[name] = struct{}{}
		}
		c.mu.Unlock()
	}
	rooms := make([]string, 0, len(set))
	for name := range set {
		rooms = append(rooms, name)
	}
	return rooms, true
}

// announce sends presence events to the local members of each room, except
// in rooms with more online members than the presence limit.
func (h *hub) announce(u chat.User, status string, ts []transition) {
	for _, t := range ts {
		if t.online > h.s.cfg.PresenceLimit {
			continue
		}
		data := frame(protocol.TypePresence, "", protocol.Presence{Room: t.room, User: u, Status: status})
		h.withRoom(t.room, func(r *room) {
			r.broadcastLocked(data, func(c *conn) bool { return c.user.ID != u.ID }, frameEphemeral)
		})
	}
}

// shutdown closes every connection with 1001 and waits for them.
func (h *hub) shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done) // store retries give up: nothing may hold a room for long now
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.drain() // serve closes it with 1001 once its request in hand is answered
	}
	waited := make(chan struct{})
	go func() {
		h.connsWG.Wait()
		close(waited)
	}()
	var err error
	select {
	case <-waited:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			c.wire.Close()
		}
		// Their goroutines now have only their cleanup left (and a store
		// call in hand, if any): the store and bus must not close under them.
		select {
		case <-waited:
		case <-time.After(closedConnsWait):
			h.s.log.Warn("connections still ending after their sockets closed", "wait", closedConnsWait)
		}
	}
	h.presence.stop()
	h.pollers.Wait()
	for _, f := range h.flushers {
		f.stop()
	}
	if h.poller != nil {
		h.poller.close()
	}
	return err
}

// pickFlusher assigns a new connection its flusher, round robin.
func (h *hub) pickFlusher() *flusher {
	return h.flushers[int(h.nextFlusher.Add(1))%len(h.flushers)]
}

// backlog reports what c has queued and no write has taken yet, in data
// frames and bytes: a gap fill paces itself by it. A closing connection
// takes nothing more, so it reports nothing.
func (c *conn) backlog() (frames, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return 0, 0
	}
	return c.outFrames, c.outBytes
}
