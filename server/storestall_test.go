package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// TestStoreStallKeepsPresence: node a's PostgreSQL stops answering (a TCP
// proxy the test controls) while a gap fill in "general" on a retries the
// store. Sends on a are refused as unavailable and a's /readyz turns 503,
// but nothing else on a waits for that room: a disconnect on a reaches
// node b at once, a connect on b reaches a, a keeps its heartbeat (b does
// not presume it gone), and once the store answers again a delivers what
// it missed, in order, and takes sends and connections as before.
func TestStoreStallKeepsPresence(t *testing.T) {
	pgURL := pgtest.URL(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.ln.Addr().String()

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(u string) chat.Store {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		st, err := postgres.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	storeA, storeB := open(viaProxy.String()), open(pgURL)
	bus, err := natsbus.New(natsbus.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	cfg := server.Config{NodeHeartbeat: 100 * time.Millisecond, Logger: quiet}
	a := chatdtest.Start(t, chatdtest.Options{Store: storeA, Bus: bus, Config: cfg})
	b := chatdtest.Start(t, chatdtest.Options{Store: storeB, Bus: bus, Config: cfg})
	t.Cleanup(func() { proxy.stalled.Store(false) }) // before the servers stop, if the test failed stalled

	aliceAcc, carolAcc := a.Register(t, "alice"), a.Register(t, "carol")
	bobAcc, daveAcc := b.Register(t, "bob"), b.Register(t, "dave")
	alice := a.Dial(t, aliceAcc.Token)
	alice.Welcome()
	carol := a.Dial(t, carolAcc.Token)
	carol.Welcome()
	bob := b.Dial(t, bobAcc.Token)
	bob.Welcome()
	waitWho(t, bob, "general", 3)
	send(t, bob, "general", "before")
	alice.Expect("new_message", inRoom("general"))

	proxy.stalled.Store(true)
	// A message the bus never carried, then one it does: a sees the gap
	// and fills it from its store, which does not answer.
	if _, _, err := storeB.Append(t.Context(), chat.NewMessage{
		Room: "general", From: bobAcc.User, Text: "lost on the bus", SentAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	send(t, bob, "general", "after the gap")
	alice.Send("send_message", protocol.SendMessage{Room: "general", Text: "during the stall", ClientMsgID: "stall-1"})
	var refusal protocol.ErrorPayload
	alice.ExpectWithin("error", nil, 10*time.Second).Decode(t, &refusal)
	if refusal.Code != "unavailable" {
		t.Fatalf("send on a during the stall: %+v, want unavailable", refusal)
	}

	// Presence crosses both ways meanwhile.
	dave := b.Dial(t, daveAcc.Token)
	dave.Welcome()
	alice.ExpectWithin("presence", chatdtest.PresenceOf("general", "dave", protocol.StatusOnline), 2*time.Second)
	carol.WS.Close()
	bob.ExpectWithin("presence", chatdtest.PresenceOf("general", "carol", protocol.StatusOffline), 2*time.Second)
	// Ten heartbeats later b still counts a's users: a kept beating.
	bob.ExpectNone("presence", chatdtest.PresenceOf("general", "alice", protocol.StatusOffline), time.Second)
	waitWho(t, bob, "general", 3) // alice, bob and dave

	hc := &http.Client{Timeout: 8 * time.Second}
	if resp, err := hc.Get(a.URL + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz on a during the stall: %v %v, want 503", resp, err)
	}

	proxy.stalled.Store(false)
	for _, want := range []string{"lost on the bus", "after the gap"} {
		if m := messageOf(t, alice.ExpectWithin("new_message", inRoom("general"), 20*time.Second)); m.Text != want {
			t.Fatalf("alice got %q (seq %d) after the stall, want %q", m.Text, m.Seq, want)
		}
	}
	if m := send(t, alice, "general", "after the stall"); m.Text != "after the stall" {
		t.Fatalf("send after the stall: %+v", m)
	}
	carol = a.Dial(t, carolAcc.Token)
	carol.Welcome()
	bob.Expect("presence", chatdtest.PresenceOf("general", "carol", protocol.StatusOnline))
	a.WaitReady(t)
}
