package chatdtest

import (
	"encoding/json"

	"github.com/chatd/chatd/protocol"
)

// PresenceOf matches presence frames about username in room with status.
func PresenceOf(room, username, status string) func(Frame) bool {
	return func(f Frame) bool {
		var p protocol.Presence
		json.Unmarshal(f.Payload, &p)
		return p.Room == room && p.User.Username == username && p.Status == status
	}
}
