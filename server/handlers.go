package server

import (
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// typingInterval: a connection's typing events for one room are relayed at
// most this often; the rest are acknowledged and dropped.
const typingInterval = time.Second

// request is one decoded client request being handled.
type request struct {
	ctx context.Context
	c   *conn
	env protocol.Envelope
}

// acked is returned by handlers that queued their ack themselves, inside
// a room's lock, so that it precedes the room's later events.
type acked struct{}

type handlerFunc func(req *request) (ack any, err error)

var handlers map[string]handlerFunc

func init() {
	handlers = map[string]handlerFunc{
		protocol.TypeSendMessage:   (*request).sendMessage,
		protocol.TypeJoinRoom:      (*request).joinRoom,
		protocol.TypeChangeRoom:    (*request).joinRoom,
		protocol.TypeLeaveRoom:     (*request).leaveRoom,
		protocol.TypeCreateRoom:    (*request).createRoom,
		protocol.TypeInvite:        (*request).invite,
		protocol.TypeOpenDM:        (*request).openDM,
		protocol.TypeHistory:       (*request).history,
		protocol.TypeListRooms:     (*request).listRooms,
		protocol.TypeTyping:        (*request).typing,
		protocol.TypeWho:           (*request).who,
		protocol.TypeEditMessage:   (*request).editMessage,
		protocol.TypeDeleteMessage: (*request).deleteMessage,
		protocol.TypeMarkRead:      (*request).markRead,
		protocol.TypeReact:         (*request).react,
		protocol.TypeSearch:        (*request).search,
		protocol.TypeSetRoomMuted:  (*request).setRoomMuted,

		protocol.TypeListPublicRooms: (*request).listPublicRooms,
		protocol.TypeSetTopic:        (*request).setTopic,
		protocol.TypeMembers:         (*request).members,
		protocol.TypeSetRole:         (*request).setRole,
		protocol.TypeRemoveMember:    (*request).removeMember,
		protocol.TypeArchiveRoom:     (*request).archiveRoom,
		protocol.TypeSetDescription:  (*request).setDescription,
	}
}

// handle decodes, runs and answers one frame. A send_message goes to the
// store without waiting for its commit when the store can take it so
// (pipelining); every other request first waits for the connection's sends
// in flight, so that replies keep the order of their requests.
func (c *conn) handle(data []byte) {
	if c.s.appender != nil {
		// Most frames are sends in the plain form, read without encoding/json.
		if id, p, ok := protocol.DecodeSendMessage(data); ok {
			c.sendDecoded(protocol.Envelope{Type: protocol.TypeSendMessage, ID: id}, p)
			return
		}
	}
	env, err := protocol.Decode(data)
	if err == nil && env.Type == protocol.TypeSendMessage && c.s.appender != nil {
		c.sendPipelined(env)
		return
	}
	c.sending.Wait()
	if err != nil {
		c.badFrame(env.ID, err)
		return
	}
	h, ok := handlers[env.Type]
	if !ok {
		c.badFrame(env.ID, chat.Errorf(chat.CodeUnknownType, "unknown type %q", env.Type))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	ack, err := h(&request{ctx: ctx, c: c, env: env})
	c.reply(env, ack, err)
}

// reply answers a request with its ack or error.
func (c *conn) reply(env protocol.Envelope, ack any, err error) {
	switch {
	case err != nil:
		if errors.As(err, new(payloadError)) {
			c.badFrame(env.ID, err) // malformed: counts towards 1008
			return
		}
		if chat.ErrorCode(err) == chat.CodeInternal {
			if !errors.As(err, new(reportedError)) {
				c.s.log.Error("request failed", "type", env.Type, "user", c.user.Username, "err", err)
			}
			err = chat.Errorf(chat.CodeInternal, "internal error")
		}
		c.enqueueBytes(errorFrame(env.ID, err))
	case env.ID == "":
	case ack == acked{}:
	default:
		c.enqueueBytes(frame(protocol.TypeAck, env.ID, ack))
	}
}

// maxSendsInFlight bounds one connection's pipelined sends: beyond it the
// reader waits for a commit before it reads on.
const maxSendsInFlight = 64

// sendPipelined hands a send_message to the store and returns; the store
// reports the commit, and the ack (or error) is queued then. Sends leave in
// the order they were read and the store reports them in that order, so
// their acks do too.
func (c *conn) sendPipelined(env protocol.Envelope) {
	req := &request{c: c, env: env}
	var p protocol.SendMessage
	if err := req.decode(&p); err != nil {
		c.sending.Wait()
		c.reply(env, nil, err)
		return
	}
	c.sendDecoded(env, p)
}

// sendDecoded is sendPipelined once the payload is decoded and valid.
func (c *conn) sendDecoded(env protocol.Envelope, p protocol.SendMessage) {
	if p.Room == "" {
		p.Room = c.current
	}
	if err := c.s.allowSend(c.user); err != nil {
		c.sending.Wait()
		c.reply(env, nil, err)
		return
	}
	c.sendSlots <- struct{}{}
	c.sending.Add(1)
	s := c.s
	start := time.Now()
	nm := newMessage(c.user, p, start)
	s.appender.AppendAsync(context.Background(), nm, func(m chat.Message, created bool, err error) {
		s.metrics.storeLatency.WithLabelValues("append").Observe(time.Since(start).Seconds())
		err = s.metrics.failures.failed("append", err)
		if err != nil {
			c.reply(env, nil, err)
		} else {
			// This runs on the store's commit path (the SQLite writer):
			// the message is encoded once, by hand, for the room and the ack.
			msg := m.AppendJSON(make([]byte, 0, 256+len(m.Text)))
			if created {
				s.storedJSON(m, msg)
			}
			if env.ID != "" {
				c.enqueueBytes(protocol.AppendMessageAck(make([]byte, 0, len(msg)+len(env.ID)+48), env.ID, msg))
			}
		}
		<-c.sendSlots
		c.sending.Done()
	})
}

// payloadError marks a payload that did not decode or validate: a bad
// frame, unlike a well-formed request the store refuses (say, inviting to a
// public room), which is answered but not held against the connection.
type payloadError struct{ error }

func (e payloadError) Unwrap() error { return e.error }

func (req *request) decode(v any) error {
	if err := protocol.DecodePayload(req.env.Payload, v); err != nil {
		return payloadError{err}
	}
	return nil
}

func (req *request) sendMessage() (any, error) {
	var p protocol.SendMessage
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	if p.Room == "" {
		p.Room = req.c.current
	}
	m, err := req.c.s.send(req.ctx, req.c.user, p)
	if err != nil {
		return nil, err
	}
	return protocol.MessageAck{Message: m}, nil
}

// send is the path by which messages enter over HTTP, and over a
// WebSocket when the store cannot pipeline: rate limit, store, then bus.
// The message is acknowledged only once Append has committed it.
func (s *Server) send(ctx context.Context, from chat.User, p protocol.SendMessage) (chat.Message, error) {
	if err := s.allowSend(from); err != nil {
		return chat.Message{}, err
	}
	type result struct {
		m       chat.Message
		created bool
	}
	res, err := timed(s.metrics, "append", func() (result, error) {
		m, created, err := s.store.Append(ctx, newMessage(from, p, time.Now()))
		return result{m, created}, err
	})
	if err != nil {
		return chat.Message{}, err
	}
	if res.created {
		s.stored(res.m)
	}
	return res.m, nil
}

// newMessage is what from's send_message p asks the store to append.
func newMessage(from chat.User, p protocol.SendMessage, at time.Time) chat.NewMessage {
	return chat.NewMessage{Room: p.Room, From: from, Text: p.Text, ClientMsgID: p.ClientMsgID, SentAt: at,
		ReplyTo: p.ReplyTo, Attachments: p.Attachments}
}

// allowSend applies the per-user rate limit.
func (s *Server) allowSend(from chat.User) error {
	if s.limits != nil && !s.limits.allow(from.ID) {
		s.metrics.rateLimited.Inc()
		return chat.Errorf(chat.CodeRateLimited, "too many messages; at most %g per second", s.cfg.RateLimit)
	}
	return nil
}

// stored publishes a newly committed message to every node.
func (s *Server) stored(m chat.Message) {
	s.storedJSON(m, m.AppendJSON(nil))
}

// storedJSON is stored with m's JSON (chat.Message.AppendJSON) at hand.
func (s *Server) storedJSON(m chat.Message, msg []byte) {
	s.metrics.messagesStored.Inc()
	s.hub.publishMessage(m, msg)
	if m.Thread != nil {
		s.hub.publishThread(m.Room, m.ReplyTo, *m.Thread)
	}
}

// joinRoom serves join_room and change_room; both make the room the
// connection's current one.
func (req *request) joinRoom() (any, error) {
	var p protocol.JoinRoom
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	if !p.MayCreate() {
		// Asked not to create: a room that does not exist is not_found, as
		// is a private room one is not in (JoinRoom answers that too).
		if _, err := c.s.store.Room(req.ctx, c.user.ID, p.Room); err != nil {
			return nil, err
		}
	}
	m, err := timed(c.s.metrics, "join_room", func() (chat.Membership, error) {
		return c.s.store.JoinRoom(req.ctx, c.user.ID, p.Room)
	})
	if err != nil {
		return nil, err
	}
	if err := c.s.hub.joined(c, m.Room, req.env.ID); err != nil {
		return nil, err
	}
	if m.Added && !chat.IsDMName(m.Room.Name) {
		c.s.hub.publishMemberJoined(m.Room.Name, c.user, m.Room.Role)
	}
	c.current = m.Room.Name // the seed's current room: the one last joined or changed to
	return acked{}, nil
}

// joined attaches c to a room the user has just become (or already was) a
// member of, acks with the connection's cursor, and tells the user's other
// connections and every node's presence.
func (h *hub) joined(c *conn, room chat.Room, ackID string) error {
	h.presence.joined(c.user, room.Name)
	err := h.attach(c, room.Name, func(cursor int64) {
		if ackID == "" {
			return
		}
		r := room
		r.LastSeq, r.Joined = cursor, true
		r.MembersOnline = h.presence.online(r.Name)
		c.enqueueBytes(frame(protocol.TypeAck, ackID, protocol.RoomAck{Room: r}))
	})
	if err != nil {
		return err
	}
	h.publishAdded(c.user, room, c)
	return nil
}

func (req *request) leaveRoom() (any, error) {
	var p protocol.RoomRef
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	newOwner, err := timed(c.s.metrics, "leave_room", func() (chat.User, error) {
		return c.s.store.LeaveRoom(req.ctx, c.user.ID, p.Room)
	})
	if err != nil {
		return nil, err
	}
	h := c.s.hub
	if newOwner.ID != "" {
		h.publishMemberUpdated(p.Room, newOwner, chat.RoleOwner)
	}
	if chat.IsDMName(p.Room) {
		return struct{}{}, req.hideDM(p.Room)
	}
	if r := c.removeRoom(p.Room); r != nil {
		// Attached: the user was a member until now (leaving a public room
		// one is not in tells nobody anything).
		h.detach(c, r)
		h.publishMemberLeft(p.Room, c.user)
	}
	h.publishRemoved(c.user, p.Room, c)
	h.presence.left(c.user, p.Room)
	return struct{}{}, nil
}

func (req *request) createRoom() (any, error) {
	var p protocol.CreateRoom
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	room, err := timed(c.s.metrics, "create_room", func() (chat.Room, error) {
		return c.s.store.CreateRoom(req.ctx, c.user.ID, p.Room, p.Private)
	})
	if err != nil {
		return nil, err
	}
	if err := c.s.hub.joined(c, room, req.env.ID); err != nil {
		return nil, err
	}
	c.current = room.Name
	return acked{}, nil
}

func (req *request) invite() (any, error) {
	var p protocol.Invite
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c, s := req.c, req.c.s
	type invited struct {
		user chat.User
		m    chat.Membership
	}
	res, err := timed(s.metrics, "invite", func() (invited, error) {
		u, m, err := s.store.Invite(req.ctx, c.user.ID, p.Room, p.User)
		return invited{u, m}, err
	})
	if err != nil {
		return nil, err
	}
	invitee := res.user
	if res.m.Added {
		s.hub.added(invitee, res.m.Room)
		s.hub.publishMemberJoined(p.Room, invitee, res.m.Room.Role)
	}
	room, err := s.room(req.ctx, c.user.ID, p.Room)
	if err != nil {
		return nil, err
	}
	room.MembersOnline = s.hub.presence.online(room.Name)
	return protocol.InviteAck{Room: room, User: invitee}, nil
}

// added tells every connection of u, on every node, that u is now a member
// of room (room_added), and counts u as online there.
func (h *hub) added(u chat.User, room chat.Room) {
	h.presence.joined(u, room.Name)
	h.publishAdded(u, room, nil)
}

func (req *request) openDM() (any, error) {
	var p protocol.OpenDM
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c, s := req.c, req.c.s
	type dm struct {
		room       chat.Room
		other      chat.User
		otherAdded bool
	}
	res, err := timed(s.metrics, "open_dm", func() (dm, error) {
		room, other, added, err := s.store.OpenDM(req.ctx, c.user.ID, p.User)
		return dm{room, other, added}, err
	})
	if err != nil {
		return nil, err
	}
	room, other := res.room, res.other
	if err := s.hub.joined(c, room, req.env.ID); err != nil {
		return nil, err
	}
	if res.otherAdded && other.ID != c.user.ID {
		theirs, err := s.room(req.ctx, other.ID, room.Name)
		if err != nil {
			return nil, err
		}
		s.hub.added(other, theirs)
	}
	return acked{}, nil
}

func (req *request) history() (any, error) {
	var p protocol.History
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	q, err := p.Query().Check()
	if err != nil {
		return nil, err
	}
	c := req.c
	payload, err := timed(c.s.metrics, "history", func() ([]byte, error) {
		return c.s.pages.page(req.ctx, c.s, c.user.ID, pageKey{room: p.Room, q: q})
	})
	if err != nil {
		return nil, err
	}
	return encoded(payload), nil
}

func (req *request) listRooms() (any, error) {
	c := req.c
	rooms, err := timed(c.s.metrics, "rooms", func() ([]chat.Room, error) { return c.s.store.Rooms(req.ctx, c.user.ID) })
	if err != nil {
		return nil, err
	}
	return protocol.RoomsAck{Rooms: c.s.withOnline(shown(rooms))}, nil
}

// room reads one room as userID sees it.
func (s *Server) room(ctx context.Context, userID, name string) (chat.Room, error) {
	return timed(s.metrics, "room", func() (chat.Room, error) { return s.store.Room(ctx, userID, name) })
}

// withOnline fills in members_online.
func (s *Server) withOnline(rooms []chat.Room) []chat.Room {
	if rooms == nil {
		return []chat.Room{}
	}
	for i := range rooms {
		rooms[i].MembersOnline = s.hub.presence.online(rooms[i].Name)
	}
	return rooms
}

// requireMember checks membership from the connection's attached rooms,
// falling back to the store to tell not_found from forbidden.
func (req *request) requireMember(room string) error {
	c := req.c
	if c.hasRoom(room) {
		return nil
	}
	r, err := c.s.room(req.ctx, c.user.ID, room)
	if err != nil {
		return err
	}
	if !r.Joined {
		return chat.Errorf(chat.CodeForbidden, "join the room first")
	}
	return nil // a member whose attach is still on its way
}

func (req *request) typing() (any, error) {
	var p protocol.RoomRef
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	if err := req.requireMember(p.Room); err != nil {
		return nil, err
	}
	c := req.c
	now := time.Now()
	if now.Sub(c.lastTyping[p.Room]) >= typingInterval {
		c.lastTyping[p.Room] = now
		c.s.hub.publishTyping(p.Room, c.user)
	}
	return struct{}{}, nil
}

func (req *request) who() (any, error) {
	var p protocol.Who
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	if p.Limit == 0 {
		p.Limit = 100
	}
	if err := req.requireMember(p.Room); err != nil {
		return nil, err
	}
	n, users := req.c.s.hub.presence.who(p.Room, p.Limit)
	return protocol.WhoAck{Online: n, Users: users}, nil
}

func (req *request) editMessage() (any, error) {
	var p protocol.EditMessage
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	m, err := timed(c.s.metrics, "edit", func() (chat.Message, error) {
		return c.s.store.EditMessage(req.ctx, c.user.ID, p.Room, p.Seq, p.Text, time.Now())
	})
	if err != nil {
		return nil, err
	}
	c.s.hub.publishEdited(m)
	return protocol.MessageAck{Message: m}, nil
}

func (req *request) deleteMessage() (any, error) {
	var p protocol.MessageRef
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	if p.Seq < 1 {
		return nil, chat.Errorf(chat.CodeBadRequest, "seq must be positive")
	}
	c := req.c
	m, err := timed(c.s.metrics, "delete", func() (chat.Message, error) {
		return c.s.store.DeleteMessage(req.ctx, c.user.ID, p.Room, p.Seq, time.Now())
	})
	if err != nil {
		return nil, err
	}
	c.s.hub.publishDeleted(p.Room, p.Seq)
	return protocol.MessageAck{Message: m}, nil
}

func (req *request) markRead() (any, error) {
	var p protocol.MessageRef
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	type marker struct{ seq, unread int64 }
	res, err := timed(c.s.metrics, "mark_read", func() (marker, error) {
		seq, unread, err := c.s.store.MarkRead(req.ctx, c.user.ID, p.Room, p.Seq)
		return marker{seq, unread}, err
	})
	if err != nil {
		return nil, err
	}
	c.s.hub.publishRead(c, p.Room, res.seq)
	mentions, err := c.s.store.UnreadMentions(req.ctx, c.user.ID, p.Room)
	if err != nil {
		return nil, err
	}
	return protocol.MarkReadAck{Room: p.Room, Seq: res.seq, Unread: res.unread, Mentions: mentions[p.Room]}, nil
}
