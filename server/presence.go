package server

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// presence keeps who is online across the cluster: it owns this node's id
// on the bus, the presence topic, the heartbeat that tells the other nodes
// this one is alive, and the roster of users and peers. It reaches the hub
// only through presenceHost: to deliver presence frames to this node's
// connections, and to ask which of them a user has.
//
// Locks: syncMu is taken before anything the host takes (hub.mu, conn.mu,
// room.mu); roster.mu is a leaf. No store call runs under either, and
// delivering only queues frames, so a room whose store stalls cannot stall
// presence.
type presence struct {
	node  string // this node's random id on the bus
	bus   chat.Bus
	log   *slog.Logger
	host  presenceHost
	every time.Duration // heartbeat period; a peer silent for three is gone

	roster *roster
	syncMu sync.Mutex // serialises sync, so that its look at the connections and its change are one step

	sub  chat.Subscription
	done chan struct{}
	wg   sync.WaitGroup // the heartbeat goroutine
}

// presenceHost is the hub, as presence sees it.
type presenceHost interface {
	// announce queues presence frames to the local members of each room
	// of ts, other than u.
	announce(u chat.User, status string, ts []transition)
	// localRooms returns the rooms this node's connections of a user are
	// attached to, and whether it has any connection of theirs.
	localRooms(userID string) (rooms []string, connected bool)
	// connected reports whether this node has a connection of a user; it
	// costs nothing like localRooms for a user with many connections.
	connected(userID string) bool
}

// startPresence subscribes to the presence topic, asks the nodes already
// running who is online on them, and starts the heartbeat.
func startPresence(node string, bus chat.Bus, log *slog.Logger, every time.Duration, host presenceHost) (*presence, error) {
	p := &presence{node: node, bus: bus, log: log, host: host, every: every, roster: newRoster(), done: make(chan struct{})}
	sub, err := bus.Subscribe(presenceTopic, p.onEvent)
	if err != nil {
		return nil, err
	}
	p.sub = sub
	p.publish(busEvent{Kind: evSync})
	p.wg.Go(p.runHeartbeat)
	return p, nil
}

// stop ends the heartbeat and the subscription.
func (p *presence) stop() {
	close(p.done)
	p.wg.Wait()
	unsubscribe(p.log, p.sub, presenceTopic)
}

// online returns how many members of room are online.
func (p *presence) online(room string) int { return p.roster.online(room) }

// who returns the number of online members of room and up to limit of them.
func (p *presence) who(room string, limit int) (int, []chat.User) { return p.roster.who(room, limit) }

// sync makes this node's presence of u match its connections of u: online
// (with the rooms they are attached to) if it has any, offline if not. It
// looks at the connections rather than being told "first" or "last", so a
// quick reconnect, whose online may race the old connection's offline,
// cannot leave a connected user offline.
func (p *presence) sync(u chat.User) {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	connected := p.host.connected(u.ID)
	counted := p.roster.nodeHas(p.node, u.ID)
	switch {
	case connected && !counted:
		if rooms, ok := p.host.localRooms(u.ID); ok {
			p.change(busEvent{Kind: evOnline, User: &u, Rooms: rooms})
		}
	case !connected && counted:
		p.change(busEvent{Kind: evOffline, User: &u})
	}
}

// joined counts u, who has just become a member of room, as online there
// on every node (if u is online).
func (p *presence) joined(u chat.User, room string) {
	p.change(busEvent{Kind: evJoinRoom, User: &u, Room: room})
}

// left stops counting u, who is no longer a member of room, there.
func (p *presence) left(u chat.User, room string) {
	p.change(busEvent{Kind: evLeave, User: &u, Room: room})
}

// change applies a presence change of this node and tells the others.
func (p *presence) change(ev busEvent) {
	ev.Node = p.node
	p.apply(ev)
	p.publish(ev)
}

func (p *presence) publish(ev busEvent) {
	ev.Node = p.node
	publishEvent(p.bus, p.log, presenceTopic, ev)
}

// runHeartbeat tells the other nodes that this one is alive and presumes
// gone, with all their users, the nodes that stopped saying so (a crash, a
// partition): without it their users would stay online everywhere.
func (p *presence) runHeartbeat() {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-t.C:
			p.publish(busEvent{Kind: evAlive})
			gone, departures := p.roster.expire(now.Add(-3 * p.every))
			for _, node := range gone {
				p.log.Warn("node presumed gone: no heartbeat", "node", node)
			}
			for _, d := range departures {
				p.host.announce(d.user, protocol.StatusOffline, d.ts)
			}
		}
	}
}

// onEvent handles the presence topic. This node applies its own changes at
// once and ignores their echo; other nodes' changes arrive here.
func (p *presence) onEvent(data []byte) {
	if data == nil {
		// Events were lost (the bus reconnected, or a route to other
		// nodes came up): ask every node who is online, rather than wait
		// for their heartbeats.
		p.publish(busEvent{Kind: evSync})
		return
	}
	var ev busEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		p.log.Error("bad presence event on bus", "err", err)
		return
	}
	if ev.Node == p.node || ev.Node == "" {
		return
	}
	if p.roster.heard(ev.Node, time.Now()) && ev.Kind != evSync {
		// A node we did not know, or had presumed gone, is back: ask
		// everyone, it included, who is online.
		p.publish(busEvent{Kind: evSync})
	}
	switch {
	case ev.Kind == evSync:
		p.announceLocalUsers()
	case ev.User != nil:
		p.apply(ev)
	}
}

// announceLocalUsers publishes every user connected to this node as online,
// with the rooms their connections are attached to, for a node that has
// just started.
func (p *presence) announceLocalUsers() {
	for _, u := range p.roster.usersOn(p.node) {
		if rooms, ok := p.host.localRooms(u.ID); ok {
			p.publish(busEvent{Kind: evOnline, User: &u, Rooms: rooms})
		}
	}
}

// apply records a change of ev.Node's and delivers what it changed.
func (p *presence) apply(ev busEvent) {
	u := *ev.User
	switch ev.Kind {
	case evOnline:
		p.host.announce(u, protocol.StatusOnline, p.roster.nodeOnline(ev.Node, u, ev.Rooms))
	case evOffline:
		_, ts := p.roster.nodeOffline(ev.Node, u.ID)
		p.host.announce(u, protocol.StatusOffline, ts)
	case evJoinRoom:
		if t, ok := p.roster.join(u, ev.Room); ok {
			p.host.announce(u, protocol.StatusOnline, []transition{t})
		}
	case evLeave:
		if t, ok := p.roster.leave(u.ID, ev.Room); ok {
			p.host.announce(u, protocol.StatusOffline, []transition{t})
		}
	}
}
