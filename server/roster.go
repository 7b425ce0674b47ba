package server

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// roster is this node's view of who is online in the whole cluster and in
// which rooms, and which other nodes are alive. It is data only: presence
// feeds it and reports its transitions.
type roster struct {
	mu    sync.Mutex // guards the following; a leaf: nothing is called under it
	users map[string]*onlineUser
	rooms map[string]map[string]chat.User // room -> online members
	nodes map[string]time.Time            // other nodes -> when last heard from
}

type onlineUser struct {
	user  chat.User
	nodes map[string]struct{}
	rooms map[string]struct{}
}

func newRoster() *roster {
	return &roster{
		users: make(map[string]*onlineUser),
		rooms: make(map[string]map[string]chat.User),
		nodes: make(map[string]time.Time),
	}
}

// transition is a user going online or offline in a room, with the number
// of online members the room has with them.
type transition struct {
	room   string
	online int
}

// nodeOnline records that node has a connection of u, a member of rooms. If
// u was offline everywhere it returns the rooms where u is now online.
func (p *roster) nodeOnline(node string, u chat.User, rooms []string) []transition {
	p.mu.Lock()
	defer p.mu.Unlock()
	ou := p.users[u.ID]
	if ou == nil {
		ou = &onlineUser{user: u, nodes: make(map[string]struct{}), rooms: make(map[string]struct{})}
		p.users[u.ID] = ou
	}
	ou.nodes[node] = struct{}{}
	var out []transition
	for _, r := range rooms {
		if t, ok := p.addLocked(ou, r); ok {
			out = append(out, t)
		}
	}
	return out
}

// nodeOffline records that node has no connection of u any more. If u is
// then offline everywhere it returns the rooms u went offline in.
func (p *roster) nodeOffline(node string, userID string) (chat.User, []transition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ou := p.users[userID]
	if ou == nil {
		return chat.User{}, nil
	}
	delete(ou.nodes, node)
	if len(ou.nodes) > 0 {
		return ou.user, nil
	}
	delete(p.users, userID)
	var out []transition
	for r := range ou.rooms {
		members := p.rooms[r]
		out = append(out, transition{room: r, online: len(members)})
		delete(members, userID)
		if len(members) == 0 {
			delete(p.rooms, r)
		}
	}
	return ou.user, out
}

// join records that u became a member of room; ok if u is online and was
// not counted there yet.
func (p *roster) join(u chat.User, room string) (transition, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ou := p.users[u.ID]
	if ou == nil {
		return transition{}, false
	}
	return p.addLocked(ou, room)
}

func (p *roster) addLocked(ou *onlineUser, room string) (transition, bool) {
	if _, ok := ou.rooms[room]; ok {
		return transition{}, false
	}
	ou.rooms[room] = struct{}{}
	members := p.rooms[room]
	if members == nil {
		members = make(map[string]chat.User)
		p.rooms[room] = members
	}
	members[ou.user.ID] = ou.user
	return transition{room: room, online: len(members)}, true
}

// leave records that u left room; ok if u was online there.
func (p *roster) leave(userID, room string) (transition, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ou := p.users[userID]
	if ou == nil {
		return transition{}, false
	}
	if _, ok := ou.rooms[room]; !ok {
		return transition{}, false
	}
	delete(ou.rooms, room)
	members := p.rooms[room]
	t := transition{room: room, online: len(members)}
	delete(members, userID)
	if len(members) == 0 {
		delete(p.rooms, room)
	}
	return t, true
}

// online returns how many members of room are online.
func (p *roster) online(room string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.rooms[room])
}

// who returns the number of online members of room and up to limit of them,
// sorted by username.
func (p *roster) who(room string, limit int) (int, []chat.User) {
	p.mu.Lock()
	members := p.rooms[room]
	users := make([]chat.User, 0, len(members))
	for _, u := range members {
		users = append(users, u)
	}
	n := len(members)
	p.mu.Unlock()
	slices.SortFunc(users, func(a, b chat.User) int {
		return strings.Compare(strings.ToLower(a.Username), strings.ToLower(b.Username))
	})
	if len(users) > limit {
		users = users[:limit]
	}
	return n, users
}

// heard records a sign of life from another node; it reports whether the
// node was unknown (new, or presumed gone before).
func (p *roster) heard(node string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, known := p.nodes[node]
	p.nodes[node] = now
	return !known
}

// departure is a user who went offline with the rooms they left.
type departure struct {
	user chat.User
	ts   []transition
}

// expire forgets the nodes not heard from since before cutoff, as if each
// had closed all its connections, and returns who went offline.
func (p *roster) expire(cutoff time.Time) (gone []string, out []departure) {
	p.mu.Lock()
	for node, seen := range p.nodes {
		if seen.Before(cutoff) {
			delete(p.nodes, node)
			gone = append(gone, node)
		}
	}
	var affected []string
	for _, node := range gone {
		for id, ou := range p.users {
			if _, ok := ou.nodes[node]; ok {
				affected = append(affected, id)
			}
		}
	}
	p.mu.Unlock()
	for _, node := range gone {
		for _, id := range affected {
			if u, ts := p.nodeOffline(node, id); len(ts) > 0 {
				out = append(out, departure{u, ts})
			}
		}
	}
	return gone, out
}

// nodeHas reports whether node counts u as connected to it.
func (p *roster) nodeHas(node, userID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ou := p.users[userID]
	if ou == nil {
		return false
	}
	_, ok := ou.nodes[node]
	return ok
}

// usersOn returns the users that node counts as connected to it.
func (p *roster) usersOn(node string) []chat.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []chat.User
	for _, ou := range p.users {
		if _, ok := ou.nodes[node]; ok {
			out = append(out, ou.user)
		}
	}
	return out
}
