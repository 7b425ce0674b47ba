package chat

import (
	"unicode"
	"unicode/utf8"
)

// The store's rules: who may see a room, read and post in it, join, leave
// and invite to it, edit and delete its messages, and where a read marker
// goes. Every Store reads an Access with its own SQL and asks these methods
// what to do, so that each rule is written once, here, for every Store.

// Errors that the rules answer and that stores also answer for a missing
// row. Match them with errors.Is(err, ErrNotFound) and the like: their
// codes are the contract, their messages are for people.
var (
	// ErrRoomNotFound is also the answer for a private room the user is not
	// in, with the same message, so it does not reveal that the room exists.
	ErrRoomNotFound = Errorf(CodeNotFound, "room not found")
	// ErrNotMember refuses reads and writes of a public room's messages to
	// a user who has not joined it.
	ErrNotMember = Errorf(CodeForbidden, "not a member of this room")
)

var (
	errRoomName     = Errorf(CodeBadRequest, "invalid room name")
	errInvitePublic = Errorf(CodeBadRequest, "room is public: anyone may join it")
	errInviteOwner  = Errorf(CodeForbidden, "only the room's owner may invite")
	errEditAuthor   = Errorf(CodeForbidden, "only the author may edit a message")
	errEditDeleted  = Errorf(CodeConflict, "message is deleted")
	errDeleteWho    = Errorf(CodeForbidden, "only the author or the room's owner may delete a message")
)

// Access is a room and one user's relation to it, as a store reads it in
// one row: everything the rules below decide on. The zero Access is a room
// that does not exist.
type Access struct {
	Exists   bool
	Private  bool   // DMs included
	Owner    string // one owning user's ID; "" for general, for DMs and for a room without owners
	Archived bool   // the room refuses new messages and changes
	LastSeq  int64  // the room's last seq: where a new member's read marker starts
	Member   bool   // the user is a member
	Role     string // the member's role: RoleOwner or RoleMember; "" if not a member
	Hidden   bool   // the member hid this DM (see Leave)
	LastRead int64  // the member's read marker
}

// MayView returns ErrRoomNotFound unless the user may know that the room
// exists: it does, and it is public or they are in it.
func (a Access) MayView() error {
	if !a.Exists || (a.Private && !a.Member) {
		return ErrRoomNotFound
	}
	return nil
}

// MayRead returns nil if the user may read the room's messages, that is if
// they are a member. A room they may not view is ErrRoomNotFound; a public
// room they have not joined is ErrNotMember.
func (a Access) MayRead() error {
	if err := a.MayView(); err != nil {
		return err
	}
	if !a.Member {
		return ErrNotMember
	}
	return nil
}

// MayPost returns nil if the user may post to the room: every member may,
// unless the room is archived (ErrArchived).
//
// The stores' one-statement Appends join the sender's membership (and
// the archived flag) in SQL, for speed; they ask MayPost why only when
// that statement stored nothing.
func (a Access) MayPost() error {
	if err := a.MayRead(); err != nil {
		return err
	}
	if a.Archived {
		return ErrArchived
	}
	return nil
}

// MayEdit returns nil if userID may replace the text of m, a message of the
// room: only its author, a member, and not once it is deleted. A store
// asks MayPost before it looks the message up, so that a non-member
// learns nothing of the room's messages; MayEdit asks it again, to be the
// whole rule.
func (a Access) MayEdit(userID string, m Message) error {
	switch err := a.MayPost(); {
	case err != nil:
		return err
	case m.From.ID != userID:
		return errEditAuthor
	case m.Deleted:
		return errEditDeleted
	}
	return nil
}

// MayDelete returns nil if userID may delete m, a message of the room: its
// author or an owner of the room, either a member. already is true if m is
// deleted: deleting twice is no error and changes nothing. An archived
// room's messages may still be deleted (moderation outlasts the room).
func (a Access) MayDelete(userID string, m Message) (already bool, err error) {
	switch err := a.MayRead(); { // also in an archived room: moderation goes on
	case err != nil:
		return false, err
	case m.From.ID != userID && !a.IsOwner():
		return false, errDeleteWho
	}
	return m.Deleted, nil
}

// ClampRead returns the read marker after the member marks seq read: it
// moves forward only, and never past the room's last seq.
func (a Access) ClampRead(seq int64) int64 {
	return max(a.LastRead, min(seq, a.LastSeq))
}

// JoinStep is what joining a room does, as Access.Join decides it.
type JoinStep int

// The steps of a join that is not refused.
const (
	// JoinCreate: the room does not exist. Create it, public and owned by
	// the joiner, who becomes its first member with the read marker at 0.
	JoinCreate JoinStep = iota + 1
	// JoinAdd: add the joiner as a member, read marker at LastSeq.
	JoinAdd
	// JoinAlready: the joiner is a member; nothing changes, the read
	// marker included.
	JoinAlready
	// JoinShow: the joiner is a member who hid this DM: show it again,
	// read marker unchanged.
	JoinShow
)

func (s JoinStep) String() string {
	switch s {
	case JoinCreate:
		return "create"
	case JoinAdd:
		return "add"
	case JoinAlready:
		return "already"
	case JoinShow:
		return "show"
	}
	return "refuse"
}

// Join decides what the user joining the room called name does. A public
// room is joined, and created on first join; a private room only "joins"
// a member (JoinAlready), and is ErrRoomNotFound to anyone else. A DM name
// is never created this way (ErrRoomNotFound, as for a private room): only
// OpenDM makes DMs, so nobody may claim a DM's name as an ordinary room. A
// name that could not be created is refused with a bad_request.
func (a Access) Join(name string) (JoinStep, error) {
	switch {
	case !a.Exists && IsDMName(name):
		return 0, ErrRoomNotFound
	case !a.Exists:
		if err := CheckRoomName(name); err != nil {
			return 0, err
		}
		return JoinCreate, nil
	case a.Member && a.Hidden:
		return JoinShow, nil
	case a.Member:
		return JoinAlready, nil
	case a.Private:
		return 0, ErrRoomNotFound
	}
	return JoinAdd, nil
}

// MayLeave decides a leave: leave is true if there is a membership to
// end. Leaving a public room one is not in is no error; a room one may not
// view is ErrRoomNotFound.
func (a Access) MayLeave() (leave bool, err error) {
	if err := a.MayView(); err != nil {
		return false, err
	}
	return a.Member, nil
}

// MayInvite returns nil if userID, whose access this is, may invite others
// to the room: only to a private room, and only its owner. The invitee's
// read marker starts at LastSeq, as a joiner's does.
func (a Access) MayInvite(userID string) error {
	switch err := a.MayView(); {
	case err != nil:
		return err
	case !a.Private:
		return errInvitePublic
	case !a.IsOwner():
		return errInviteOwner
	}
	return nil
}

// CheckRoomName returns a bad_request unless name may name a room that a
// user creates (CreateRoom, or a first join): ValidRoomName, which DM names
// are not.
func CheckRoomName(name string) error {
	if !ValidRoomName(name) {
		return errRoomName
	}
	return nil
}

// Roles of a room's members. A room that has owners (Ownable) keeps at
// least one while it has members: see Leave and MaySetRole.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return r == RoleOwner || r == RoleMember }

// Ownable reports whether the room called name has owners: every room but
// general (everyone's, nobody's) and DMs (two equals).
func Ownable(name string) bool { return name != General && !IsDMName(name) }

var (
	errOwnersOnly  = Errorf(CodeForbidden, "only the room's owners may do that")
	errBadRole     = Errorf(CodeBadRequest, `role must be "owner" or "member"`)
	errLastOwner   = Errorf(CodeConflict, "the room's last owner cannot become a member; make another member an owner first")
	errRemoveSelf  = Errorf(CodeBadRequest, "to remove yourself, leave the room")
	errNotInRoom   = Errorf(CodeNotFound, "user is not a member of this room")
	errTopicLength = Errorf(CodeTooLarge, "topic is longer than %d characters", MaxTopicChars)
	errTopicChars  = Errorf(CodeBadRequest, "topic must be one line of valid UTF-8 without control characters")
	errDescLength  = Errorf(CodeTooLarge, "description is longer than %d characters", MaxDescriptionChars)
	errDescChars   = Errorf(CodeBadRequest, "description must be valid UTF-8 without control characters other than line breaks and tabs")
)

// IsOwner reports whether the user is an owner of the room.
func (a Access) IsOwner() bool { return a.Member && a.Role == RoleOwner }

// NewMemberRole is the role of a user who joins the room called name, or
// is invited to it: owner of an ownable room that has no owner (a room
// being created, or one that everyone left), else member.
func (a Access) NewMemberRole(name string) string {
	if Ownable(name) && a.Owner == "" {
		return RoleOwner
	}
	return RoleMember
}

// MayManage returns nil if the user may change the room: set its topic,
// change roles, remove members. Only its owners may, and not once the
// room is archived.
func (a Access) MayManage() error {
	switch err := a.MayRead(); {
	case err != nil:
		return err
	case !a.IsOwner():
		return errOwnersOnly
	case a.Archived:
		return ErrArchived
	}
	return nil
}

// MayArchive returns nil if the user may archive the room (archive true)
// or bring it back (archive false): an owner, archived or not. already is
// true if the room is that way: doing it twice changes nothing.
func (a Access) MayArchive(archive bool) (already bool, err error) {
	switch err := a.MayRead(); {
	case err != nil:
		return false, err
	case !a.IsOwner():
		return false, errOwnersOnly
	}
	return a.Archived == archive, nil
}

// MaySetRole returns nil if the user may give target, a user of the room
// (target is their Access), the role role; owners is how many owners the
// room has. The last owner cannot step down: the room would have nobody
// to run it.
func (a Access) MaySetRole(target Access, role string, owners int) error {
	switch err := a.MayManage(); {
	case err != nil:
		return err
	case !ValidRole(role):
		return errBadRole
	case !target.Member:
		return errNotInRoom
	case target.Role == RoleOwner && role == RoleMember && owners <= 1:
		return errLastOwner
	}
	return nil
}

// MayRemove returns nil if the user userID may remove targetID, whose
// Access is target, from the room: an owner may remove any other member.
func (a Access) MayRemove(userID, targetID string, target Access) error {
	switch err := a.MayManage(); {
	case err != nil:
		return err
	case targetID == userID:
		return errRemoveSelf
	case !target.Member:
		return errNotInRoom
	}
	return nil
}

// LeaveStep is what leaving a room does, as Access.Leave decides it.
type LeaveStep int

// The steps of a leave.
const (
	// LeaveNothing: there is no membership to end (a public room one is
	// not in, a DM hidden already).
	LeaveNothing LeaveStep = iota
	// LeaveEnd: end the membership.
	LeaveEnd
	// LeaveHide: a DM is hidden, not left: the membership stays (the other
	// side can still write, and presence there stays true), and the next
	// message shows it again. Its hidden mark is the room's LastSeq.
	LeaveHide
)

// Leave decides the user's leaving of the room called name. otherOwners
// is how many owners the room has besides the user (only asked of an
// owner). handOver is true when the user is its last owner: the member who
// joined it first then becomes owner (if anyone is left). A room one may
// not view is ErrRoomNotFound.
func (a Access) Leave(name string, otherOwners int) (step LeaveStep, handOver bool, err error) {
	switch leave, err := a.MayLeave(); {
	case err != nil:
		return LeaveNothing, false, err
	case !leave:
		return LeaveNothing, false, nil
	case IsDMName(name) && a.Hidden:
		return LeaveNothing, false, nil
	case IsDMName(name):
		return LeaveHide, false, nil
	}
	return LeaveEnd, a.IsOwner() && otherOwners == 0, nil
}

// MaxTopicChars is the longest room topic, in Unicode code points.
const MaxTopicChars = 250

// CheckTopic validates a room topic: at most MaxTopicChars code points of
// valid UTF-8, one line, no control characters. "" clears the topic.
func CheckTopic(topic string) error {
	if !utf8.ValidString(topic) {
		return errTopicChars
	}
	for _, r := range topic {
		if unicode.IsControl(r) {
			return errTopicChars
		}
	}
	if utf8.RuneCountInString(topic) > MaxTopicChars {
		return errTopicLength
	}
	return nil
}

// MaxDescriptionChars is the longest room description, in Unicode code
// points: room for a few paragraphs of rules or links beside the one-line
// topic.
const MaxDescriptionChars = 1000

// CheckDescription validates a room description: at most
// MaxDescriptionChars code points of valid UTF-8, several lines allowed
// ("\n", and tabs), no other control characters (a "\r" too is refused:
// one line break, one way). "" clears the description.
func CheckDescription(d string) error {
	if !utf8.ValidString(d) {
		return errDescChars
	}
	for _, r := range d {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return errDescChars
		}
	}
	if utf8.RuneCountInString(d) > MaxDescriptionChars {
		return errDescLength
	}
	return nil
}
