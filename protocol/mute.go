package protocol

import "github.com/chatd/chatd/chat"

// Per-room mute (issue 8).

// Request and event types of per-room mute.
const (
	TypeSetRoomMuted = "set_room_muted"
	TypeRoomMuted    = "room_muted"
)

// SetRoomMuted is the payload of set_room_muted.
type SetRoomMuted struct {
	Room  string `json:"room"`
	Muted *bool  `json:"muted"` // required: a missing field is no "unmute"
}

// Validate checks the room and that muted is given.
func (p *SetRoomMuted) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.Muted == nil {
		return chat.Errorf(chat.CodeBadRequest, "muted is required (true or false)")
	}
	return nil
}

// RoomMuted is the ack of set_room_muted and the room_muted event that
// the user's other connections get.
type RoomMuted struct {
	Room  string `json:"room"`
	Muted bool   `json:"muted"`
}
