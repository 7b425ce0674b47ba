package chat

import "context"

// Bus carries events between the nodes of a cluster, and between the
// connections of one node: a node publishes after the store has committed,
// and every node's hub delivers what it receives to its local connections.
// Implementation: natsbus (an embedded NATS server by default, an external
// cluster by URL); the hub's code is the same for one node and many.
//
// Guarantees:
//   - At most once: an event may be lost (a slow consumer, a reconnect). The
//     store is the source of truth; the hub orders room messages by seq and
//     fills any gap from the store.
//   - Events one publisher sends on one topic arrive in the order sent;
//     events of different publishers may interleave in any order.
//   - When Subscribe returns, the subscription is registered: every event
//     published afterwards on that topic, by any node, reaches it (unless lost).
//   - A subscription's handler is called from one goroutine at a time, in
//     arrival order. A call with nil data means events may have been lost on
//     this subscription since the previous call (the bus reconnected or
//     dropped some); the subscriber should resynchronise from the store.
type Bus interface {
	// Publish sends data to every subscriber of topic. Topics are opaque
	// strings of any characters; the implementation escapes them. Data
	// may be handed to the subscribers as it is: the caller does not
	// change it afterwards, nor does a handler change what it is given.
	Publish(topic string, data []byte) error
	// Subscribe calls handler with the data of each event on topic until the
	// subscription is cancelled.
	Subscribe(topic string, handler func(data []byte)) (Subscription, error)
	// Ping checks that the bus is connected.
	Ping(ctx context.Context) error
	// Close drains and closes the bus.
	Close() error
}

// Subscription is an active Bus subscription.
type Subscription interface {
	// Unsubscribe stops delivery; the handler is not called after it returns.
	Unsubscribe() error
}
