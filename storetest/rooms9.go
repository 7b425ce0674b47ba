package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

// The rooms of issue 9: the directory, topics, member lists, roles and
// archiving.

func (f *fixture) directory(u chat.User, q chat.DirectoryQuery) ([]chat.Room, string) {
	f.tb.Helper()
	rooms, next, err := f.s.Directory(f.ctx, u.ID, q)
	if err != nil {
		f.tb.Fatalf("Directory(%s, %+v): %v", u.Username, q, err)
	}
	return rooms, next
}

func (f *fixture) members(u chat.User, room string) []chat.Member {
	f.tb.Helper()
	ms, next, err := f.s.Members(f.ctx, u.ID, room, chat.MembersQuery{Limit: chat.MaxMembersLimit})
	if err != nil {
		f.tb.Fatalf("Members(%s, %q): %v", u.Username, room, err)
	}
	if next != "" {
		f.tb.Fatalf("Members(%s, %q): next = %q, want the last page", u.Username, room, next)
	}
	return ms
}

// roles returns "username:role" for each member of room, as u lists them.
func (f *fixture) roles(u chat.User, room string) []string {
	f.tb.Helper()
	var out []string
	for _, m := range f.members(u, room) {
		out = append(out, m.User.Username+":"+m.Role)
	}
	return out
}

func (f *fixture) setRole(by chat.User, room string, who chat.User, role string) {
	f.tb.Helper()
	if _, err := f.s.SetRole(f.ctx, by.ID, room, who.Username, role); err != nil {
		f.tb.Fatalf("SetRole(%s, %q, %s, %s): %v", by.Username, room, who.Username, role, err)
	}
}

var directoryTests = []test{
	{"PublicOnly", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.createRoom(alice, "secret", true)
		f.openDM(alice, bob)
		f.createRoom(alice, "old", false)
		if _, _, err := f.s.ArchiveRoom(f.ctx, alice.ID, "old", true); err != nil {
			t.Fatalf("ArchiveRoom: %v", err)
		}
		for _, u := range []chat.User{alice, bob} {
			rooms, next := f.directory(u, chat.DirectoryQuery{})
			if got, want := roomNames(rooms), []string{chat.General, "lobby"}; !slices.Equal(got, want) || next != "" {
				t.Errorf("Directory(%s) = %v next %q, want %v and no next page (public, not archived)", u.Username, got, next, want)
			}
		}
		rooms, _ := f.directory(bob, chat.DirectoryQuery{})
		if r, _ := findRoom(rooms, "lobby"); r.Joined || r.Role != "" || r.MemberCount != 1 {
			t.Errorf("bob's lobby in the directory: %+v, want not joined, no role, 1 member", r)
		}
		if r, _ := findRoom(rooms, chat.General); !r.Joined || r.Role != chat.RoleMember || r.MemberCount != 2 {
			t.Errorf("bob's general in the directory: %+v, want joined as member, 2 members", r)
		}
	}},
	{"SearchAndPages", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		for _, n := range []string{"go-dev", "golang", "rust", "cooking", "dev-ops"} {
			f.createRoom(alice, n, false)
		}
		if _, err := f.s.SetTopic(f.ctx, alice.ID, "rust", "Systems programming, Go-adjacent"); err != nil {
			t.Fatalf("SetTopic: %v", err)
		}
		rooms, _ := f.directory(bob, chat.DirectoryQuery{Query: "GO"})
		if got, want := roomNames(rooms), []string{"go-dev", "golang", "rust"}; !slices.Equal(got, want) {
			t.Errorf("Directory(query GO) = %v, want %v (name or topic, ASCII case ignored)", got, want)
		}
		rooms, _ = f.directory(bob, chat.DirectoryQuery{Query: "dev"})
		if got, want := roomNames(rooms), []string{"dev-ops", "go-dev"}; !slices.Equal(got, want) {
			t.Errorf("Directory(query dev) = %v, want %v", got, want)
		}
		var all []string
		cursor := ""
		for range 10 {
			rooms, next := f.directory(bob, chat.DirectoryQuery{Limit: 2, After: cursor})
			if len(rooms) > 2 {
				t.Fatalf("page of %d rooms, limit 2", len(rooms))
			}
			all = append(all, roomNames(rooms)...)
			if next == "" {
				break
			}
			cursor = next
		}
		want := []string{"cooking", "dev-ops", chat.General, "go-dev", "golang", "rust"}
		if !slices.Equal(all, want) {
			t.Errorf("directory paged by 2 = %v, want %v", all, want)
		}
		for _, q := range []chat.DirectoryQuery{{Limit: -1}, {Limit: chat.MaxDirectoryLimit + 1}, {Query: strings.Repeat("x", chat.MaxDirectoryQuery+1)}} {
			_, _, err := f.s.Directory(f.ctx, bob.ID, q)
			checkErr(t, "Directory(bad query)", err, chat.ErrBadRequest)
		}
	}},
	{"LastActivity", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "lobby", false)
		rooms, _ := f.directory(alice, chat.DirectoryQuery{Query: "lobby"})
		if len(rooms) != 1 || rooms[0].LastActivity != nil {
			t.Fatalf("empty lobby in the directory: %+v, want no last activity", rooms)
		}
		m := f.send(alice, "lobby", "hi")
		rooms, _ = f.directory(alice, chat.DirectoryQuery{Query: "lobby"})
		if rooms[0].LastActivity == nil {
			t.Fatalf("lobby after a message: no last activity")
		}
		checkTime(t, "last activity", *rooms[0].LastActivity, m.SentAt)
		if r := f.room(alice, "lobby"); r.LastActivity == nil || !r.LastActivity.Equal(*rooms[0].LastActivity) {
			t.Errorf("Room(lobby).LastActivity = %v, want %v", r.LastActivity, rooms[0].LastActivity)
		}
	}},
}

var topicTests = []test{
	{"OwnerOnly", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		r, err := f.s.SetTopic(f.ctx, alice.ID, "lobby", "Say hello")
		if err != nil || r.Topic != "Say hello" || r.Role != chat.RoleOwner {
			t.Fatalf("SetTopic by the owner: %+v, %v", r, err)
		}
		if got := f.room(bob, "lobby").Topic; got != "Say hello" {
			t.Errorf("bob sees topic %q, want %q", got, "Say hello")
		}
		_, err = f.s.SetTopic(f.ctx, bob.ID, "lobby", "bob's now")
		checkErr(t, "SetTopic by a member", err, chat.ErrForbidden)
		_, err = f.s.SetTopic(f.ctx, carol.ID, "lobby", "carol's now")
		checkErr(t, "SetTopic by a non-member", err, chat.ErrForbidden)
		_, err = f.s.SetTopic(f.ctx, alice.ID, chat.General, "everyone's")
		checkErr(t, "SetTopic of general", err, chat.ErrForbidden)
		f.createRoom(alice, "secret", true)
		_, err = f.s.SetTopic(f.ctx, carol.ID, "secret", "x")
		_, errMissing := f.s.SetTopic(f.ctx, carol.ID, "no-such-room", "x")
		checkSameNotFound(t, "SetTopic(carol, secret)", err, errMissing)
		if got := f.room(alice, "lobby").Topic; got != "Say hello" {
			t.Errorf("topic after refused changes = %q", got)
		}
	}},
	{"Bounds", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "lobby", false)
		long := strings.Repeat("é", chat.MaxTopicChars)
		if _, err := f.s.SetTopic(f.ctx, alice.ID, "lobby", long); err != nil {
			t.Errorf("SetTopic(%d characters): %v", chat.MaxTopicChars, err)
		}
		_, err := f.s.SetTopic(f.ctx, alice.ID, "lobby", long+"x")
		checkErr(t, "SetTopic(too long)", err, chat.ErrTooLarge)
		_, err = f.s.SetTopic(f.ctx, alice.ID, "lobby", "two\nlines")
		checkErr(t, "SetTopic(newline)", err, chat.ErrBadRequest)
		if r, err := f.s.SetTopic(f.ctx, alice.ID, "lobby", ""); err != nil || r.Topic != "" {
			t.Errorf("clearing the topic: %+v, %v", r, err)
		}
	}},
}

var membersTests = []test{
	{"ListWithRoles", func(t *testing.T, f *fixture) {
		alice, bob, carol, dave := f.user("alice"), f.user("Bob"), f.user("carol"), f.user("dave")
		f.createRoom(alice, "lobby", false)
		f.join(carol, "lobby")
		f.join(bob, "lobby")
		if got, want := f.roles(carol, "lobby"), []string{"alice:owner", "Bob:member", "carol:member"}; !slices.Equal(got, want) {
			t.Errorf("Members(lobby) = %v, want %v (sorted without case)", got, want)
		}
		if r := f.room(alice, "lobby"); r.MemberCount != 3 {
			t.Errorf("member count = %d, want 3", r.MemberCount)
		}
		_, _, err := f.s.Members(f.ctx, dave.ID, "lobby", chat.MembersQuery{})
		checkErr(t, "Members by a non-member of a public room", err, chat.ErrForbidden)
		f.createRoom(alice, "secret", true)
		_, _, err = f.s.Members(f.ctx, dave.ID, "secret", chat.MembersQuery{})
		_, _, errMissing := f.s.Members(f.ctx, dave.ID, "no-such-room", chat.MembersQuery{})
		checkSameNotFound(t, "Members(dave, secret)", err, errMissing)
		f.leave(carol, "lobby")
		if r := f.room(alice, "lobby"); r.MemberCount != 2 {
			t.Errorf("member count after a leave = %d, want 2", r.MemberCount)
		}
	}},
	{"Pages", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		for _, n := range []string{"bob", "carol", "dave", "erin"} {
			f.user(n)
		}
		var got []string
		cursor := ""
		for range 10 {
			ms, next, err := f.s.Members(f.ctx, alice.ID, chat.General, chat.MembersQuery{Limit: 2, After: cursor})
			if err != nil {
				t.Fatalf("Members: %v", err)
			}
			for _, m := range ms {
				got = append(got, m.User.Username)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if want := []string{"alice", "bob", "carol", "dave", "erin"}; !slices.Equal(got, want) {
			t.Errorf("general's members paged by 2 = %v, want %v", got, want)
		}
	}},
}

var rolesTests = []test{
	{"CreatorsOwn", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		if r := f.createRoom(alice, "made", false); r.Role != chat.RoleOwner {
			t.Errorf("CreateRoom: role %q, want owner", r.Role)
		}
		// A first join creates the room: the joiner owns it.
		if m := f.join(bob, "joined-first"); m.Room.Role != chat.RoleOwner {
			t.Errorf("JoinRoom creating the room: role %q, want owner", m.Room.Role)
		}
		if m := f.join(alice, "joined-first"); m.Room.Role != chat.RoleMember {
			t.Errorf("JoinRoom of bob's room: role %q, want member", m.Room.Role)
		}
		if got, want := f.roles(alice, "joined-first"), []string{"alice:member", "bob:owner"}; !slices.Equal(got, want) {
			t.Errorf("roles = %v, want %v", got, want)
		}
	}},
	{"OwnersManage", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "club", true)
		f.invite(alice, "club", bob)
		_, _, err := f.s.Invite(f.ctx, bob.ID, "club", "carol")
		checkErr(t, "Invite by a member", err, chat.ErrForbidden)
		_, err = f.s.SetRole(f.ctx, bob.ID, "club", "bob", chat.RoleOwner)
		checkErr(t, "SetRole by a member", err, chat.ErrForbidden)
		f.setRole(alice, "club", bob, chat.RoleOwner)
		if r := f.room(bob, "club"); r.Role != chat.RoleOwner {
			t.Errorf("bob's role after promotion = %q", r.Role)
		}
		f.invite(bob, "club", carol) // a second owner may invite
		// An owner deletes another's message.
		m := f.send(carol, "club", "spam")
		if _, err := f.s.DeleteMessage(f.ctx, bob.ID, "club", m.Seq, m.SentAt); err != nil {
			t.Errorf("DeleteMessage by a second owner: %v", err)
		}
		_, err = f.s.SetRole(f.ctx, alice.ID, "club", "carol", "admin")
		checkErr(t, "SetRole(admin)", err, chat.ErrBadRequest)
		dave := f.user("dave")
		_, err = f.s.SetRole(f.ctx, alice.ID, "club", dave.Username, chat.RoleOwner)
		checkErr(t, "SetRole of a non-member", err, chat.ErrNotFound)
		if got, want := f.roles(alice, "club"), []string{"alice:owner", "bob:owner", "carol:member"}; !slices.Equal(got, want) {
			t.Errorf("roles = %v, want %v", got, want)
		}
	}},
	{"LastOwnerStays", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		_, err := f.s.SetRole(f.ctx, alice.ID, "lobby", "alice", chat.RoleMember)
		checkErr(t, "the last owner stepping down", err, chat.ErrConflict)
		f.setRole(alice, "lobby", bob, chat.RoleOwner)
		f.setRole(alice, "lobby", alice, chat.RoleMember) // now there is another
		if got, want := f.roles(bob, "lobby"), []string{"alice:member", "bob:owner"}; !slices.Equal(got, want) {
			t.Errorf("roles = %v, want %v", got, want)
		}
		_, err = f.s.SetTopic(f.ctx, alice.ID, "lobby", "mine")
		checkErr(t, "SetTopic by a former owner", err, chat.ErrForbidden)
	}},
	{"Remove", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "club", true)
		f.invite(alice, "club", bob)
		f.invite(alice, "club", carol)
		_, err := f.s.RemoveMember(f.ctx, bob.ID, "club", "carol")
		checkErr(t, "RemoveMember by a member", err, chat.ErrForbidden)
		_, err = f.s.RemoveMember(f.ctx, alice.ID, "club", "alice")
		checkErr(t, "RemoveMember of oneself", err, chat.ErrBadRequest)
		u, err := f.s.RemoveMember(f.ctx, alice.ID, "club", "bob")
		if err != nil || u.ID != bob.ID {
			t.Fatalf("RemoveMember(bob): %+v, %v", u, err)
		}
		_, err = f.s.Room(f.ctx, bob.ID, "club")
		checkErr(t, "Room(bob, club) after removal", err, chat.ErrNotFound)
		_, _, err = f.s.Append(f.ctx, chat.NewMessage{Room: "club", From: bob, Text: "hello?"})
		checkErr(t, "Append by a removed member", err, chat.ErrNotFound)
		_, err = f.s.RemoveMember(f.ctx, alice.ID, "club", "bob")
		checkErr(t, "RemoveMember again", err, chat.ErrNotFound)
	}},
	{"HandOver", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "club", true)
		f.invite(alice, "club", bob)
		f.invite(alice, "club", carol)
		if got := f.leave(alice, "club"); got.ID != bob.ID {
			t.Fatalf("LeaveRoom by the last owner: new owner %+v, want bob (joined first)", got)
		}
		if got, want := f.roles(carol, "club"), []string{"bob:owner", "carol:member"}; !slices.Equal(got, want) {
			t.Errorf("roles after the owner left = %v, want %v", got, want)
		}
		// The new owner can invite again: the private room is not stuck.
		f.invite(bob, "club", alice)
		// A leave by one of two owners hands nothing over.
		f.setRole(bob, "club", carol, chat.RoleOwner)
		if got := f.leave(bob, "club"); got != (chat.User{}) {
			t.Errorf("LeaveRoom by one of two owners: new owner %+v, want none", got)
		}
		if got, want := f.roles(carol, "club"), []string{"alice:member", "carol:owner"}; !slices.Equal(got, want) {
			t.Errorf("roles = %v, want %v", got, want)
		}
	}},
	{"EmptyRoomNextJoinerOwns", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		if got := f.leave(alice, "lobby"); got != (chat.User{}) {
			t.Errorf("the last member leaving: new owner %+v, want none", got)
		}
		if m := f.join(bob, "lobby"); m.Room.Role != chat.RoleOwner {
			t.Errorf("joining an ownerless room: role %q, want owner", m.Room.Role)
		}
		f.join(alice, "lobby")
		if r := f.room(alice, "lobby"); r.Role != chat.RoleMember {
			t.Errorf("alice rejoining: role %q, want member", r.Role)
		}
	}},
	{"GeneralAndDMsHaveNoOwners", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		dm := f.openDM(alice, bob).Name
		for _, room := range []string{chat.General, dm} {
			if r := f.room(alice, room); r.Role != chat.RoleMember {
				t.Errorf("alice's role in %s = %q, want member", room, r.Role)
			}
			_, err := f.s.SetRole(f.ctx, alice.ID, room, "bob", chat.RoleMember)
			checkErr(t, "SetRole in "+room, err, chat.ErrForbidden)
		}
	}},
}

var descriptionTests = []test{
	{"OwnerOnlySeveralLines", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		if _, err := f.s.SetTopic(f.ctx, alice.ID, "lobby", "Say hello"); err != nil {
			t.Fatalf("SetTopic: %v", err)
		}
		desc := "Rules:\n- be kind\n- no spam"
		r, err := f.s.SetDescription(f.ctx, alice.ID, "lobby", desc)
		if err != nil || r.Description != desc || r.Topic != "Say hello" {
			t.Fatalf("SetDescription by the owner: %+v, %v; want the description, the topic unchanged", r, err)
		}
		if got := f.room(bob, "lobby").Description; got != desc {
			t.Errorf("bob sees description %q, want %q", got, desc)
		}
		rooms, _ := f.directory(carol, chat.DirectoryQuery{Query: "lobby"})
		if len(rooms) != 1 || rooms[0].Description != desc {
			t.Errorf("the directory shows carol %+v, want lobby with its description", rooms)
		}
		var joined bool
		for _, r := range f.rooms(bob) {
			joined = joined || (r.Name == "lobby" && r.Description == desc)
		}
		if !joined {
			t.Errorf("Rooms(bob) has no lobby with its description")
		}
		_, err = f.s.SetDescription(f.ctx, bob.ID, "lobby", "bob's now")
		checkErr(t, "SetDescription by a member", err, chat.ErrForbidden)
		_, err = f.s.SetDescription(f.ctx, alice.ID, chat.General, "everyone's")
		checkErr(t, "SetDescription of general", err, chat.ErrForbidden)
		f.createRoom(alice, "secret", true)
		_, err = f.s.SetDescription(f.ctx, carol.ID, "secret", "x")
		_, errMissing := f.s.SetDescription(f.ctx, carol.ID, "no-such-room", "x")
		checkSameNotFound(t, "SetDescription(carol, secret)", err, errMissing)
		if got := f.room(alice, "lobby").Description; got != desc {
			t.Errorf("description after refused changes = %q", got)
		}
	}},
	{"Bounds", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "lobby", false)
		long := strings.Repeat("é", chat.MaxDescriptionChars)
		if _, err := f.s.SetDescription(f.ctx, alice.ID, "lobby", long); err != nil {
			t.Errorf("SetDescription(%d characters): %v", chat.MaxDescriptionChars, err)
		}
		_, err := f.s.SetDescription(f.ctx, alice.ID, "lobby", long+"x")
		checkErr(t, "SetDescription(too long)", err, chat.ErrTooLarge)
		_, err = f.s.SetDescription(f.ctx, alice.ID, "lobby", "carriage\rreturn")
		checkErr(t, "SetDescription(CR)", err, chat.ErrBadRequest)
		if r, err := f.s.SetDescription(f.ctx, alice.ID, "lobby", ""); err != nil || r.Description != "" {
			t.Errorf("clearing the description: %+v, %v", r, err)
		}
		if _, _, err := f.s.ArchiveRoom(f.ctx, alice.ID, "lobby", true); err != nil {
			t.Fatalf("ArchiveRoom: %v", err)
		}
		_, err = f.s.SetDescription(f.ctx, alice.ID, "lobby", "closed")
		checkErr(t, "SetDescription of an archived room", err, chat.ErrForbidden)
	}},
}

var archiveTests = []test{
	{"Unarchive", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		if r, changed, err := f.s.ArchiveRoom(f.ctx, alice.ID, "lobby", false); err != nil || changed || r.Archived {
			t.Errorf("unarchiving a room that is not archived: %+v, changed %v, %v; want no change", r, changed, err)
		}
		if _, _, err := f.s.ArchiveRoom(f.ctx, alice.ID, "lobby", true); err != nil {
			t.Fatalf("ArchiveRoom: %v", err)
		}
		_, _, err := f.s.ArchiveRoom(f.ctx, bob.ID, "lobby", false)
		checkErr(t, "unarchiving by a member", err, chat.ErrForbidden)
		r, changed, err := f.s.ArchiveRoom(f.ctx, alice.ID, "lobby", false)
		if err != nil || !changed || r.Archived {
			t.Fatalf("unarchiving by the owner: %+v, changed %v, %v", r, changed, err)
		}
		if f.room(bob, "lobby").Archived {
			t.Errorf("bob's lobby is still archived")
		}
		f.send(bob, "lobby", "back again")
		if _, err := f.s.SetTopic(f.ctx, alice.ID, "lobby", "open"); err != nil {
			t.Errorf("SetTopic after unarchiving: %v", err)
		}
		rooms, _ := f.directory(bob, chat.DirectoryQuery{Query: "lobby"})
		if len(rooms) != 1 {
			t.Errorf("an unarchived room is back in the directory: got %v", roomNames(rooms))
		}
	}},
	{"RefusesMessagesStaysReadable", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		f.send(bob, "lobby", "before")
		_, _, err := f.s.ArchiveRoom(f.ctx, bob.ID, "lobby", true)
		checkErr(t, "ArchiveRoom by a member", err, chat.ErrForbidden)
		r, archived, err := f.s.ArchiveRoom(f.ctx, alice.ID, "lobby", true)
		if err != nil || !archived || !r.Archived {
			t.Fatalf("ArchiveRoom by the owner: %+v, %v, %v", r, archived, err)
		}
		if _, archived, err := f.s.ArchiveRoom(f.ctx, alice.ID, "lobby", true); err != nil || archived {
			t.Errorf("ArchiveRoom again: archived %v, %v; want false, nil", archived, err)
		}
		_, _, err = f.s.Append(f.ctx, chat.NewMessage{Room: "lobby", From: bob, Text: "after"})
		checkErr(t, "Append to an archived room", err, chat.ErrForbidden)
		if chat.ErrorMessage(err) != chat.ErrorMessage(chat.ErrArchived) {
			t.Errorf("Append to an archived room: message %q, want %q", chat.ErrorMessage(err), chat.ErrorMessage(chat.ErrArchived))
		}
		msgs, _ := f.history(bob, "lobby", chat.HistoryQuery{})
		checkSeqs(t, "history of an archived room", msgs, []int64{1})
		if _, _, err := f.s.MarkRead(f.ctx, bob.ID, "lobby", 1); err != nil {
			t.Errorf("MarkRead in an archived room: %v", err)
		}
		_, err = f.s.SetTopic(f.ctx, alice.ID, "lobby", "closed")
		checkErr(t, "SetTopic of an archived room", err, chat.ErrForbidden)
		if !f.room(bob, "lobby").Archived {
			t.Errorf("bob's lobby is not archived")
		}
	}},
}
