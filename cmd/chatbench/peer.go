package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The peers chatd is compared with have neither accounts nor sequence
// numbers, so a bench message carries its own: the text is
//
//	chatbench <send time, UnixNano> <publisher index> <counter> xxx...
//
// and every subscriber checks, per publisher, that each counter arrives
// once and in order. The send-time field stays second, as in chatd's
// texts, so sendTime parses both.

// Text sizes with the peers' protocols: room for the three numbers, and
// below gorilla examples/chat's read limit of 512 bytes per frame (a
// publish frame is the text alone there; Centrifugo wraps it in JSON).
const (
	peerMinTextSize = minTextSize + 20
	peerMaxTextSize = 400
)

// stallWait ends the drain of a peer run early when no delivery has come
// for this long: without acks and sequence numbers there is no other way
// to know that the missing deliveries are lost rather than late.
const stallWait = 3 * time.Second

// gorillaSettle is the pause between the last connection and the first
// message with --proto gorilla: examples/chat hands a new client to its
// hub goroutine after the upgrade's 101 has gone out, so a message sent
// at once could miss the last clients to connect. Centrifugo's subscribe
// reply (and chatd's join ack) need no such pause.
const gorillaSettle = 500 * time.Millisecond

// peerProto is what differs between the peers' wire protocols; the load,
// the checks and the report are shared.
type peerProto interface {
	// path is the WebSocket endpoint.
	path() string
	// handshake runs on a fresh connection before its reader starts
	// (Centrifugo: connect, then subscribe).
	handshake(ws *wsConn, channel string) error
	// acked tells whether the server answers each publish.
	acked() bool
	// publish returns the frame that publishes text; id numbers the
	// request when the protocol acks.
	publish(id uint32, channel, text string) []byte
	// parse handles one inbound frame.
	parse(pc *peerConn, now time.Time, frame []byte)
}

func peerProtoOf(name string) peerProto {
	switch name {
	case protoGorilla:
		return gorillaProto{}
	case protoCentrifugo:
		return centrifugoProto{}
	}
	return nil
}

// gorillaProto is gorilla/websocket's examples/chat: no handshake, no
// acks, one global room; every text frame is rebroadcast to every client,
// the sender included, and a client's writer joins the messages queued
// for it into one frame, separated by '\n'.
type gorillaProto struct{}

func (gorillaProto) path() string                            { return "/ws" }
func (gorillaProto) handshake(*wsConn, string) error         { return nil }
func (gorillaProto) acked() bool                             { return false }
func (gorillaProto) publish(_ uint32, _, text string) []byte { return []byte(text) }
func (gorillaProto) parse(pc *peerConn, now time.Time, f []byte) {
	for line := range bytes.SplitSeq(f, []byte{'\n'}) {
		pc.onText(now, line)
	}
}

// centrifugoProto is Centrifugo v6's JSON protocol over
// /connection/websocket: commands {"id":N,"connect"|"subscribe"|"publish":
// {...}}, replies {"id":N,...} or {"id":N,"error":{...}}, pushes
// {"push":{"channel","pub":{"data"}}}, several per frame separated by
// '\n'; an empty {} is the server's ping, answered with {}.
type centrifugoProto struct{}

// cfData is the data of a bench publication in Centrifugo.
type cfData struct {
	T string `json:"t"`
}

// cfReply is the part of a Centrifugo reply or push the bench looks at.
type cfReply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Push *struct {
		Channel string `json:"channel"`
		Pub     *struct {
			Data cfData `json:"data"`
		} `json:"pub"`
	} `json:"push"`
	Connect   json.RawMessage `json:"connect"`
	Subscribe json.RawMessage `json:"subscribe"`
}

func (centrifugoProto) path() string { return "/connection/websocket" }
func (centrifugoProto) acked() bool  { return true }

// Request ids of the handshake; publishes count on from there.
const (
	cfConnectID   = 1
	cfSubscribeID = 2
)

func (centrifugoProto) handshake(ws *wsConn, channel string) error {
	ws.nc.SetReadDeadline(time.Now().Add(requestWait))
	defer ws.nc.SetReadDeadline(time.Time{})
	ch, _ := json.Marshal(channel)
	for _, cmd := range []struct {
		id    uint32
		frame string
	}{
		{cfConnectID, `{"id":1,"connect":{}}`},
		{cfSubscribeID, `{"id":2,"subscribe":{"channel":` + string(ch) + `}}`},
	} {
		if err := ws.writeText([]byte(cmd.frame)); err != nil {
			return err
		}
		if err := cfAwait(ws, cmd.id); err != nil {
			return err
		}
	}
	return nil
}

// cfAwait reads frames until the reply to id, answering every ping on
// the way (one may share the reply's frame).
func cfAwait(ws *wsConn, id uint32) error {
	for {
		data, err := ws.readMessage()
		if err != nil {
			return err
		}
		var replyErr error
		found := false
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var r cfReply
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("bad frame %.200q: %w", line, err)
			}
			switch {
			case r.ID == 0 && r.Push == nil:
				if err := ws.writeText([]byte("{}")); err != nil {
					return err
				}
			case r.ID == id:
				found = true
				if r.Error != nil {
					replyErr = fmt.Errorf("request %d: error %d %s", id, r.Error.Code, r.Error.Message)
				}
			}
		}
		if found {
			return replyErr
		}
	}
}

func (centrifugoProto) publish(id uint32, channel, text string) []byte {
	b, _ := json.Marshal(struct {
		ID      uint32 `json:"id"`
		Publish struct {
			Channel string `json:"channel"`
			Data    cfData `json:"data"`
		} `json:"publish"`
	}{ID: id, Publish: struct {
		Channel string `json:"channel"`
		Data    cfData `json:"data"`
	}{channel, cfData{text}}})
	return b
}

var cfPushPrefix = []byte(`{"push":{`)

func (centrifugoProto) parse(pc *peerConn, now time.Time, f []byte) {
	for line := range bytes.SplitSeq(f, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if bytes.HasPrefix(line, cfPushPrefix) {
			// The fast path, as for chatd's new_message (scanNewMessage).
			if text, _, ok := scanString(line, `"data":{"t":"`, -1); ok {
				pc.onText(now, text)
				continue
			}
		}
		var r cfReply
		if err := json.Unmarshal(line, &r); err != nil {
			pc.pb.connErrs.Add("bad_frame")
			continue
		}
		switch {
		case r.Push != nil:
			if r.Push.Pub != nil {
				pc.onText(now, []byte(r.Push.Pub.Data.T))
			}
		case r.ID != 0:
			code := ""
			if r.Error != nil {
				code = strconv.Itoa(r.Error.Code)
			}
			pc.onAck(now, r.ID, code)
		default: // {}: the server's ping
			pc.writeFrames([][]byte{[]byte("{}")})
		}
	}
}

// peerBench is the shared state of a run against a peer.
type peerBench struct {
	cfg   Config
	proto peerProto
	wsURL string

	tally // received counts distinct deliveries

	sent []atomic.Int64 // per publisher
	acks []atomic.Int64 // per publisher
}

// peerConn is one connection to a peer: a reader goroutine, and writes
// from the sender and (pongs) from the reader, which wsConn serializes.
type peerConn struct {
	pb      *peerBench
	ws      *wsConn
	idx     int // the publisher index, when it publishes
	closing atomic.Bool
	done    chan struct{}

	// Reader-only: per publisher, the highest counter seen and a bitmap
	// of the counters seen.
	last []int64
	seen [][]uint64

	mu      sync.Mutex           // guards pending
	pending map[uint32]time.Time // publish id -> send time
	nextID  uint32
	slots   chan struct{}
}

// RunPeer runs the load against a peer server (--proto gorilla or
// centrifugo) and reports in the same form as Run.
func RunPeer(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	pb := newPeerBench(cfg)
	rep := &Report{
		Proto: cfg.Proto, URL: strings.TrimSuffix(cfg.URL, "/"), Users: cfg.Users, Rooms: 1, Senders: cfg.Senders,
		Rate: cfg.Rate, Inflight: cfg.Inflight, Size: cfg.Size, Duration: cfg.Duration.Seconds(), Messages: cfg.Messages,
	}
	if cfg.Messages > 0 {
		rep.Duration = 0
	}
	if !pb.proto.acked() {
		rep.Inflight = 0
	}
	conns, err := pb.connectAll(ctx, rep, true)
	defer closePeers(conns)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "chatbench: %d %s connections (%.1fs); %s\n", cfg.Users, cfg.Proto, rep.ConnectSeconds, sendingWhat(cfg))
	if cfg.Proto == protoGorilla && !sleepCtx(ctx, gorillaSettle) {
		return nil, ctx.Err()
	}

	stop := make(chan struct{})
	var late atomic.Int64
	var senders sync.WaitGroup
	interval := sendInterval(cfg)
	cpu := startCPU(cfg.ServerPID)
	start := time.Now()
	for i := range cfg.Senders {
		pc := conns[i]
		first := start.Add(time.Duration(i) * interval / time.Duration(cfg.Senders))
		senders.Go(func() { pc.sendLoop(stop, interval, first, &late) })
	}
	timedOut := waitSenders(ctx, cfg, stop, &senders)
	sendEnd := time.Now()

	if pb.proto.acked() {
		waitFor(ctx, cfg.Drain, func() bool {
			for _, pc := range conns {
				if pc.unacked() > 0 && !isClosed(pc.done) {
					return false
				}
			}
			return true
		})
	}
	expected := func() int64 {
		var n int64
		for i := range pb.acks {
			if pb.proto.acked() {
				n += pb.acks[i].Load()
			} else {
				n += pb.sent[i].Load()
			}
		}
		// Every connection is a subscriber, the publishers included.
		return n * int64(cfg.Users)
	}
	pb.drain(ctx, cfg.Drain, expected)
	if ctx.Err() != nil {
		timedOut = true
	}

	for i := range pb.sent {
		rep.Sent += pb.sent[i].Load()
		rep.Acked += pb.acks[i].Load()
	}
	rep.LateSends = late.Load()
	if pb.proto.acked() {
		rep.AckedPerSec = float64(rep.Acked) / sendEnd.Sub(start).Seconds()
		for _, pc := range conns {
			rep.Unanswered += int64(pc.unacked())
		}
	}
	pb.fill(rep, start)
	cpu.report(rep, rep.Received)
	rep.Expected = expected()
	rep.Lost = max(0, rep.Expected-rep.Received)
	rep.OrderViolations = rep.Duplicates + rep.OutOfOrder

	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	if rep.OrderViolations > 0 {
		fail("%d ordering violations (%d duplicates, %d out of order)", rep.OrderViolations, rep.Duplicates, rep.OutOfOrder)
	}
	if rep.Lost > 0 {
		fail("%d deliveries lost", rep.Lost)
	}
	if rep.Unanswered > 0 {
		fail("%d messages unanswered after %v", rep.Unanswered, cfg.Drain)
	}
	if n := pb.closes.Total(); n > 0 {
		fail("%d connections ended early", n)
	}
	if rep.Sent == 0 || (pb.proto.acked() && rep.Acked == 0) {
		fail("no message was sent and acked")
	}
	if timedOut {
		fail("run cut short: %v (--timeout %v)", context.Cause(ctx), cfg.Timeout)
	}
	rep.OK = len(rep.Failures) == 0
	if rep.Failures == nil {
		rep.Failures = []string{}
	}
	return rep, nil
}

func newPeerBench(cfg Config) *peerBench {
	proto := peerProtoOf(cfg.Proto)
	base := strings.TrimSuffix(cfg.URL, "/")
	return &peerBench{
		cfg: cfg, proto: proto,
		wsURL: "ws" + strings.TrimPrefix(base, "http") + proto.path(),
		sent:  make([]atomic.Int64, cfg.Senders),
		acks:  make([]atomic.Int64, cfg.Senders),
	}
}

// connectAll opens cfg.Users connections, each through the handshake,
// and times it into rep.ConnectSeconds. track makes the readers check
// loss and order (not needed for an idle run).
func (pb *peerBench) connectAll(ctx context.Context, rep *Report, track bool) ([]*peerConn, error) {
	cfg := pb.cfg
	conns := make([]*peerConn, cfg.Users)
	t0 := time.Now()
	err := forEach(ctx, cfg.Users, cfg.Concurrency, func(ctx context.Context, i int) error {
		var err error
		for attempt := range setupAttempts {
			if attempt > 0 && !sleepCtx(ctx, setupBackoff<<attempt) {
				return ctx.Err()
			}
			conns[i], err = pb.dial(ctx, i, track)
			if err == nil {
				return nil
			}
			pb.connErrs.Add("dial")
		}
		return err
	})
	rep.ConnectSeconds = time.Since(t0).Seconds()
	if err != nil {
		return conns, fmt.Errorf("connect: %w", err)
	}
	return conns, nil
}

// dial opens connection i, runs the handshake and starts the reader.
func (pb *peerBench) dial(ctx context.Context, i int, track bool) (*peerConn, error) {
	ws, err := dialWS(ctx, pb.wsURL, nil, readBufferSize(pb.cfg), pb.cfg.Readers == readersPoll)
	if err != nil {
		return nil, fmt.Errorf("dial %d: %w", i, err)
	}
	if err := pb.proto.handshake(ws, pb.cfg.Channel); err != nil {
		ws.Close()
		return nil, fmt.Errorf("connection %d: handshake: %w", i, err)
	}
	pc := &peerConn{pb: pb, ws: ws, idx: i, done: make(chan struct{}), nextID: cfSubscribeID}
	if track {
		pc.last = make([]int64, pb.cfg.Senders)
		pc.seen = make([][]uint64, pb.cfg.Senders)
	}
	if pb.proto.acked() {
		pc.pending = make(map[uint32]time.Time)
		pc.slots = make(chan struct{}, pb.cfg.Inflight)
	}
	ws.read(pb.cfg.Readers == readersPoll, func(now time.Time, data []byte) { pb.proto.parse(pc, now, data) }, func(err error) {
		if !pc.closing.Load() {
			pb.closes.Add(closeCodeOf(err))
		}
		close(pc.done)
	})
	return pc, nil
}

// drain waits until expected() deliveries have come, no delivery has come
// for stallWait, d passes or ctx ends.
func (pb *peerBench) drain(ctx context.Context, d time.Duration, expected func() int64) {
	lastN, lastChange := pb.received.Load(), time.Now()
	waitFor(ctx, d, func() bool {
		n := pb.received.Load()
		if n >= expected() {
			return true
		}
		if n != lastN {
			lastN, lastChange = n, time.Now()
		}
		return time.Since(lastChange) > pb.cfg.stall
	})
}

// onText checks one delivered bench text.
func (pc *peerConn) onText(now time.Time, text []byte) {
	pb := pc.pb
	sentNS, pub, k, ok := parsePeerText(text)
	if !ok || pub >= len(pb.sent) {
		pb.foreign.Add(1)
		return
	}
	if pc.seen == nil {
		return // an idle connection: nothing is checked
	}
	word, bit := int(k/64), uint64(1)<<(k%64)
	if s := pc.seen[pub]; word >= len(s) {
		pc.seen[pub] = append(s, make([]uint64, max(word+1, 2*len(s))-len(s))...)
	}
	switch {
	case pc.seen[pub][word]&bit != 0:
		pb.duplicates.Add(1)
		return
	case k < pc.last[pub]:
		pb.outOfOrder.Add(1) // late, but not lost: counted as received too
	default:
		pc.last[pub] = k
	}
	pc.seen[pub][word] |= bit
	pb.received.Add(1)
	for {
		l := pb.lastRecv.Load()
		if now.UnixNano() <= l || pb.lastRecv.CompareAndSwap(l, now.UnixNano()) {
			break
		}
	}
	pb.e2eLat.Record(time.Duration(now.UnixNano() - sentNS))
}

// onAck handles the reply to publish id; code is the error code, "" for
// success.
func (pc *peerConn) onAck(now time.Time, id uint32, code string) {
	pc.mu.Lock()
	sentAt, ok := pc.pending[id]
	delete(pc.pending, id)
	pc.mu.Unlock()
	if !ok {
		if code != "" {
			pc.pb.errCodes.Add(code)
		}
		return
	}
	<-pc.slots
	if code != "" {
		pc.pb.errCodes.Add(code)
		return
	}
	pc.pb.ackLat.Record(now.Sub(sentAt))
	pc.pb.acks[pc.idx].Add(1)
}

func (pc *peerConn) writeFrames(data [][]byte) error {
	err := pc.ws.writeTexts(data)
	if err != nil && !pc.closing.Load() {
		pc.pb.connErrs.Add("write")
	}
	return err
}

func (pc *peerConn) unacked() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.pending)
}

// sendLoop publishes as the client's publisher index until stop closes or
// --messages are sent. Unpaced, with acks (Centrifugo), the publishes that
// are due at once go out in one write, as chatd's sends do (client.go):
// the same bench for both. Without acks (gorilla) each goes out alone,
// the TCP connection its only brake.
func (pc *peerConn) sendLoop(stop <-chan struct{}, interval time.Duration, first time.Time, late *atomic.Int64) {
	cfg := pc.pb.cfg
	pad := strings.Repeat("x", cfg.Size)
	var ids []uint32
	var frames [][]byte
	flush := func() bool {
		if len(frames) == 0 {
			return true
		}
		defer func() { ids, frames = ids[:0], frames[:0] }()
		if err := pc.writeFrames(frames); err != nil {
			if pc.pending != nil {
				pc.mu.Lock()
				for _, id := range ids {
					if _, ok := pc.pending[id]; ok {
						delete(pc.pending, id)
						<-pc.slots
					}
				}
				pc.mu.Unlock()
			}
			return false
		}
		pc.pb.sent[pc.idx].Add(int64(len(frames)))
		return true
	}
	pace(stop, pc.done, pc.slots, interval, first, cfg.Messages, late, func(k int) bool {
		sent := time.Now()
		text := peerText(sent, pc.idx, k)
		text += pad[:max(0, cfg.Size-len(text))]
		var id uint32
		if pc.pending != nil {
			pc.mu.Lock()
			pc.nextID++
			id = pc.nextID
			pc.pending[id] = sent
			pc.mu.Unlock()
		}
		ids = append(ids, id)
		frames = append(frames, pc.pb.proto.publish(id, cfg.Channel, text))
		if nextDueNow(interval, pc.slots, cfg.Messages, k) {
			return true // it goes with this one
		}
		return flush()
	})
	flush()
}

// peerText is the start of a bench text: magic, send time, publisher,
// counter, and a space before the padding.
func peerText(sent time.Time, pub, k int) string {
	return textMagic + strconv.FormatInt(sent.UnixNano(), 10) + " " + strconv.Itoa(pub) + " " + strconv.Itoa(k) + " "
}

// parsePeerText reads what peerText wrote.
func parsePeerText[T ~string | ~[]byte](text T) (sentNS int64, pub int, k int64, ok bool) {
	if len(text) < len(textMagic) || string(text[:len(textMagic)]) != textMagic {
		return 0, 0, 0, false
	}
	rest := text[len(textMagic):]
	var p int64
	for _, v := range []*int64{&sentNS, &p, &k} {
		var good bool
		if *v, rest, good = leadingInt(rest); !good || len(rest) == 0 || rest[0] != ' ' {
			return 0, 0, 0, false
		}
		rest = rest[1:]
	}
	if k < 1 || p > math.MaxInt32 {
		return 0, 0, 0, false
	}
	return sentNS, int(p), k, true
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// close ends the connection politely: a close frame, then a bounded wait
// for the server's answer.
func (pc *peerConn) close() {
	pc.closing.Store(true)
	pc.ws.writeClose(closeNormal, "bench done")
	select {
	case <-pc.done:
	case <-time.After(closeWait):
	}
	pc.ws.Close()
	<-pc.done
}

func closePeers(conns []*peerConn) {
	var wg sync.WaitGroup
	for _, pc := range conns {
		if pc != nil {
			wg.Go(pc.close)
		}
	}
	wg.Wait()
}
