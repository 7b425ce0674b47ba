// Package chat is chatd's domain: users, rooms and messages, the rules of
// who may do what in a room (Access), the errors that carry protocol
// codes, and the Store and Bus interfaces that the adapters (sqlite,
// postgres, natsbus) implement and the server consumes.
//
// It depends on the standard library only.
package chat

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// General is the room that exists from the start; every new account joins it.
const General = "general"

// MaxTextChars is the longest message text, in Unicode code points.
const MaxTextChars = 4000

// User is an account as other users see it.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// Room is a room as one user sees it: LastSeq, Joined and Unread are relative
// to that user (and, for LastSeq, to one connection's cursor).
type Room struct {
	Name          string `json:"name"`
	Private       bool   `json:"private"`
	LastSeq       int64  `json:"last_seq"`
	Joined        bool   `json:"joined"`
	Unread        int64  `json:"unread"`
	MembersOnline int    `json:"members_online"`
	// Owner is the owning user's ID; empty for general and for DMs. A room
	// may have several owners (see Role): Owner is one of them.
	Owner string `json:"-"`

	// Mentions counts the unread messages that mention the user; the
	// server fills it in from Store.UnreadMentions.
	Mentions int64 `json:"mentions"`

	Topic        string     `json:"topic"`
	Description  string     `json:"description"` // several lines, at most MaxDescriptionChars
	MemberCount  int64      `json:"member_count"`
	LastActivity *time.Time `json:"last_activity"` // when the last message was sent; nil before the first
	// Archived rooms are read-only: an owner (archive_room) or an
	// operator (chatd room archive) archived them.
	Archived bool `json:"archived"`
	// Role is the viewer's role (RoleOwner, RoleMember) if Joined, else "".
	Role string `json:"role,omitempty"`
	// Muted: the viewer muted this room (Store.SetRoomMuted): clients raise
	// no notification for it. Always false in rooms they are not in.
	Muted bool `json:"muted"`
	// Hidden: the viewer hid this DM (see Store.LeaveRoom); it comes back
	// with the next message. Rooms lists hidden DMs so that the server can
	// follow them; clients are not shown them.
	Hidden bool `json:"-"`
}

// MentionScope says which of rooms can have unread mentions, for a store
// that counts them with the rooms: a mention counts only among the unread
// messages (the same messages: after the read marker, not deleted, not the
// user's own), so a room with nothing unread has none. ok is false when no
// room can (most connects: nothing to count, no statement to run); room is
// the one room that can, or "" for several.
func MentionScope(rooms []Room) (room string, ok bool) {
	for i := range rooms {
		if rooms[i].Unread == 0 {
			continue
		}
		if ok {
			return "", true
		}
		room, ok = rooms[i].Name, true
	}
	return room, ok
}

// MarshalJSON writes last_activity as Message writes sent_at.
func (r Room) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(nil), nil
}

// Message is one stored chat message.
type Message struct {
	Room        string     `json:"room"`
	Seq         int64      `json:"seq"`
	ID          string     `json:"id"`
	From        User       `json:"from"`
	Text        string     `json:"text"`
	SentAt      time.Time  `json:"sent_at"`
	ClientMsgID string     `json:"client_msg_id,omitempty"`
	EditedAt    *time.Time `json:"edited_at"`
	Deleted     bool       `json:"deleted"`

	// Issue 8. Each is left out of the JSON when empty, so that a message
	// without them is encoded as before.
	ReplyTo     int64      `json:"reply_to,omitempty"`     // a reply: its thread's first message
	Replies     *Replies   `json:"replies,omitempty"`      // a thread's first message: its replies (history only)
	Reactions   []Reaction `json:"reactions,omitempty"`    // history only, as the reader sees them
	Mentions    []string   `json:"mentions,omitempty"`     // IDs of the members the text names
	MentionRoom bool       `json:"mention_room,omitempty"` // the text's @room counts

	// Issue 9: the files the message carries, in the order it named them.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Thread is set on a reply that Append has just stored: its thread's
	// Replies after it, for the server to tell the room.
	Thread *Replies `json:"-"`
}

// timeLayout writes times as the contract shows them: UTC with exactly
// three fractional digits ("2026-11-25T16:40:00.120Z"). The default
// encoding drops trailing zeros, so the width would vary.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes sent_at and edited_at with millisecond precision.
func (m Message) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(nil), nil
}

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{3,32}$`)
	roomRE     = regexp.MustCompile(`^[a-z0-9_\-]{1,64}$`)
)

// ValidUsername reports whether s is a legal username: 3–32 of A-Z a-z 0-9 _ . -
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// ValidRoomName reports whether s may name a room that users create or join
// by name: 1–64 of a-z 0-9 _ -. Direct-message rooms are named by DMName.
func ValidRoomName(s string) bool { return roomRE.MatchString(s) }

// IsDMName reports whether name has the shape of a direct-message room.
func IsDMName(name string) bool {
	a, b, ok := SplitDMName(name)
	return ok && ValidUsername(a) && ValidUsername(b) && a <= b
}

// DMName is the name of the direct conversation between two usernames:
// "dm:<a>:<b>" with the usernames sorted, so both sides name it alike.
func DMName(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "dm:" + a + ":" + b
}

// SplitDMName returns the two usernames of a "dm:a:b" room name.
func SplitDMName(name string) (a, b string, ok bool) {
	rest, found := strings.CutPrefix(name, "dm:")
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// ValidRoomRef reports whether s can name an existing room in a request:
// either an ordinary room name or a DM name.
func ValidRoomRef(s string) bool { return ValidRoomName(s) || IsDMName(s) }

// CheckText validates message text: 1–MaxTextChars code points, valid UTF-8,
// not only white space. The text is stored exactly as sent.
func CheckText(text string) error {
	if !utf8.ValidString(text) {
		return Errorf(CodeBadRequest, "text is not valid UTF-8")
	}
	if strings.IndexByte(text, 0) >= 0 {
		// No store can keep it faithfully (PostgreSQL text refuses NUL).
		return Errorf(CodeBadRequest, "text contains a NUL character")
	}
	if strings.TrimFunc(text, unicode.IsSpace) == "" {
		return Errorf(CodeBadRequest, "text is empty")
	}
	if utf8.RuneCountInString(text) > MaxTextChars {
		return Errorf(CodeTooLarge, "text is longer than %d characters", MaxTextChars)
	}
	return nil
}

// CheckOwnable says whether room name may be given an owner: general and
// direct conversations have none, by design.
func CheckOwnable(name string) error {
	if name == General || strings.HasPrefix(name, "dm:") {
		return Errorf(CodeBadRequest, "room %s has no owner and cannot be given one", name)
	}
	return nil
}
