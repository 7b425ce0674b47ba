package chat

import (
	"context"
	"slices"
	"time"
)

// Session is a login session. The token itself is never stored, only its
// SHA-256 hash, so a leaked database does not leak live sessions.
type Session struct {
	TokenHash []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// NewMessage is a message to be appended to a room. From is the
// authenticated sender; the store never trusts anything else for it.
type NewMessage struct {
	Room        string
	From        User
	Text        string
	ClientMsgID string // optional; unique per (room, sender) when set
	SentAt      time.Time
	ReplyTo     int64 // optional: the seq of a message of Room that this answers
	// Attachments are ids of files From uploaded to Room and has not sent
	// yet (see FileStore); with any, Text may be empty.
	Attachments []string
}

// HistoryQuery selects a page of a room's messages.
//   - After (or AfterSeq > 0): the first Limit messages with seq > AfterSeq;
//     AfterSeq 0 with After set pages from the room's first message.
//   - BeforeSeq > 0: the last Limit messages with seq < BeforeSeq.
//   - neither: the newest Limit messages.
//
// Pages are always ascending by seq. Both directions at once, a negative
// bound, or a limit outside 0–MaxHistoryLimit is ErrBadRequest.
type HistoryQuery struct {
	BeforeSeq int64
	AfterSeq  int64
	After     bool  // AfterSeq was given, even as 0
	Limit     int   // 1–MaxHistoryLimit; 0 means DefaultHistoryLimit
	Thread    int64 // > 0: page the replies of that message instead of the room
}

// History page sizes.
const (
	DefaultHistoryLimit = 50
	MaxHistoryLimit     = 100
)

// Check validates q and returns it with its limit filled in: the one place
// that says what a history query may ask, for every Store.
func (q HistoryQuery) Check() (HistoryQuery, error) {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultHistoryLimit
	case q.Limit < 0 || q.Limit > MaxHistoryLimit:
		return q, Errorf(CodeBadRequest, "limit must be 1-%d", MaxHistoryLimit)
	}
	if q.AfterSeq > 0 {
		q.After = true
	}
	if q.Thread < 0 {
		return q, Errorf(CodeBadRequest, "thread must be a positive seq")
	}
	if q.BeforeSeq < 0 || q.AfterSeq < 0 || (q.BeforeSeq > 0 && q.After) {
		return q, Errorf(CodeBadRequest, "give at most one of before_seq and after_seq, not negative")
	}
	return q, nil
}

// Page makes the page that q asks for out of rows, what a store read for
// it: up to Limit+1 messages (the one more tells whether more exist),
// ascending by seq if q.After, else descending from the newest. The page
// is ascending, and more reports whether messages exist beyond it in the
// query's direction. Page reuses rows' array.
func (q HistoryQuery) Page(rows []Message) (page []Message, more bool) {
	more = len(rows) > q.Limit
	page = rows[:min(len(rows), q.Limit)]
	if !q.After {
		slices.Reverse(page)
	}
	return page, more
}

// Membership is the outcome of a request that may add users to a room.
type Membership struct {
	Room  Room // as the acting user sees it
	Added bool // the user (or invitee) was not a member before
}

// UserInfo is an account as an operator sees it (chatd user list).
type UserInfo struct {
	User
	CreatedAt time.Time
	Disabled  bool
	Sessions  int // sessions that have not expired
}

// RoomInfo is a room as an operator sees it (chatd room list).
type RoomInfo struct {
	Name      string
	Private   bool
	Owner     string // the owner's username; "" for general and DMs
	Members   int
	LastSeq   int64
	Archived  bool
	CreatedAt time.Time
}

// Revocation records that a user's sessions were revoked, or the user
// disabled, so that every node closes the WebSockets those sessions opened.
type Revocation struct {
	ID     int64 // increases in commit order
	UserID string
}

// Store is chatd's durable state. Implementations: sqlite (the embedded
// default) and postgres. Every implementation must pass storetest.Run.
//
// Guarantees every implementation gives:
//   - Append assigns seq = last_seq+1 of the room in the same transaction as
//     the insert, so a room's seqs are 1, 2, 3, ... with no gap or repeat even
//     with several writers (several nodes) at once; when Append returns, the
//     message is durable, and so is every message of the room with a lower seq.
//   - Append with a ClientMsgID that the same sender already used in the same
//     room stores nothing and returns the first message with created=false.
//   - Every method that takes a userID checks membership itself: a private room
//     (DMs included) that the user is not a member of yields ErrNotFound, as
//     for a room that does not exist; a public room the user has not joined
//     yields ErrForbidden for reads and writes of its messages. These rules,
//     and who may join, leave, invite, edit and delete, are Access's: a
//     Store reads an Access and asks it.
//   - Usernames are unique case-insensitively, looked up case-insensitively,
//     and keep the case they were registered with.
//   - DM names (dm:a:b) are reserved: CreateRoom refuses them (ErrBadRequest)
//     and JoinRoom never creates one (ErrNotFound); only OpenDM makes them.
//   - A member added by JoinRoom, Invite or OpenDM starts with the read
//     marker at the room's last seq.
//   - An archived room takes no Append (ErrArchived, after the membership
//     checks; a repeated ClientMsgID still returns the first message) and no
//     EditMessage; it stays readable, and its messages may be deleted.
//   - A disabled user has no sessions: CreateSession refuses them
//     (ErrDisabled) and SessionUser does not find their old ones.
//   - Errors carry chat codes (ErrNotFound, ErrConflict, ...); a failure to
//     reach the database is ErrUnavailable.
type Store interface {
	FileStore

	// CreateUser creates an account and makes it a member of General, with
	// its read marker at General's last seq. ErrConflict if the name is taken.
	CreateUser(ctx context.Context, username, passwordHash string) (User, error)
	// UserCredentials returns the user and their password hash; ErrNotFound
	// for an unknown username.
	UserCredentials(ctx context.Context, username string) (User, string, error)
	// UserByName returns the user with that username; ErrNotFound if none.
	UserByName(ctx context.Context, username string) (User, error)

	// CreateSession stores a session.
	CreateSession(ctx context.Context, s Session) error
	// SessionUser returns the user of the session whose token hashes to
	// tokenHash; ErrUnauthorized if there is none or it expired before now.
	SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error)
	// DeleteSession revokes a session; deleting an unknown one is no error.
	DeleteSession(ctx context.Context, tokenHash []byte) error

	// CreateRoom creates a room owned by userID, who becomes its first
	// member. ErrConflict if a room of that name exists (private or not).
	CreateRoom(ctx context.Context, userID, name string, private bool) (Room, error)
	// JoinRoom makes userID a member of a public room, creating it (owned by
	// userID) if it does not exist. For a private room it succeeds only if
	// the user is already a member (Added=false), else ErrNotFound. A new
	// member's read marker starts at the room's last seq.
	JoinRoom(ctx context.Context, userID, name string) (Membership, error)
	// LeaveRoom ends userID's membership, as Access.Leave decides. Leaving
	// a public room one is not in is no error; a private room one is not in
	// is ErrNotFound. A DM is hidden instead (Room.Hidden): the membership
	// and its read marker stay, and the DM shows again once a message is
	// appended to it (or the user joins it or opens it again). When the
	// last owner leaves, the member who joined first becomes owner:
	// newOwner is them (the zero User if there was no handover).
	LeaveRoom(ctx context.Context, userID, name string) (newOwner User, err error)
	// Invite adds the user named username to the private room name. Only the
	// owner may invite (ErrForbidden for other members); ErrNotFound for an
	// unknown invitee; ErrBadRequest for a public room. Membership.Room is
	// the room as the invitee sees it; Added is false if they were a member.
	Invite(ctx context.Context, userID, name, username string) (User, Membership, error)
	// OpenDM returns the direct conversation between userID and username
	// (DMName), creating it if needed and making both users members. The
	// returned Membership is the acting user's; otherAdded reports whether
	// the other user was not a member before.
	OpenDM(ctx context.Context, userID, username string) (room Room, other User, otherAdded bool, err error)
	// Rooms returns the rooms userID is a member of, sorted by name, with
	// Joined, LastSeq, Unread, Mentions (as UnreadMentions counts them) and
	// Role set; DMs the user hid are among them with Hidden set. One call
	// reads all the welcome needs of the user's rooms.
	Rooms(ctx context.Context, userID string) ([]Room, error)
	// PublicRooms returns up to limit public rooms userID is not a member
	// of, sorted by name, with Joined=false.
	PublicRooms(ctx context.Context, userID string, limit int) ([]Room, error)
	// Room returns one room as userID sees it (ErrNotFound for a private room
	// they are not in).
	Room(ctx context.Context, userID, name string) (Room, error)

	// Directory returns a page of public rooms that are not archived (see
	// DirectoryQuery), as userID sees them, and the cursor of the next
	// page ("" after the last).
	Directory(ctx context.Context, userID string, q DirectoryQuery) (rooms []Room, next string, err error)
	// SetTopic sets the topic of room (CheckTopic), as Access.MayManage
	// decides, and returns the room as userID sees it.
	SetTopic(ctx context.Context, userID, room, topic string) (Room, error)
	// Members returns a page of room's members (see MembersQuery) to a
	// member (Access.MayRead), and the cursor of the next page.
	Members(ctx context.Context, userID, room string, q MembersQuery) (members []Member, next string, err error)
	// SetRole gives the user named username the role role in room, as
	// Access.MaySetRole decides.
	SetRole(ctx context.Context, userID, room, username, role string) (User, error)
	// RemoveMember ends the membership of the user named username in room,
	// as Access.MayRemove decides.
	RemoveMember(ctx context.Context, userID, room, username string) (User, error)
	// SetDescription sets the description of room (CheckDescription), as
	// Access.MayManage decides, and returns the room as userID sees it.
	SetDescription(ctx context.Context, userID, room, description string) (Room, error)
	// ArchiveRoom archives room (archive true), or brings it back (false),
	// as Access.MayArchive decides: an archived room's Appends are refused
	// with ErrArchived. changed is false if the room already was that way.
	ArchiveRoom(ctx context.Context, userID, room string, archive bool) (r Room, changed bool, err error)

	// Append stores a message (see the guarantees above). It returns the
	// stored message and whether this call created it. A reply
	// (ReplyTo > 0) must name a message of the room (ErrMessageNotFound);
	// one that names a reply is stored as a reply to that reply's thread,
	// and the stored message's Thread is the thread's summary after it.
	// Mentions (ParseMentions, MayMentionRoom) are recorded in the same
	// transaction, and only for text that has an @.
	Append(ctx context.Context, m NewMessage) (Message, bool, error)
	// History returns a page of a room's messages for userID, and whether
	// more exist further in the direction of the query. With q.Thread
	// the page holds that message's replies (ErrMessageNotFound if the
	// room has no such message). Messages carry Replies and Reactions.
	History(ctx context.Context, userID, room string, q HistoryQuery) ([]Message, bool, error)
	// MayRead answers whether userID may read room's messages now, with
	// the error History would give for the room itself (ErrNotFound for a
	// private room the user is not in or one that does not exist,
	// ErrForbidden for a public room not joined), nil if they may.
	MayRead(ctx context.Context, userID, room string) error
	// MessagesAfter returns up to limit messages of room with seq > after,
	// ascending, without any membership check: the hub fills bus gaps with it.
	MessagesAfter(ctx context.Context, room string, after int64, limit int) ([]Message, error)
	// LastSeq returns the highest seq of room (0 for an empty room).
	LastSeq(ctx context.Context, room string) (int64, error)
	// EditMessage replaces the text of the message; author only
	// (ErrForbidden), not after deletion (ErrConflict).
	EditMessage(ctx context.Context, userID, room string, seq int64, text string, at time.Time) (Message, error)
	// DeleteMessage marks the message deleted and erases its text; the
	// author or the room's owner may. Deleting twice is no error.
	DeleteMessage(ctx context.Context, userID, room string, seq int64, at time.Time) (Message, error)
	// MarkRead moves userID's read marker of room forward to seq (clamped to
	// the room's last seq; it never moves back) and returns the marker and
	// the unread count after it.
	MarkRead(ctx context.Context, userID, room string, seq int64) (marker, unread int64, err error)

	// The operator's methods (the admin command); they name users by
	// username, case-insensitively, and answer ErrNotFound for an unknown one.

	// Users returns every account, sorted by username without case.
	Users(ctx context.Context) ([]UserInfo, error)
	// SetPassword replaces the password hash of the user named username.
	SetPassword(ctx context.Context, username, passwordHash string) (User, error)
	// SetDisabled disables or enables the account named username. Disabling
	// also deletes its sessions and records a Revocation, in one transaction.
	SetDisabled(ctx context.Context, username string, disabled bool) (User, error)
	// RevokeSessions deletes every session of the user named username and
	// records a Revocation, in one transaction, even if there were none (a
	// WebSocket may outlive its session's expiry); it returns how many
	// sessions it deleted.
	RevokeSessions(ctx context.Context, username string) (User, int, error)
	// RevocationsAfter returns up to limit revocations with ID > after,
	// ascending. IDs increase in commit order, so a reader that asks again
	// after the last ID it saw misses none. Revocations older than a day
	// may be forgotten.
	RevocationsAfter(ctx context.Context, after int64, limit int) ([]Revocation, error)
	// AllRooms returns every room, DMs included, sorted by name.
	AllRooms(ctx context.Context) ([]RoomInfo, error)
	// SetArchived archives or unarchives room name; ErrNotFound if there is
	// no such room.
	SetArchived(ctx context.Context, name string, archived bool) error
	// SetRoomOwner makes the user named username the owner of room name,
	// adding them as a member (read marker at the room's last seq) if they
	// are not one. ErrBadRequest for general and DMs, which have no owner.
	SetRoomOwner(ctx context.Context, name, username string) error

	// React adds (add) or removes userID's reaction emoji on message seq of
	// room, for a member (as reading: chat.Access.MayRead); a deleted
	// message is ErrConflict, an unknown one ErrMessageNotFound. It
	// returns the message's reactions after it, as userID sees them, and
	// whether anything changed, as Access.MayReact decides.
	React(ctx context.Context, userID, room string, seq int64, emoji string, add bool) (reactions []Reaction, changed bool, err error)
	// UnreadMentions counts, for each room userID is a member of (only
	// room, if not ""), the messages after their read marker that mention
	// them and are neither deleted nor theirs. Rooms without any are left
	// out.
	UnreadMentions(ctx context.Context, userID, room string) (map[string]int64, error)
	// SetRoomMuted mutes (or unmutes) room for userID, a member who may
	// read it (chat.Access.MayRead: a private room they are not in is
	// ErrNotFound, a public one ErrForbidden). Room objects then carry
	// Muted for them; a membership ended and begun again starts unmuted.
	SetRoomMuted(ctx context.Context, userID, room string, muted bool) error
	// Search finds messages whose text has every word of q.Text, newest
	// first, in the rooms userID is a member of and no other. more reports
	// whether results exist beyond the page.
	Search(ctx context.Context, userID string, q SearchQuery) (results []SearchResult, more bool, err error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store; it waits for writes in progress.
	Close() error
}

// AsyncAppender is a Store that can take Appends without its caller
// waiting for each commit, so that one connection can have many messages on
// their way (pipelining) and the group commit sees them all.
//
// AppendAsync queues the Append and returns at once, without blocking for
// long; done is called exactly once, with what Append would have returned,
// after the message is durable (or the Append failed), from a goroutine of
// the store's: it must not block. Appends queued one after another by one
// goroutine are stored, and their done called, in the order they were
// queued, so a sender's pipelined messages keep their order.
type AsyncAppender interface {
	AppendAsync(ctx context.Context, m NewMessage, done func(Message, bool, error))
}

// Unread counts are messages after the reader's marker that others sent and
// that are not deleted.
