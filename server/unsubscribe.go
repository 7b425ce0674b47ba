package server

import (
	"log/slog"

	"github.com/chatd/chatd/chat"
)

// unsubscribe ends a bus subscription. A failure is logged: the bus may go
// on delivering the topic to this node, which the handlers then ignore,
// until the bus connection ends.
func unsubscribe(log *slog.Logger, sub chat.Subscription, topic string) {
	if err := sub.Unsubscribe(); err != nil {
		log.Warn("bus unsubscribe failed", "topic", topic, "err", err)
	}
}
