package storetest

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

// Per-room mute (issue 8).

func (f *fixture) setMuted(u chat.User, room string, muted bool) {
	f.tb.Helper()
	if err := f.s.SetRoomMuted(f.ctx, u.ID, room, muted); err != nil {
		f.tb.Fatalf("SetRoomMuted(%s, %q, %v): %v", u.Username, room, muted, err)
	}
}

// mutedIn reports which of u's rooms Rooms lists as muted.
func (f *fixture) mutedIn(u chat.User) map[string]bool {
	f.tb.Helper()
	got := map[string]bool{}
	for _, r := range f.rooms(u) {
		if r.Muted {
			got[r.Name] = true
		}
	}
	return got
}

var muteTests = []test{
	{"PerUserAndRoom", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		dm := f.openDM(alice, bob)
		f.setMuted(alice, "lobby", true)
		f.setMuted(alice, dm.Name, true)
		if got := f.mutedIn(alice); len(got) != 2 || !got["lobby"] || !got[dm.Name] {
			t.Errorf("alice's muted rooms = %v, want lobby and %s", got, dm.Name)
		}
		if got := f.mutedIn(bob); len(got) != 0 {
			t.Errorf("bob's muted rooms = %v, want none: a mute is the muter's own", got)
		}
		if !f.room(alice, "lobby").Muted || f.room(bob, "lobby").Muted {
			t.Errorf("Room(lobby) muted: alice %v, bob %v; want true, false", f.room(alice, "lobby").Muted, f.room(bob, "lobby").Muted)
		}
		f.setMuted(alice, "lobby", true) // again: no change, no error
		f.setMuted(alice, "lobby", false)
		if got := f.mutedIn(alice); len(got) != 1 || !got[dm.Name] {
			t.Errorf("after unmuting lobby, alice's muted rooms = %v, want only %s", got, dm.Name)
		}
		// Messages, unread counts and mentions go on as before.
		f.send(bob, dm.Name, "still here @alice")
		if r := f.room(alice, dm.Name); r.Unread != 1 || !r.Muted {
			t.Errorf("muted DM after a message: unread %d muted %v, want 1 and true", r.Unread, r.Muted)
		}
	}},
	{"EndsWithMembership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		f.setMuted(bob, "lobby", true)
		f.leave(bob, "lobby")
		f.join(bob, "lobby")
		if f.room(bob, "lobby").Muted {
			t.Error("a room left and joined again is still muted")
		}
	}},
	{"MembersOnly", func(t *testing.T, f *fixture) {
		alice, carol := f.user("alice"), f.user("carol")
		f.createRoom(alice, "lobby", false)
		f.createRoom(alice, "secret", true)
		checkErr(t, "SetRoomMuted of a public room not joined", f.s.SetRoomMuted(f.ctx, carol.ID, "lobby", true), chat.ErrForbidden)
		checkSameNotFound(t, "SetRoomMuted(carol, secret)",
			f.s.SetRoomMuted(f.ctx, carol.ID, "secret", true), f.s.SetRoomMuted(f.ctx, carol.ID, "no-such-room", true))
		if f.room(alice, "lobby").Muted || f.room(alice, "secret").Muted {
			t.Error("a refused mute muted the room for its owner")
		}
	}},
}
