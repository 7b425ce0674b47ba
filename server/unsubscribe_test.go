package server_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/server"
)

// unsubscribeFails is the embedded NATS bus, except that ending a
// subscription, which it does, then reports an error: natsbus fails an
// Unsubscribe only while its connection drains, which chatd never asks
// for, so the failure is injected here.
type unsubscribeFails struct{ chat.Bus }

func (b unsubscribeFails) Subscribe(topic string, handler func([]byte)) (chat.Subscription, error) {
	sub, err := b.Bus.Subscribe(topic, handler)
	if err != nil {
		return nil, err
	}
	return failingSubscription{sub}, nil
}

type failingSubscription struct{ chat.Subscription }

func (s failingSubscription) Unsubscribe() error {
	s.Subscription.Unsubscribe()
	return errors.New("nats: connection draining")
}

// TestUnsubscribeFailuresAreLogged: a failed Unsubscribe of a room's, a
// user's or the presence topic is logged with its topic and cause.
func TestUnsubscribeFailuresAreLogged(t *testing.T) {
	bus, err := natsbus.New(natsbus.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	var logs chatdtest.SyncBuffer
	srv := chatdtest.Start(t, chatdtest.Options{Bus: unsubscribeFails{bus}, Config: server.Config{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	c.WS.Close() // alice's last connection: the node drops general and her topic
	srv.Stop()   // and the presence topic

	want := []string{"topic=room:general", "topic=user:" + alice.User.ID, "topic=presence"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var missing []string
		for _, topic := range want {
			found := false
			for line := range strings.SplitSeq(logs.String(), "\n") {
				found = found || strings.Contains(line, `msg="bus unsubscribe failed"`) &&
					strings.Contains(line, topic+" ") && strings.Contains(line, "connection draining")
			}
			if !found {
				missing = append(missing, topic)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the failed Unsubscribe of %v:\n%s", missing, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
