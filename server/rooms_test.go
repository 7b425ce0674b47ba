package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
)

// Issue 9 over real WebSockets: the directory, topics, member lists, roles
// and archiving.

func createRoom(t *testing.T, c *chatdtest.Client, name string, private bool) chat.Room {
	t.Helper()
	var ack protocol.RoomAck
	c.Ack("create_room", protocol.CreateRoom{Room: name, Private: private}, &ack)
	return ack.Room
}

func join(t *testing.T, c *chatdtest.Client, name string) chat.Room {
	t.Helper()
	var ack protocol.RoomAck
	c.Ack("join_room", protocol.RoomRef{Room: name}, &ack)
	return ack.Room
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

func mustDecode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

func names(rooms []chat.Room) []string {
	var out []string
	for _, r := range rooms {
		out = append(out, r.Name)
	}
	return out
}

func TestDirectory(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	createRoom(t, alice, "go-dev", false)
	createRoom(t, alice, "secret", true)
	createRoom(t, alice, "cooking", false)
	alice.Ack("set_topic", protocol.SetTopic{Room: "cooking", Topic: "Recipes in Go and elsewhere"}, nil)
	send(t, alice, "go-dev", "first")

	bob, bobAcc, _ := online(t, srv, "bob")
	var dir protocol.DirectoryAck
	bob.Ack("list_public_rooms", protocol.ListPublicRooms{}, &dir)
	if got, want := names(dir.Rooms), []string{"cooking", "general", "go-dev"}; !equal(got, want) || dir.NextCursor != "" {
		t.Fatalf("directory = %v next %q, want %v (public only)", got, dir.NextCursor, want)
	}
	goDev := roomOf(t, dir.Rooms, "go-dev")
	if goDev.Joined || goDev.Role != "" || goDev.MemberCount != 1 || goDev.LastActivity == nil || goDev.MembersOnline != 1 {
		t.Errorf("go-dev in bob's directory: %+v, want not joined, 1 member (online), a last activity", goDev)
	}
	bob.Ack("list_public_rooms", protocol.ListPublicRooms{Query: "go"}, &dir)
	if got, want := names(dir.Rooms), []string{"cooking", "go-dev"}; !equal(got, want) {
		t.Errorf("directory for query go = %v, want %v (name or topic)", got, want)
	}
	bob.Ack("list_public_rooms", protocol.ListPublicRooms{Limit: 2}, &dir)
	if got := names(dir.Rooms); len(got) != 2 || dir.NextCursor == "" {
		t.Fatalf("first page of 2 = %v next %q", got, dir.NextCursor)
	}
	bob.Ack("list_public_rooms", protocol.ListPublicRooms{Limit: 2, Cursor: dir.NextCursor}, &dir)
	if got := names(dir.Rooms); !equal(got, []string{"go-dev"}) || dir.NextCursor != "" {
		t.Errorf("second page = %v next %q, want [go-dev] and the end", got, dir.NextCursor)
	}
	if code := bob.ErrorCode("list_public_rooms", protocol.ListPublicRooms{Limit: 101}); code != "bad_request" {
		t.Errorf("limit 101: %s, want bad_request", code)
	}

	// Over HTTP, the same.
	status, body := srv.Do(t, http.MethodGet, "/api/rooms/public?query=GO&limit=10", bobAcc.Token, nil)
	var httpDir protocol.DirectoryAck
	if status != http.StatusOK {
		t.Fatalf("GET /api/rooms/public: %d %s", status, body)
	}
	mustDecode(t, body, &httpDir)
	if got, want := names(httpDir.Rooms), []string{"cooking", "go-dev"}; !equal(got, want) {
		t.Errorf("GET /api/rooms/public?query=GO = %v, want %v", got, want)
	}
	if status, _ := srv.Do(t, http.MethodGet, "/api/rooms/public?limit=0", bobAcc.Token, nil); status != http.StatusBadRequest {
		t.Errorf("limit=0 over HTTP: %d, want 400", status)
	}

	// A typo asks before creating: join_room with create false.
	if code := bob.ErrorCode("join_room", protocol.JoinRoom{Room: "go-devv", Create: ptr(false)}); code != "not_found" {
		t.Errorf("join_room of a missing room with create false: %s, want not_found", code)
	}
	if code := bob.ErrorCode("join_room", protocol.JoinRoom{Room: "secret", Create: ptr(false)}); code != "not_found" {
		t.Errorf("join_room of a private room with create false: %s, want not_found", code)
	}
	bob.Ack("list_public_rooms", protocol.ListPublicRooms{Query: "devv"}, &dir)
	if len(dir.Rooms) != 0 {
		t.Errorf("the refused join created %v", names(dir.Rooms))
	}
	var ack protocol.RoomAck
	bob.Ack("join_room", protocol.JoinRoom{Room: "go-dev", Create: ptr(false)}, &ack)
	if !ack.Room.Joined || ack.Room.Role != chat.RoleMember || ack.Room.MemberCount != 2 {
		t.Errorf("joining from the directory: %+v, want joined as member of 2", ack.Room)
	}
}

func TestTopicReachesMembers(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, bobAcc, _ := online(t, srv, "bob")
	createRoom(t, alice, "lobby", false)
	join(t, bob, "lobby")
	var ack protocol.RoomAck
	alice.Ack("set_topic", protocol.SetTopic{Room: "lobby", Topic: "Say hello"}, &ack)
	if ack.Room.Topic != "Say hello" || ack.Room.Role != chat.RoleOwner {
		t.Errorf("set_topic ack: %+v", ack.Room)
	}
	var up protocol.RoomUpdated
	bob.Expect("room_updated", inRoom("lobby")).Decode(t, &up)
	if up.Topic != "Say hello" || up.Archived {
		t.Errorf("bob's room_updated = %+v", up)
	}
	if code := bob.ErrorCode("set_topic", protocol.SetTopic{Room: "lobby", Topic: "mine"}); code != "forbidden" {
		t.Errorf("set_topic by a member: %s, want forbidden", code)
	}
	if code := alice.ErrorCode("set_topic", protocol.SetTopic{Room: "lobby", Topic: "a\nb"}); code != "bad_request" {
		t.Errorf("set_topic with a newline: %s, want bad_request", code)
	}
	var rooms protocol.RoomsAck
	bob.Ack("list_rooms", struct{}{}, &rooms)
	if r := roomOf(t, rooms.Rooms, "lobby"); r.Topic != "Say hello" || r.Role != chat.RoleMember {
		t.Errorf("lobby in bob's list_rooms: %+v", r)
	}
	// A new connection's welcome carries it too.
	w := srv.Dial(t, bobAcc.Token).Welcome()
	if r := roomOf(t, w.Rooms, "lobby"); r.Topic != "Say hello" || r.Role != chat.RoleMember || r.MemberCount != 2 {
		t.Errorf("lobby in bob's welcome: %+v", r)
	}
}

func TestMembersWithOnline(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	srv.Register(t, "carol") // never connects
	createRoom(t, alice, "club", true)
	alice.Ack("invite", protocol.Invite{Room: "club", User: "bob"}, nil)
	alice.Ack("invite", protocol.Invite{Room: "club", User: "carol"}, nil)
	var ms protocol.MembersAck
	bob.Ack("members", protocol.Members{Room: "club"}, &ms)
	type row struct {
		name, role string
		online     bool
	}
	var got []row
	for _, m := range ms.Members {
		got = append(got, row{m.User.Username, m.Role, m.Online})
	}
	want := []row{{"alice", "owner", true}, {"bob", "member", true}, {"carol", "member", false}}
	if len(got) != len(want) || ms.MemberCount != 3 || ms.NextCursor != "" {
		t.Fatalf("members = %+v count %d next %q, want %+v", got, ms.MemberCount, ms.NextCursor, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	bob.Ack("members", protocol.Members{Room: "club", Limit: 2}, &ms)
	if len(ms.Members) != 2 || ms.NextCursor == "" {
		t.Fatalf("page of 2: %+v", ms)
	}
	bob.Ack("members", protocol.Members{Room: "club", Limit: 2, Cursor: ms.NextCursor}, &ms)
	if len(ms.Members) != 1 || ms.Members[0].User.Username != "carol" {
		t.Errorf("second page: %+v", ms)
	}
	dave, _, _ := online(t, srv, "dave")
	if code := dave.ErrorCode("members", protocol.Members{Room: "club"}); code != "not_found" {
		t.Errorf("members of a private room by an outsider: %s, want not_found", code)
	}
}

func TestRolesRemoveAndArchive(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	carol1, carol2 := connectTwice(t, srv, "carol")
	createRoom(t, alice, "club", true)
	for _, u := range []string{"bob", "carol"} {
		alice.Ack("invite", protocol.Invite{Room: "club", User: u}, nil)
	}
	bob.Expect("room_added", inRoom("club"))
	carol1.Expect("room_added", inRoom("club"))
	carol2.Expect("room_added", inRoom("club"))

	if code := bob.ErrorCode("set_role", protocol.SetRole{Room: "club", User: "bob", Role: "owner"}); code != "forbidden" {
		t.Errorf("set_role by a member: %s, want forbidden", code)
	}
	var mu protocol.MemberUpdated
	alice.Ack("set_role", protocol.SetRole{Room: "club", User: "bob", Role: "owner"}, &mu)
	if mu.User.Username != "bob" || mu.Role != "owner" {
		t.Errorf("set_role ack: %+v", mu)
	}
	bob.Expect("member_updated", inRoom("club")).Decode(t, &mu)
	if mu.User.Username != "bob" || mu.Role != "owner" {
		t.Errorf("bob's member_updated: %+v", mu)
	}
	carol1.Expect("member_updated", inRoom("club"))

	// The new owner deletes another's message.
	m := send(t, carol1, "club", "spam")
	bob.Ack("delete_message", protocol.MessageRef{Room: "club", Seq: m.Seq}, nil)

	// Removing carol reaches both her connections.
	var ma protocol.MemberAck
	bob.Ack("remove_member", protocol.Invite{Room: "club", User: "carol"}, &ma)
	if ma.User.Username != "carol" {
		t.Errorf("remove_member ack: %+v", ma)
	}
	carol1.Expect("room_removed", inRoom("club"))
	carol2.Expect("room_removed", inRoom("club"))
	if code := carol1.ErrorCode("send_message", protocol.SendMessage{Room: "club", Text: "still here?"}); code != "not_found" {
		t.Errorf("send by a removed member: %s, want not_found", code)
	}
	send(t, alice, "club", "after carol")
	carol2.ExpectNone("new_message", func(f chatdtest.Frame) bool {
		return messageOf(t, f).Text == "after carol"
	}, 200*time.Millisecond)

	// Archive: refuses messages with a clear error, stays readable.
	var ra protocol.RoomAck
	alice.Ack("archive_room", protocol.RoomRef{Room: "club"}, &ra)
	if !ra.Room.Archived {
		t.Errorf("archive_room ack: %+v", ra.Room)
	}
	var up protocol.RoomUpdated
	bob.Expect("room_updated", inRoom("club")).Decode(t, &up)
	if !up.Archived {
		t.Errorf("bob's room_updated: %+v", up)
	}
	f := bob.Request("send_message", protocol.SendMessage{Room: "club", Text: "too late"})
	var e protocol.ErrorPayload
	f.Decode(t, &e)
	if f.Type != "error" || e.Code != "forbidden" || e.Message != "room is archived: it is read-only" {
		t.Errorf("send to an archived room: %s %+v, want forbidden \"room is archived: it is read-only\"", f.Type, e)
	}
	var h protocol.HistoryAck
	bob.Ack("history", protocol.History{Room: "club"}, &h)
	if len(h.Messages) != 2 {
		t.Errorf("history of the archived room: %d messages, want 2", len(h.Messages))
	}
}

func TestLastOwnerLeavesHandsOver(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	carol, _, _ := online(t, srv, "carol")
	createRoom(t, alice, "club", true)
	alice.Ack("invite", protocol.Invite{Room: "club", User: "bob"}, nil)
	alice.Ack("invite", protocol.Invite{Room: "club", User: "carol"}, nil)
	bob.Expect("room_added", inRoom("club"))
	alice.Ack("leave_room", protocol.RoomRef{Room: "club"}, nil)
	var mu protocol.MemberUpdated
	carol.Expect("member_updated", inRoom("club")).Decode(t, &mu)
	if mu.User.Username != "bob" || mu.Role != chat.RoleOwner {
		t.Errorf("after the last owner left: %+v, want bob as owner", mu)
	}
	// The room is not stuck: its new owner invites.
	bob.Ack("invite", protocol.Invite{Room: "club", User: "alice"}, nil)
	alice.Expect("room_added", inRoom("club"))
}

// TestRoleAndTopicAcrossNodes: a role change and a topic change made on
// one node reach a member connected to the other.
func TestRoleAndTopicAcrossNodes(t *testing.T) {
	a := start(t)
	b := chatdtest.Start(t, chatdtest.Options{Store: a.Store, Bus: a.Bus})
	alice, _, _ := online(t, a, "alice")
	bobAcc := a.Register(t, "bob")
	bob := b.Dial(t, bobAcc.Token)
	bob.Welcome()
	createRoom(t, alice, "lobby", false)
	join(t, bob, "lobby")
	alice.Ack("set_topic", protocol.SetTopic{Room: "lobby", Topic: "from node a"}, nil)
	var up protocol.RoomUpdated
	bob.Expect("room_updated", inRoom("lobby")).Decode(t, &up)
	if up.Topic != "from node a" {
		t.Errorf("bob on node b: %+v", up)
	}
	alice.Ack("set_role", protocol.SetRole{Room: "lobby", User: "bob", Role: "owner"}, nil)
	var mu protocol.MemberUpdated
	bob.Expect("member_updated", inRoom("lobby")).Decode(t, &mu)
	if mu.User.Username != "bob" || mu.Role != "owner" {
		t.Errorf("bob on node b: %+v", mu)
	}
	// And bob, an owner now, acts on node b; alice sees it on node a.
	bob.Ack("set_topic", protocol.SetTopic{Room: "lobby", Topic: "from node b"}, nil)
	alice.Expect("room_updated", func(f chatdtest.Frame) bool {
		var u protocol.RoomUpdated
		f.Decode(t, &u)
		return u.Topic == "from node b"
	})
}

// memberOf matches member_joined and member_left events about username in
// room.
func memberOf(t *testing.T, room, username string) func(chatdtest.Frame) bool {
	return func(f chatdtest.Frame) bool {
		var m protocol.MemberUpdated
		f.Decode(t, &m)
		return m.Room == room && m.User.Username == username
	}
}

func TestDescriptionReachesMembers(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, bobAcc, _ := online(t, srv, "bob")
	createRoom(t, alice, "lobby", false)
	join(t, bob, "lobby")
	alice.Ack("set_topic", protocol.SetTopic{Room: "lobby", Topic: "Say hello"}, nil)
	bob.Expect("room_updated", inRoom("lobby"))
	desc := "Rules:\n- be kind\n- no spam"
	var ack protocol.RoomAck
	alice.Ack("set_description", protocol.SetDescription{Room: "lobby", Description: desc}, &ack)
	if ack.Room.Description != desc || ack.Room.Topic != "Say hello" {
		t.Errorf("set_description ack: %+v", ack.Room)
	}
	var up protocol.RoomUpdated
	bob.Expect("room_updated", inRoom("lobby")).Decode(t, &up)
	if up.Description != desc || up.Topic != "Say hello" || up.Archived {
		t.Errorf("bob's room_updated = %+v, want the description with the topic unchanged", up)
	}
	if code := bob.ErrorCode("set_description", protocol.SetDescription{Room: "lobby", Description: "mine"}); code != "forbidden" {
		t.Errorf("set_description by a member: %s, want forbidden", code)
	}
	if code := alice.ErrorCode("set_description", protocol.SetDescription{Room: "lobby", Description: "a\rb"}); code != "bad_request" {
		t.Errorf("set_description with a CR: %s, want bad_request", code)
	}
	long := make([]byte, chat.MaxDescriptionChars+1)
	for i := range long {
		long[i] = 'x'
	}
	if code := alice.ErrorCode("set_description", protocol.SetDescription{Room: "lobby", Description: string(long)}); code != "too_large" {
		t.Errorf("set_description too long: %s, want too_large", code)
	}
	w := srv.Dial(t, bobAcc.Token).Welcome()
	if r := roomOf(t, w.Rooms, "lobby"); r.Description != desc {
		t.Errorf("lobby in bob's welcome: %+v", r)
	}
	var dir protocol.DirectoryAck
	bob.Ack("list_public_rooms", protocol.ListPublicRooms{Query: "lobby"}, &dir)
	if len(dir.Rooms) != 1 || dir.Rooms[0].Description != desc {
		t.Errorf("directory: %+v", dir.Rooms)
	}
}

func TestMemberJoinedAndLeft(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	carol, _, _ := online(t, srv, "carol")
	createRoom(t, alice, "lobby", false)

	join(t, bob, "lobby")
	var mj protocol.MemberUpdated
	alice.Expect("member_joined", memberOf(t, "lobby", "bob")).Decode(t, &mj)
	if mj.Role != chat.RoleMember {
		t.Errorf("member_joined for bob: %+v, want role member", mj)
	}
	join(t, bob, "lobby") // already a member: nothing to tell
	alice.ExpectNone("member_joined", memberOf(t, "lobby", "bob"), 200*time.Millisecond)

	bob.Ack("leave_room", protocol.RoomRef{Room: "lobby"}, nil)
	alice.Expect("member_left", memberOf(t, "lobby", "bob"))
	carol.Ack("leave_room", protocol.RoomRef{Room: "lobby"}, nil) // never joined
	alice.ExpectNone("member_left", memberOf(t, "lobby", "carol"), 200*time.Millisecond)

	// Invited and removed, in a private room.
	createRoom(t, alice, "club", true)
	alice.Ack("invite", protocol.Invite{Room: "club", User: "bob"}, nil)
	alice.Expect("member_joined", memberOf(t, "club", "bob"))
	alice.Ack("invite", protocol.Invite{Room: "club", User: "carol"}, nil)
	bob.Expect("member_joined", memberOf(t, "club", "carol"))
	alice.Ack("remove_member", protocol.Invite{Room: "club", User: "carol"}, nil)
	bob.Expect("member_left", memberOf(t, "club", "carol"))
	// (carol's own connections may hear of it too, before their
	// room_removed detaches them: the two travel on different topics.)
}

func TestUnarchive(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	createRoom(t, alice, "lobby", false)
	join(t, bob, "lobby")
	alice.Ack("archive_room", protocol.RoomRef{Room: "lobby"}, nil) // no "archived": archives, as before
	bob.Expect("room_updated", inRoom("lobby"))
	no := false
	if code := bob.ErrorCode("archive_room", protocol.ArchiveRoom{Room: "lobby", Archived: &no}); code != "forbidden" {
		t.Errorf("unarchiving by a member: %s, want forbidden", code)
	}
	var ra protocol.RoomAck
	alice.Ack("archive_room", protocol.ArchiveRoom{Room: "lobby", Archived: &no}, &ra)
	if ra.Room.Archived {
		t.Errorf("archive_room archived:false ack: %+v", ra.Room)
	}
	var up protocol.RoomUpdated
	bob.Expect("room_updated", inRoom("lobby")).Decode(t, &up)
	if up.Archived {
		t.Errorf("bob's room_updated after unarchiving: %+v", up)
	}
	send(t, bob, "lobby", "open again")
	alice.Ack("archive_room", protocol.ArchiveRoom{Room: "lobby", Archived: &no}, nil) // twice: just acks
	bob.ExpectNone("room_updated", inRoom("lobby"), 200*time.Millisecond)
}
