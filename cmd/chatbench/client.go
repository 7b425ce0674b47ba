package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// Timeouts of one connection.
const (
	// writeWait bounds one frame write; a server that does not read for
	// this long is broken as far as the bench is concerned.
	writeWait = 10 * time.Second
	// requestWait bounds a setup request (join_room) waiting for its ack.
	requestWait = 15 * time.Second
	// closeWait is how long a client waits for the server's close frame
	// after sending its own at the end of the run.
	closeWait = 3 * time.Second
)

// textMagic starts every message text the bench sends; the send time
// follows it, so any client can compute the end-to-end latency.
const textMagic = "chatbench "

// minTextSize is the smallest --size: the magic, 19 digits and a space.
const minTextSize = len(textMagic) + 20

// loopbackControl refuses, at connect time, any address that is not
// loopback. It backs up the --url check against a name that resolves
// somewhere else and against redirects.
func loopbackControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// readBufferSize is a connection's read buffer: large enough that a reader
// takes whatever a server wrote at once in one read. With gorilla's default
// of 4 KiB, a server that writes many frames per syscall makes the bench
// read three times per write, and those reads cost the bench more CPU than
// all its parsing: on two shared cores the bench, not the server, would be
// the limit. Idle connections keep the default (they read nothing).
func readBufferSize(cfg Config) int {
	if cfg.Idle {
		return 0
	}
	return 64 << 10
}

// loopbackDialer dials loopback only, without TCP keep-alive probes (a
// connection's liveness is the server's heartbeat; turning them on cost
// four setsockopt calls per dial).
func loopbackDialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1, Control: loopbackControl}
}

// bench is the shared state the clients report into.
type bench struct {
	cfg      Config
	progress io.Writer
	base     string // http://host:port
	wsURL    string
	// runID makes client_msg_ids unique per run: a rerun with the same
	// --prefix would otherwise be deduplicated into the old messages.
	runID string
	// tally: received counts new_message in bench rooms, foreign those
	// without our magic, duplicates a seq equal to the last one, outOfOrder
	// one below it.
	tally

	sent      atomic.Int64
	acked     atomic.Int64
	violation atomic.Int64 // duplicates, reorders and gaps
	skipped   atomic.Int64 // messages jumped over by gaps: lost deliveries

	rooms  []*roomState
	byName map[string]*roomState

	// connected, if set, runs once every connection has its welcome and
	// before the joins.
	connected func()
}

// roomState is one bench room, shared by its members.
type roomState struct {
	name     string
	members  int64        // connected members when sending starts
	acked    atomic.Int64 // acked messages sent to it
	maxAcked atomic.Int64 // highest seq an ack returned
}

// client is one user's WebSocket: one reader goroutine, and writes from
// the setup code or, later, from one sender goroutine (never both at once).
type client struct {
	b    *bench
	user string
	ws   *wsConn
	room *roomState // set before the reader starts, never changed

	// cursor is the last seq seen in the client's bench room; the drain
	// phase reads it while the reader writes it.
	cursor     atomic.Int64
	welcomeSeq int64         // the bench room's last_seq in welcome, if a member then
	joined     atomic.Bool   // join ack seen: cursor is meaningful
	closing    atomic.Bool   // the end of the connection is expected
	done       chan struct{} // closed when the reader returns

	mu      sync.Mutex // guards the following
	nextID  int
	pending map[string]time.Time     // send_message id -> send time
	replies map[string]chan replyMsg // setup request id -> its reply
	others  map[string]int64         // last seq of non-bench rooms (general)

	slots chan struct{} // one token per unacked send_message
}

type replyMsg struct {
	env protocol.Envelope
	err error
}

// dial opens the WebSocket, waits for welcome and starts the reader.
// The client will send to and check room r.
func dial(ctx context.Context, b *bench, wsURL, token, user string, r *roomState) (*client, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ws, err := dialWS(ctx, wsURL, h, readBufferSize(b.cfg), b.cfg.Readers == readersPoll)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", user, err)
	}
	c := &client{
		b: b, user: user, ws: ws, room: r,
		done:    make(chan struct{}),
		slots:   make(chan struct{}, b.cfg.Inflight),
		pending: make(map[string]time.Time),
		replies: make(map[string]chan replyMsg),
		others:  make(map[string]int64),
	}
	ws.nc.SetReadDeadline(time.Now().Add(requestWait))
	data, err := ws.readMessage()
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("%s: no welcome: %w", user, err)
	}
	ws.nc.SetReadDeadline(time.Time{}) // the server's pings keep it alive
	var buf [8]welcomeRoom
	rooms, ok := scanWelcome(data, buf[:0])
	if !ok {
		if rooms, ok = decodeWelcome(data, buf[:0]); !ok {
			ws.Close()
			return nil, fmt.Errorf("%s: first frame is not a welcome: %.200s", user, data)
		}
	}
	for _, r := range rooms {
		if string(r.name) == c.room.name {
			c.welcomeSeq = r.lastSeq
		}
		if b.byName[string(r.name)] != nil {
			continue // the join ack sets that cursor
		}
		c.others[string(r.name)] = r.lastSeq
	}
	c.ws.read(b.cfg.Readers == readersPoll, c.onFrame, func(err error) {
		c.ended(err)
		c.failPending()
		close(c.done)
	})
	return c, nil
}

// request sends a setup request and waits for its reply.
func (c *client) request(ctx context.Context, typ string, payload any) (protocol.Envelope, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return protocol.Envelope{}, err
	}
	ch := make(chan replyMsg, 1)
	c.mu.Lock()
	c.nextID++
	id := "q" + strconv.Itoa(c.nextID)
	c.replies[id] = ch
	c.mu.Unlock()
	if err := c.write(protocol.Envelope{Type: typ, ID: id, Payload: p}); err != nil {
		return protocol.Envelope{}, err
	}
	t := time.NewTimer(requestWait)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.env, r.err
	case <-t.C:
		return protocol.Envelope{}, fmt.Errorf("%s: no reply to %s within %v", c.user, typ, requestWait)
	case <-ctx.Done():
		return protocol.Envelope{}, ctx.Err()
	}
}

// join makes the user a member of its bench room and sets the cursor.
func (c *client) join(ctx context.Context) error {
	r := c.room
	var env protocol.Envelope
	for attempt := 0; ; attempt++ {
		var err error
		env, err = c.request(ctx, protocol.TypeJoinRoom, protocol.RoomRef{Room: r.name})
		if err != nil {
			return err
		}
		// A join refused "unavailable" (the store's writer swamped by ten
		// thousand joins at once) is asked again, as a client would.
		if env.Type != protocol.TypeError || errorCode(env.Payload) != string(chat.CodeUnavailable) || attempt >= setupAttempts {
			break
		}
		c.b.connErrs.Add("join unavailable")
		if !sleepCtx(ctx, setupBackoff<<attempt) {
			return ctx.Err()
		}
	}
	if env.Type != protocol.TypeAck {
		return fmt.Errorf("%s: join %s: %s %s", c.user, r.name, env.Type, env.Payload)
	}
	var ack protocol.RoomAck
	if err := json.Unmarshal(env.Payload, &ack); err != nil {
		return fmt.Errorf("%s: join %s: bad ack: %w", c.user, r.name, err)
	}
	c.cursor.Store(ack.Room.LastSeq)
	c.joined.Store(true)
	return nil
}

// appendSendFrame appends the send_message request id of the bench's
// k-th message into room: its text is the magic, the send time and a
// space, padded with x to size bytes, and its client id the run's id and
// k. The frame is what json.Marshal of the envelope gives
// (TestAppendSendFrameMatchesJSON), written by hand because the sends of
// a durable run are as many as its acks.
func appendSendFrame(b []byte, id, room string, sent time.Time, size int, runID string, k int) []byte {
	b = append(b, `{"type":"send_message","id":`...)
	b = chat.AppendJSONString(b, id)
	b = append(b, `,"payload":{"room":`...)
	b = chat.AppendJSONString(b, room)
	b = append(b, `,"text":"`...)
	start := len(b)
	b = append(b, textMagic...)
	b = strconv.AppendInt(b, sent.UnixNano(), 10)
	b = append(b, ' ')
	for n := len(b) - start; n < size; n++ {
		b = append(b, 'x')
	}
	b = append(b, `","client_msg_id":"`...)
	b = append(b, runID...) // hex
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(k), 10)
	return append(b, `"}}`...)
}

func (c *client) write(env protocol.Envelope) error {
	data, err := json.Marshal(env)
	if err != nil {
		return err
	}
	if err := c.ws.writeText(data); err != nil {
		if !c.closing.Load() {
			c.b.connErrs.Add("write")
		}
		return fmt.Errorf("%s: write: %w", c.user, err)
	}
	return nil
}

// welcomeFrame is the part of a welcome the bench looks at, for a
// welcome scanWelcome leaves to encoding/json: decoded in one pass, as
// the Centrifugo replies are (cfReply), and not the whole
// protocol.Welcome through the envelope and again its payload.
type welcomeFrame struct {
	Type    string `json:"type"`
	Payload struct {
		Rooms []struct {
			Name    string `json:"name"`
			LastSeq int64  `json:"last_seq"`
		} `json:"rooms"`
	} `json:"payload"`
}

// welcomeRoom is a room of a welcome as the bench reads it: the name is
// a slice of the frame (scanWelcome) or of a decoded string.
type welcomeRoom struct {
	name    []byte
	lastSeq int64
}

// decodeWelcome reads a welcome's rooms with encoding/json into rooms:
// for a welcome scanWelcome does not recognise. Not ok if data is not a
// welcome.
func decodeWelcome(data []byte, rooms []welcomeRoom) ([]welcomeRoom, bool) {
	var w welcomeFrame
	if err := json.Unmarshal(data, &w); err != nil || w.Type != protocol.TypeWelcome {
		return rooms, false
	}
	for _, r := range w.Payload.Rooms {
		rooms = append(rooms, welcomeRoom{name: []byte(r.Name), lastSeq: r.LastSeq})
	}
	return rooms, true
}

// Every connect reads a welcome, and encoding/json's decode of it into
// welcomeFrame (validating the frame, then reflecting over every field of
// every room) was a seventh of the bench's CPU per connect. So a welcome
// in chatd's encoding (protocol.Welcome.AppendJSON in protocol.AppendFrame)
// is scanned for the rooms' names and last_seq with cutString and
// leadingInt, as acks and deliveries are; anything else (keys in another
// order, whitespace, an escape in a name, a room with a nested value)
// goes through decodeWelcome.
//
// The scan is exact for valid JSON: its patterns start or end with a bare
// quote, so none can occur inside a string value (TestScanWelcome...
// checks it against encoding/json on generated welcomes). A room is read
// only if its object has no brace or bracket but its own: then the first
// `},{"name":"` or `}],"current_room":` after its start is its end, and
// its keys are its own. The keys are matched as the protocol spells them;
// encoding/json would also take "Last_Seq", which no server sends.
const (
	welcomePrefix = `{"type":"welcome","payload":{"user":{"id":"`
	nextRoom      = `},{"name":"`
	roomsEnd      = `}],"current_room":`
)

// scanWelcome appends a chatd welcome's rooms to rooms; not ok, with
// rooms as given, for a frame it does not recognise.
func scanWelcome(data []byte, rooms []welcomeRoom) ([]welcomeRoom, bool) {
	given := rooms
	_, rest, ok := cutString(data, welcomePrefix)
	if !ok {
		return given, false
	}
	if _, rest, ok = cutString(rest, `,"username":"`); !ok || !bytes.HasSuffix(data, []byte("}}")) {
		return given, false
	}
	const list = `},"rooms":[`
	if !bytes.HasPrefix(rest, []byte(list)) {
		return given, false
	}
	rest = rest[len(list):]
	var tail []byte // the payload after the rooms
	if t, ok := bytes.CutPrefix(rest, []byte(`],"current_room":`)); ok {
		tail, rest = t, nil // no rooms
	} else {
		end := bytes.Index(rest, []byte(roomsEnd))
		if end < 0 {
			return given, false
		}
		tail = rest[end+len(roomsEnd):]
		rest = rest[:end+1] // the rooms, each {...}, comma-separated
	}
	// A key the tail repeats would be the one encoding/json keeps.
	for _, k := range []string{`"rooms":`, `"type":`, `"payload":`} {
		if bytes.Contains(tail, []byte(k)) {
			return given, false
		}
	}
	for len(rest) > 0 {
		var body []byte // the room's object, from its name's value to its brace
		if i := bytes.Index(rest, []byte(nextRoom)); i >= 0 {
			body, rest = rest[:i+1], rest[i+2:] // rest starts at the next {
		} else {
			body, rest = rest, nil
		}
		name, body, ok := cutString(body, `{"name":"`)
		if !ok || bytes.IndexAny(body, "{[") >= 0 || bytes.Contains(body, []byte(`"name":`)) {
			return given, false
		}
		const key = `"last_seq":`
		i := bytes.Index(body, []byte(key))
		if i < 0 {
			return given, false
		}
		seq, after, ok := leadingInt(body[i+len(key):])
		if !ok || after[0] != ',' && after[0] != '}' || bytes.Contains(after, []byte(key)) {
			return given, false
		}
		rooms = append(rooms, welcomeRoom{name: name, lastSeq: seq})
	}
	return rooms, true
}

// inbound is the part of a server frame the reader looks at.
type inbound struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// delivery is the part of a new_message the reader looks at.
type delivery struct {
	Room string `json:"room"`
	Seq  int64  `json:"seq"`
	Text string `json:"text"`
}

// onFrame handles one message from the server, on the connection's
// reader.
func (c *client) onFrame(now time.Time, data []byte) {
	if m, ok := scanNewMessage(data); ok {
		c.onDelivery(now, m)
		return
	}
	if id, seq, ok := scanAck(data); ok && c.onSendAck(now, id, seq) {
		return
	}
	var f inbound
	if err := json.Unmarshal(data, &f); err != nil {
		c.b.connErrs.Add("bad_frame")
		return
	}
	switch f.Type {
	case protocol.TypeNewMessage:
		c.onMessage(now, f.Payload)
	case protocol.TypeAck, protocol.TypeError:
		c.onReply(now, f)
	}
}

// The bench's readers decode every delivery, up to a million a second
// when the bench shares two cores with the server; a full JSON decode per
// frame would make the bench, not the server, the limit, and would charge
// the JSON protocols (chatd, Centrifugo) more than gorilla's plain text.
// So a new_message frame is scanned for the three fields the checks need;
// anything the scan does not recognise goes through encoding/json.
//
// The scan is exact for valid JSON: a key pattern that starts with a
// quote cannot occur inside a string value (its quotes would be escaped),
// and none of a message's nested objects has a room, seq or text key.

var newMessagePrefix = []byte(`{"type":"new_message"`)

// scanNewMessage returns a new_message frame's room, seq and text (cut at
// its first escape: only the bench prefix is read from it). chatd encodes
// the three keys in that order, so each is looked for after the one
// before (the text comes after the sender's object, most of the frame);
// keys in another order are looked for from the start.
func scanNewMessage(data []byte) (scanned, bool) {
	if !bytes.HasPrefix(data, newMessagePrefix) {
		return scanned{}, false
	}
	rest := data[len(newMessagePrefix):]
	room, at, ok := scanString(rest, `"room":"`, -1)
	if !ok {
		return scanned{}, false
	}
	seq, at2, ok := scanInt(rest[at:], `"seq":`)
	if ok {
		at += at2
	} else if seq, _, ok = scanInt(rest, `"seq":`); !ok {
		return scanned{}, false
	}
	// The sender's object comes before the text in chatd's encoding, and
	// its closing brace is the first after the seq: looking for the brace
	// skips the quotes of the sender's fields one SIMD search at a time.
	text, _, ok := scanString(rest[at:], `},"text":"`, textScanBytes)
	if !ok {
		if text, _, ok = scanString(rest, `"text":"`, textScanBytes); !ok {
			return scanned{}, false
		}
	}
	return scanned{room: room, seq: seq, text: text}, true
}

// textScanBytes is how much of a text the scan returns: enough for the
// magic, the send time and the space after it, which is all the checks
// read (sendTime); the rest of the text is not looked at.
const textScanBytes = len(textMagic) + 20

// scanned is what scanNewMessage read: slices of the frame, valid as long
// as the frame is.
type scanned struct {
	room []byte
	seq  int64
	text []byte
}

// scanString returns the string value after key (which ends with the
// opening quote), up to its closing quote or first escape and at most
// limit bytes (-1: no limit), and the index in data just past the key. The
// value is a slice of data.
func scanString(data []byte, key string, limit int) ([]byte, int, bool) {
	i := 0
	if !bytes.HasPrefix(data, []byte(key)) { // the usual place of the room
		i = bytes.Index(data, []byte(key))
	}
	if i < 0 {
		return nil, 0, false
	}
	i += len(key)
	rest := data[i:]
	if limit >= 0 && len(rest) > limit {
		rest = rest[:limit]
	}
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		if limit < 0 || len(rest) < limit {
			return nil, 0, false // the string does not end
		}
		j = len(rest)
	}
	if k := bytes.IndexByte(rest[:j], '\\'); k >= 0 {
		j = k
	}
	return rest[:j], i, true
}

// scanInt returns the non-negative integer after key, and the index in
// data just past the key.
func scanInt(data []byte, key string) (int64, int, bool) {
	i := 0
	if !bytes.HasPrefix(data, []byte(key)) {
		i = bytes.Index(data, []byte(key))
	}
	if i < 0 {
		return 0, 0, false
	}
	i += len(key)
	n, _, ok := leadingInt(data[i:])
	return n, i, ok
}

// leadingInt reads the non-negative decimal int64 that s starts with, and
// returns what follows it; not ok without a digit or past math.MaxInt64.
func leadingInt[T ~string | ~[]byte](s T) (n int64, rest T, ok bool) {
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, s, false
		}
		n = n*10 + d
	}
	return n, s[i:], i > 0
}

// ended records how the connection ended, unless the bench closed it.
func (c *client) ended(err error) {
	if c.closing.Load() {
		return
	}
	c.b.closes.Add(closeCodeOf(err))
}

func (c *client) onMessage(now time.Time, payload json.RawMessage) {
	var m delivery
	if err := json.Unmarshal(payload, &m); err != nil {
		c.b.connErrs.Add("bad_frame")
		return
	}
	c.onDelivery(now, scanned{room: []byte(m.Room), seq: m.Seq, text: []byte(m.Text)})
}

func (c *client) onDelivery(now time.Time, m scanned) {
	if c.room != nil && string(m.room) == c.room.name && c.joined.Load() {
		last := c.cursor.Load()
		switch {
		case m.seq == last: // a repeat
			c.b.violation.Add(1)
			c.b.duplicates.Add(1)
			return
		case m.seq < last: // a step back (or an older repeat)
			c.b.violation.Add(1)
			c.b.outOfOrder.Add(1)
			return
		case m.seq > last+1: // a gap: those messages will never come
			c.b.violation.Add(1)
			c.b.skipped.Add(m.seq - last - 1)
		}
		c.cursor.Store(m.seq)
		c.b.received.Add(1)
		for {
			l := c.b.lastRecv.Load()
			if now.UnixNano() <= l || c.b.lastRecv.CompareAndSwap(l, now.UnixNano()) {
				break
			}
		}
		sentNS, ok := sendTime(m.text)
		if !ok {
			c.b.foreign.Add(1)
			return
		}
		c.b.e2eLat.Record(time.Duration(now.UnixNano() - sentNS))
		return
	}
	// Another room (general, say): only its order is checked.
	c.mu.Lock()
	defer c.mu.Unlock()
	room := string(m.room)
	if last, ok := c.others[room]; ok && m.seq != last+1 {
		c.b.violation.Add(1)
	}
	c.others[room] = max(c.others[room], m.seq)
}

// onSendAck handles the ack of a send_message, read by scanAck: it
// reports false, leaving the frame to onReply, if id is not one of the
// connection's sends waiting for their ack.
func (c *client) onSendAck(now time.Time, id []byte, seq int64) bool {
	c.mu.Lock()
	sentAt, ok := c.pending[string(id)]
	if !ok {
		c.mu.Unlock()
		return false
	}
	delete(c.pending, string(id))
	c.mu.Unlock()
	<-c.slots // free the sender's in-flight slot
	c.b.ackLat.Record(now.Sub(sentAt))
	c.acked(seq)
	return true
}

const ackPrefix = `{"type":"ack","id":"`

// scanAck reads the id and the message's seq out of an ack frame of the
// form chatd writes for a send_message (protocol.AppendMessageAck: the
// message's room, then its seq), without decoding the rest; ok is false
// for anything else, which goes to encoding/json. Every frame of another
// connection's acks is scanned too, up to ten thousand a second per
// core, which is why the bench does not decode them in full: a full
// decode was a third of the bench's CPU at 50 senders.
//
// The scan is exact for valid JSON for the same reason as
// scanNewMessage's: "seq": cannot occur inside a string value, and the
// room (the message's first key) has no nested object.
func scanAck(data []byte) (id []byte, seq int64, ok bool) {
	id, rest, ok := cutString(data, ackPrefix)
	if !ok {
		return nil, 0, false
	}
	if _, rest, ok = cutString(rest, `,"payload":{"message":{"room":"`); !ok {
		return nil, 0, false
	}
	const key = `,"seq":`
	if !bytes.HasPrefix(rest, []byte(key)) {
		return nil, 0, false
	}
	seq, rest, ok = leadingInt(rest[len(key):])
	if !ok || seq == 0 || len(rest) == 0 || rest[0] != ',' && rest[0] != '}' {
		return nil, 0, false
	}
	return id, seq, true
}

// cutString reads the string value data starts with after key (which
// ends with the value's opening quote), if the value has no escape: the
// value, and what follows its closing quote. Not ok if data does not
// start with key, or the value has an escape or does not end.
func cutString(data []byte, key string) (val, rest []byte, ok bool) {
	if !bytes.HasPrefix(data, []byte(key)) {
		return nil, nil, false
	}
	data = data[len(key):]
	end := bytes.IndexByte(data, '"')
	if end < 0 || bytes.IndexByte(data[:end], '\\') >= 0 {
		return nil, nil, false
	}
	return data[:end], data[end+1:], true
}

func (c *client) onReply(now time.Time, f inbound) {
	c.mu.Lock()
	if ch, ok := c.replies[f.ID]; ok {
		delete(c.replies, f.ID)
		c.mu.Unlock()
		ch <- replyMsg{env: protocol.Envelope{Type: f.Type, ID: f.ID, Payload: f.Payload}}
		return
	}
	sentAt, ok := c.pending[f.ID]
	delete(c.pending, f.ID)
	c.mu.Unlock()
	if !ok {
		if f.Type == protocol.TypeError {
			// An error without a request of ours: count it by code anyway.
			c.b.errCodes.Add(errorCode(f.Payload))
		}
		return
	}
	<-c.slots // free the sender's in-flight slot
	if f.Type == protocol.TypeError {
		c.b.errCodes.Add(errorCode(f.Payload))
		return
	}
	c.b.ackLat.Record(now.Sub(sentAt))
	var ack struct {
		Message struct {
			Seq int64 `json:"seq"`
		} `json:"message"`
	}
	if err := json.Unmarshal(f.Payload, &ack); err != nil || ack.Message.Seq == 0 {
		c.b.connErrs.Add("bad_ack")
		return
	}
	c.acked(ack.Message.Seq)
}

// acked counts the ack of a message stored with seq.
func (c *client) acked(seq int64) {
	c.b.acked.Add(1)
	c.room.acked.Add(1)
	for {
		m := c.room.maxAcked.Load()
		if seq <= m || c.room.maxAcked.CompareAndSwap(m, seq) {
			break
		}
	}
}

func errorCode(payload json.RawMessage) string {
	var p protocol.ErrorPayload
	if json.Unmarshal(payload, &p) != nil || p.Code == "" {
		return "unknown"
	}
	return string(p.Code)
}

// failPending answers the setup requests still waiting when the
// connection ends, so that nobody waits for their timeout.
func (c *client) failPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, ch := range c.replies {
		ch <- replyMsg{err: fmt.Errorf("%s: connection closed", c.user)}
		delete(c.replies, id)
	}
}

// unacked returns how many send_message requests wait for a reply.
func (c *client) unacked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// sendLoop sends messages to the client's room until stop closes or limit
// (> 0) messages are sent: paced at one per interval starting at first,
// or as fast as the in-flight slots allow when interval is 0. Unpaced,
// the sends that are due at once (an ack often frees several slots) go
// out in one write.
func (c *client) sendLoop(stop <-chan struct{}, interval time.Duration, first time.Time, limit, size int, late *atomic.Int64) {
	var s sends
	pace(stop, c.done, c.slots, interval, first, limit, late, func(k int) bool {
		id := "s" + strconv.Itoa(k)
		sent := time.Now()
		f := s.next(id)
		*f = appendSendFrame((*f)[:0], id, c.room.name, sent, size, c.b.runID, k)
		c.mu.Lock()
		c.pending[id] = sent // before the write: the ack may come at once
		c.mu.Unlock()
		if nextDueNow(interval, c.slots, limit, k) {
			return true // it goes with this one
		}
		return c.flush(&s)
	})
	c.flush(&s)
}

// sends are send_message frames waiting to be written together.
type sends struct {
	ids    []string
	frames [][]byte // reused: writeTexts copies them
}

// next adds send id and returns its frame's buffer, to be filled.
func (s *sends) next(id string) *[]byte {
	n := len(s.ids)
	s.ids = append(s.ids, id)
	if n == len(s.frames) {
		s.frames = append(s.frames, nil)
	}
	return &s.frames[n]
}

// flush writes the waiting sends; if the write fails, none of them
// counts as sent and their slots are freed.
func (c *client) flush(s *sends) bool {
	n := len(s.ids)
	if n == 0 {
		return true
	}
	defer func() { s.ids = s.ids[:0] }()
	if err := c.ws.writeTexts(s.frames[:n]); err != nil {
		if !c.closing.Load() {
			c.b.connErrs.Add("write")
		}
		c.mu.Lock()
		for _, id := range s.ids {
			if _, ok := c.pending[id]; ok {
				delete(c.pending, id)
				<-c.slots
			}
		}
		c.mu.Unlock()
		return false
	}
	c.b.sent.Add(int64(n))
	return true
}

// nextDueNow reports whether, after send k of pace, the next one is due at
// once: unpaced (interval 0), with acks (slots) and a slot free, and not
// past limit (> 0). A sender then holds send k back to write both
// together.
func nextDueNow(interval time.Duration, slots chan struct{}, limit, k int) bool {
	return interval == 0 && slots != nil && len(slots) < cap(slots) && (limit == 0 || k < limit)
}

// pace calls send(k) for k = 1, 2, ... until stop or done closes, limit
// (> 0) sends are made, or send returns false (a failed write). With
// interval > 0 the sends are paced at one per interval starting at first;
// with 0, as fast as slots allow. Each send first takes a slot (an
// in-flight token the ack gives back); a nil slots means the protocol has
// no acks and the TCP connection is the only brake.
func pace(stop, done <-chan struct{}, slots chan struct{}, interval time.Duration, first time.Time, limit int, late *atomic.Int64, send func(k int) bool) {
	next := first
	for k := 1; limit == 0 || k <= limit; k++ {
		if interval > 0 {
			if !sleepUntil(next, stop) {
				return
			}
			next = next.Add(interval)
		}
		if slots != nil {
			waited := time.Now()
			select {
			case slots <- struct{}{}:
			case <-stop:
				return
			case <-done:
				return
			}
			if interval > 0 && time.Since(waited) > interval {
				// The server held the in-flight slots back for more than
				// a period: skip the missed sends instead of bursting
				// to catch up.
				late.Add(1)
				next = time.Now()
			}
		} else {
			select {
			case <-stop:
				return
			case <-done:
				return
			default:
			}
		}
		// A send that is late for any other reason (the bench's own
		// scheduling) is made at once, and the next ones as they fall
		// due: the offered rate holds, as an open-loop load's must.
		if !send(k) {
			return
		}
	}
}

// sleepUntil waits for t; false if stop closed first.
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// sendTime parses the send time out of a bench message text.
func sendTime[T ~string | ~[]byte](text T) (int64, bool) {
	if len(text) < len(textMagic) || string(text[:len(textMagic)]) != textMagic {
		return 0, false
	}
	ns, rest, ok := leadingInt(text[len(textMagic):])
	return ns, ok && (len(rest) == 0 || rest[0] == ' ')
}

// close ends the connection politely: a close frame, then a bounded wait
// for the server's answer.
func (c *client) close() {
	c.closing.Store(true)
	c.ws.writeClose(closeNormal, "bench done")
	select {
	case <-c.done:
	case <-time.After(closeWait):
	}
	c.ws.Close()
	<-c.done
}
