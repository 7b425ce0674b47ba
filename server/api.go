package server

import (
	"net/http"
	"strconv"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// publicRoomsLimit bounds the unjoined public rooms listed by GET /api/rooms.
const publicRoomsLimit = 200

// handleRooms lists the user's rooms and, after them, public rooms they
// could join (joined=false).
func (s *Server) handleRooms(w http.ResponseWriter, r *http.Request, id identity) {
	rooms, err := timed(s.metrics, "rooms", func() ([]chat.Room, error) { return s.store.Rooms(r.Context(), id.user.ID) })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	public, err := timed(s.metrics, "public_rooms", func() ([]chat.Room, error) {
		return s.store.PublicRooms(r.Context(), id.user.ID, publicRoomsLimit)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, protocol.RoomsAck{Rooms: s.withOnline(append(shown(rooms), public...))})
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, id identity) {
	p := protocol.History{Room: r.PathValue("room")}
	q := r.URL.Query()
	var after int64
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"before_seq", &p.BeforeSeq}, {"after_seq", &after}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				s.writeError(w, r, chat.Errorf(chat.CodeBadRequest, "%s must be an integer", f.name))
				return
			}
			*f.dst = n
		}
	}
	if q.Has("after_seq") {
		p.AfterSeq = &after
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, r, chat.Errorf(chat.CodeBadRequest, "limit must be 1-100"))
			return
		}
		p.Limit = n
	}
	if err := p.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	type page struct {
		msgs []chat.Message
		more bool
	}
	res, err := timed(s.metrics, "history", func() (page, error) {
		msgs, more, err := s.store.History(r.Context(), id.user.ID, p.Room, p.Query())
		return page{msgs, more}, err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.msgs == nil {
		res.msgs = []chat.Message{}
	}
	writeJSON(w, http.StatusOK, protocol.HistoryAck{Messages: res.msgs, HasMore: res.more})
}

// handlePost lets bots and scripts post with the same guarantees as
// send_message: 201 with the stored message, the first one again for a
// repeated client_msg_id; reply_to answers a message, as over a WebSocket.
func (s *Server) handlePost(w http.ResponseWriter, r *http.Request, id identity) {
	var p protocol.SendMessage
	if err := readJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	p.Room = r.PathValue("room")
	if err := p.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.send(r.Context(), id.user, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}
