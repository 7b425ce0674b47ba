package server_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
)

// TestClusterThreadsAndReactions: on two real nodes (PostgreSQL, and
// NATS both ways), a reaction made on one node and a reply's thread
// summary reach a member on the other live, and the other node's history
// shows both afterwards, read from the shared store.
func TestClusterThreadsAndReactions(t *testing.T) {
	eachClusterMode(t, testClusterThreadsAndReactions)
}

func testClusterThreadsAndReactions(t *testing.T, mode string) {
	nodes := startNodes(t, mode, 2)
	a, b := nodes[0], nodes[1]
	room := "threads-" + strings.ToLower(rand.Text()[:10])

	alice := a.Dial(t, a.Register(t, "alice").Token)
	alice.Welcome()
	bob := b.Dial(t, a.Register(t, "bob").Token)
	bob.Welcome()
	for _, c := range []*chatdtest.Client{alice, bob} {
		c.Ack("join_room", protocol.RoomRef{Room: room}, nil)
	}
	root := send(t, alice, room, "release notes?")
	bob.Expect("new_message", ofSeq(root.Seq))

	// bob, on node b, reacts: alice on node a sees it with her own me.
	bob.Ack("react", protocol.React{Room: room, Seq: root.Seq, Emoji: "👍", Add: true}, nil)
	var ev protocol.Reaction
	alice.Expect("reaction", nil).Decode(t, &ev)
	if ev.Room != room || ev.Seq != root.Seq || ev.User.Username != "bob" || !ev.Add ||
		len(ev.Reactions) != 1 || ev.Reactions[0].Emoji != "👍" || ev.Reactions[0].Count != 1 {
		t.Errorf("reaction on node a: %+v", ev)
	}

	// bob replies on node b: alice gets the reply and the thread's summary.
	r := reply(t, bob, room, root.Seq, "on it")
	if m := messageOf(t, alice.Expect("new_message", ofSeq(r.Seq))); m.ReplyTo != root.Seq {
		t.Errorf("reply on node a has reply_to %d, want %d", m.ReplyTo, root.Seq)
	}
	var tu protocol.ThreadUpdated
	alice.Expect("thread_updated", nil).Decode(t, &tu)
	if tu.Room != room || tu.Seq != root.Seq || tu.Replies.Count != 1 || tu.Replies.LastSeq != r.Seq ||
		len(tu.Replies.Users) != 1 || tu.Replies.Users[0].Username != "bob" {
		t.Errorf("thread_updated on node a: %+v", tu)
	}

	// Node a's history agrees, with alice's me false.
	var page protocol.HistoryAck
	alice.Ack("history", protocol.History{Room: room}, &page)
	if len(page.Messages) != 2 {
		t.Fatalf("history on node a: %+v", page.Messages)
	}
	got := page.Messages[0]
	if got.Replies == nil || got.Replies.Count != 1 || len(got.Reactions) != 1 || got.Reactions[0].Me || got.Reactions[0].Count != 1 {
		t.Errorf("history on node a: replies %+v, reactions %+v", got.Replies, got.Reactions)
	}
}
