package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"

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
	evRead     = "read"   // user: a frame for its other connections (read_marker, room_muted)
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

// encoded is a payload that is JSON already (written by hand for speed):
// frame puts it in the envelope as it is.
type encoded []byte

// frame encodes a server event; the payload types are ours, so it cannot fail.
func frame(typ, id string, payload any) []byte {
	if p, ok := payload.(encoded); ok {
		return protocol.AppendFrame(make([]byte, 0, len(p)+len(typ)+len(id)+32), typ, id, p)
	}
	b, err := protocol.Encode(typ, id, payload)
	if err != nil {
		panic(err) // a bug: every payload here is a plain struct
	}
	return b
}

// welcomeFrame is the handshake's answer head and then the welcome w's
// text frame, in one buffer, each written once.
func welcomeFrame(head []byte, w *protocol.Welcome) []byte {
	f := append(make([]byte, 0, len(head)+maxFrameHeader+300+256*len(w.Rooms)), head...)
	return appendTextFrameOf(f, func(b []byte) []byte { return appendWelcome(b, w) })
}

// appendWelcome appends the welcome frame's JSON, the bytes
// frame(protocol.TypeWelcome, "", w) gives.
func appendWelcome(b []byte, w *protocol.Welcome) []byte {
	b, err := w.AppendJSON(protocol.AppendFrameHead(b, protocol.TypeWelcome, ""))
	if err != nil {
		panic(err) // a bug, as in frame: the limits are the server's own
	}
	return append(b, '}')
}

func errorFrame(id string, err error) []byte {
	return frame(protocol.TypeError, id, protocol.ErrorPayload{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)})
}

// publishEvent encodes ev and publishes it on topic. A failure is logged
// and dropped: room messages are stored already, and nodes fill the gap
// from the store when the next one arrives or the bus reconnects.
func publishEvent(bus chat.Bus, log *slog.Logger, topic string, ev busEvent) {
	data, err := json.Marshal(ev)
	if err != nil {
		log.Error("encode bus event", "kind", ev.Kind, "err", err)
		return
	}
	if err := bus.Publish(topic, data); err != nil {
		log.Warn("bus publish failed", "topic", topic, "kind", ev.Kind, "err", err)
	}
}

// What the hub tells every node. Request handlers call these; they never
// build bus events themselves.

// publishMessage delivers a newly committed message to the room's members.
// msg is m's JSON (chat.Message.AppendJSON). The event is encoded by hand,
// as json.Marshal would (which would scan the frame once more), in the
// form decodeMessageEvent reads without encoding/json.
func (h *hub) publishMessage(m chat.Message, msg []byte) {
	data := appendMessageEvent(make([]byte, 0, len(msg)+len(m.Room)+64), m.Room, m.Seq, msg)
	if err := h.s.bus.Publish(roomTopic(m.Room), data); err != nil {
		h.s.log.Warn("bus publish failed", "topic", roomTopic(m.Room), "kind", evMessage, "err", err)
	}
}

// messageEventPrefix starts every message event appendMessageEvent writes.
const messageEventPrefix = `{"k":"` + evMessage + `","r":`

// appendMessageEvent appends the bytes json.Marshal gives for the busEvent
// of stored message seq of room, whose JSON is msg, to b.
func appendMessageEvent(b []byte, room string, seq int64, msg []byte) []byte {
	b = chat.AppendJSONString(append(b, messageEventPrefix...), room)
	b = strconv.AppendInt(append(b, `,"s":`...), seq, 10)
	return append(protocol.AppendFrame(append(b, `,"f":`...), protocol.TypeNewMessage, "", msg), '}')
}

// decodeMessageEvent reads a message event in appendMessageEvent's form
// (a room name that needs no escaping), the form every node of this
// version publishes, without encoding/json, which would scan the frame
// twice. ok is false for anything else, which json.Unmarshal then reads.
func decodeMessageEvent(data []byte) (ev busEvent, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(messageEventPrefix+`"`))
	if !ok {
		return ev, false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || bytes.IndexByte(rest[:i], '\\') >= 0 {
		return ev, false
	}
	room := rest[:i]
	rest, ok = bytes.CutPrefix(rest[i+1:], []byte(`,"s":`))
	if !ok {
		return ev, false
	}
	i = bytes.IndexByte(rest, ',')
	if i < 0 {
		return ev, false
	}
	seq, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return ev, false
	}
	f, ok := bytes.CutPrefix(rest[i:], []byte(`,"f":`))
	if !ok || len(f) < 3 || f[0] != '{' || f[len(f)-1] != '}' || f[len(f)-2] != '}' {
		return ev, false
	}
	return busEvent{Kind: evMessage, Room: string(room), Seq: seq, Frame: f[:len(f)-1]}, true
}

// publishEdited delivers message_updated for an edited message.
func (h *hub) publishEdited(m chat.Message) {
	publishEvent(h.s.bus, h.s.log, roomTopic(m.Room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeMessageUpdated, "", m),
	})
}

// publishDeleted delivers message_deleted for a deleted message.
func (h *hub) publishDeleted(room string, seq int64) {
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeMessageDeleted, "", protocol.MessageRef{Room: room, Seq: seq}),
	})
}

// publishReaction tells the room's members that u added or removed a
// reaction, with the message's reactions after it (without the reader's
// me, which each client derives).
func (h *hub) publishReaction(room string, seq int64, u chat.User, emoji string, add bool, rs []chat.Reaction) {
	ev := protocol.Reaction{Room: room, Seq: seq, User: u, Emoji: emoji, Add: add, Reactions: make([]protocol.EventReaction, len(rs))}
	for i, r := range rs {
		ev.Reactions[i] = protocol.EventReaction{Emoji: r.Emoji, Count: r.Count, Users: r.Users}
	}
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeReaction, "", ev),
	})
}

// publishThread tells the room's members a thread's summary after a reply.
func (h *hub) publishThread(room string, seq int64, replies chat.Replies) {
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeThreadUpdated, "", protocol.ThreadUpdated{Room: room, Seq: seq, Replies: replies}),
	})
}

// publishTyping tells the room's other members that u is typing.
func (h *hub) publishTyping(room string, u chat.User) {
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evTyping, User: &u, Frame: frame(protocol.TypeTyping, "", protocol.Typing{Room: room, User: u}),
	})
}

// publishAdded tells every connection of u that u is now a member of room,
// except origin (nil: none), which knows already.
func (h *hub) publishAdded(u chat.User, room chat.Room, origin *conn) {
	ev := busEvent{Kind: evAdded, RoomObj: &room}
	h.from(&ev, origin)
	publishEvent(h.s.bus, h.s.log, userTopic(u.ID), ev)
}

// publishRemoved tells every connection of u but origin that u left room.
func (h *hub) publishRemoved(u chat.User, room string, origin *conn) {
	ev := busEvent{Kind: evRemoved, Room: room}
	h.from(&ev, origin)
	publishEvent(h.s.bus, h.s.log, userTopic(u.ID), ev)
}

// publishRead tells every connection of origin's user but origin that the
// read marker of room moved to seq.
func (h *hub) publishRead(origin *conn, room string, seq int64) {
	h.publishToOthers(origin, frame(protocol.TypeReadMarker, "", protocol.MessageRef{Room: room, Seq: seq}))
}

// publishToOthers sends f to the other connections of origin's user, on
// every node. It travels as an evRead, whose handling is exactly that, so
// that a node that does not know the frame's type still delivers it.
func (h *hub) publishToOthers(origin *conn, f []byte) {
	ev := busEvent{Kind: evRead, Frame: f}
	h.from(&ev, origin)
	publishEvent(h.s.bus, h.s.log, userTopic(origin.user.ID), ev)
}

// publishLogout closes the session's sockets on every node.
func (h *hub) publishLogout(userID string, tokenHash []byte) {
	publishEvent(h.s.bus, h.s.log, userTopic(userID), busEvent{Kind: evLogout, Session: tokenHash})
}

// from marks ev as coming from connection c of this node (if c is set).
func (h *hub) from(ev *busEvent, c *conn) {
	if c != nil {
		ev.Node, ev.Conn = h.node, c.id
	}
}

// publishRoomUpdated tells the room's members, on every node, its new
// topic, description or archived flag.
func (h *hub) publishRoomUpdated(r chat.Room) {
	publishEvent(h.s.bus, h.s.log, roomTopic(r.Name), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeRoomUpdated, "",
			protocol.RoomUpdated{Room: r.Name, Topic: r.Topic, Description: r.Description, Archived: r.Archived}),
	})
}

// publishMemberJoined tells the room's members, on every node, that u is
// now a member with the role role, so that member lists stay true.
func (h *hub) publishMemberJoined(room string, u chat.User, role string) {
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeMemberJoined, "",
			protocol.MemberUpdated{Room: room, User: u, Role: role}),
	})
}

// publishMemberLeft tells the room's members, on every node, that u is no
// longer a member (they left, or an owner removed them).
func (h *hub) publishMemberLeft(room string, u chat.User) {
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeMemberLeft, "",
			protocol.MemberAck{Room: room, User: u}),
	})
}

// publishMemberUpdated tells the room's members, on every node, that u's
// role there is now role.
func (h *hub) publishMemberUpdated(room string, u chat.User, role string) {
	publishEvent(h.s.bus, h.s.log, roomTopic(room), busEvent{
		Kind: evUpdated, Frame: frame(protocol.TypeMemberUpdated, "",
			protocol.MemberUpdated{Room: room, User: u, Role: role}),
	})
}

// publishHidden tells every connection of u but origin that u hid the DM
// room (room as u sees it): they hide it too and get room_removed.
func (h *hub) publishHidden(u chat.User, room chat.Room, origin *conn) {
	ev := busEvent{Kind: evRemoved, Room: room.Name, RoomObj: &room}
	h.from(&ev, origin)
	publishEvent(h.s.bus, h.s.log, userTopic(u.ID), ev)
}
