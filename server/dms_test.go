package server_test

import (
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
)

// TestDMComesBack: leaving (hiding) a DM never stops delivery. The next
// message brings it back on every connection of the user that hid it,
// with its unread count, just before the message; meanwhile presence
// there stays true.
func TestDMComesBack(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bobAcc := srv.Register(t, "bob")
	bob1, bob2 := srv.Dial(t, bobAcc.Token), srv.Dial(t, bobAcc.Token)
	bob1.Welcome()
	bob2.Welcome()
	const dm = "dm:alice:bob"
	alice.Ack("open_dm", protocol.OpenDM{User: "bob"}, nil)
	bob1.Expect("room_added", inRoom(dm))
	bob2.Expect("room_added", inRoom(dm))
	send(t, alice, dm, "one") // bob leaves it unread
	bob1.Expect("new_message", inRoom(dm))
	bob2.Expect("new_message", inRoom(dm))

	bob1.Ack("leave_room", protocol.RoomRef{Room: dm}, nil)
	bob2.Expect("room_removed", inRoom(dm))
	var rooms protocol.RoomsAck
	bob1.Ack("list_rooms", struct{}{}, &rooms)
	for _, r := range rooms.Rooms {
		if r.Name == dm {
			t.Errorf("list_rooms after hiding the DM still has it: %+v", r)
		}
	}
	// A connection opened while it is hidden does not list it either.
	bob3 := srv.Dial(t, bobAcc.Token)
	for _, r := range bob3.Welcome().Rooms {
		if r.Name == dm {
			t.Errorf("welcome after hiding the DM has it: %+v", r)
		}
	}
	// Presence in the DM stays true.
	var who protocol.WhoAck
	alice.Ack("who", protocol.Who{Room: dm}, &who)
	if who.Online != 2 {
		t.Errorf("who in the DM after bob hid it: %d online, want 2", who.Online)
	}
	alice.ExpectNone("presence", func(f chatdtest.Frame) bool {
		var p protocol.Presence
		f.Decode(t, &p)
		return p.Room == dm && p.Status == protocol.StatusOffline
	}, 100*time.Millisecond)
	// Nothing else of the DM reaches the hidden side.
	alice.Ack("typing", protocol.RoomRef{Room: dm}, nil)
	bob1.ExpectNone("typing", inRoom(dm), 100*time.Millisecond)

	m := send(t, alice, dm, "two")
	for i, c := range []*chatdtest.Client{bob1, bob2, bob3} {
		f := c.Expect("room_added", inRoom(dm))
		var r chat.Room
		f.Decode(t, &r)
		if r.LastSeq != m.Seq-1 || r.Unread != 1 || !r.Joined {
			t.Errorf("bob's connection %d: room_added %+v, want last_seq %d, unread 1 (before the new message)", i+1, r, m.Seq-1)
		}
		if got := messageOf(t, c.Next()); got.Seq != m.Seq || got.Text != "two" {
			t.Errorf("bob's connection %d: after room_added got %+v, want the new message", i+1, got)
		}
	}
	bob1.Ack("list_rooms", struct{}{}, &rooms)
	if r := roomOf(t, rooms.Rooms, dm); r.Unread != 2 {
		t.Errorf("bob's DM after it came back: %+v, want unread 2", r)
	}
}

// TestDMHiddenShowsOnOpen: open_dm by the user who hid it shows it again
// on their other connections.
func TestDMHiddenShowsOnOpen(t *testing.T) {
	srv := start(t)
	online(t, srv, "alice")
	bob1, bob2 := connectTwice(t, srv, "bob")
	const dm = "dm:alice:bob"
	bob1.Ack("open_dm", protocol.OpenDM{User: "alice"}, nil)
	bob2.Expect("room_added", inRoom(dm))
	bob1.Ack("leave_room", protocol.RoomRef{Room: dm}, nil)
	bob2.Expect("room_removed", inRoom(dm))
	var ack protocol.RoomAck
	bob1.Ack("open_dm", protocol.OpenDM{User: "alice"}, &ack)
	if ack.Room.Name != dm || ack.Room.Hidden {
		t.Errorf("open_dm ack: %+v", ack.Room)
	}
	bob2.Expect("room_added", inRoom(dm))
}
