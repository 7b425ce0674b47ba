package server

import "github.com/chatd/chatd/chat"

// unsubscribe ends a bus subscription. A failure is logged: the bus may go
// on delivering the topic to this node, which the handlers then ignore,
// until the bus connection ends.
func (h *hub) unsubscribe(sub chat.Subscription, topic string) {
	if err := sub.Unsubscribe(); err != nil {
		h.s.log.Warn("bus unsubscribe failed", "topic", topic, "err", err)
	}
}
