package server

import (
	"github.com/chatd/chatd/protocol"
)

// setRoomMuted serves set_room_muted: the mute is stored on the membership,
// so that it follows the user, and their other connections (on every node)
// hear of it at once.
func (req *request) setRoomMuted() (any, error) {
	var p protocol.SetRoomMuted
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	if _, err := timed(c.s.metrics, "set_room_muted", func() (struct{}, error) {
		return struct{}{}, c.s.store.SetRoomMuted(req.ctx, c.user.ID, p.Room, *p.Muted)
	}); err != nil {
		return nil, err
	}
	ev := protocol.RoomMuted{Room: p.Room, Muted: *p.Muted}
	c.s.hub.publishToOthers(c, frame(protocol.TypeRoomMuted, "", ev))
	return ev, nil
}
