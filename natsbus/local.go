package natsbus

import (
	"slices"

	"github.com/chatd/chatd/chat"
)

// An embedded server with no cluster has no client port and no routes:
// this process's one connection is its only client, so every event
// published on it comes back to this process's own subscriptions and to
// nothing else. Such a bus hands each event straight to them instead:
// no client encoding, no server parsing and routing, no copy per hop.
// With a URL or a cluster, events go through NATS as they always did.
//
// The guarantees are NATS's, as chat.Bus states them: Publish queues the
// event on each subscription of the topic, all under the bus's lock, so
// that every subscriber sees a topic's events in one order, the order of
// the Publish calls (across publishers too); each subscription drains its
// queue on a goroutine of its own, started when events wait and ending
// when none do, so that a publisher (say the SQLite writer) never waits
// for a handler; and a queue past NATS's pending limits drops what comes
// and tells the handler of the loss after what it had.

// Pending limits of one subscription, as Subscribe sets them on NATS
// (variables for a test only).
var (
	pendingMsgs  = 1 << 20
	pendingBytes = 256 << 20
)

// localQueue is a subscription's queue of events on a local bus; the bus's
// mu guards it.
type localQueue struct {
	events  [][]byte // in order; nil: events were lost here
	spare   [][]byte // an empty array for the next batch
	bytes   int
	lost    bool // a loss marker is queued and not yet handed over
	running bool // a goroutine drains the queue
}

// publishLocal implements Publish on a local bus.
func (b *Bus) publishLocal(topic string, data []byte) error {
	if data == nil {
		data = []byte{} // nil is the loss signal
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return chat.Errorf(chat.CodeUnavailable, "bus: closed")
	}
	for _, s := range b.topics[topic] {
		s.enqueue(data)
	}
	return nil
}

// enqueue queues data for the subscription's handler; the caller holds the
// bus's mu.
func (s *subscription) enqueue(data []byte) {
	q := &s.q
	if len(q.events) >= pendingMsgs || q.bytes+len(data) > pendingBytes {
		if q.lost {
			return
		}
		q.lost = true
		data = nil
	}
	q.events = append(q.events, data)
	q.bytes += len(data)
	if !q.running {
		q.running = true
		go s.drain()
	}
}

// drain hands the queued events to the handler, in order, until none wait.
// The queue's array and the batch's take turns, so that a busy
// subscription allocates none.
func (s *subscription) drain() {
	b := s.bus
	q := &s.q
	b.mu.Lock()
	batch := q.spare
	q.spare = nil
	for len(q.events) > 0 && !b.closed {
		batch, q.events = q.events, batch[:0]
		q.bytes, q.lost = 0, false
		b.mu.Unlock()
		for _, data := range batch {
			s.deliver(data)
		}
		clear(batch) // let the handed-over events go
		b.mu.Lock()
	}
	q.running = false
	q.spare = batch[:0]
	b.mu.Unlock()
}

// subscribeLocal implements Subscribe on a local bus.
func (b *Bus) subscribeLocal(topic string, handler func([]byte)) (chat.Subscription, error) {
	s := &subscription{bus: b, topic: topic, handler: handler}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, chat.Errorf(chat.CodeUnavailable, "bus subscribe: closed")
	}
	b.topics[topic] = append(b.topics[topic], s)
	b.subs[s] = struct{}{}
	return s, nil
}

// unsubscribeLocal takes s off its topic; the caller holds the bus's mu.
func (b *Bus) unsubscribeLocal(s *subscription) {
	subs := b.topics[s.topic]
	if i := slices.Index(subs, s); i >= 0 {
		subs = slices.Delete(subs, i, i+1)
	}
	if len(subs) == 0 {
		delete(b.topics, s.topic)
	} else {
		b.topics[s.topic] = subs
	}
	s.q.events, s.q.bytes = nil, 0 // a drain under way finds nothing more
}
