package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

var createRoomTests = []test{
	{"OwnerIsMember", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		got := f.createRoom(alice, "lobby", false)
		want := chat.Room{Name: "lobby", Joined: true, Owner: alice.ID}
		checkRoom(t, "CreateRoom", got, want)
		checkRoom(t, "Room(alice, lobby)", f.room(alice, "lobby"), want)
		if r, ok := findRoom(f.rooms(alice), "lobby"); !ok {
			t.Errorf("alice's rooms %v lack lobby", roomNames(f.rooms(alice)))
		} else {
			checkRoom(t, "lobby in alice's rooms", r, want)
		}
		if _, ok := findRoom(f.rooms(bob), "lobby"); ok {
			t.Errorf("bob's rooms include lobby; he never joined")
		}
		checkRoom(t, "Room(bob, lobby)", f.room(bob, "lobby"), chat.Room{Name: "lobby", Owner: alice.ID})
	}},
	{"Private", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		got := f.createRoom(alice, "secret", true)
		checkRoom(t, "CreateRoom(private)", got, chat.Room{Name: "secret", Private: true, Joined: true, Owner: alice.ID})
		_, err := f.s.Room(f.ctx, bob.ID, "secret")
		_, errMissing := f.s.Room(f.ctx, bob.ID, "no-such-room")
		checkSameNotFound(t, "Room(bob, secret)", err, errMissing)
		public, err := f.s.PublicRooms(f.ctx, bob.ID, 100)
		if err != nil {
			t.Fatalf("PublicRooms: %v", err)
		}
		if _, ok := findRoom(public, "secret"); ok {
			t.Errorf("PublicRooms(bob) = %v, includes the private room", roomNames(public))
		}
	}},
	{"Conflict", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.createRoom(alice, "secret", true)
		for _, c := range []struct {
			who     chat.User
			name    string
			private bool
		}{
			{alice, "lobby", false},
			{bob, "lobby", false},
			{bob, "lobby", true},
			{bob, "secret", false},
			{bob, "secret", true},
			{bob, chat.General, false},
		} {
			_, err := f.s.CreateRoom(f.ctx, c.who.ID, c.name, c.private)
			checkErr(t, "CreateRoom("+c.who.Username+", "+c.name+")", err, chat.ErrConflict)
		}
		// The conflicts changed nothing: bob did not become a member or owner.
		checkRoom(t, "Room(alice, secret)", f.room(alice, "secret"), chat.Room{Name: "secret", Private: true, Joined: true, Owner: alice.ID})
		if names := roomNames(f.rooms(bob)); !slices.Equal(names, []string{chat.General}) {
			t.Errorf("bob's rooms = %v, want [general]", names)
		}
	}},
	{"DMNameRefused", func(t *testing.T, f *fixture) {
		// Nobody may claim the name of a DM between others (or themselves):
		// only OpenDM makes rooms of that shape.
		alice, bob, mallory := f.user("alice"), f.user("bob"), f.user("mallory")
		dm := chat.DMName(alice.Username, bob.Username)
		_, err := f.s.CreateRoom(f.ctx, mallory.ID, dm, true)
		checkErr(t, "CreateRoom(mallory, "+dm+")", err, chat.ErrBadRequest)
		room := f.openDM(alice, bob)
		_, err = f.s.Room(f.ctx, mallory.ID, room.Name)
		checkErr(t, "Room(mallory, dm)", err, chat.ErrNotFound)
	}},
}

var joinRoomTests = []test{
	{"CreatesPublicRoom", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		m := f.join(bob, "new-room")
		if !m.Added {
			t.Errorf("JoinRoom of a new room: Added = false, want true")
		}
		checkRoom(t, "JoinRoom(new-room).Room", m.Room, chat.Room{Name: "new-room", Joined: true, Owner: bob.ID})
		checkRoom(t, "Room(alice, new-room)", f.room(alice, "new-room"), chat.Room{Name: "new-room", Owner: bob.ID})
	}},
	{"ExistingPublicRoom", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.sendN(alice, "lobby", 2)
		m := f.join(bob, "lobby")
		if !m.Added {
			t.Errorf("bob joining lobby: Added = false, want true")
		}
		// A new member's read marker is at the last seq: nothing unread.
		want := chat.Room{Name: "lobby", Joined: true, LastSeq: 2, Unread: 0, Owner: alice.ID}
		checkRoom(t, "JoinRoom(bob, lobby).Room", m.Room, want)
		checkRoom(t, "Room(bob, lobby)", f.room(bob, "lobby"), want)
		f.send(alice, "lobby", "hi bob")
		checkRoom(t, "Room(bob, lobby) after a new message", f.room(bob, "lobby"),
			chat.Room{Name: "lobby", Joined: true, LastSeq: 3, Unread: 1, Owner: alice.ID})
		// Joining did not take the room over.
		checkRoom(t, "Room(alice, lobby)", f.room(alice, "lobby"),
			chat.Room{Name: "lobby", Joined: true, LastSeq: 3, Unread: 0, Owner: alice.ID})
	}},
	{"AlreadyMember", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		f.send(alice, "lobby", "unread by bob")
		m := f.join(bob, "lobby")
		if m.Added {
			t.Errorf("joining a room twice: Added = true, want false")
		}
		// Joining again does not move the read marker.
		checkRoom(t, "JoinRoom again", m.Room, chat.Room{Name: "lobby", Joined: true, LastSeq: 1, Unread: 1, Owner: alice.ID})
		if m := f.join(alice, chat.General); m.Added {
			t.Errorf("joining general, where every user is: Added = true, want false")
		}
	}},
	{"PrivateNotMember", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		_, err := f.s.JoinRoom(f.ctx, bob.ID, "secret")
		checkErr(t, "JoinRoom(bob, secret)", err, chat.ErrNotFound)
		_, err = f.s.Room(f.ctx, bob.ID, "secret")
		checkErr(t, "Room(bob, secret) after the refused join", err, chat.ErrNotFound)
		if chat.ErrorMessage(err) == "" {
			t.Errorf("empty error message")
		}
	}},
	{"PrivateMember", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "secret", true)
		m := f.join(alice, "secret")
		if m.Added {
			t.Errorf("owner joining own private room: Added = true, want false")
		}
		checkRoom(t, "JoinRoom(alice, secret)", m.Room, chat.Room{Name: "secret", Private: true, Joined: true, Owner: alice.ID})
	}},
	{"DMNameNotCreated", func(t *testing.T, f *fixture) {
		// Joining a DM that does not exist must not create it as a public
		// room: it answers like any private room the user is not in.
		alice, bob, mallory := f.user("alice"), f.user("bob"), f.user("mallory")
		dm := chat.DMName(alice.Username, bob.Username)
		_, err := f.s.JoinRoom(f.ctx, mallory.ID, dm)
		checkErr(t, "JoinRoom(mallory, "+dm+")", err, chat.ErrNotFound)
		room := f.openDM(alice, bob)
		checkRoom(t, "OpenDM(alice, bob) afterwards", room, chat.Room{Name: dm, Private: true, Joined: true})
		_, err = f.s.JoinRoom(f.ctx, mallory.ID, dm)
		checkErr(t, "JoinRoom(mallory, existing dm)", err, chat.ErrNotFound)
	}},
}

var leaveRoomTests = []test{
	{"Public", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		f.leave(bob, "lobby")
		if _, ok := findRoom(f.rooms(bob), "lobby"); ok {
			t.Errorf("bob's rooms after leaving include lobby")
		}
		checkRoom(t, "Room(bob, lobby) after leaving", f.room(bob, "lobby"), chat.Room{Name: "lobby", Owner: alice.ID})
		_, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: "lobby", From: bob, Text: "still here?"})
		checkErr(t, "Append after leaving", err, chat.ErrForbidden)
		if m := f.join(bob, "lobby"); !m.Added {
			t.Errorf("joining again after leaving: Added = false, want true")
		}
	}},
	{"PublicNotMember", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		if _, err := f.s.LeaveRoom(f.ctx, bob.ID, "lobby"); err != nil {
			t.Errorf("leaving a public room one is not in: %v, want nil", err)
		}
	}},
	{"PrivateNotMember", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		_, err := f.s.LeaveRoom(f.ctx, bob.ID, "secret")
		_, errMissing := f.s.LeaveRoom(f.ctx, bob.ID, "no-such-room")
		checkSameNotFound(t, "LeaveRoom(bob, secret)", err, errMissing)
	}},
	{"Private", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		f.invite(alice, "secret", bob)
		f.leave(bob, "secret")
		_, err := f.s.Room(f.ctx, bob.ID, "secret")
		checkErr(t, "Room(bob, secret) after leaving", err, chat.ErrNotFound)
		_, err = f.s.JoinRoom(f.ctx, bob.ID, "secret")
		checkErr(t, "JoinRoom(bob, secret) after leaving", err, chat.ErrNotFound)
		// The owner may leave too; the room stays.
		f.leave(alice, "secret")
		if _, ok := findRoom(f.rooms(alice), "secret"); ok {
			t.Errorf("alice's rooms after leaving include secret")
		}
	}},
	{"General", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.leave(alice, chat.General)
		if rooms := f.rooms(alice); len(rooms) != 0 {
			t.Errorf("alice's rooms after leaving general = %v, want none", roomNames(rooms))
		}
		_, _, err := f.s.History(f.ctx, alice.ID, chat.General, chat.HistoryQuery{})
		checkErr(t, "History(general) after leaving", err, chat.ErrForbidden)
	}},
}

var inviteTests = []test{
	{"Owner", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		f.sendN(alice, "secret", 2)
		invitee, m, err := f.s.Invite(f.ctx, alice.ID, "secret", "bob")
		if err != nil {
			t.Fatalf("Invite: %v", err)
		}
		if invitee != bob {
			t.Errorf("Invite returned user %+v, want %+v", invitee, bob)
		}
		if !m.Added {
			t.Errorf("Invite: Added = false, want true")
		}
		if m.Room.Name != "secret" || !m.Room.Private || !m.Room.Joined || m.Room.LastSeq != 2 {
			t.Errorf("Invite: Room = %+v, want secret, private, joined, last seq 2 (as bob sees it)", m.Room)
		}
		if _, ok := findRoom(f.rooms(bob), "secret"); !ok {
			t.Errorf("bob's rooms after the invitation = %v, lack secret", roomNames(f.rooms(bob)))
		}
		f.send(bob, "secret", "thanks")
		_, m, err = f.s.Invite(f.ctx, alice.ID, "secret", "bob")
		if err != nil {
			t.Fatalf("Invite again: %v", err)
		}
		if m.Added {
			t.Errorf("inviting a member: Added = true, want false")
		}
	}},
	{"NotOwner", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "secret", true)
		f.invite(alice, "secret", bob)
		_, _, err := f.s.Invite(f.ctx, bob.ID, "secret", "carol")
		checkErr(t, "Invite by a member who is not the owner", err, chat.ErrForbidden)
		_, err = f.s.Room(f.ctx, carol.ID, "secret")
		checkErr(t, "Room(carol, secret) after the refused invitation", err, chat.ErrNotFound)
	}},
	{"NotMember", func(t *testing.T, f *fixture) {
		alice, carol := f.user("alice"), f.user("carol")
		f.user("bob")
		f.createRoom(alice, "secret", true)
		_, _, err := f.s.Invite(f.ctx, carol.ID, "secret", "bob")
		_, _, errMissing := f.s.Invite(f.ctx, carol.ID, "no-such-room", "bob")
		checkSameNotFound(t, "Invite by a non-member", err, errMissing)
	}},
	{"UnknownInvitee", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "secret", true)
		_, _, err := f.s.Invite(f.ctx, alice.ID, "secret", "nobody")
		checkErr(t, "Invite(nobody)", err, chat.ErrNotFound)
	}},
	{"PublicRoom", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		_, _, err := f.s.Invite(f.ctx, alice.ID, "lobby", "bob")
		checkErr(t, "Invite to a public room", err, chat.ErrBadRequest)
		if _, ok := findRoom(f.rooms(bob), "lobby"); ok {
			t.Errorf("the refused invitation made bob a member")
		}
	}},
}

var openDMTests = []test{
	{"Open", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		room, other, added, err := f.s.OpenDM(f.ctx, alice.ID, "bob")
		if err != nil {
			t.Fatalf("OpenDM: %v", err)
		}
		want := chat.Room{Name: chat.DMName("alice", "bob"), Private: true, Joined: true}
		checkRoom(t, "OpenDM(alice, bob)", room, want)
		if other != bob {
			t.Errorf("OpenDM: other = %+v, want %+v", other, bob)
		}
		if !added {
			t.Errorf("OpenDM the first time: otherAdded = false, want true")
		}
		if r, ok := findRoom(f.rooms(bob), want.Name); !ok {
			t.Errorf("bob's rooms %v lack the DM", roomNames(f.rooms(bob)))
		} else {
			checkRoom(t, "the DM in bob's rooms", r, want)
		}

		// The other side opens the same room.
		room, other, added, err = f.s.OpenDM(f.ctx, bob.ID, "alice")
		if err != nil {
			t.Fatalf("OpenDM(bob, alice): %v", err)
		}
		checkRoom(t, "OpenDM(bob, alice)", room, want)
		if other != alice || added {
			t.Errorf("OpenDM(bob, alice): other %+v, otherAdded %v; want %+v, false", other, added, alice)
		}
	}},
	{"NameSortsUsernames", func(t *testing.T, f *fixture) {
		zed, amy := f.user("zed"), f.user("amy")
		if got, want := f.openDM(zed, amy).Name, "dm:amy:zed"; got != want {
			t.Errorf("OpenDM(zed, amy).Name = %q, want %q", got, want)
		}
	}},
	{"UnknownUser", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		_, _, _, err := f.s.OpenDM(f.ctx, alice.ID, "nobody")
		checkErr(t, "OpenDM(nobody)", err, chat.ErrNotFound)
	}},
	{"Outsider", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		dm := f.openDM(alice, bob).Name
		f.send(alice, dm, "just between us")
		_, err := f.s.Room(f.ctx, carol.ID, dm)
		_, errMissing := f.s.Room(f.ctx, carol.ID, chat.DMName("bob", "carol"))
		checkSameNotFound(t, "Room(carol, dm)", err, errMissing)
		_, _, err = f.s.History(f.ctx, carol.ID, dm, chat.HistoryQuery{})
		checkErr(t, "History(carol, dm)", err, chat.ErrNotFound)
		_, _, err = f.s.Append(f.ctx, chat.NewMessage{Room: dm, From: carol, Text: "let me in"})
		checkErr(t, "Append(carol, dm)", err, chat.ErrNotFound)
	}},
	{"ComesBackAfterLeave", func(t *testing.T, f *fixture) {
		// Leaving a DM hides it (issue 9): the other side can still write,
		// and the next message brings it back with its unread count.
		alice, bob := f.user("alice"), f.user("bob")
		dm := f.openDM(alice, bob).Name
		f.send(alice, dm, "one")
		f.leave(bob, dm)
		if r, ok := findRoom(f.rooms(bob), dm); !ok || !r.Hidden || !r.Joined {
			t.Fatalf("bob's rooms after hiding the DM: %+v (found %v), want it joined and hidden", r, ok)
		}
		f.leave(bob, dm) // hiding twice is no error
		_, _, added, err := f.s.OpenDM(f.ctx, alice.ID, "bob")
		if err != nil {
			t.Fatalf("OpenDM again: %v", err)
		}
		if added {
			t.Errorf("OpenDM after bob hid it: otherAdded = true, want false (he is still a member)")
		}
		if r, _ := findRoom(f.rooms(bob), dm); !r.Hidden {
			t.Errorf("alice opening the DM showed it to bob without a message")
		}
		f.send(alice, dm, "two")
		r, ok := findRoom(f.rooms(bob), dm)
		if !ok || r.Hidden || r.Unread != 2 || r.LastSeq != 2 {
			t.Errorf("bob's DM after a new message: %+v (found %v), want shown, unread 2, last seq 2", r, ok)
		}
		// The acting user shows it again by opening it.
		f.leave(alice, dm)
		room, _, added, err := f.s.OpenDM(f.ctx, alice.ID, "bob")
		if err != nil {
			t.Fatalf("OpenDM by alice after she hid it: %v", err)
		}
		if added || !room.Joined || room.Hidden || room.LastSeq != 2 {
			t.Errorf("OpenDM by alice after she hid it: room %+v, otherAdded %v; want joined, shown, last seq 2, false", room, added)
		}
		// And by joining it.
		f.leave(alice, dm)
		if m := f.join(alice, dm); m.Added || m.Room.Hidden {
			t.Errorf("JoinRoom(alice, dm) after hiding: %+v, want shown, not added", m)
		}
		f.send(alice, dm, "three")
		msgs, _ := f.history(bob, dm, chat.HistoryQuery{})
		checkSeqs(t, "bob's DM history", msgs, []int64{1, 2, 3})
	}},
	{"HiddenStillReceives", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		dm := f.openDM(alice, bob).Name
		f.leave(alice, dm)
		// Both hide it; a message from either side brings it back to both.
		f.leave(bob, dm)
		f.send(bob, dm, "still there?")
		for _, u := range []chat.User{alice, bob} {
			r, ok := findRoom(f.rooms(u), dm)
			if !ok || r.Hidden {
				t.Errorf("%s's DM after a message: %+v (found %v), want shown", u.Username, r, ok)
			}
		}
		if r := f.room(alice, dm); r.Unread != 1 {
			t.Errorf("alice's unread = %d, want 1", r.Unread)
		}
	}},
}

var roomsTests = []test{
	{"SortedWithCounts", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "zoo", false)
		f.createRoom(alice, "attic", true)
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		f.sendN(alice, "lobby", 3)
		f.sendN(bob, "lobby", 2)
		f.sendN(bob, chat.General, 1)
		dm := f.openDM(bob, alice).Name

		got := f.rooms(alice)
		want := []chat.Room{
			{Name: "attic", Private: true, Joined: true, Owner: alice.ID},
			{Name: dm, Private: true, Joined: true},
			{Name: chat.General, Joined: true, LastSeq: 1, Unread: 1},
			{Name: "lobby", Joined: true, LastSeq: 5, Unread: 2, Owner: alice.ID},
			{Name: "zoo", Joined: true, Owner: alice.ID},
		}
		if !slices.IsSortedFunc(want, func(a, b chat.Room) int { return strings.Compare(a.Name, b.Name) }) {
			t.Fatalf("test bug: want is not sorted: %v", roomNames(want))
		}
		if len(got) != len(want) {
			t.Fatalf("Rooms(alice) = %v, want %v", roomNames(got), roomNames(want))
		}
		for i := range want {
			checkRoom(t, "Rooms(alice)["+want[i].Name+"]", got[i], want[i])
		}
		// Bob's own messages are never unread for him.
		if r, _ := findRoom(f.rooms(bob), "lobby"); r.Unread != 3 {
			t.Errorf("bob's unread in lobby = %d, want 3 (alice's messages only)", r.Unread)
		}
	}},
	{"UnreadSkipsDeleted", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		msgs := f.sendN(alice, chat.General, 4)
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, msgs[1].Seq, msgs[1].SentAt); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		// bob joined general at seq 0, before the messages.
		if got := f.room(bob, chat.General); got.Unread != 3 || got.LastSeq != 4 {
			t.Errorf("Room(bob, general) = %+v, want unread 3 (4 minus the deleted one), last seq 4", got)
		}
		if r, _ := findRoom(f.rooms(bob), chat.General); r.Unread != 3 {
			t.Errorf("Rooms(bob) general unread = %d, want 3", r.Unread)
		}
	}},
	{"UnreadAfterMarker", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.sendN(alice, chat.General, 5)
		if _, _, err := f.s.MarkRead(f.ctx, bob.ID, chat.General, 2); err != nil {
			t.Fatalf("MarkRead: %v", err)
		}
		if got := f.room(bob, chat.General).Unread; got != 3 {
			t.Errorf("Room(bob, general).Unread after marker 2 of 5 = %d, want 3", got)
		}
		if r, _ := findRoom(f.rooms(bob), chat.General); r.Unread != 3 {
			t.Errorf("Rooms(bob) general unread = %d, want 3", r.Unread)
		}
	}},
	{"PublicRooms", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		for _, name := range []string{"delta", "alpha", "charlie", "bravo"} {
			f.createRoom(alice, name, false)
		}
		f.createRoom(alice, "hidden", true)
		f.join(bob, "charlie")
		f.sendN(alice, "alpha", 2)

		got, err := f.s.PublicRooms(f.ctx, bob.ID, 10)
		if err != nil {
			t.Fatalf("PublicRooms: %v", err)
		}
		want := []chat.Room{
			{Name: "alpha", LastSeq: 2, Owner: alice.ID},
			{Name: "bravo", Owner: alice.ID},
			{Name: "delta", Owner: alice.ID},
		}
		if len(got) != len(want) {
			t.Fatalf("PublicRooms(bob) = %v, want %v (public, not joined, sorted)", roomNames(got), roomNames(want))
		}
		for i := range want {
			checkRoom(t, "PublicRooms(bob)["+want[i].Name+"]", got[i], want[i])
		}
		got, err = f.s.PublicRooms(f.ctx, bob.ID, 2)
		if err != nil {
			t.Fatalf("PublicRooms(limit 2): %v", err)
		}
		if names := roomNames(got); !slices.Equal(names, []string{"alpha", "bravo"}) {
			t.Errorf("PublicRooms(bob, 2) = %v, want [alpha bravo]", names)
		}
	}},
	{"Room", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.sendN(alice, "lobby", 3)
		checkRoom(t, "Room(bob, lobby) without joining", f.room(bob, "lobby"),
			chat.Room{Name: "lobby", LastSeq: 3, Owner: alice.ID})
		checkRoom(t, "Room(alice, lobby)", f.room(alice, "lobby"),
			chat.Room{Name: "lobby", Joined: true, LastSeq: 3, Owner: alice.ID})
		_, err := f.s.Room(f.ctx, alice.ID, "no-such-room")
		checkErr(t, "Room(no-such-room)", err, chat.ErrNotFound)
	}},
}
