package chat

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
	Owner    string // the owning user's ID; "" for general and for DMs
	LastSeq  int64  // the room's last seq: where a new member's read marker starts
	Member   bool   // the user is a member
	LastRead int64  // the member's read marker
	Archived bool   // an operator made the room read-only
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

// MayPost returns nil if the user may post to the room, or edit there:
// every member may, unless the room is archived (ErrArchived, asked after
// membership, so that an outsider learns nothing more).
//
// The stores' one-statement Appends join the sender's membership in SQL,
// for speed; they ask MayPost why only when that statement stored nothing.
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
// author or the room's owner, either a member. already is true if m is
// deleted: deleting twice is no error and changes nothing.
func (a Access) MayDelete(userID string, m Message) (already bool, err error) {
	switch err := a.MayRead(); { // also in an archived room: moderation goes on
	case err != nil:
		return false, err
	case m.From.ID != userID && a.Owner != userID:
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
)

func (s JoinStep) String() string {
	switch s {
	case JoinCreate:
		return "create"
	case JoinAdd:
		return "add"
	case JoinAlready:
		return "already"
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
	case a.Owner != userID:
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
