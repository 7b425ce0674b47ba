package server

import (
	"math"
	"slices"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// DMs that come back (issue 9). Leaving a DM hides it: the store keeps the
// membership, and this node keeps the user's connections attached to the
// room, so that presence there stays true and the next message can bring
// it back without a store call: the hub's room holds those connections in
// hidden, sends them nothing, and before delivering the next message
// queues each a room_added (its cursor just below that message), then the
// message itself.

// hide keeps c attached to the DM room but hides it; dm is the room as
// c's user sees it now (its unread count goes into the room_added that
// brings it back). It hides only if the room has delivered no message
// after upTo (one that came after the store's look would have brought
// it back already). false: c is not attached to it, hid it already, or a
// message came.
func (h *hub) hide(c *conn, dm chat.Room, upTo int64) bool {
	shown := false
	h.withRoom(dm.Name, func(r *room) {
		if _, ok := r.conns[c]; !ok || r.delivered > upTo {
			return
		}
		if _, ok := r.hidden[c]; ok {
			return
		}
		if r.hidden == nil {
			r.hidden = make(map[*conn]chat.Room)
		}
		r.hidden[c] = dm
		shown = true
	})
	return shown
}

// isHidden reports whether c is attached to the room called name with it
// hidden.
func (h *hub) isHidden(c *conn, name string) bool {
	hidden := false
	h.withRoom(name, func(r *room) { _, hidden = r.hidden[c] })
	return hidden
}

// reviveLocked brings the room back to the connections that hid it, at
// the cursor r.delivered: the message being delivered comes right after
// the room_added. The caller holds r.mu (and deliverMu).
func (r *room) reviveLocked() {
	online := r.h.presence.online(r.name)
	for c, dm := range r.hidden {
		dm.LastSeq, dm.Joined, dm.Hidden, dm.MembersOnline = r.delivered, true, false, online
		c.enqueueBytes(frame(protocol.TypeRoomAdded, "", dm))
	}
	clear(r.hidden)
}

// shown returns rooms without the DMs their user hid, reusing its array.
func shown(rooms []chat.Room) []chat.Room {
	return slices.DeleteFunc(rooms, func(r chat.Room) bool { return r.Hidden })
}

// hideDM hides, on every connection of the user, the DM room the request's
// user has just hidden in the store. Their connections stay attached: the
// DM's next message brings it back, and their presence there holds.
func (req *request) hideDM(name string) error {
	c := req.c
	dm, err := c.s.store.Room(req.ctx, c.user.ID, name)
	if err != nil {
		return err
	}
	// Hidden whatever came meanwhile: the next message brings it back.
	c.s.hub.hide(c, dm, math.MaxInt64)
	c.s.hub.publishHidden(c.user, dm, c)
	return nil
}
