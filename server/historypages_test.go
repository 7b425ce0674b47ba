package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// sharedHistory asks for the same page from each client, one after the
// other, while history reads are held, so that all but the first join the
// first one's read; then lets the reads go and returns each reply, in the
// clients' order.
func sharedHistory(t *testing.T, srv *chatdtest.Server, p protocol.History, clients ...*chatdtest.Client) []chatdtest.Frame {
	t.Helper()
	release := server.HoldHistoryReads(srv.Srv)
	defer func() {
		if release != nil {
			release()
		}
	}()
	replies := make([]chan chatdtest.Frame, len(clients))
	for i, c := range clients {
		replies[i] = make(chan chatdtest.Frame, 1)
		go func() { replies[i] <- c.Request("history", p) }()
		waitUntil(t, func() bool { return server.HistoryRequestsWaiting(srv.Srv) == i+1 })
	}
	release()
	release = nil
	frames := make([]chatdtest.Frame, len(clients))
	for i := range clients {
		select {
		case frames[i] = <-replies[i]:
		case <-time.After(chatdtest.Wait):
			t.Fatalf("client %d: no reply to history", i)
		}
	}
	return frames
}

// waitUntil polls cond until it holds, failing the test after
// chatdtest.Wait.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(chatdtest.Wait); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

func historyPage(t *testing.T, f chatdtest.Frame) protocol.HistoryAck {
	t.Helper()
	if f.Type != "ack" {
		t.Fatalf("history: got %s %s, want an ack", f.Type, f.Payload)
	}
	var page protocol.HistoryAck
	if err := json.Unmarshal(f.Payload, &page); err != nil {
		t.Fatal(err)
	}
	return page
}

// TestSharedHistoryChecksEachReader: requests for the same page at once
// share one read, but a user who may not read the room is refused as
// without sharing, and every member gets the page.
func TestSharedHistoryChecksEachReader(t *testing.T) {
	srv := start(t)
	alice1, alice2 := connectTwice(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	carol, _, _ := online(t, srv, "carol")
	alice1.Ack("create_room", protocol.CreateRoom{Room: "secret", Private: true}, nil)
	alice1.Ack("invite", protocol.Invite{Room: "secret", User: "bob"}, nil)
	for _, text := range []string{"one", "two", "three"} {
		alice1.Ack("send_message", protocol.SendMessage{Room: "secret", Text: text}, nil)
	}
	after := int64(0)
	p := protocol.History{Room: "secret", AfterSeq: &after, Limit: 10}

	// The reader whose read is shared first, then a non-member, the
	// reader's other connection and another member.
	got := sharedHistory(t, srv, p, alice1, carol, alice2, bob)
	if code := errorFrameCode(t, got[1]); code != "not_found" {
		t.Errorf("carol (not a member) got %s, want not_found", code)
	}
	for _, i := range []int{0, 2, 3} {
		page := historyPage(t, got[i])
		if len(page.Messages) != 3 || page.Messages[0].Text != "one" || page.Messages[2].Text != "three" || page.HasMore {
			t.Errorf("reader %d got %s", i, got[i].Payload)
		}
	}

	// A non-member whose read the others would share: they are refused,
	// and the members read their own.
	got = sharedHistory(t, srv, p, carol, bob, alice1)
	if code := errorFrameCode(t, got[0]); code != "not_found" {
		t.Errorf("carol (not a member, first) got %s, want not_found", code)
	}
	for _, i := range []int{1, 2} {
		if page := historyPage(t, got[i]); len(page.Messages) != 3 {
			t.Errorf("reader %d after a refused read got %s", i, got[i].Payload)
		}
	}
}

// TestSharedHistoryReactionsAreTheReaders: a page with reactions says for
// each reader whether they reacted (me), so it is not shared between users.
func TestSharedHistoryReactionsAreTheReaders(t *testing.T) {
	srv := start(t)
	alice1, alice2 := connectTwice(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	var m protocol.MessageAck
	alice1.Ack("send_message", protocol.SendMessage{Room: "general", Text: "react to me"}, &m)
	bob.Ack("react", protocol.React{Room: "general", Seq: m.Message.Seq, Emoji: "👍", Add: true}, nil)
	after := m.Message.Seq - 1
	p := protocol.History{Room: "general", AfterSeq: &after, Limit: 10}

	for _, order := range [][]*chatdtest.Client{{alice1, bob, alice2}, {bob, alice1, alice2}} {
		got := sharedHistory(t, srv, p, order...)
		for i, c := range order {
			page := historyPage(t, got[i])
			if len(page.Messages) != 1 || len(page.Messages[0].Reactions) != 1 {
				t.Fatalf("reader %d got %s, want one message with one reaction", i, got[i].Payload)
			}
			if me, want := page.Messages[0].Reactions[0].Me, c == bob; me != want {
				t.Errorf("reader %d (bob: %v): reaction me = %v, want %v", i, c == bob, me, want)
			}
		}
	}
}
