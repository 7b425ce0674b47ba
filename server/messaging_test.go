package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

func start(t *testing.T) *chatdtest.Server {
	t.Helper()
	return chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
}

// online registers a user, connects them and consumes the welcome.
func online(t *testing.T, srv *chatdtest.Server, name string) (*chatdtest.Client, chatdtest.Account, protocol.Welcome) {
	t.Helper()
	acc := srv.Register(t, name)
	c := srv.Dial(t, acc.Token)
	return c, acc, c.Welcome()
}

// connectTwice registers name and opens two connections of theirs.
func connectTwice(t *testing.T, srv *chatdtest.Server, name string) (*chatdtest.Client, *chatdtest.Client) {
	t.Helper()
	acc := srv.Register(t, name)
	c1 := srv.Dial(t, acc.Token)
	c1.Welcome()
	c2 := srv.Dial(t, acc.Token)
	c2.Welcome()
	return c1, c2
}

func messageOf(t *testing.T, f chatdtest.Frame) chat.Message {
	t.Helper()
	var m chat.Message
	f.Decode(t, &m)
	return m
}

func inRoom(room string) func(chatdtest.Frame) bool {
	return func(f chatdtest.Frame) bool {
		var p struct {
			Room string `json:"room"`
			Name string `json:"name"` // room_added carries a room object
		}
		json.Unmarshal(f.Payload, &p)
		return p.Room == room || p.Name == room
	}
}

func send(t *testing.T, c *chatdtest.Client, room, text string) chat.Message {
	t.Helper()
	var ack protocol.MessageAck
	c.Ack("send_message", protocol.SendMessage{Room: room, Text: text}, &ack)
	return ack.Message
}

func roomOf(t *testing.T, rooms []chat.Room, name string) chat.Room {
	t.Helper()
	for _, r := range rooms {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("room %q not in %+v", name, rooms)
	return chat.Room{}
}

func TestWelcome(t *testing.T) {
	srv := start(t)
	_, acc, w := online(t, srv, "alice")
	if w.User != acc.User {
		t.Errorf("welcome user = %+v, want %+v", w.User, acc.User)
	}
	if w.CurrentRoom != "general" {
		t.Errorf("current_room = %q, want general", w.CurrentRoom)
	}
	g := roomOf(t, w.Rooms, "general")
	if !g.Joined || g.Private {
		t.Errorf("general = %+v, want joined and public", g)
	}
	if g.MembersOnline != 1 {
		t.Errorf("general members_online = %d, want 1 (the user themself)", g.MembersOnline)
	}
	if w.Heartbeat.PingIntervalMS != 9000 || w.Heartbeat.PongWaitMS != 10000 {
		t.Errorf("heartbeat = %+v, want 9000/10000", w.Heartbeat)
	}
	if w.Limits.MaxFrameBytes != 16384 || w.Limits.MaxTextChars != 4000 {
		t.Errorf("limits = %+v", w.Limits)
	}
	if w.Server == "" {
		t.Error("welcome has no server version")
	}
}

func TestSendBroadcastsAfterAck(t *testing.T) {
	srv := start(t)
	alice, acc, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")

	var ack protocol.MessageAck
	alice.Ack("send_message", map[string]any{
		"room": "general", "text": "hi <b>bob</b> 😀\nline 2", "client_msg_id": "k1",
		"from": map[string]string{"id": "u_forged", "username": "mallory"},
	}, &ack)
	m := ack.Message
	if m.Seq != 1 || m.Room != "general" || m.Text != "hi <b>bob</b> 😀\nline 2" || m.ClientMsgID != "k1" {
		t.Fatalf("ack message = %+v", m)
	}
	if m.From != acc.User {
		t.Errorf("from = %+v, want the authenticated %+v", m.From, acc.User)
	}
	if m.ID == "" || m.SentAt.IsZero() || m.Deleted || m.EditedAt != nil {
		t.Errorf("ack message fields = %+v", m)
	}
	for _, c := range []*chatdtest.Client{alice, bob} {
		got := messageOf(t, c.Expect("new_message", nil))
		if got.Seq != m.Seq || got.ID != m.ID || got.Text != m.Text || got.From != m.From {
			t.Errorf("new_message = %+v, want %+v", got, m)
		}
	}
}

func TestSeedBareStringGoesToCurrentRoom(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")

	alice.Send("send_message", "Hello") // the seed client's frame
	if m := messageOf(t, bob.Expect("new_message", nil)); m.Room != "general" || m.Text != "Hello" {
		t.Fatalf("bob got %+v, want Hello in general", m)
	}
	var ra protocol.RoomAck
	alice.Ack("change_room", protocol.RoomRef{Room: "random"}, &ra)
	if ra.Room.Name != "random" || !ra.Room.Joined {
		t.Fatalf("change_room ack = %+v", ra.Room)
	}
	var ack protocol.MessageAck
	alice.Ack("send_message", "to random", &ack)
	if ack.Message.Room != "random" {
		t.Fatalf("bare string after change_room went to %q, want random", ack.Message.Room)
	}
	alice.Ack("join_room", protocol.RoomRef{Room: "other"}, nil)
	alice.Ack("send_message", "to other", &ack)
	if ack.Message.Room != "other" {
		t.Fatalf("bare string after join_room went to %q, want other", ack.Message.Room)
	}
	bob.ExpectNone("new_message", inRoom("random"), 200*time.Millisecond)
}

func TestIdempotentResend(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	p := protocol.SendMessage{Room: "general", Text: "once", ClientMsgID: "same"}
	var a1, a2 protocol.MessageAck
	alice.Ack("send_message", p, &a1)
	alice.Ack("send_message", p, &a2)
	if a1.Message.Seq != a2.Message.Seq || a1.Message.ID != a2.Message.ID {
		t.Fatalf("resend acked %+v, first was %+v", a2.Message, a1.Message)
	}
	bob.Expect("new_message", nil)
	bob.ExpectNone("new_message", nil, 300*time.Millisecond)
	var h protocol.HistoryAck
	bob.Ack("history", protocol.History{Room: "general"}, &h)
	if len(h.Messages) != 1 {
		t.Fatalf("history has %d messages, want 1", len(h.Messages))
	}
}

// TestRecoveryAfterReconnect: a client that was away catches up with
// history after_seq up to the cursor in welcome, and live delivery resumes
// right after the cursor: no gap, no overlap.
func TestRecoveryAfterReconnect(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, bobAcc, _ := online(t, srv, "bob")
	send(t, alice, "general", "m1")
	last := messageOf(t, bob.Expect("new_message", nil)).Seq
	bob.WS.Close()

	for i := 2; i <= 8; i++ {
		send(t, alice, "general", fmt.Sprintf("m%d", i))
	}
	bob2 := srv.Dial(t, bobAcc.Token)
	w := bob2.Welcome()
	cursor := roomOf(t, w.Rooms, "general").LastSeq
	if cursor != 8 {
		t.Fatalf("cursor = %d, want 8", cursor)
	}
	if u := roomOf(t, w.Rooms, "general").Unread; u != 8 {
		t.Errorf("unread = %d, want 8 (bob read nothing)", u)
	}
	send(t, alice, "general", "m9") // live, after the cursor

	var got []int64
	for after := last; after < cursor; {
		var h protocol.HistoryAck
		bob2.Ack("history", protocol.History{Room: "general", AfterSeq: &after, Limit: 3}, &h)
		for _, m := range h.Messages {
			if m.Seq <= cursor {
				got = append(got, m.Seq)
			}
			after = m.Seq
		}
		if len(h.Messages) == 0 {
			t.Fatal("history returned nothing before the cursor")
		}
	}
	live := messageOf(t, bob2.Expect("new_message", nil))
	got = append(got, live.Seq)
	want := []int64{2, 3, 4, 5, 6, 7, 8, 9}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("recovered seqs = %v, want %v", got, want)
	}
	bob2.ExpectNone("new_message", nil, 200*time.Millisecond)
}

// TestConcurrentSendersOrdered: many senders at once; every member receives
// every message exactly once, in strictly increasing seq, without gaps.
func TestConcurrentSendersOrdered(t *testing.T) {
	srv := start(t)
	watcher, _, w := online(t, srv, "watcher")
	cursor := roomOf(t, w.Rooms, "general").LastSeq
	const senders, each = 5, 20
	var wg sync.WaitGroup
	for i := range senders {
		c, _, _ := online(t, srv, fmt.Sprintf("sender%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				c.Send("send_message", protocol.SendMessage{Room: "general", Text: fmt.Sprintf("%d-%d", i, j)})
			}
		}()
	}
	wg.Wait()
	for k := int64(1); k <= senders*each; k++ {
		m := messageOf(t, watcher.Expect("new_message", nil))
		if m.Seq != cursor+k {
			t.Fatalf("message %d has seq %d, want %d", k, m.Seq, cursor+k)
		}
	}
}

// TestGapFilledFromStore: a message the bus never carried (appended to the
// store directly, as if its publish were lost) is delivered, in order,
// before the next one.
func TestGapFilledFromStore(t *testing.T) {
	srv := start(t)
	alice, acc, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	send(t, alice, "general", "one")
	bob.Expect("new_message", nil)
	if _, _, err := srv.Store.Append(context.Background(), chat.NewMessage{
		Room: "general", From: acc.User, Text: "lost on the bus", SentAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	send(t, alice, "general", "three")
	for _, want := range []string{"lost on the bus", "three"} {
		if m := messageOf(t, bob.Expect("new_message", nil)); m.Text != want {
			t.Fatalf("got %q (seq %d), want %q", m.Text, m.Seq, want)
		}
	}
}

func TestPrivateRoomAuthorization(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	online(t, srv, "carol")

	var ra protocol.RoomAck
	alice.Ack("create_room", protocol.CreateRoom{Room: "secret", Private: true}, &ra)
	if !ra.Room.Private || !ra.Room.Joined {
		t.Fatalf("create_room ack = %+v", ra.Room)
	}
	if code := alice.ErrorCode("create_room", protocol.CreateRoom{Room: "secret"}); code != "conflict" {
		t.Errorf("create existing: %s, want conflict", code)
	}
	send(t, alice, "secret", "classified")

	// A non-member learns nothing: the same not_found as for no room at all.
	for _, req := range []struct {
		typ string
		p   any
	}{
		{"join_room", protocol.RoomRef{Room: "secret"}},
		{"history", protocol.History{Room: "secret"}},
		{"send_message", protocol.SendMessage{Room: "secret", Text: "let me in"}},
		{"typing", protocol.RoomRef{Room: "secret"}},
		{"who", protocol.Who{Room: "secret"}},
		{"invite", protocol.Invite{Room: "secret", User: "carol"}},
		{"mark_read", protocol.MessageRef{Room: "secret", Seq: 1}},
		{"edit_message", protocol.EditMessage{Room: "secret", Seq: 1, Text: "x"}},
		{"delete_message", protocol.MessageRef{Room: "secret", Seq: 1}},
		{"leave_room", protocol.RoomRef{Room: "secret"}},
	} {
		if code := bob.ErrorCode(req.typ, req.p); code != "not_found" {
			t.Errorf("%s on a private room: %s, want not_found", req.typ, code)
		}
	}
	if code := bob.ErrorCode("history", protocol.History{Room: "no-such-room"}); code != "not_found" {
		t.Errorf("history of a missing room: %s, want not_found", code)
	}
	bob.ExpectNone("new_message", inRoom("secret"), 100*time.Millisecond)

	var ia protocol.InviteAck
	alice.Ack("invite", protocol.Invite{Room: "secret", User: "bob"}, &ia)
	if ia.User.Username != "bob" {
		t.Errorf("invite ack user = %+v", ia.User)
	}
	var added chat.Room
	bob.Expect("room_added", inRoom("secret")).Decode(t, &added)
	if !added.Private || !added.Joined || added.LastSeq != 1 {
		t.Errorf("room_added = %+v, want private, joined, last_seq 1", added)
	}
	var h protocol.HistoryAck
	bob.Ack("history", protocol.History{Room: "secret"}, &h)
	if len(h.Messages) != 1 || h.Messages[0].Text != "classified" {
		t.Fatalf("bob's history after invite = %+v", h.Messages)
	}
	send(t, alice, "secret", "welcome bob")
	if m := messageOf(t, bob.Expect("new_message", inRoom("secret"))); m.Seq != 2 {
		t.Errorf("bob got seq %d, want 2", m.Seq)
	}
	if code := bob.ErrorCode("invite", protocol.Invite{Room: "secret", User: "carol"}); code != "forbidden" {
		t.Errorf("invite by a non-owner member: %s, want forbidden", code)
	}
}

func TestDirectMessages(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	carol, _, _ := online(t, srv, "carol")
	var ra protocol.RoomAck
	bob.Ack("open_dm", protocol.OpenDM{User: "alice"}, &ra)
	if ra.Room.Name != "dm:alice:bob" || !ra.Room.Private {
		t.Fatalf("open_dm room = %+v", ra.Room)
	}
	alice.Expect("room_added", inRoom("dm:alice:bob"))
	send(t, bob, "dm:alice:bob", "psst")
	if m := messageOf(t, alice.Expect("new_message", inRoom("dm:alice:bob"))); m.Text != "psst" {
		t.Fatalf("alice got %+v", m)
	}
	if code := carol.ErrorCode("history", protocol.History{Room: "dm:alice:bob"}); code != "not_found" {
		t.Errorf("a third user reading a DM: %s, want not_found", code)
	}
	if code := bob.ErrorCode("open_dm", protocol.OpenDM{User: "nobody"}); code != "not_found" {
		t.Errorf("open_dm with an unknown user: %s, want not_found", code)
	}
}

func TestPresenceAndWho(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	var p protocol.Presence
	alice.Expect("presence", nil).Decode(t, &p)
	if p.User.Username != "bob" || p.Status != "online" || p.Room != "general" {
		t.Fatalf("presence = %+v, want bob online in general", p)
	}
	var who protocol.WhoAck
	alice.Ack("who", protocol.Who{Room: "general"}, &who)
	if who.Online != 2 || len(who.Users) != 2 || who.Users[0].Username != "alice" || who.Users[1].Username != "bob" {
		t.Fatalf("who = %+v, want alice and bob", who)
	}
	alice.Ack("who", protocol.Who{Room: "general", Limit: 1}, &who)
	if who.Online != 2 || len(who.Users) != 1 {
		t.Fatalf("who limit 1 = %+v", who)
	}
	// A second connection of bob's: no new presence; closing one of two: none either.
	bobAgain := srv.Dial(t, srv.Register(t, "bobby").Token) // another user, to have traffic
	bobAgain.Welcome()
	alice.Expect("presence", func(f chatdtest.Frame) bool {
		var p protocol.Presence
		json.Unmarshal(f.Payload, &p)
		return p.User.Username == "bobby"
	})
	bob.WS.Close()
	alice.Expect("presence", nil).Decode(t, &p)
	if p.User.Username != "bob" || p.Status != "offline" {
		t.Fatalf("presence = %+v, want bob offline", p)
	}
	alice.Ack("who", protocol.Who{Room: "general"}, &who)
	if who.Online != 2 {
		t.Fatalf("who after bob left = %+v, want 2 online (alice, bobby)", who)
	}
}

func TestPresenceCountsConnectionsPerUser(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	acc := srv.Register(t, "bob")
	b1 := srv.Dial(t, acc.Token)
	b1.Welcome()
	alice.Expect("presence", nil)
	b2 := srv.Dial(t, acc.Token)
	b2.Welcome()
	b1.WS.Close()
	alice.ExpectNone("presence", nil, 300*time.Millisecond)
	b2.WS.Close()
	var p protocol.Presence
	alice.Expect("presence", nil).Decode(t, &p)
	if p.Status != "offline" {
		t.Fatalf("presence after the last connection closed = %+v", p)
	}
}

func TestPresenceLimit(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{PresenceLimit: 2}})
	alice, _, _ := online(t, srv, "alice")
	online(t, srv, "bob")
	alice.Expect("presence", nil)
	online(t, srv, "carol") // a third online member: over the limit
	alice.ExpectNone("presence", nil, 300*time.Millisecond)
	var who protocol.WhoAck
	alice.Ack("who", protocol.Who{Room: "general"}, &who)
	if who.Online != 3 {
		t.Fatalf("who online = %d, want 3", who.Online)
	}
}

func TestTyping(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	alice.Ack("typing", protocol.RoomRef{Room: "general"}, nil)
	var ty protocol.Typing
	bob.Expect("typing", nil).Decode(t, &ty)
	if ty.User.Username != "alice" || ty.Room != "general" {
		t.Fatalf("typing = %+v", ty)
	}
	alice.ExpectNone("typing", nil, 200*time.Millisecond)
	if code := alice.ErrorCode("typing", protocol.RoomRef{Room: "elsewhere"}); code != "not_found" {
		t.Errorf("typing in a missing room: %s", code)
	}
}

func TestEditAndDelete(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	bob.Ack("join_room", protocol.RoomRef{Room: "bobs"}, nil) // bob owns "bobs"
	alice.Ack("join_room", protocol.RoomRef{Room: "bobs"}, nil)
	m := send(t, alice, "bobs", "typo")
	bob.Expect("new_message", inRoom("bobs"))

	var ea protocol.MessageAck
	alice.Ack("edit_message", protocol.EditMessage{Room: "bobs", Seq: m.Seq, Text: "fixed"}, &ea)
	if ea.Message.Text != "fixed" || ea.Message.EditedAt == nil {
		t.Fatalf("edit ack = %+v", ea.Message)
	}
	if u := messageOf(t, bob.Expect("message_updated", nil)); u.Text != "fixed" || u.Seq != m.Seq || u.EditedAt == nil {
		t.Fatalf("message_updated = %+v", u)
	}
	if code := bob.ErrorCode("edit_message", protocol.EditMessage{Room: "bobs", Seq: m.Seq, Text: "hijack"}); code != "forbidden" {
		t.Errorf("edit by another user: %s, want forbidden", code)
	}
	m2 := send(t, bob, "bobs", "bob's own")
	if code := alice.ErrorCode("delete_message", protocol.MessageRef{Room: "bobs", Seq: m2.Seq}); code != "forbidden" {
		t.Errorf("delete by a non-author non-owner: %s, want forbidden", code)
	}
	// The room's owner may delete anyone's message.
	bob.Ack("delete_message", protocol.MessageRef{Room: "bobs", Seq: m.Seq}, nil)
	var del protocol.MessageRef
	alice.Expect("message_deleted", nil).Decode(t, &del)
	if del.Room != "bobs" || del.Seq != m.Seq {
		t.Fatalf("message_deleted = %+v", del)
	}
	var h protocol.HistoryAck
	alice.Ack("history", protocol.History{Room: "bobs"}, &h)
	if !h.Messages[0].Deleted || h.Messages[0].Text != "" {
		t.Fatalf("deleted message in history = %+v", h.Messages[0])
	}
	if code := alice.ErrorCode("edit_message", protocol.EditMessage{Room: "bobs", Seq: 99, Text: "x"}); code != "not_found" {
		t.Errorf("edit of a missing seq: %s", code)
	}
}

func TestReadMarkersAcrossConnections(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	b1, b2 := connectTwice(t, srv, "bob")
	for i := range 3 {
		send(t, alice, "general", fmt.Sprint(i))
	}
	var rooms protocol.RoomsAck
	b1.Ack("list_rooms", struct{}{}, &rooms)
	if u := roomOf(t, rooms.Rooms, "general").Unread; u != 3 {
		t.Fatalf("unread = %d, want 3", u)
	}
	var mr protocol.MarkReadAck
	b1.Ack("mark_read", protocol.MessageRef{Room: "general", Seq: 2}, &mr)
	if mr.Seq != 2 || mr.Unread != 1 {
		t.Fatalf("mark_read ack = %+v, want seq 2 unread 1", mr)
	}
	var rm protocol.MessageRef
	b2.Expect("read_marker", nil).Decode(t, &rm)
	if rm.Room != "general" || rm.Seq != 2 {
		t.Fatalf("read_marker = %+v", rm)
	}
	b1.ExpectNone("read_marker", nil, 100*time.Millisecond)
}

func TestJoinLeaveAcrossConnections(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	b1, b2 := connectTwice(t, srv, "bob")

	alice.Ack("join_room", protocol.RoomRef{Room: "lobby"}, nil)
	send(t, alice, "lobby", "before bob")
	var ra protocol.RoomAck
	b1.Ack("join_room", protocol.RoomRef{Room: "lobby"}, &ra)
	if ra.Room.LastSeq != 1 {
		t.Fatalf("join ack last_seq = %d, want 1", ra.Room.LastSeq)
	}
	b2.Expect("room_added", inRoom("lobby"))
	send(t, alice, "lobby", "after bob")
	for _, c := range []*chatdtest.Client{b1, b2} {
		if m := messageOf(t, c.Expect("new_message", inRoom("lobby"))); m.Seq != 2 {
			t.Fatalf("got seq %d, want 2 only", m.Seq)
		}
	}
	b1.Ack("leave_room", protocol.RoomRef{Room: "lobby"}, nil)
	b2.Expect("room_removed", inRoom("lobby"))
	send(t, alice, "lobby", "bob is gone")
	b1.ExpectNone("new_message", inRoom("lobby"), 200*time.Millisecond)
	b2.ExpectNone("new_message", inRoom("lobby"), 10*time.Millisecond)
	if code := b1.ErrorCode("send_message", protocol.SendMessage{Room: "lobby", Text: "x"}); code != "forbidden" {
		t.Errorf("send to a public room after leaving: %s, want forbidden", code)
	}
}

// TestTwoNodes runs two servers on one store and one bus, as a cluster of
// two would: users on different nodes chat and see each other's presence.
func TestTwoNodes(t *testing.T) {
	a := start(t)
	b := chatdtest.Start(t, chatdtest.Options{Store: a.Store, Bus: a.Bus})
	alice, _, _ := online(t, a, "alice")
	bobAcc := a.Register(t, "bob")
	bob := b.Dial(t, bobAcc.Token)
	bob.Welcome()
	var p protocol.Presence
	alice.Expect("presence", nil).Decode(t, &p)
	if p.User.Username != "bob" || p.Status != "online" {
		t.Fatalf("alice on node a saw %+v", p)
	}
	send(t, alice, "general", "from a")
	send(t, bob, "general", "from b")
	for _, c := range []*chatdtest.Client{alice, bob} {
		for _, want := range []string{"from a", "from b"} {
			if m := messageOf(t, c.Expect("new_message", nil)); m.Text != want {
				t.Fatalf("got %q, want %q", m.Text, want)
			}
		}
	}
	bob.WS.Close()
	alice.Expect("presence", nil).Decode(t, &p)
	if p.Status != "offline" {
		t.Fatalf("after bob left node b: %+v", p)
	}
}

func TestUnknownRoomFromWelcomeIsGeneral(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	alice.Ack("leave_room", protocol.RoomRef{Room: "general"}, nil)
	if code := alice.ErrorCode("send_message", "Hello"); code != "forbidden" {
		t.Errorf("bare send after leaving general: %s, want forbidden", code)
	}
}

// TestLateNodeLearnsPresence: a node started after users came online on
// another one still counts them.
func TestLateNodeLearnsPresence(t *testing.T) {
	a := start(t)
	online(t, a, "alice")
	online(t, a, "bob")
	b := chatdtest.Start(t, chatdtest.Options{Store: a.Store, Bus: a.Bus})
	carol := b.Dial(t, a.Register(t, "carol").Token)
	carol.Welcome()
	waitWho(t, carol, "general", 3)
}

// waitWho asks who until room has want members online, for up to 5 s:
// presence crosses the bus asynchronously.
func waitWho(t *testing.T, c *chatdtest.Client, room string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var who protocol.WhoAck
		c.Ack("who", protocol.Who{Room: room}, &who)
		if who.Online == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("who %s = %d online (%+v), want %d", room, who.Online, who.Users, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

func TestHistoryPaging(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	for i := 1; i <= 7; i++ {
		send(t, alice, "general", fmt.Sprint(i))
	}
	page := func(p protocol.History) (seqs []int64, more bool) {
		var h protocol.HistoryAck
		alice.Ack("history", p, &h)
		for _, m := range h.Messages {
			seqs = append(seqs, m.Seq)
		}
		return seqs, h.HasMore
	}
	tests := []struct {
		name string
		p    protocol.History
		want string
		more bool
	}{
		{"newest", protocol.History{Room: "general", Limit: 3}, "[5 6 7]", true},
		{"before", protocol.History{Room: "general", BeforeSeq: 5, Limit: 3}, "[2 3 4]", true},
		{"before reaches start", protocol.History{Room: "general", BeforeSeq: 3, Limit: 3}, "[1 2]", false},
		{"after", protocol.History{Room: "general", AfterSeq: ptr[int64](2), Limit: 3}, "[3 4 5]", true},
		{"after reaches end", protocol.History{Room: "general", AfterSeq: ptr[int64](5), Limit: 3}, "[6 7]", false},
		{"after 0 is the first page", protocol.History{Room: "general", AfterSeq: ptr[int64](0), Limit: 3}, "[1 2 3]", true},
		{"default limit", protocol.History{Room: "general"}, "[1 2 3 4 5 6 7]", false},
	}
	for _, tt := range tests {
		seqs, more := page(tt.p)
		if fmt.Sprint(seqs) != tt.want || more != tt.more {
			t.Errorf("%s: got %v has_more=%v, want %s has_more=%v", tt.name, seqs, more, tt.want, tt.more)
		}
	}
	for _, bad := range []protocol.History{
		{Room: "general", Limit: 101},
		{Room: "general", BeforeSeq: 3, AfterSeq: ptr[int64](1)},
		{Room: "general", BeforeSeq: 3, AfterSeq: ptr[int64](0)},
	} {
		if code := alice.ErrorCode("history", bad); code != "bad_request" {
			t.Errorf("history %+v: %s, want bad_request", bad, code)
		}
	}
	for _, typ := range []string{"history", "who"} { // limit is 1-100: an explicit 0 is out of range
		if code := alice.ErrorCode(typ, json.RawMessage(`{"room":"general","limit":0}`)); code != "bad_request" {
			t.Errorf("%s with limit 0: %s, want bad_request", typ, code)
		}
	}
}

// lossyBus wraps the real bus to lose events on purpose and to report a
// loss the way natsbus does after a reconnect (a nil event).
type lossyBus struct {
	chat.Bus
	mu       sync.Mutex
	dropNext bool
	handlers []func([]byte)
}

func (b *lossyBus) Publish(topic string, data []byte) error {
	b.mu.Lock()
	drop := b.dropNext && strings.HasPrefix(topic, "room:")
	if drop {
		b.dropNext = false
	}
	b.mu.Unlock()
	if drop {
		return nil
	}
	return b.Bus.Publish(topic, data)
}

func (b *lossyBus) Subscribe(topic string, h func([]byte)) (chat.Subscription, error) {
	b.mu.Lock()
	b.handlers = append(b.handlers, h)
	b.mu.Unlock()
	return b.Bus.Subscribe(topic, h)
}

func (b *lossyBus) signalLoss() {
	b.mu.Lock()
	hs := slices.Clone(b.handlers)
	b.mu.Unlock()
	for _, h := range hs {
		h(nil)
	}
}

// TestLostTailRecoveredOnBusReset: the last message of a burst is lost on
// the bus, so no later message reveals the gap; when the bus reports a
// reset, the hub reads the room up to the store's last seq.
func TestLostTailRecoveredOnBusReset(t *testing.T) {
	inner, err := natsbus.New(natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	bus := &lossyBus{Bus: inner}
	srv := chatdtest.Start(t, chatdtest.Options{Bus: bus})
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	send(t, alice, "general", "delivered")
	bob.Expect("new_message", nil)

	bus.mu.Lock()
	bus.dropNext = true
	bus.mu.Unlock()
	lost := send(t, alice, "general", "lost on the bus") // acked: it is stored
	bob.ExpectNone("new_message", nil, 200*time.Millisecond)

	bus.signalLoss()
	if m := messageOf(t, bob.Expect("new_message", nil)); m.Seq != lost.Seq || m.Text != "lost on the bus" {
		t.Fatalf("after the reset bob got %+v, want seq %d", m, lost.Seq)
	}
	bob.ExpectNone("new_message", nil, 200*time.Millisecond)
}

// TestCrashedNodeUsersGoOffline: a node that stops heartbeating (here: its
// bus connection dies, as in a crash) is presumed gone after three missed
// heartbeats, and its users go offline on the other nodes.
func TestCrashedNodeUsersGoOffline(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	newBus := func() chat.Bus {
		b, err := natsbus.New(natsbus.Options{URL: "nats://" + ns.Addr().String()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	cfg := server.Config{NodeHeartbeat: 100 * time.Millisecond}
	a := chatdtest.Start(t, chatdtest.Options{Bus: newBus(), Config: cfg})
	busB := newBus()
	b := chatdtest.Start(t, chatdtest.Options{Store: a.Store, Bus: busB, Config: cfg})

	alice, _, _ := online(t, a, "alice")
	bob := b.Dial(t, a.Register(t, "bob").Token)
	bob.Welcome()
	var p protocol.Presence
	alice.Expect("presence", nil).Decode(t, &p)
	if p.User.Username != "bob" || p.Status != "online" {
		t.Fatalf("presence = %+v, want bob online", p)
	}

	busB.Close() // node b goes silent; bob's socket to it stays open
	start := time.Now()
	alice.Expect("presence", nil).Decode(t, &p)
	if p.User.Username != "bob" || p.Status != "offline" {
		t.Fatalf("presence = %+v, want bob offline", p)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("bob was declared offline after %v, before three heartbeats were missed", waited)
	}
	var who protocol.WhoAck
	alice.Ack("who", protocol.Who{Room: "general"}, &who)
	if who.Online != 1 {
		t.Errorf("who = %+v, want alice alone", who)
	}
}

// TestQuickReconnectsStayOnline: a client that reconnects again and again,
// opening the new connection just before closing the old one, ends online,
// whatever order the online and offline of overlapping connections took.
func TestQuickReconnectsStayOnline(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	acc := srv.Register(t, "bob")
	old := srv.Dial(t, acc.Token)
	old.Welcome()
	for range 30 {
		next := srv.Dial(t, acc.Token)
		old.WS.Close()
		next.Welcome()
		old = next
	}
	waitWho(t, alice, "general", 2) // alice and bob
	// And it stays so once the dust settles.
	time.Sleep(200 * time.Millisecond)
	var who protocol.WhoAck
	alice.Ack("who", protocol.Who{Room: "general"}, &who)
	if who.Online != 2 {
		t.Fatalf("who = %+v, want 2 online", who)
	}
}
