package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/chatd/chatd/chat"
)

// SendMessage is the payload of send_message. The seed's bare-string form
// ("payload":"Hello") decodes with Room empty: the connection's current room.
type SendMessage struct {
	Room        string `json:"room"`
	Text        string `json:"text"`
	ClientMsgID string `json:"client_msg_id,omitempty"`
	ReplyTo     int64  `json:"reply_to,omitempty"` // optional: the message this answers
	// Attachments names files uploaded with POST /api/rooms/{room}/files
	// (issue 9); with any, text may be empty.
	Attachments []string `json:"attachments,omitempty"`
}

// UnmarshalJSON accepts the object form and the seed's bare string.
func (p *SendMessage) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		*p = SendMessage{}
		return json.Unmarshal(data, &p.Text)
	}
	type plain SendMessage // no UnmarshalJSON: no recursion
	return json.Unmarshal(data, (*plain)(p))
}

// MaxClientMsgIDLen bounds client_msg_id.
const MaxClientMsgIDLen = 64

// Validate checks the room (if given), the text and the client id.
func (p *SendMessage) Validate() error {
	if p.Room != "" {
		if err := checkRoomRef(p.Room); err != nil {
			return err
		}
	}
	if len(p.ClientMsgID) > MaxClientMsgIDLen {
		return chat.Errorf(chat.CodeBadRequest, "client_msg_id is longer than %d bytes", MaxClientMsgIDLen)
	}
	if err := chat.CheckReplyTo(p.ReplyTo); err != nil {
		return err
	}
	if err := chat.CheckAttachments(p.Attachments); err != nil {
		return err
	}
	if len(p.Attachments) > 0 && strings.TrimFunc(p.Text, unicode.IsSpace) == "" {
		p.Text = "" // the files are the message
		return nil
	}
	return chat.CheckText(p.Text)
}

// RoomRef is the payload of join_room, change_room, leave_room and typing.
type RoomRef struct {
	Room string `json:"room"`
}

// Validate checks the room name.
func (p *RoomRef) Validate() error { return checkRoomRef(p.Room) }

// CreateRoom is the payload of create_room.
type CreateRoom struct {
	Room    string `json:"room"`
	Private bool   `json:"private"`
}

// Validate checks that the name is one a user may create.
func (p *CreateRoom) Validate() error {
	if !chat.ValidRoomName(p.Room) {
		return chat.Errorf(chat.CodeBadRequest, "room name must be 1-64 of a-z 0-9 _ -")
	}
	return nil
}

// Invite is the payload of invite.
type Invite struct {
	Room string `json:"room"`
	User string `json:"user"` // a username
}

// Validate checks both names.
func (p *Invite) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	return checkUsername(p.User)
}

// OpenDM is the payload of open_dm.
type OpenDM struct {
	User string `json:"user"` // a username
}

// Validate checks the username.
func (p *OpenDM) Validate() error { return checkUsername(p.User) }

// History is the payload of history.
type History struct {
	Room      string `json:"room"`
	BeforeSeq int64  `json:"before_seq,omitempty"`
	AfterSeq  *int64 `json:"after_seq,omitempty"` // nil: not given; 0 pages from the first message
	Limit     int    `json:"limit,omitempty"`     // 0: the default
	Thread    int64  `json:"thread,omitempty"`    // > 0: the replies of that message

	explicitZeroLimit bool // "limit":0 was sent, which is out of range
}

// UnmarshalJSON tells "limit":0, which is out of range, from no limit.
func (p *History) UnmarshalJSON(data []byte) error {
	type plain History
	var aux struct {
		plain
		Limit *int `json:"limit"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*p = History(aux.plain)
	if aux.Limit != nil {
		p.Limit, p.explicitZeroLimit = *aux.Limit, *aux.Limit == 0
	}
	return nil
}

// Validate checks the room, the bounds and the limit (0 means the default).
func (p *History) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.explicitZeroLimit {
		return chat.Errorf(chat.CodeBadRequest, "limit must be 1-%d", chat.MaxHistoryLimit)
	}
	_, err := p.Query().Check()
	return err
}

// Query returns the store query the payload asks for.
func (p *History) Query() chat.HistoryQuery {
	q := chat.HistoryQuery{BeforeSeq: p.BeforeSeq, Limit: p.Limit, Thread: p.Thread}
	if p.AfterSeq != nil {
		q.AfterSeq, q.After = *p.AfterSeq, true
	}
	return q
}

// Who is the payload of who.
type Who struct {
	Room  string `json:"room"`
	Limit int    `json:"limit,omitempty"` // 0: 100

	explicitZeroLimit bool
}

// UnmarshalJSON tells "limit":0, which is out of range, from no limit.
func (p *Who) UnmarshalJSON(data []byte) error {
	type plain Who
	var aux struct {
		plain
		Limit *int `json:"limit"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*p = Who(aux.plain)
	if aux.Limit != nil {
		p.Limit, p.explicitZeroLimit = *aux.Limit, *aux.Limit == 0
	}
	return nil
}

// Validate checks the room and the limit (0 means 100).
func (p *Who) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.Limit < 0 || p.Limit > 100 || p.explicitZeroLimit {
		return chat.Errorf(chat.CodeBadRequest, "limit must be 1-100")
	}
	return nil
}

// EditMessage is the payload of edit_message.
type EditMessage struct {
	Room string `json:"room"`
	Seq  int64  `json:"seq"`
	Text string `json:"text"`
}

// Validate checks the room, the seq and the new text.
func (p *EditMessage) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.Seq < 1 {
		return chat.Errorf(chat.CodeBadRequest, "seq must be positive")
	}
	return chat.CheckText(p.Text)
}

// MessageRef is the payload of delete_message and mark_read, and the server's
// message_deleted and read_marker events.
type MessageRef struct {
	Room string `json:"room"`
	Seq  int64  `json:"seq"`
}

// Validate checks the room and the seq. mark_read accepts seq 0.
func (p *MessageRef) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.Seq < 0 {
		return chat.Errorf(chat.CodeBadRequest, "seq must not be negative")
	}
	return nil
}

// Heartbeat tells the client the server's keepalive timing.
type Heartbeat struct {
	PingIntervalMS int64 `json:"ping_interval_ms"`
	PongWaitMS     int64 `json:"pong_wait_ms"`
}

// Limits tells the client the server's limits.
type Limits struct {
	MaxFrameBytes     int64   `json:"max_frame_bytes"`
	MaxTextChars      int     `json:"max_text_chars"`
	MessagesPerSecond float64 `json:"messages_per_second"`
	MaxUploadBytes    int64   `json:"max_upload_bytes"` // issue 9: one file's
}

// Welcome is the first frame of every connection.
type Welcome struct {
	User        chat.User   `json:"user"`
	Rooms       []chat.Room `json:"rooms"`
	CurrentRoom string      `json:"current_room"`
	Server      string      `json:"server"`
	Heartbeat   Heartbeat   `json:"heartbeat"`
	Limits      Limits      `json:"limits"`
}

// AppendJSON appends w's JSON, the bytes json.Marshal(w) gives, to b:
// every connect encodes one, and by hand it costs a fraction of
// encoding/json's reflection and its second pass over each room's
// MarshalJSON. A MessagesPerSecond json.Marshal cannot write (NaN, ±Inf)
// is its error.
func (w Welcome) AppendJSON(b []byte) ([]byte, error) {
	mps := w.Limits.MessagesPerSecond
	if math.IsNaN(mps) || math.IsInf(mps, 0) {
		return nil, fmt.Errorf("encode welcome: messages_per_second %v", mps)
	}
	b = append(b, `{"user":{"id":`...)
	b = chat.AppendJSONString(b, w.User.ID)
	b = append(b, `,"username":`...)
	b = chat.AppendJSONString(b, w.User.Username)
	b = append(b, `},"rooms":`...)
	if w.Rooms == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range w.Rooms {
			if i > 0 {
				b = append(b, ',')
			}
			b = w.Rooms[i].AppendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"current_room":`...)
	b = chat.AppendJSONString(b, w.CurrentRoom)
	b = append(b, `,"server":`...)
	b = chat.AppendJSONString(b, w.Server)
	b = append(b, `,"heartbeat":{"ping_interval_ms":`...)
	b = strconv.AppendInt(b, w.Heartbeat.PingIntervalMS, 10)
	b = append(b, `,"pong_wait_ms":`...)
	b = strconv.AppendInt(b, w.Heartbeat.PongWaitMS, 10)
	b = append(b, `},"limits":{"max_frame_bytes":`...)
	b = strconv.AppendInt(b, w.Limits.MaxFrameBytes, 10)
	b = append(b, `,"max_text_chars":`...)
	b = strconv.AppendInt(b, int64(w.Limits.MaxTextChars), 10)
	b = append(b, `,"messages_per_second":`...)
	b = appendFloat(b, mps)
	b = append(b, `,"max_upload_bytes":`...)
	b = strconv.AppendInt(b, w.Limits.MaxUploadBytes, 10)
	return append(b, "}}"...), nil
}

// appendFloat writes a finite f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// Presence statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// Presence is the payload of a presence event.
type Presence struct {
	Room   string    `json:"room"`
	User   chat.User `json:"user"`
	Status string    `json:"status"`
}

// Typing is the payload of the server's typing event.
type Typing struct {
	Room string    `json:"room"`
	User chat.User `json:"user"`
}

// Ack payloads.
type (
	// MessageAck answers send_message, edit_message and delete_message.
	MessageAck struct {
		Message chat.Message `json:"message"`
	}
	// RoomAck answers join_room, change_room, create_room and open_dm.
	RoomAck struct {
		Room chat.Room `json:"room"`
	}
	// InviteAck answers invite.
	InviteAck struct {
		Room chat.Room `json:"room"`
		User chat.User `json:"user"`
	}
	// HistoryAck answers history.
	HistoryAck struct {
		Messages []chat.Message `json:"messages"`
		HasMore  bool           `json:"has_more"`
	}
	// RoomsAck answers list_rooms.
	RoomsAck struct {
		Rooms []chat.Room `json:"rooms"`
	}
	// WhoAck answers who.
	WhoAck struct {
		Online int         `json:"online"`
		Users  []chat.User `json:"users"`
	}
	// MarkReadAck answers mark_read.
	MarkReadAck struct {
		Room   string `json:"room"`
		Seq    int64  `json:"seq"`
		Unread int64  `json:"unread"`
		// Mentions counts the unread messages that still mention the user.
		Mentions int64 `json:"mentions"`
	}
)

func checkRoomRef(name string) error {
	if name == "" {
		return chat.Errorf(chat.CodeBadRequest, "room is required")
	}
	if !chat.ValidRoomRef(name) {
		return chat.Errorf(chat.CodeBadRequest, "invalid room name")
	}
	return nil
}

func checkUsername(name string) error {
	if !chat.ValidUsername(name) {
		return chat.Errorf(chat.CodeBadRequest, "user must be a username (3-32 of A-Z a-z 0-9 _ . -)")
	}
	return nil
}

// Requests and events of issue 9: rooms people find and run.
const (
	TypeListPublicRooms = "list_public_rooms"
	TypeSetTopic        = "set_topic"
	TypeMembers         = "members"
	TypeSetRole         = "set_role"
	TypeRemoveMember    = "remove_member"
	TypeArchiveRoom     = "archive_room"
	TypeSetDescription  = "set_description"

	// TypeRoomUpdated tells a room's members that its topic, description
	// or archived flag changed.
	TypeRoomUpdated = "room_updated"
	// TypeMemberUpdated tells a room's members that a member's role changed.
	TypeMemberUpdated = "member_updated"
	// TypeMemberJoined tells a room's members that a user became a member
	// (MemberUpdated's payload: the newcomer's role).
	TypeMemberJoined = "member_joined"
	// TypeMemberLeft tells a room's members that a member left or was
	// removed (MemberAck's payload).
	TypeMemberLeft = "member_left"
)

// JoinRoom is the payload of join_room and change_room. Create false asks
// not to create a room that does not exist (not_found instead); left out,
// a public room is created on first join, as the contract has it.
type JoinRoom struct {
	Room   string `json:"room"`
	Create *bool  `json:"create,omitempty"`
}

// Validate checks the room name.
func (p *JoinRoom) Validate() error { return checkRoomRef(p.Room) }

// MayCreate reports whether joining may create the room.
func (p *JoinRoom) MayCreate() bool { return p.Create == nil || *p.Create }

// ListPublicRooms is the payload of list_public_rooms.
type ListPublicRooms struct {
	Query  string `json:"query,omitempty"`
	Limit  int    `json:"limit,omitempty"`  // 0: the default
	Cursor string `json:"cursor,omitempty"` // a next_cursor; "" for the first page
}

// Validate checks the query, the limit and the cursor.
func (p *ListPublicRooms) Validate() error {
	if p.Cursor != "" && !chat.ValidRoomName(p.Cursor) {
		return chat.Errorf(chat.CodeBadRequest, "invalid cursor")
	}
	_, err := p.DirectoryQuery().Check()
	return err
}

// DirectoryQuery returns the store query the payload asks for.
func (p *ListPublicRooms) DirectoryQuery() chat.DirectoryQuery {
	return chat.DirectoryQuery{Query: p.Query, After: p.Cursor, Limit: p.Limit}
}

// SetTopic is the payload of set_topic.
type SetTopic struct {
	Room  string `json:"room"`
	Topic string `json:"topic"`
}

// Validate checks the room and the topic.
func (p *SetTopic) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	return chat.CheckTopic(p.Topic)
}

// SetDescription is the payload of set_description.
type SetDescription struct {
	Room        string `json:"room"`
	Description string `json:"description"`
}

// Validate checks the room and the description.
func (p *SetDescription) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	return chat.CheckDescription(p.Description)
}

// ArchiveRoom is the payload of archive_room. Archived false brings an
// archived room back; left out, it archives, as before.
type ArchiveRoom struct {
	Room     string `json:"room"`
	Archived *bool  `json:"archived,omitempty"`
}

// Validate checks the room name.
func (p *ArchiveRoom) Validate() error { return checkRoomRef(p.Room) }

// Archive reports whether the request archives (rather than unarchives).
func (p *ArchiveRoom) Archive() bool { return p.Archived == nil || *p.Archived }

// Members is the payload of members.
type Members struct {
	Room   string `json:"room"`
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// Validate checks the room, the limit and the cursor.
func (p *Members) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.Cursor != "" && !chat.ValidUsername(p.Cursor) {
		return chat.Errorf(chat.CodeBadRequest, "invalid cursor")
	}
	_, err := p.MembersQuery().Check()
	return err
}

// MembersQuery returns the store query the payload asks for.
func (p *Members) MembersQuery() chat.MembersQuery {
	return chat.MembersQuery{After: p.Cursor, Limit: p.Limit}
}

// SetRole is the payload of set_role and the server's member_updated.
type SetRole struct {
	Room string `json:"room"`
	User string `json:"user"` // a username
	Role string `json:"role"`
}

// Validate checks the names and the role.
func (p *SetRole) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if !chat.ValidRole(p.Role) {
		return chat.Errorf(chat.CodeBadRequest, `role must be "owner" or "member"`)
	}
	return checkUsername(p.User)
}

// Issue 9's acks and events.
type (
	// DirectoryAck answers list_public_rooms and GET /api/rooms/public.
	DirectoryAck struct {
		Rooms      []chat.Room `json:"rooms"`
		NextCursor string      `json:"next_cursor"`
	}
	// MembersAck answers members.
	MembersAck struct {
		Members     []chat.Member `json:"members"`
		MemberCount int64         `json:"member_count"`
		NextCursor  string        `json:"next_cursor"`
	}
	// MemberAck answers remove_member.
	MemberAck struct {
		Room string    `json:"room"`
		User chat.User `json:"user"`
	}
	// MemberUpdated is the payload of member_updated, and answers set_role.
	MemberUpdated struct {
		Room string    `json:"room"`
		User chat.User `json:"user"`
		Role string    `json:"role"`
	}
	// RoomUpdated is the payload of room_updated: the room's fields that
	// are the same for every member.
	RoomUpdated struct {
		Room        string `json:"room"`
		Topic       string `json:"topic"`
		Description string `json:"description"`
		Archived    bool   `json:"archived"`
	}
)
