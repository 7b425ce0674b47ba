package server_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// startNode starts a chatd node with a store and a bus of its own, on the
// database at pgURL and a bus with opts, as a separate process of a cluster
// would have.
func startNode(t *testing.T, pgURL string, opts natsbus.Options, name string) (*chatdtest.Server, *natsbus.Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store, err := postgres.Open(ctx, pgURL)
	if err != nil {
		t.Fatalf("node %s: %v", name, err)
	}
	t.Cleanup(func() { store.Close() }) // after the server stops (cleanups run last-in first-out)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Name = "chatd-test-" + name
	opts.Logger = quiet
	bus, err := natsbus.New(opts)
	if err != nil {
		t.Fatalf("node %s: %v", name, err)
	}
	t.Cleanup(func() { bus.Close() })
	return chatdtest.Start(t, chatdtest.Options{
		Store:  store,
		Bus:    bus,
		Config: server.Config{RateLimit: 0, Logger: quiet},
	}), bus
}

// startNodes starts n nodes on one database, in one of the two ways chatd
// nodes share events: "routes" (the nodes' embedded NATS servers form a
// cluster, each given a route to the ones started before it) or "external"
// (each connects to the NATS server at CHATD_TEST_NATS_URL). It returns
// once the embedded servers all have routes to each other.
func startNodes(t *testing.T, mode string, n int) []*chatdtest.Server {
	t.Helper()
	pgURL := pgtest.URL(t)
	var opts natsbus.Options
	if mode == "external" {
		opts.URL = chatdtest.Env(t, "CHATD_TEST_NATS_URL", "the cluster test on an external NATS")
		// The NATS server may be shared with other tests and earlier runs:
		// a subject prefix of this run's own keeps their events out of
		// this one's, as it would keep two clusters apart.
		opts.Prefix = "chatdtest-" + strings.ToLower(rand.Text()[:10])
	}
	var nodes []*chatdtest.Server
	var buses []*natsbus.Bus
	for i := range n {
		o := opts
		if mode == "routes" {
			o.ClusterListen = "127.0.0.1:0"
			for _, b := range buses {
				o.ClusterRoutes = append(o.ClusterRoutes, "nats://"+b.ClusterAddr().String())
			}
		}
		node, bus := startNode(t, pgURL, o, string(rune('a'+i)))
		nodes, buses = append(nodes, node), append(buses, bus)
	}
	for i, b := range buses {
		for deadline := time.Now().Add(10 * time.Second); mode == "routes" && len(b.Peers()) != n-1; {
			if time.Now().After(deadline) {
				t.Fatalf("node %d has routes to %v, want %d others", i, b.Peers(), n-1)
			}
			time.Sleep(20 * time.Millisecond)
		}
		nodes[i].WaitReady(t)
	}
	return nodes
}

// clusterModes are the two ways nodes share events.
var clusterModes = []string{"routes", "external"}

// eachClusterMode runs test once per cluster mode, as a subtest named
// after the mode.
func eachClusterMode(t *testing.T, test func(t *testing.T, mode string)) {
	for _, mode := range clusterModes {
		t.Run(mode, func(t *testing.T) { test(t, mode) })
	}
}

// TestCluster runs two real nodes, each with its own PostgreSQL store and
// its own bus, in both modes (the nodes' embedded NATS servers joined by
// routes, and an external NATS server): users on both chat in one room,
// all sending at once, and every one of them receives every message
// exactly once, in seq order without a gap; presence crosses the nodes.
func TestCluster(t *testing.T) {
	eachClusterMode(t, testCluster)
}

func testCluster(t *testing.T, mode string) {
	nodes := startNodes(t, mode, 2)
	a, b := nodes[0], nodes[1]

	room := "cluster-" + strings.ToLower(rand.Text()[:10])

	type member struct {
		name string
		node *chatdtest.Server
		c    *chatdtest.Client
	}
	members := []*member{{name: "alice", node: a}, {name: "bob", node: b}, {name: "carol", node: a}, {name: "dave", node: b}}
	for i, m := range members {
		// Registered on the other node: accounts live in the shared database.
		acc := members[(i+1)%2].node.Register(t, m.name)
		m.c = m.node.Dial(t, acc.Token)
		m.c.Welcome()
		var ack protocol.RoomAck
		m.c.Ack("join_room", protocol.RoomRef{Room: room}, &ack)
		if ack.Room.LastSeq != 0 || !ack.Room.Joined {
			t.Fatalf("%s joined %s: %+v, want joined at seq 0", m.name, room, ack.Room)
		}
		// Every member already in the room learns of the newcomer, whichever
		// node either is on.
		for _, earlier := range members[:i] {
			earlier.c.Expect("presence", chatdtest.PresenceOf(room, m.name, protocol.StatusOnline))
		}
	}
	for _, m := range members {
		var who protocol.WhoAck
		m.c.Ack("who", protocol.Who{Room: room}, &who)
		if who.Online != len(members) {
			t.Errorf("who on node of %s: %d online (%v), want %d", m.name, who.Online, who.Users, len(members))
		}
	}

	// Everyone sends at once, through both nodes.
	const each = 30
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(func() {
			for j := range each {
				m.c.Send("send_message", protocol.SendMessage{Room: room,
					Text: fmt.Sprintf("%s %d", m.name, j), ClientMsgID: fmt.Sprintf("%s-%d", m.name, j)})
			}
		})
	}
	wg.Wait()

	const total = each * 4
	for _, m := range members {
		texts := map[string]bool{}
		for want := int64(1); want <= total; want++ {
			msg := messageOf(t, m.c.Expect("new_message", inRoom(room)))
			if msg.Seq != want {
				t.Fatalf("%s (node %s) received seq %d as message %d, want %d: a gap, repeat or reordering",
					m.name, m.node.Addr, msg.Seq, want, want)
			}
			if texts[msg.Text] {
				t.Fatalf("%s received %q twice", m.name, msg.Text)
			}
			texts[msg.Text] = true
		}
		m.c.ExpectNone("new_message", inRoom(room), 200*time.Millisecond)
	}
	for _, m := range members { // no sender was refused anything
		m.c.ExpectNone("error", nil, 0)
	}

	// Both nodes' stores agree on the history.
	for _, node := range []*chatdtest.Server{a, b} {
		if last, err := node.Store.LastSeq(t.Context(), room); err != nil || last != total {
			t.Errorf("LastSeq on node %s = %d, %v; want %d", node.Addr, last, err, total)
		}
	}

	// Going offline crosses nodes too.
	members[1].c.WS.Close() // bob, on b
	members[0].c.Expect("presence", chatdtest.PresenceOf(room, "bob", protocol.StatusOffline))
	members[2].c.Expect("presence", chatdtest.PresenceOf(room, "bob", protocol.StatusOffline))
	members[3].c.Expect("presence", chatdtest.PresenceOf(room, "bob", protocol.StatusOffline))
}

// TestClusterLateRoute: a node that started before its peer (its route to
// the peer failing until the peer is up) has users online already; once
// the peer starts and the route forms, each node sees the other's users,
// sooner than the nodes' heartbeats would tell them (5 s), and messages
// cross.
func TestClusterLateRoute(t *testing.T) {
	pgURL := pgtest.URL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lateAddr := ln.Addr().String() // free again in a moment, for node a
	ln.Close()
	b, _ := startNode(t, pgURL, natsbus.Options{ClusterListen: "127.0.0.1:0",
		ClusterRoutes: []string{"nats://" + lateAddr}, RouteWait: time.Millisecond}, "b")
	b.WaitReady(t)
	room := "late-" + strings.ToLower(rand.Text()[:10])
	alice := b.Dial(t, b.Register(t, "alice").Token)
	alice.Welcome()
	alice.Ack("join_room", protocol.RoomRef{Room: room}, nil)

	a, _ := startNode(t, pgURL, natsbus.Options{ClusterListen: lateAddr}, "a")
	a.WaitReady(t)
	bob := a.Dial(t, a.Register(t, "bob").Token)
	bob.Welcome()
	bob.Ack("join_room", protocol.RoomRef{Room: room}, nil)
	alice.ExpectWithin("presence", chatdtest.PresenceOf(room, "bob", protocol.StatusOnline), 3*time.Second)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var who protocol.WhoAck
		bob.Ack("who", protocol.Who{Room: room}, &who)
		if who.Online == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("who on node a: %d online (%v), want alice and bob", who.Online, who.Users)
		}
	}
	alice.Ack("send_message", protocol.SendMessage{Room: room, Text: "across"}, nil)
	if m := messageOf(t, bob.Expect("new_message", inRoom(room))); m.Text != "across" {
		t.Errorf("bob got %q", m.Text)
	}
}

// TestClusterRoomChanges: on two real nodes (own stores, own buses, in
// both modes), what an owner changes on one node reaches a member on the
// other: a newcomer, the topic and description, a role, archiving and
// unarchiving, and a leave.
func TestClusterRoomChanges(t *testing.T) {
	eachClusterMode(t, testClusterRoomChanges)
}

func testClusterRoomChanges(t *testing.T, mode string) {
	nodes := startNodes(t, mode, 2)
	a, b := nodes[0], nodes[1]
	room := "changes-" + strings.ToLower(rand.Text()[:10])
	alice := a.Dial(t, a.Register(t, "alice").Token)
	alice.Welcome()
	bob := b.Dial(t, b.Register(t, "bob").Token)
	bob.Welcome()
	createRoom(t, alice, room, false)
	join(t, bob, room)
	alice.Expect("member_joined", memberOf(t, room, "bob"))

	alice.Ack("set_topic", protocol.SetTopic{Room: room, Topic: "from node a"}, nil)
	var up protocol.RoomUpdated
	bob.Expect("room_updated", inRoom(room)).Decode(t, &up)
	if up.Topic != "from node a" {
		t.Errorf("bob on node b, topic: %+v", up)
	}
	alice.Ack("set_description", protocol.SetDescription{Room: room, Description: "line one\nline two"}, nil)
	bob.Expect("room_updated", inRoom(room)).Decode(t, &up)
	if up.Description != "line one\nline two" || up.Topic != "from node a" {
		t.Errorf("bob on node b, description: %+v", up)
	}

	alice.Ack("set_role", protocol.SetRole{Room: room, User: "bob", Role: "owner"}, nil)
	var mu protocol.MemberUpdated
	bob.Expect("member_updated", inRoom(room)).Decode(t, &mu)
	if mu.User.Username != "bob" || mu.Role != "owner" {
		t.Errorf("bob on node b, role: %+v", mu)
	}
	// Bob, an owner now, archives and unarchives on node b; alice sees both.
	// (alice skips the room_updated of her own changes.)
	bob.Ack("archive_room", protocol.RoomRef{Room: room}, nil)
	alice.Expect("room_updated", func(f chatdtest.Frame) bool {
		f.Decode(t, &up)
		return up.Archived
	})
	no := false
	bob.Ack("archive_room", protocol.ArchiveRoom{Room: room, Archived: &no}, nil)
	alice.Expect("room_updated", func(f chatdtest.Frame) bool {
		f.Decode(t, &up)
		return !up.Archived && up.Description != ""
	})
	bob.Ack("leave_room", protocol.RoomRef{Room: room}, nil)
	alice.Expect("member_left", memberOf(t, room, "bob"))
}
