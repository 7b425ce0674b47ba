package chat

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Replies, reactions, mentions and search (issue 8): the types a Message
// and a Room carry, and the rules every Store applies, written once here.

// Replies summarises the replies to a message (a thread's first message).
type Replies struct {
	Count   int64  `json:"count"`    // every reply, deleted ones included
	LastSeq int64  `json:"last_seq"` // the newest reply's seq
	Users   []User `json:"users"`    // up to MaxReplyUsers latest distinct repliers, newest first
}

// MaxReplyUsers bounds Replies.Users.
const MaxReplyUsers = 3

// ReplierRow is what a store reads to summarise threads: one replier of
// one thread, with how many replies they wrote and the seq of their latest.
type ReplierRow struct {
	Parent  int64
	User    User
	Count   int64
	LastSeq int64
}

// SummarizeReplies turns the repliers of some threads into each thread's
// Replies, keyed by the thread's seq.
func SummarizeReplies(rows []ReplierRow) map[int64]*Replies {
	if len(rows) == 0 {
		return nil
	}
	byParent := map[int64][]ReplierRow{}
	for _, r := range rows {
		byParent[r.Parent] = append(byParent[r.Parent], r)
	}
	out := make(map[int64]*Replies, len(byParent))
	for parent, rs := range byParent {
		slices.SortFunc(rs, func(a, b ReplierRow) int { return int(b.LastSeq - a.LastSeq) })
		s := &Replies{Users: []User{}}
		for _, r := range rs {
			s.Count += r.Count
			s.LastSeq = max(s.LastSeq, r.LastSeq)
			if len(s.Users) < MaxReplyUsers {
				s.Users = append(s.Users, r.User)
			}
		}
		out[parent] = s
	}
	return out
}

// Decorate sets the Replies and Reactions of a page of messages from what
// a store read for them, keyed by seq. A deleted message shows no
// reactions.
func Decorate(msgs []Message, threads map[int64]*Replies, reactions map[int64][]Reaction) {
	for i := range msgs {
		msgs[i].Replies = threads[msgs[i].Seq]
		if !msgs[i].Deleted {
			msgs[i].Reactions = reactions[msgs[i].Seq]
		}
	}
}

// CheckReplyTo validates the seq a reply names. Whether that message
// exists is the store's to answer (ErrMessageNotFound).
func CheckReplyTo(seq int64) error {
	if seq < 0 {
		return Errorf(CodeBadRequest, "reply_to must be a positive seq")
	}
	return nil
}

// ErrMessageNotFound answers a request naming a seq the room does not have.
var ErrMessageNotFound = Errorf(CodeNotFound, "message not found")

// Reaction is one emoji's reactions on a message, as one reader sees them.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int64  `json:"count"`
	Me    bool   `json:"me"`    // the reader reacted with it
	Users []User `json:"users"` // the first MaxReactionUsers who did
}

// Reaction limits.
const (
	MaxReactionEmoji  = 20 // different emoji on one message
	MaxReactionUsers  = 10 // users listed per emoji
	maxEmojiRunes     = 16
	maxEmojiBytes     = 64
	keycapRune        = '\u20E3'
	zwjRune           = '\u200D'
	variationSelector = '\uFE0F'
)

// ReactionRow is one user's reaction as a store reads it.
type ReactionRow struct {
	Seq   int64
	Emoji string
	User  User
}

// GroupReactions turns rows, ordered by the time each reaction was made,
// into each message's reactions as reader sees them, keyed by seq: emoji
// in the order each was first used, users the first MaxReactionUsers.
func GroupReactions(rows []ReactionRow, reader string) map[int64][]Reaction {
	if len(rows) == 0 {
		return nil
	}
	out := map[int64][]Reaction{}
	for _, r := range rows {
		rs := out[r.Seq]
		i := slices.IndexFunc(rs, func(x Reaction) bool { return x.Emoji == r.Emoji })
		if i < 0 {
			rs = append(rs, Reaction{Emoji: r.Emoji, Users: []User{}})
			i = len(rs) - 1
		}
		x := &rs[i]
		x.Count++
		x.Me = x.Me || r.User.ID == reader
		if len(x.Users) < MaxReactionUsers {
			x.Users = append(x.Users, r.User)
		}
		out[r.Seq] = rs
	}
	return out
}

// MayReact decides whether the user, whose access this is, may add (or
// remove) emoji on m, a message of the room whose reactions use the emoji
// present: a member may, not on a deleted message, and a new emoji only
// below MaxReactionEmoji.
func (a Access) MayReact(m Message, present []string, emoji string, add bool) error {
	switch err := a.MayRead(); {
	case err != nil:
		return err
	case m.Deleted:
		return errEditDeleted
	case add && len(present) >= MaxReactionEmoji && !slices.Contains(present, emoji):
		return Errorf(CodeConflict, "a message has at most %d different reactions", MaxReactionEmoji)
	}
	return nil
}

var errEmoji = Errorf(CodeBadRequest, "emoji must be 1-%d emoji code points", maxEmojiRunes)

// CheckEmoji validates a reaction: a short run of emoji code points, with
// the modifiers, joiners and selectors that emoji sequences use. Digits,
// # and * are allowed only in a keycap sequence (followed by U+20E3).
func CheckEmoji(s string) error {
	if s == "" || len(s) > maxEmojiBytes || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEmojiRunes {
		return errEmoji
	}
	pictographs := 0
	keycap := strings.ContainsRune(s, keycapRune)
	for _, r := range s {
		switch {
		case isPictograph(r):
			pictographs++
		case r == zwjRune, r == variationSelector, r == keycapRune,
			r >= 0x1F3FB && r <= 0x1F3FF, // skin tones
			r >= 0xE0020 && r <= 0xE007F: // tags (subdivision flags)
		case keycap && (r >= '0' && r <= '9' || r == '#' || r == '*'):
			pictographs++
		default:
			return errEmoji
		}
	}
	if pictographs == 0 {
		return errEmoji
	}
	return nil
}

// isPictograph reports whether r is in one of the blocks emoji come from.
func isPictograph(r rune) bool {
	switch {
	case r == 0xA9, r == 0xAE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139,
		r >= 0x2194 && r <= 0x21AA, r >= 0x231A && r <= 0x23FF, r == 0x24C2,
		r >= 0x25AA && r <= 0x27BF, r >= 0x2934 && r <= 0x2935, r >= 0x2B05 && r <= 0x2B55,
		r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299,
		r >= 0x1F000 && r <= 0x1F3FA, r >= 0x1F400 && r <= 0x1FAFF:
		return true
	}
	return false
}

// Mention limits.
const (
	// MaxRoomMentionMembers: in a room with more members, only the owner
	// may mention @room.
	MaxRoomMentionMembers = 50
	// maxMentionNames bounds the names one message may mention.
	maxMentionNames = 20
)

// RoomMention is the word that mentions every member of a room.
const RoomMention = "room"

// ParseMentions returns the lower-cased usernames that text mentions as
// @name (at most 20, each once, in order) and whether it has @room. An @
// counts only at the start or after a character that cannot be in a
// username, so that an e-mail address mentions nobody; trailing dots are
// taken as punctuation ("thanks @bob.").
func ParseMentions(text string) (names []string, room bool) {
	if strings.IndexByte(text, '@') < 0 {
		return nil, false // the common case: no work
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(text[:i])
			if isUsernameRune(prev) {
				continue
			}
		}
		j := i + 1
		for j < len(text) && isUsernameRune(rune(text[j])) {
			j++
		}
		name := strings.TrimRight(text[i+1:j], ".")
		i = j - 1
		key := strings.ToLower(name)
		switch {
		case key == RoomMention:
			room = true
		case ValidUsername(name) && !slices.Contains(names, key) && len(names) < maxMentionNames:
			names = append(names, key)
		}
	}
	return names, room
}

func isUsernameRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')
}

// MayMentionRoom decides whether a sender's @room is a mention: anyone's
// in a room of at most MaxRoomMentionMembers members, only the owner's in
// a larger one.
func MayMentionRoom(members int64, senderIsOwner bool) bool {
	return members <= MaxRoomMentionMembers || senderIsOwner
}

// MentionsUser reports whether m mentions userID (see the protocol: named, or
// @room for a member other than the sender).
func (m Message) MentionsUser(userID string) bool {
	if m.From.ID == userID {
		return false
	}
	return m.MentionRoom || slices.Contains(m.Mentions, userID)
}

// SearchQuery is a full-text search over the rooms a user is a member of.
type SearchQuery struct {
	Text   string    // the words to find, 1–MaxSearchChars characters
	Room   string    // optional: one room
	From   string    // optional: a username
	After  time.Time // optional: sent strictly after
	Before time.Time // optional: sent strictly before
	Limit  int       // 1–MaxSearchLimit; 0 means DefaultSearchLimit
	Offset int       // results to skip (paging), 0–MaxSearchOffset
}

// Search bounds.
const (
	MaxSearchChars     = 200
	DefaultSearchLimit = 20
	MaxSearchLimit     = 50
	MaxSearchOffset    = 1000
)

// Snippet markers: a search result's snippet wraps each matched word in
// these two private-use characters.
const (
	HighlightStart = "\uE000"
	HighlightEnd   = "\uE001"
)

// Check validates q and fills in its limit.
func (q SearchQuery) Check() (SearchQuery, error) {
	switch n := utf8.RuneCountInString(q.Text); {
	case !utf8.ValidString(q.Text) || strings.IndexByte(q.Text, 0) >= 0:
		return q, Errorf(CodeBadRequest, "query is not valid text")
	case strings.TrimFunc(q.Text, unicode.IsSpace) == "":
		return q, Errorf(CodeBadRequest, "query is empty")
	case n > MaxSearchChars:
		return q, Errorf(CodeTooLarge, "query is longer than %d characters", MaxSearchChars)
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultSearchLimit
	case q.Limit < 0 || q.Limit > MaxSearchLimit:
		return q, Errorf(CodeBadRequest, "limit must be 1-%d", MaxSearchLimit)
	}
	if q.Offset < 0 || q.Offset > MaxSearchOffset {
		return q, Errorf(CodeBadRequest, "cursor is out of range")
	}
	if q.Room != "" && !ValidRoomRef(q.Room) {
		return q, Errorf(CodeBadRequest, "invalid room name")
	}
	if q.From != "" && !ValidUsername(q.From) {
		return q, Errorf(CodeBadRequest, "from must be a username")
	}
	return q, nil
}

// SearchWords splits a query into the words a store matches, lower-cased,
// at most 32: runs of letters and digits.
func SearchWords(query string) []string {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return words[:min(len(words), 32)]
}

// SearchResult is one message that a search found.
type SearchResult struct {
	Room    string    `json:"room"`
	Seq     int64     `json:"seq"`
	From    User      `json:"from"`
	SentAt  time.Time `json:"sent_at"`
	Snippet string    `json:"snippet"`
	ReplyTo int64     `json:"reply_to,omitempty"`
}

// MarshalJSON writes sent_at as messages do.
func (r SearchResult) MarshalJSON() ([]byte, error) {
	type plain SearchResult // no MarshalJSON: no recursion
	return json.Marshal(struct {
		plain
		SentAt string `json:"sent_at"`
	}{plain(r), r.SentAt.UTC().Format(timeLayout)})
}
