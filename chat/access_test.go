package chat

import (
	"strings"
	"testing"
)

// The rooms the tables below ask about, as the user "u_me" relates to them.
var (
	missing   = Access{}
	publicOut = Access{Exists: true, Owner: "u_owner", LastSeq: 7}
	publicIn  = Access{Exists: true, Owner: "u_owner", LastSeq: 7, Member: true, Role: RoleMember, LastRead: 3}
	publicOwn = Access{Exists: true, Owner: "u_me", LastSeq: 7, Member: true, Role: RoleOwner, LastRead: 3}
	generalIn = Access{Exists: true, LastSeq: 7, Member: true, Role: RoleMember, LastRead: 3} // no owner
	privOut   = Access{Exists: true, Private: true, Owner: "u_owner", LastSeq: 7}
	privIn    = Access{Exists: true, Private: true, Owner: "u_owner", LastSeq: 7, Member: true, Role: RoleMember, LastRead: 3}
	privOwn   = Access{Exists: true, Private: true, Owner: "u_me", LastSeq: 7, Member: true, Role: RoleOwner, LastRead: 3}
	dmIn      = Access{Exists: true, Private: true, LastSeq: 7, Member: true, Role: RoleMember} // no owner
	archIn    = Access{Exists: true, Owner: "u_owner", LastSeq: 7, Member: true, Role: RoleMember, LastRead: 3, Archived: true}
	archOwn   = Access{Exists: true, Owner: "u_me", LastSeq: 7, Member: true, Role: RoleOwner, LastRead: 3, Archived: true}
	archOut   = Access{Exists: true, Owner: "u_owner", LastSeq: 7, Archived: true}
)

// want is an outcome: no error (""), or the code and the client's message.
type want struct {
	code Code
	msg  string
}

var (
	ok          = want{}
	notFound    = want{CodeNotFound, "room not found"}
	notMember   = want{CodeForbidden, "not a member of this room"}
	badRoomName = want{CodeBadRequest, "invalid room name"}
	archived    = want{CodeForbidden, "room is archived: it is read-only"}
)

func outcome(err error) want {
	if err == nil {
		return ok
	}
	return want{ErrorCode(err), ErrorMessage(err)}
}

func TestAccessMayViewReadPost(t *testing.T) {
	tests := []struct {
		name       string
		a          Access
		view, read want
	}{
		{"missing", missing, notFound, notFound},
		{"public, not joined", publicOut, ok, notMember},
		{"public, member", publicIn, ok, ok},
		{"private, not in", privOut, notFound, notFound},
		{"private, member", privIn, ok, ok},
		{"dm, member", dmIn, ok, ok},
		// A membership row without its room cannot be, but must not open it.
		{"missing yet member", Access{Member: true}, notFound, notFound},
	}
	for _, tt := range tests {
		if got := outcome(tt.a.MayView()); got != tt.view {
			t.Errorf("%s: MayView = %v, want %v", tt.name, got, tt.view)
		}
		if got := outcome(tt.a.MayRead()); got != tt.read {
			t.Errorf("%s: MayRead = %v, want %v", tt.name, got, tt.read)
		}
		if got := outcome(tt.a.MayPost()); got != tt.read {
			t.Errorf("%s: MayPost = %v, want %v (as MayRead)", tt.name, got, tt.read)
		}
	}
	// An archived room is read-only, and says so only to its members.
	for _, tt := range []struct {
		name       string
		a          Access
		read, post want
	}{
		{"archived, member", archIn, ok, archived},
		{"archived, not joined", archOut, notMember, notMember},
	} {
		if got := outcome(tt.a.MayRead()); got != tt.read {
			t.Errorf("%s: MayRead = %v, want %v", tt.name, got, tt.read)
		}
		if got := outcome(tt.a.MayPost()); got != tt.post {
			t.Errorf("%s: MayPost = %v, want %v", tt.name, got, tt.post)
		}
	}
}

func TestAccessMayEdit(t *testing.T) {
	mine := Message{Seq: 1, From: User{ID: "u_me"}}
	theirs := Message{Seq: 2, From: User{ID: "u_other"}}
	mineDeleted := Message{Seq: 3, From: User{ID: "u_me"}, Deleted: true}
	theirsDeleted := Message{Seq: 4, From: User{ID: "u_other"}, Deleted: true}
	notAuthor := want{CodeForbidden, "only the author may edit a message"}
	deleted := want{CodeConflict, "message is deleted"}
	tests := []struct {
		name string
		a    Access
		m    Message
		want want
	}{
		{"author", publicIn, mine, ok},
		{"author in a private room", privIn, mine, ok},
		{"another's message", publicIn, theirs, notAuthor},
		{"the owner, another's message", publicOwn, theirs, notAuthor},
		{"author, deleted", publicIn, mineDeleted, deleted},
		// Who is checked before what: another's deleted message is theirs.
		{"another's, deleted", publicIn, theirsDeleted, notAuthor},
		{"author, no longer a member of a public room", publicOut, mine, notMember},
		{"author, no longer in a private room", privOut, mine, notFound},
		{"missing room", missing, mine, notFound},
		{"author, archived room", archIn, mine, archived},
	}
	for _, tt := range tests {
		if got := outcome(tt.a.MayEdit("u_me", tt.m)); got != tt.want {
			t.Errorf("%s: MayEdit = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAccessMayDelete(t *testing.T) {
	mine := Message{Seq: 1, From: User{ID: "u_me"}}
	theirs := Message{Seq: 2, From: User{ID: "u_other"}}
	mineDeleted := Message{Seq: 3, From: User{ID: "u_me"}, Deleted: true}
	theirsDeleted := Message{Seq: 4, From: User{ID: "u_other"}, Deleted: true}
	forbidden := want{CodeForbidden, "only the author or the room's owner may delete a message"}
	tests := []struct {
		name    string
		a       Access
		m       Message
		want    want
		already bool
	}{
		{"author", publicIn, mine, ok, false},
		{"owner, another's message", publicOwn, theirs, ok, false},
		{"owner of a private room", privOwn, theirs, ok, false},
		{"member, another's message", publicIn, theirs, forbidden, false},
		{"general has no owner", generalIn, theirs, forbidden, false},
		{"a dm has no owner", dmIn, theirs, forbidden, false},
		{"author, twice", publicIn, mineDeleted, ok, true},
		{"owner, twice", publicOwn, theirsDeleted, ok, true},
		// Who is checked before what: a stranger learns nothing more.
		{"member, another's deleted message", publicIn, theirsDeleted, forbidden, false},
		{"author, not a member", publicOut, mine, notMember, false},
		{"owner, not a member", Access{Exists: true, Owner: "u_me"}, theirs, notMember, false},
		{"private, not in", privOut, mine, notFound, false},
		{"missing room", missing, mine, notFound, false},
		// Moderation goes on in an archived room.
		{"owner, archived room", archOwn, theirs, ok, false},
		{"author, archived room", archIn, mine, ok, false},
	}
	for _, tt := range tests {
		already, err := tt.a.MayDelete("u_me", tt.m)
		if got := outcome(err); got != tt.want || already != tt.already {
			t.Errorf("%s: MayDelete = %v, %v; want %v, %v", tt.name, already, got, tt.already, tt.want)
		}
	}
}

func TestAccessClampRead(t *testing.T) {
	a := Access{Exists: true, Member: true, LastSeq: 10, LastRead: 4}
	tests := []struct {
		seq, want int64
	}{
		{6, 6},   // forward
		{10, 10}, // to the end
		{11, 10}, // clamped to the last seq
		{1 << 62, 10},
		{4, 4}, // where it is
		{2, 4}, // never back
		{0, 4},
		{-5, 4},
	}
	for _, tt := range tests {
		if got := a.ClampRead(tt.seq); got != tt.want {
			t.Errorf("ClampRead(%d) with marker 4, last seq 10 = %d, want %d", tt.seq, got, tt.want)
		}
	}
	if got := (Access{Exists: true, Member: true}).ClampRead(3); got != 0 {
		t.Errorf("ClampRead(3) in an empty room = %d, want 0", got)
	}
}

func TestAccessJoin(t *testing.T) {
	tests := []struct {
		name string
		a    Access
		room string
		step JoinStep
		want want
	}{
		{"missing: created", missing, "dev-ops_2", JoinCreate, ok},
		{"missing dm name: never created", missing, "dm:alice:bob", 0, notFound},
		{"missing, name not a room's", missing, "Caps", 0, badRoomName},
		{"missing, empty name", missing, "", 0, badRoomName},
		{"missing, too long", missing, strings.Repeat("a", 65), 0, badRoomName},
		// A DM name in the wrong order is no DM name: just an invalid one.
		{"missing, dm:b:a", missing, "dm:bob:alice", 0, badRoomName},
		{"public, not joined: added", publicOut, "dev", JoinAdd, ok},
		{"public, member: nothing", publicIn, "dev", JoinAlready, ok},
		{"private, member: nothing", privIn, "secret", JoinAlready, ok},
		{"private, not in", privOut, "secret", 0, notFound},
		{"dm, member: nothing", dmIn, "dm:alice:bob", JoinAlready, ok},
		{"dm, not in", Access{Exists: true, Private: true}, "dm:alice:bob", 0, notFound},
	}
	for _, tt := range tests {
		step, err := tt.a.Join(tt.room)
		if got := outcome(err); step != tt.step || got != tt.want {
			t.Errorf("%s: Join(%.20q) = %v, %v; want %v, %v", tt.name, tt.room, step, got, tt.step, tt.want)
		}
	}
}

func TestAccessMayLeave(t *testing.T) {
	tests := []struct {
		name  string
		a     Access
		leave bool
		want  want
	}{
		{"public, member", publicIn, true, ok},
		{"public, not joined: no-op", publicOut, false, ok},
		{"private, member", privIn, true, ok},
		{"private owner", privOwn, true, ok},
		{"dm, member", dmIn, true, ok},
		{"private, not in", privOut, false, notFound},
		{"missing", missing, false, notFound},
	}
	for _, tt := range tests {
		leave, err := tt.a.MayLeave()
		if got := outcome(err); leave != tt.leave || got != tt.want {
			t.Errorf("%s: MayLeave = %v, %v; want %v, %v", tt.name, leave, got, tt.leave, tt.want)
		}
	}
}

func TestAccessMayInvite(t *testing.T) {
	public := want{CodeBadRequest, "room is public: anyone may join it"}
	notOwner := want{CodeForbidden, "only the room's owner may invite"}
	tests := []struct {
		name string
		a    Access
		want want
	}{
		{"owner of a private room", privOwn, ok},
		{"member of a private room", privIn, notOwner},
		{"member of a dm", dmIn, notOwner},
		{"private, not in", privOut, notFound},
		{"owner of a public room", publicOwn, public},
		{"member of a public room", publicIn, public},
		{"public, not joined", publicOut, public},
		{"missing", missing, notFound},
	}
	for _, tt := range tests {
		if got := outcome(tt.a.MayInvite("u_me")); got != tt.want {
			t.Errorf("%s: MayInvite = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckRoomName(t *testing.T) {
	for name, want := range map[string]want{
		"general": ok, "a": ok, "dev-ops_2": ok, strings.Repeat("a", 64): ok,
		"": badRoomName, "Caps": badRoomName, "sp ace": badRoomName, strings.Repeat("a", 65): badRoomName,
		"dm:alice:bob": badRoomName, // only OpenDM makes DMs
	} {
		if got := outcome(CheckRoomName(name)); got != want {
			t.Errorf("CheckRoomName(%.20q) = %v, want %v", name, got, want)
		}
	}
}
