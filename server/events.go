package server

import (
	"encoding/json"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// Bus topics. Room topics carry a room's events to every node with members
// of it online; user topics reach all connections of one user; the presence
// topic keeps every node's view of who is online.
func roomTopic(name string) string { return "room:" + name }
func userTopic(id string) string   { return "user:" + id }

const presenceTopic = "presence"

// Kinds of busEvent.
const (
	evMessage  = "msg"    // room: a stored message (Seq, Frame)
	evUpdated  = "upd"    // room: message_updated / message_deleted (Frame)
	evTyping   = "typ"    // room: typing (User, Frame)
	evAdded    = "add"    // user: the user is now a member of Room (RoomObj)
	evRemoved  = "rm"     // user: the user left Room
	evRead     = "read"   // user: a read marker moved (Frame)
	evLogout   = "logout" // user: a session was revoked (Session)
	evOnline   = "on"     // presence: Node has a first connection of User (Rooms)
	evOffline  = "off"    // presence: Node closed the last connection of User
	evJoinRoom = "join"   // presence: User became a member of Room
	evLeave    = "leave"  // presence: User stopped being a member of Room
	evSync     = "sync"   // presence: Node has just started (or came back); the others announce their users
	evAlive    = "alive"  // presence: Node's heartbeat
)

// busEvent is what nodes publish to each other. Frame, when set, is the
// client frame every receiving node delivers as it is, so it is encoded
// once per event in the whole cluster.
type busEvent struct {
	Kind    string          `json:"k"`
	Node    string          `json:"n,omitempty"`
	Conn    uint64          `json:"c,omitempty"` // with Node: the connection that already knows
	Room    string          `json:"r,omitempty"`
	Seq     int64           `json:"s,omitempty"`
	User    *chat.User      `json:"u,omitempty"`
	Rooms   []string        `json:"rs,omitempty"`
	RoomObj *chat.Room      `json:"ro,omitempty"`
	Session []byte          `json:"x,omitempty"`
	Frame   json.RawMessage `json:"f,omitempty"`
}

// frame encodes a server event; the payload types are ours, so it cannot fail.
func frame(typ, id string, payload any) []byte {
	b, err := protocol.Encode(typ, id, payload)
	if err != nil {
		panic(err) // a bug: every payload here is a plain struct
	}
	return b
}

func errorFrame(id string, err error) []byte {
	return frame(protocol.TypeError, id, protocol.ErrorPayload{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)})
}
