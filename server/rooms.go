package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// The requests of issue 9: the directory, topics, member lists, roles and
// archiving. The store decides (chat.Access); these handlers store, then
// tell every node through the typed publishers of events.go.

func (req *request) listPublicRooms() (any, error) {
	var p protocol.ListPublicRooms
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	return req.c.s.directory(req.ctx, req.c.user, p)
}

// directory serves a page of the directory over either transport.
func (s *Server) directory(ctx context.Context, u chat.User, p protocol.ListPublicRooms) (protocol.DirectoryAck, error) {
	type page struct {
		rooms []chat.Room
		next  string
	}
	res, err := timed(s.metrics, "directory", func() (page, error) {
		rooms, next, err := s.store.Directory(ctx, u.ID, p.DirectoryQuery())
		return page{rooms, next}, err
	})
	if err != nil {
		return protocol.DirectoryAck{}, err
	}
	return protocol.DirectoryAck{Rooms: s.withOnline(res.rooms), NextCursor: res.next}, nil
}

// handleDirectory serves GET /api/rooms/public?query=&limit=&cursor=.
func (s *Server) handleDirectory(w http.ResponseWriter, r *http.Request, id identity) {
	q := r.URL.Query()
	p := protocol.ListPublicRooms{Query: q.Get("query"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, r, chat.Errorf(chat.CodeBadRequest, "limit must be 1-%d", chat.MaxDirectoryLimit))
			return
		}
		p.Limit = n
	}
	if err := p.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	ack, err := s.directory(r.Context(), id.user, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ack)
}

func (req *request) setTopic() (any, error) {
	var p protocol.SetTopic
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	return req.setRoomText("set_topic", func(c *conn) (chat.Room, error) {
		return c.s.store.SetTopic(req.ctx, c.user.ID, p.Room, p.Topic)
	})
}

func (req *request) setDescription() (any, error) {
	var p protocol.SetDescription
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	return req.setRoomText("set_description", func(c *conn) (chat.Room, error) {
		return c.s.store.SetDescription(req.ctx, c.user.ID, p.Room, p.Description)
	})
}

// setRoomText runs store, an owner's change of the room's topic or
// description, tells every node (room_updated) and acks with the room.
func (req *request) setRoomText(op string, store func(*conn) (chat.Room, error)) (any, error) {
	c := req.c
	room, err := timed(c.s.metrics, op, func() (chat.Room, error) { return store(c) })
	if err != nil {
		return nil, err
	}
	c.s.hub.publishRoomUpdated(room)
	room.MembersOnline = c.s.hub.presence.online(room.Name)
	return protocol.RoomAck{Room: room}, nil
}

func (req *request) archiveRoom() (any, error) {
	var p protocol.ArchiveRoom
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	type result struct {
		room    chat.Room
		changed bool
	}
	res, err := timed(c.s.metrics, "archive_room", func() (result, error) {
		room, changed, err := c.s.store.ArchiveRoom(req.ctx, c.user.ID, p.Room, p.Archive())
		return result{room, changed}, err
	})
	if err != nil {
		return nil, err
	}
	if res.changed {
		c.s.hub.publishRoomUpdated(res.room)
	}
	res.room.MembersOnline = c.s.hub.presence.online(res.room.Name)
	return protocol.RoomAck{Room: res.room}, nil
}

func (req *request) members() (any, error) {
	var p protocol.Members
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	type page struct {
		members []chat.Member
		next    string
	}
	res, err := timed(c.s.metrics, "members", func() (page, error) {
		ms, next, err := c.s.store.Members(req.ctx, c.user.ID, p.Room, p.MembersQuery())
		return page{ms, next}, err
	})
	if err != nil {
		return nil, err
	}
	// The count comes after the page, from the same store: a member who
	// joins in between is counted and may not be listed, never the reverse
	// on a quiet room.
	room, err := c.s.store.Room(req.ctx, c.user.ID, p.Room)
	if err != nil {
		return nil, err
	}
	roster := c.s.hub.presence.roster
	for i := range res.members {
		res.members[i].Online = roster.isOnline(res.members[i].User.ID)
	}
	return protocol.MembersAck{Members: res.members, MemberCount: room.MemberCount, NextCursor: res.next}, nil
}

func (req *request) setRole() (any, error) {
	var p protocol.SetRole
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	u, err := timed(c.s.metrics, "set_role", func() (chat.User, error) {
		return c.s.store.SetRole(req.ctx, c.user.ID, p.Room, p.User, p.Role)
	})
	if err != nil {
		return nil, err
	}
	c.s.hub.publishMemberUpdated(p.Room, u, p.Role)
	return protocol.MemberUpdated{Room: p.Room, User: u, Role: p.Role}, nil
}

func (req *request) removeMember() (any, error) {
	var p protocol.Invite // {room, user}: the same shape
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	u, err := timed(c.s.metrics, "remove_member", func() (chat.User, error) {
		return c.s.store.RemoveMember(req.ctx, c.user.ID, p.Room, p.User)
	})
	if err != nil {
		return nil, err
	}
	h := c.s.hub
	h.publishRemoved(u, p.Room, nil) // every connection of theirs, on every node
	h.presence.left(u, p.Room)
	h.publishMemberLeft(p.Room, u)
	return protocol.MemberAck{Room: p.Room, User: u}, nil
}

// isOnline reports whether the user has a connection on any node.
func (p *roster) isOnline(userID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.users[userID]
	return ok
}
