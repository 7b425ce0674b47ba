package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// session stores a session of u that lasts an hour, under token.
func (f *fixture) session(u chat.User, token string) chat.Session {
	f.tb.Helper()
	now := time.Now()
	s := chat.Session{TokenHash: tokenHash(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := f.s.CreateSession(f.ctx, s); err != nil {
		f.tb.Fatalf("CreateSession(%s): %v", u.Username, err)
	}
	return s
}

// revokedUsers returns the user IDs of the revocations after id, and the
// last revocation's ID (after, if there is none).
func (f *fixture) revokedUsers(after int64) ([]string, int64) {
	f.tb.Helper()
	revs, err := f.s.RevocationsAfter(f.ctx, after, 100)
	if err != nil {
		f.tb.Fatalf("RevocationsAfter(%d): %v", after, err)
	}
	var users []string
	for i, r := range revs {
		if r.ID <= after || (i > 0 && r.ID <= revs[i-1].ID) {
			f.tb.Errorf("RevocationsAfter(%d): IDs %+v, want ascending and above %d", after, revs, after)
		}
		users = append(users, r.UserID)
		after = r.ID
	}
	return users, after
}

var userAdminTests = []test{
	{"Users", func(t *testing.T, f *fixture) {
		before := time.Now().Add(-time.Second)
		bob, alice := f.user("bob"), f.user("Alice")
		f.session(alice, "a1")
		f.session(alice, "a2")
		expired := chat.Session{TokenHash: tokenHash("old"), UserID: bob.ID, CreatedAt: before, ExpiresAt: before}
		if err := f.s.CreateSession(f.ctx, expired); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.SetDisabled(f.ctx, "bob", true); err != nil {
			t.Fatal(err)
		}
		users, err := f.s.Users(f.ctx)
		if err != nil {
			t.Fatalf("Users: %v", err)
		}
		if len(users) != 2 {
			t.Fatalf("Users = %+v, want alice and bob", users)
		}
		want := []chat.UserInfo{{User: alice, Sessions: 2}, {User: bob, Disabled: true}}
		for i, u := range users {
			if u.CreatedAt.Before(before) || u.CreatedAt.After(time.Now()) || u.CreatedAt.Location() != time.UTC {
				t.Errorf("Users[%d].CreatedAt = %v, want now in UTC", i, u.CreatedAt)
			}
			u.CreatedAt = time.Time{}
			if u != want[i] {
				t.Errorf("Users[%d] = %+v, want %+v (sorted without case)", i, u, want[i])
			}
		}
	}},
	{"SetPassword", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		got, err := f.s.SetPassword(f.ctx, "ALICE", "new-hash")
		if err != nil || got != alice {
			t.Fatalf("SetPassword = %+v, %v; want %+v", got, err, alice)
		}
		if _, hash, err := f.s.UserCredentials(f.ctx, "alice"); err != nil || hash != "new-hash" {
			t.Errorf("UserCredentials after SetPassword: %q, %v; want new-hash", hash, err)
		}
		_, err = f.s.SetPassword(f.ctx, "nobody", "h")
		checkErr(t, "SetPassword(nobody)", err, chat.ErrNotFound)
	}},
	{"DisableEndsSessions", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		_, last := f.revokedUsers(0)
		a := f.session(alice, "a")
		b := f.session(bob, "b")
		if _, err := f.s.SetDisabled(f.ctx, "alice", true); err != nil {
			t.Fatalf("SetDisabled(alice): %v", err)
		}
		_, err := f.s.SessionUser(f.ctx, a.TokenHash, time.Now())
		checkErr(t, "SessionUser of a disabled user", err, chat.ErrUnauthorized)
		if got, err := f.s.SessionUser(f.ctx, b.TokenHash, time.Now()); err != nil || got != bob {
			t.Errorf("bob's session after alice was disabled: %+v, %v", got, err)
		}
		err = f.s.CreateSession(f.ctx, chat.Session{TokenHash: tokenHash("a2"), UserID: alice.ID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
		checkErr(t, "CreateSession for a disabled user", err, chat.ErrDisabled)
		if users, _ := f.revokedUsers(last); !slices.Equal(users, []string{alice.ID}) {
			t.Errorf("revocations after disabling alice: %v, want [%s]", users, alice.ID)
		}
		// Enabling again lets the user log in; the old session stays gone.
		if _, err := f.s.SetDisabled(f.ctx, "alice", false); err != nil {
			t.Fatalf("SetDisabled(alice, false): %v", err)
		}
		_, err = f.s.SessionUser(f.ctx, a.TokenHash, time.Now())
		checkErr(t, "the session of before the disabling, once enabled", err, chat.ErrUnauthorized)
		a2 := f.session(alice, "a2")
		if got, err := f.s.SessionUser(f.ctx, a2.TokenHash, time.Now()); err != nil || got != alice {
			t.Errorf("a new session once enabled: %+v, %v", got, err)
		}
		_, err = f.s.SetDisabled(f.ctx, "nobody", true)
		checkErr(t, "SetDisabled(nobody)", err, chat.ErrNotFound)
	}},
	{"RevokeSessions", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		_, last := f.revokedUsers(0)
		a1, a2, b := f.session(alice, "a1"), f.session(alice, "a2"), f.session(bob, "b")
		u, n, err := f.s.RevokeSessions(f.ctx, "Alice")
		if err != nil || u != alice || n != 2 {
			t.Fatalf("RevokeSessions(Alice) = %+v, %d, %v; want %+v, 2", u, n, err, alice)
		}
		for _, s := range []chat.Session{a1, a2} {
			_, err := f.s.SessionUser(f.ctx, s.TokenHash, time.Now())
			checkErr(t, "SessionUser after RevokeSessions", err, chat.ErrUnauthorized)
		}
		if got, err := f.s.SessionUser(f.ctx, b.TokenHash, time.Now()); err != nil || got != bob {
			t.Errorf("bob's session after alice's were revoked: %+v, %v", got, err)
		}
		// A revocation is recorded even with no session left: a WebSocket
		// may outlive its session.
		if _, n, err := f.s.RevokeSessions(f.ctx, "alice"); err != nil || n != 0 {
			t.Errorf("RevokeSessions again = %d, %v; want 0, nil", n, err)
		}
		f.s.RevokeSessions(f.ctx, "bob")
		users, end := f.revokedUsers(last)
		if want := []string{alice.ID, alice.ID, bob.ID}; !slices.Equal(users, want) {
			t.Errorf("revocations = %v, want %v in order", users, want)
		}
		if users, _ := f.revokedUsers(end); len(users) != 0 {
			t.Errorf("revocations after the last one: %v, want none", users)
		}
		revs, err := f.s.RevocationsAfter(f.ctx, last, 1)
		if err != nil || len(revs) != 1 || revs[0].UserID != alice.ID {
			t.Errorf("RevocationsAfter with limit 1 = %+v, %v; want alice's first", revs, err)
		}
		_, _, err = f.s.RevokeSessions(f.ctx, "nobody")
		checkErr(t, "RevokeSessions(nobody)", err, chat.ErrNotFound)
	}},
	{"RevocationsPolledWhileWritten", revocationsPolledWhileWritten},
}

// revocationsPolledWhileWritten: a reader that polls with the last ID it
// saw, while several writers record revocations, sees every one. (IDs that
// became visible out of order would be skipped.)
func revocationsPolledWhileWritten(t *testing.T, f *fixture) {
	const writers, each = 4, 25
	users := make([]chat.User, writers)
	for i := range users {
		users[i] = f.user(fmt.Sprintf("user%d", i))
	}
	_, after := f.revokedUsers(0)
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for range each {
				if _, _, err := f.s.RevokeSessions(f.ctx, u.Username); err != nil {
					t.Errorf("RevokeSessions: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	seen := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more poll after the last commit
		default:
		}
		revs, err := f.s.RevocationsAfter(f.ctx, after, 1000)
		if err != nil {
			t.Fatalf("RevocationsAfter: %v", err)
		}
		for _, r := range revs {
			if r.ID <= after {
				t.Fatalf("RevocationsAfter(%d) returned ID %d", after, r.ID)
			}
			after = r.ID
			seen++
		}
	}
	if seen != writers*each {
		t.Errorf("the poller saw %d revocations, want %d", seen, writers*each)
	}
}

var roomAdminTests = []test{
	{"AllRooms", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		f.createRoom(bob, "lobby", false)
		f.join(alice, "lobby")
		f.sendN(alice, "lobby", 2)
		dm := f.openDM(alice, bob)
		if err := f.s.SetArchived(f.ctx, "lobby", true); err != nil {
			t.Fatal(err)
		}
		rooms, err := f.s.AllRooms(f.ctx)
		if err != nil {
			t.Fatalf("AllRooms: %v", err)
		}
		want := []chat.RoomInfo{
			{Name: dm.Name, Private: true, Members: 2},
			{Name: chat.General, Members: 2},
			{Name: "lobby", Owner: "bob", Members: 2, LastSeq: 2, Archived: true},
			{Name: "secret", Private: true, Owner: "alice", Members: 1},
		}
		if len(rooms) != len(want) {
			t.Fatalf("AllRooms = %+v, want %d rooms", rooms, len(want))
		}
		for i, r := range rooms {
			if r.CreatedAt.IsZero() || r.CreatedAt.Location() != time.UTC {
				t.Errorf("AllRooms[%d].CreatedAt = %v, want a time in UTC", i, r.CreatedAt)
			}
			r.CreatedAt = time.Time{}
			if r != want[i] {
				t.Errorf("AllRooms[%d] = %+v, want %+v", i, r, want[i])
			}
		}
	}},
	{"Archive", func(t *testing.T, f *fixture) {
		alice, bob, eve := f.user("alice"), f.user("bob"), f.user("eve")
		f.createRoom(alice, "team", true)
		f.invite(alice, "team", bob)
		first, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: "team", From: alice, Text: "before", ClientMsgID: "c-1", SentAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		f.send(bob, "team", "also before")
		if err := f.s.SetArchived(f.ctx, "team", true); err != nil {
			t.Fatalf("SetArchived: %v", err)
		}
		_, _, err = f.s.Append(f.ctx, chat.NewMessage{Room: "team", From: bob, Text: "after", SentAt: time.Now()})
		checkErr(t, "Append to an archived room", err, chat.ErrArchived)
		if aa, ok := f.s.(chat.AsyncAppender); ok {
			done := make(chan error, 1)
			aa.AppendAsync(f.ctx, chat.NewMessage{Room: "team", From: bob, Text: "after", SentAt: time.Now()},
				func(_ chat.Message, _ bool, err error) { done <- err })
			checkErr(t, "AppendAsync to an archived room", <-done, chat.ErrArchived)
		}
		again, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: "team", From: alice, Text: "before", ClientMsgID: "c-1", SentAt: time.Now()})
		if err != nil || created || again.Seq != first.Seq {
			t.Errorf("a repeated client id in an archived room = seq %d, created %v, %v; want the first message", again.Seq, created, err)
		}
		_, err = f.s.EditMessage(f.ctx, alice.ID, "team", 1, "edited", time.Now())
		checkErr(t, "EditMessage in an archived room", err, chat.ErrArchived)
		// Membership is checked first: an outsider learns nothing.
		_, _, err = f.s.Append(f.ctx, chat.NewMessage{Room: "team", From: eve, Text: "hi", SentAt: time.Now()})
		_, _, errMissing := f.s.Append(f.ctx, chat.NewMessage{Room: "nowhere", From: eve, Text: "hi", SentAt: time.Now()})
		checkSameNotFound(t, "Append by an outsider to an archived private room", err, errMissing)

		msgs, _ := f.history(bob, "team", chat.HistoryQuery{})
		checkSeqs(t, "history of an archived room", msgs, []int64{1, 2})
		if r := f.room(bob, "team"); !r.Archived || r.LastSeq != 2 {
			t.Errorf("Room(team) = %+v, want archived with last seq 2", r)
		}
		if r, _ := findRoom(f.rooms(bob), "team"); !r.Archived {
			t.Errorf("Rooms: team = %+v, want archived", r)
		}
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, "team", 2, time.Now()); err != nil {
			t.Errorf("DeleteMessage by the owner in an archived room: %v, want it allowed (moderation)", err)
		}

		if err := f.s.SetArchived(f.ctx, "team", false); err != nil {
			t.Fatalf("SetArchived(false): %v", err)
		}
		if m := f.send(bob, "team", "after unarchiving"); m.Seq != 3 {
			t.Errorf("first message after unarchiving has seq %d, want 3", m.Seq)
		}
		if r := f.room(bob, "team"); r.Archived {
			t.Errorf("Room(team) after unarchiving = %+v, want not archived", r)
		}
		err = f.s.SetArchived(f.ctx, "nowhere", true)
		checkErr(t, "SetArchived(nowhere)", err, chat.ErrNotFound)
	}},
	{"ArchivedPublicRoomListed", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "old", false)
		if err := f.s.SetArchived(f.ctx, "old", true); err != nil {
			t.Fatal(err)
		}
		rooms, err := f.s.PublicRooms(f.ctx, bob.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := findRoom(rooms, "old"); !ok || !r.Archived {
			t.Errorf("PublicRooms: %+v, want old, archived", rooms)
		}
		// Joining stays possible, to read it.
		if m := f.join(bob, "old"); !m.Room.Archived {
			t.Errorf("JoinRoom(old) = %+v, want the room archived", m.Room)
		}
	}},
	{"SetRoomOwner", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "team", true)
		f.sendN(alice, "team", 3)
		if err := f.s.SetRoomOwner(f.ctx, "team", "Bob"); err != nil {
			t.Fatalf("SetRoomOwner(team, Bob): %v", err)
		}
		// Bob, not a member before, now is one, from the room's last seq.
		checkRoom(t, "team as bob sees it", f.room(bob, "team"),
			chat.Room{Name: "team", Private: true, Owner: bob.ID, Joined: true, LastSeq: 3})
		f.invite(bob, "team", carol)
		_, _, err := f.s.Invite(f.ctx, alice.ID, "team", "carol")
		checkErr(t, "Invite by the former owner", err, chat.ErrForbidden)
		// Setting the owner to a member changes nothing else.
		if err := f.s.SetRoomOwner(f.ctx, "team", "alice"); err != nil {
			t.Fatal(err)
		}
		if r := f.room(alice, "team"); r.Owner != alice.ID || r.Unread != 0 {
			t.Errorf("team as alice sees it: %+v, want her the owner again", r)
		}

		dm := f.openDM(alice, bob)
		for _, tc := range []struct {
			room, user string
			want       error
		}{
			{chat.General, "alice", chat.ErrBadRequest},
			{dm.Name, "alice", chat.ErrBadRequest},
			{"nowhere", "alice", chat.ErrNotFound},
			{"team", "nobody", chat.ErrNotFound},
		} {
			err := f.s.SetRoomOwner(f.ctx, tc.room, tc.user)
			checkErr(t, "SetRoomOwner("+tc.room+", "+tc.user+")", err, tc.want)
		}
	}},
}
