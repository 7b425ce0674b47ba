package chat

import (
	"strings"
	"testing"
)

// Rooms as the user "u_me" relates to them, for the rules of issue 9.
var (
	ownerOf     = Access{Exists: true, Owner: "u_me", Member: true, Role: RoleOwner, LastSeq: 7}
	memberOf    = Access{Exists: true, Owner: "u_owner", Member: true, Role: RoleMember, LastSeq: 7}
	archivedOwn = Access{Exists: true, Owner: "u_me", Member: true, Role: RoleOwner, Archived: true}
	archivedIn  = Access{Exists: true, Owner: "u_owner", Member: true, Role: RoleMember, Archived: true}
	// An owner row of a room that another owner leads in rooms.owner.
	coOwner  = Access{Exists: true, Owner: "u_owner", Member: true, Role: RoleOwner}
	hiddenDM = Access{Exists: true, Private: true, Member: true, Role: RoleMember, Hidden: true, LastSeq: 4}
)

var (
	ownersOnly = want{CodeForbidden, "only the room's owners may do that"}
)

func TestAccessMayManage(t *testing.T) {
	tests := []struct {
		name string
		a    Access
		want want
	}{
		{"owner", ownerOf, ok},
		{"second owner", coOwner, ok},
		{"member", memberOf, ownersOnly},
		{"general", generalIn, ownersOnly},
		{"dm", dmIn, ownersOnly},
		{"public, not joined", publicOut, notMember},
		{"private, not in", privOut, notFound},
		{"missing", missing, notFound},
		{"owner of an archived room", archivedOwn, archived},
		// A stale rooms.owner naming the user does not make them an owner.
		{"named by rooms.owner, role member", Access{Exists: true, Owner: "u_me", Member: true, Role: RoleMember}, ownersOnly},
	}
	for _, tt := range tests {
		if got := outcome(tt.a.MayManage()); got != tt.want {
			t.Errorf("%s: MayManage = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAccessMayPostArchived(t *testing.T) {
	if got := outcome(archivedIn.MayPost()); got != archived {
		t.Errorf("MayPost in an archived room = %v, want %v", got, archived)
	}
	if got := outcome(archivedIn.MayRead()); got != ok {
		t.Errorf("MayRead in an archived room = %v, want ok", got)
	}
	// Moderation outlasts the room: an owner still deletes.
	if _, err := archivedOwn.MayDelete("u_me", Message{From: User{ID: "u_other"}}); err != nil {
		t.Errorf("MayDelete by an owner of an archived room: %v", err)
	}
	if _, err := coOwner.MayDelete("u_me", Message{From: User{ID: "u_other"}}); err != nil {
		t.Errorf("MayDelete by a second owner: %v", err)
	}
}

func TestAccessMayArchive(t *testing.T) {
	tests := []struct {
		name    string
		a       Access
		already bool
		want    want
	}{
		{"owner", ownerOf, false, ok},
		{"owner, archived already", archivedOwn, true, ok},
		{"member", memberOf, false, ownersOnly},
		{"private, not in", privOut, false, notFound},
	}
	for _, tt := range tests {
		already, err := tt.a.MayArchive(true)
		if got := outcome(err); got != tt.want || already != tt.already {
			t.Errorf("%s: MayArchive(true) = %v, %v; want %v, %v", tt.name, already, got, tt.already, tt.want)
		}
		// Unarchiving is the same rule, from the other side.
		already, err = tt.a.MayArchive(false)
		if got := outcome(err); got != tt.want || already != (err == nil && !tt.already) {
			t.Errorf("%s: MayArchive(false) = %v, %v; want %v, %v", tt.name, already, got, err == nil && !tt.already, tt.want)
		}
	}
}

func TestAccessMaySetRole(t *testing.T) {
	target := func(role string) Access { return Access{Exists: true, Member: true, Role: role} }
	notIn := want{CodeNotFound, "user is not a member of this room"}
	lastOwner := want{CodeConflict, "the room's last owner cannot become a member; make another member an owner first"}
	badRole := want{CodeBadRequest, `role must be "owner" or "member"`}
	tests := []struct {
		name   string
		a, t   Access
		role   string
		owners int
		want   want
	}{
		{"promote a member", ownerOf, target(RoleMember), RoleOwner, 1, ok},
		{"demote another owner", ownerOf, target(RoleOwner), RoleMember, 2, ok},
		{"the last owner steps down", ownerOf, target(RoleOwner), RoleMember, 1, lastOwner},
		{"owner to owner", ownerOf, target(RoleOwner), RoleOwner, 1, ok},
		{"unknown role", ownerOf, target(RoleMember), "admin", 1, badRole},
		{"target not in the room", ownerOf, Access{Exists: true}, RoleOwner, 1, notIn},
		{"by a member", memberOf, target(RoleMember), RoleOwner, 1, ownersOnly},
		{"in an archived room", archivedOwn, target(RoleMember), RoleOwner, 1, archived},
	}
	for _, tt := range tests {
		if got := outcome(tt.a.MaySetRole(tt.t, tt.role, tt.owners)); got != tt.want {
			t.Errorf("%s: MaySetRole = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAccessMayRemove(t *testing.T) {
	in := Access{Exists: true, Member: true, Role: RoleMember}
	tests := []struct {
		name   string
		a      Access
		target string
		t      Access
		want   want
	}{
		{"a member", ownerOf, "u_other", in, ok},
		{"another owner", ownerOf, "u_other", Access{Exists: true, Member: true, Role: RoleOwner}, ok},
		{"oneself", ownerOf, "u_me", ownerOf, want{CodeBadRequest, "to remove yourself, leave the room"}},
		{"not in the room", ownerOf, "u_other", Access{Exists: true}, want{CodeNotFound, "user is not a member of this room"}},
		{"by a member", memberOf, "u_other", in, ownersOnly},
	}
	for _, tt := range tests {
		if got := outcome(tt.a.MayRemove("u_me", tt.target, tt.t)); got != tt.want {
			t.Errorf("%s: MayRemove = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAccessLeave(t *testing.T) {
	dm := DMName("alice", "bob")
	tests := []struct {
		name     string
		a        Access
		room     string
		others   int
		step     LeaveStep
		handOver bool
		want     want
	}{
		{"member", memberOf, "lobby", 0, LeaveEnd, false, ok},
		{"last owner", ownerOf, "lobby", 0, LeaveEnd, true, ok},
		{"one of two owners", ownerOf, "lobby", 1, LeaveEnd, false, ok},
		{"general", generalIn, General, 0, LeaveEnd, false, ok},
		{"dm hides", dmIn, dm, 0, LeaveHide, false, ok},
		{"dm hidden already", hiddenDM, dm, 0, LeaveNothing, false, ok},
		{"public, not in", publicOut, "lobby", 0, LeaveNothing, false, ok},
		{"private, not in", privOut, "secret", 0, LeaveNothing, false, notFound},
	}
	for _, tt := range tests {
		step, handOver, err := tt.a.Leave(tt.room, tt.others)
		if got := outcome(err); got != tt.want || step != tt.step || handOver != tt.handOver {
			t.Errorf("%s: Leave = %v, %v, %v; want %v, %v, %v", tt.name, step, handOver, got, tt.step, tt.handOver, tt.want)
		}
	}
}

func TestAccessJoinShowsHiddenDM(t *testing.T) {
	if step, err := hiddenDM.Join(DMName("alice", "bob")); step != JoinShow || err != nil {
		t.Errorf("Join of a hidden DM = %v, %v; want show", step, err)
	}
}

func TestAccessNewMemberRole(t *testing.T) {
	tests := []struct {
		name string
		a    Access
		room string
		want string
	}{
		{"a room being created", missing, "lobby", RoleOwner},
		{"a room with an owner", publicOut, "lobby", RoleMember},
		{"a room everyone left", Access{Exists: true}, "lobby", RoleOwner},
		{"general", Access{Exists: true}, General, RoleMember},
		{"a dm", Access{Exists: true, Private: true}, DMName("alice", "bob"), RoleMember},
	}
	for _, tt := range tests {
		if got := tt.a.NewMemberRole(tt.room); got != tt.want {
			t.Errorf("%s: NewMemberRole = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	tests := []struct {
		topic string
		code  Code
	}{
		{"", ""},
		{"Say hello 👋", ""},
		{strings.Repeat("é", MaxTopicChars), ""},
		{strings.Repeat("é", MaxTopicChars+1), CodeTooLarge},
		{"two\nlines", CodeBadRequest},
		{"tab\there", CodeBadRequest},
		{"nul\x00", CodeBadRequest},
		{"bad \xff utf-8", CodeBadRequest},
	}
	for _, tt := range tests {
		if got := ErrorCode(CheckTopic(tt.topic)); got != tt.code {
			t.Errorf("CheckTopic(%q) = %q, want %q", tt.topic, got, tt.code)
		}
	}
}

func TestCheckDescription(t *testing.T) {
	tests := []struct {
		desc string
		code Code
	}{
		{"", ""},
		{"Rules:\n- be kind\n- no spam\tplease", ""},
		{strings.Repeat("é", MaxDescriptionChars), ""},
		{strings.Repeat("é", MaxDescriptionChars+1), CodeTooLarge},
		{"windows\r\nline", CodeBadRequest},
		{"nul\x00", CodeBadRequest},
		{"bell\a", CodeBadRequest},
		{"bad \xff utf-8", CodeBadRequest},
	}
	for _, tt := range tests {
		if got := ErrorCode(CheckDescription(tt.desc)); got != tt.code {
			t.Errorf("CheckDescription(%q) = %q, want %q", tt.desc, got, tt.code)
		}
	}
}

func TestDirectoryQueryCheck(t *testing.T) {
	q, err := DirectoryQuery{Query: "Go-Dév"}.Check()
	if err != nil || q.Query != "go-dév" || q.Limit != DefaultDirectoryLimit {
		t.Errorf("Check = %+v, %v; want query folded for ASCII only, default limit", q, err)
	}
	for _, bad := range []DirectoryQuery{{Limit: -1}, {Limit: MaxDirectoryLimit + 1}, {Query: "\xff"}, {Query: strings.Repeat("x", MaxDirectoryQuery+1)}} {
		if _, err := bad.Check(); ErrorCode(err) != CodeBadRequest {
			t.Errorf("Check(%+v) = %v, want bad_request", bad, err)
		}
	}
}
