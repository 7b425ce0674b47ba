package server_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/protocol"
	"github.com/gorilla/websocket"
)

// refusingBus is a real bus that refuses subscriptions to user topics
// while refuse is set, as a bus that has just lost its connection would.
type refusingBus struct {
	chat.Bus
	refuse atomic.Bool
}

func (b *refusingBus) Subscribe(topic string, handler func([]byte)) (chat.Subscription, error) {
	if b.refuse.Load() && strings.HasPrefix(topic, "user:") {
		return nil, errors.New("subscription refused")
	}
	return b.Bus.Subscribe(topic, handler)
}

// TestUserTopicFailureClosesTryAgainLater: a connection whose user's topic
// cannot be subscribed to would never hear of a logout, so it is closed
// with 1013 and an unavailable error; the next connection, once the bus
// takes subscriptions again, is welcomed and does hear of one.
func TestUserTopicFailureClosesTryAgainLater(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	nb, err := natsbus.New(natsbus.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nb.Close() })
	bus := &refusingBus{Bus: nb}
	srv := chatdtest.Start(t, chatdtest.Options{Bus: bus})
	alice := srv.Register(t, "alice")

	bus.refuse.Store(true)
	c := srv.Dial(t, alice.Token)
	var refusal protocol.ErrorPayload
	c.Expect("error", nil).Decode(t, &refusal)
	if refusal.Code != "unavailable" {
		t.Errorf("error = %+v, want unavailable", refusal)
	}
	if code, _ := c.WaitClosed(5 * time.Second); code != websocket.CloseTryAgainLater {
		t.Errorf("closed with %d, want 1013", code)
	}

	bus.refuse.Store(false)
	c = srv.Dial(t, alice.Token)
	c.Welcome()
	if status, body := srv.Do(t, "POST", "/api/logout", alice.Token, nil); status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", status, body)
	}
	if code, _ := c.WaitClosed(5 * time.Second); code != websocket.CloseNormalClosure {
		t.Errorf("after logout: closed with %d, want 1000", code)
	}
}
