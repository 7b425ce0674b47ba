package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
)

// Replies, reactions, mentions and search over real WebSockets (issue 8).

func ofSeq(seq int64) func(chatdtest.Frame) bool {
	return func(f chatdtest.Frame) bool {
		var p struct {
			Seq int64 `json:"seq"`
		}
		json.Unmarshal(f.Payload, &p)
		return p.Seq == seq
	}
}

func reply(t *testing.T, c *chatdtest.Client, room string, to int64, text string) chat.Message {
	t.Helper()
	var ack protocol.MessageAck
	c.Ack("send_message", protocol.SendMessage{Room: room, Text: text, ReplyTo: to}, &ack)
	return ack.Message
}

// TestReplies: a reply is the room's next message, delivered as
// new_message with reply_to, followed by thread_updated for its thread;
// history shows the summary and pages the thread.
func TestReplies(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	parent := send(t, alice, "general", "lunch?")
	r := reply(t, bob, "general", parent.Seq, "yes")
	if r.ReplyTo != parent.Seq || r.Seq != parent.Seq+1 {
		t.Fatalf("reply ack: %+v", r)
	}
	for _, c := range []*chatdtest.Client{alice, bob} {
		if m := messageOf(t, c.Expect("new_message", ofSeq(r.Seq))); m.ReplyTo != parent.Seq {
			t.Errorf("new_message reply_to %d, want %d", m.ReplyTo, parent.Seq)
		}
		var tu protocol.ThreadUpdated
		c.Expect("thread_updated", nil).Decode(t, &tu)
		if tu.Room != "general" || tu.Seq != parent.Seq || tu.Replies.Count != 1 || tu.Replies.LastSeq != r.Seq ||
			len(tu.Replies.Users) != 1 || tu.Replies.Users[0].Username != "bob" {
			t.Errorf("thread_updated %+v", tu)
		}
	}
	var page protocol.HistoryAck
	alice.Ack("history", map[string]any{"room": "general"}, &page)
	if p := page.Messages[0]; p.Replies == nil || p.Replies.Count != 1 {
		t.Errorf("history parent: %+v", p)
	}
	alice.Ack("history", map[string]any{"room": "general", "thread": parent.Seq}, &page)
	if len(page.Messages) != 1 || page.Messages[0].Seq != r.Seq {
		t.Errorf("thread page: %+v", page.Messages)
	}
	if code := alice.ErrorCode("send_message", map[string]any{"room": "general", "text": "x", "reply_to": 99}); code != "not_found" {
		t.Errorf("reply to an unknown seq: %s, want not_found", code)
	}
	if code := alice.ErrorCode("history", map[string]any{"room": "general", "thread": 99}); code != "not_found" {
		t.Errorf("unknown thread: %s, want not_found", code)
	}
	// A message without the new fields is encoded as before.
	raw := alice.Request("send_message", protocol.SendMessage{Room: "general", Text: "plain"})
	for _, field := range []string{"reply_to", "replies", "reactions", "mentions", "mention_room"} {
		if strings.Contains(string(raw.Payload), `"`+field+`"`) {
			t.Errorf("a plain message carries %q: %s", field, raw.Payload)
		}
	}
}

// TestReactions: a reaction reaches every member as an event; the ack
// and history carry it with the reader's me; the limits hold.
func TestReactions(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	m := send(t, alice, "general", "ship it")
	var ack protocol.ReactAck
	bob.Ack("react", protocol.React{Room: "general", Seq: m.Seq, Emoji: "👍", Add: true}, &ack)
	if len(ack.Reactions) != 1 || !ack.Reactions[0].Me || ack.Reactions[0].Count != 1 {
		t.Fatalf("react ack %+v", ack)
	}
	var ev protocol.Reaction
	alice.Expect("reaction", nil).Decode(t, &ev)
	if ev.Seq != m.Seq || ev.User.Username != "bob" || ev.Emoji != "👍" || !ev.Add || len(ev.Reactions) != 1 || ev.Reactions[0].Count != 1 {
		t.Errorf("reaction event %+v", ev)
	}
	// Again: no change, no event.
	bob.Ack("react", protocol.React{Room: "general", Seq: m.Seq, Emoji: "👍", Add: true}, nil)
	alice.ExpectNone("reaction", nil, 200*time.Millisecond)

	var page protocol.HistoryAck
	alice.Ack("history", map[string]any{"room": "general"}, &page)
	if rs := page.Messages[0].Reactions; len(rs) != 1 || rs[0].Me || rs[0].Users[0].Username != "bob" {
		t.Errorf("alice's history reactions %+v", rs)
	}
	for _, bad := range []string{"", "a", "<script>", "👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍"} {
		if code := bob.ErrorCode("react", protocol.React{Room: "general", Seq: m.Seq, Emoji: bad, Add: true}); code != "bad_request" {
			t.Errorf("emoji %q: %s, want bad_request", bad, code)
		}
	}
	if code := bob.ErrorCode("react", protocol.React{Room: "general", Seq: 42, Emoji: "👍", Add: true}); code != "not_found" {
		t.Errorf("unknown message: %s", code)
	}
}

// TestMentions: a mention is recorded, carried live, and counted in
// list_rooms, welcome and the mark_read ack until read.
func TestMentions(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, bobAcc, _ := online(t, srv, "bob")
	m := send(t, alice, "general", "@bob please look")
	if len(m.Mentions) != 1 {
		t.Fatalf("ack mentions %v", m.Mentions)
	}
	if got := messageOf(t, bob.Expect("new_message", ofSeq(m.Seq))); !slices.Equal(got.Mentions, m.Mentions) {
		t.Errorf("live mentions %v, want %v", got.Mentions, m.Mentions)
	}
	var rooms protocol.RoomsAck
	bob.Ack("list_rooms", struct{}{}, &rooms)
	if r := roomOf(t, rooms.Rooms, "general"); r.Mentions != 1 || r.Unread != 1 {
		t.Errorf("list_rooms: mentions %d unread %d, want 1 and 1", r.Mentions, r.Unread)
	}
	again := srv.Dial(t, bobAcc.Token)
	if r := roomOf(t, again.Welcome().Rooms, "general"); r.Mentions != 1 {
		t.Errorf("welcome mentions %d, want 1", r.Mentions)
	}
	var mr protocol.MarkReadAck
	bob.Ack("mark_read", protocol.MessageRef{Room: "general", Seq: m.Seq}, &mr)
	if mr.Mentions != 0 || mr.Unread != 0 {
		t.Errorf("mark_read ack %+v", mr)
	}
	raw := bob.Request("mark_read", protocol.MessageRef{Room: "general", Seq: m.Seq})
	if !strings.Contains(string(raw.Payload), `"mentions":0`) {
		t.Errorf("mark_read ack without mentions: %s", raw.Payload)
	}
}

// TestSearch: results with highlighted snippets, only from the user's
// rooms, paged with a cursor, bounded and rate limited.
func TestSearch(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	bob.Ack("create_room", protocol.CreateRoom{Room: "secret", Private: true}, nil)
	send(t, bob, "secret", "swordfish in secret")
	for i := range 3 {
		send(t, bob, "general", "swordfish number "+string(rune('a'+i)))
	}
	var res protocol.SearchAck
	alice.Ack("search", protocol.Search{Query: "swordfish", Limit: 2}, &res)
	if len(res.Results) != 2 || res.Cursor == "" {
		t.Fatalf("first page %+v", res)
	}
	r := res.Results[0]
	if r.Room != "general" || r.From.Username != "bob" || !strings.Contains(r.Snippet, "\ue000swordfish\ue001") {
		t.Errorf("result %+v", r)
	}
	cursor := res.Cursor
	res = protocol.SearchAck{}
	alice.Ack("search", protocol.Search{Query: "swordfish", Limit: 2, Cursor: cursor}, &res)
	if len(res.Results) != 1 || res.Cursor != "" {
		t.Errorf("second page %+v, want the one left and no cursor (never the private room's)", res)
	}
	if code := alice.ErrorCode("search", protocol.Search{Query: "swordfish", Room: "secret"}); code != "not_found" {
		t.Errorf("search in a private room of others: %s", code)
	}
	if code := alice.ErrorCode("search", protocol.Search{Query: strings.Repeat("x", 201)}); code != "too_large" {
		t.Errorf("long query: %s", code)
	}
	if code := alice.ErrorCode("search", protocol.Search{Query: "x", Cursor: "nonsense"}); code != "bad_request" {
		t.Errorf("bad cursor: %s", code)
	}
	limited := false
	for range 10 {
		f := alice.Request("search", protocol.Search{Query: "swordfish"})
		if f.Type == "error" {
			var p protocol.ErrorPayload
			f.Decode(t, &p)
			if p.Code != chat.CodeRateLimited {
				t.Fatalf("search error %+v", p)
			}
			limited = true
			break
		}
	}
	if !limited {
		t.Error("10 searches at once were all served, want rate_limited")
	}
}

// TestReactionsAndThreadsAcrossNodes: a reaction, a reply's thread
// summary and a mention made on one node reach a member on another.
func TestReactionsAndThreadsAcrossNodes(t *testing.T) {
	a := start(t)
	b := chatdtest.Start(t, chatdtest.Options{Store: a.Store, Bus: a.Bus})
	alice, _, _ := online(t, a, "alice")
	bob := b.Dial(t, a.Register(t, "bob").Token)
	bob.Welcome()
	m := send(t, alice, "general", "@bob on node b?")
	if got := messageOf(t, bob.Expect("new_message", ofSeq(m.Seq))); len(got.Mentions) != 1 {
		t.Errorf("mention across nodes: %v", got.Mentions)
	}
	alice.Ack("react", protocol.React{Room: "general", Seq: m.Seq, Emoji: "🎉", Add: true}, nil)
	var ev protocol.Reaction
	bob.Expect("reaction", nil).Decode(t, &ev)
	if ev.User.Username != "alice" || ev.Emoji != "🎉" || ev.Reactions[0].Count != 1 {
		t.Errorf("reaction on node b: %+v", ev)
	}
	reply(t, alice, "general", m.Seq, "yes")
	var tu protocol.ThreadUpdated
	bob.Expect("thread_updated", nil).Decode(t, &tu)
	if tu.Seq != m.Seq || tu.Replies.Count != 1 {
		t.Errorf("thread_updated on node b: %+v", tu)
	}
}

// TestHTTPPostReply: a bot answers a message over HTTP with reply_to; the
// reply joins the thread as over a WebSocket, and a bad reply_to is refused
// as send_message refuses it.
func TestHTTPPostReply(t *testing.T) {
	srv := start(t)
	alice, _, _ := online(t, srv, "alice")
	bot := srv.Register(t, "bot")
	parent := send(t, alice, "general", "deploy?")
	status, body := srv.Do(t, "POST", "/api/rooms/general/messages", bot.Token, map[string]any{"text": "deployed", "reply_to": parent.Seq})
	if status != 201 {
		t.Fatalf("POST with reply_to: %d %s", status, body)
	}
	var m chat.Message
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m.ReplyTo != parent.Seq {
		t.Errorf("the 201 body's reply_to = %d, want %d", m.ReplyTo, parent.Seq)
	}
	var tu protocol.ThreadUpdated
	alice.Expect("thread_updated", nil).Decode(t, &tu)
	if tu.Seq != parent.Seq || tu.Replies.Count != 1 || tu.Replies.LastSeq != m.Seq {
		t.Errorf("thread_updated after the HTTP reply: %+v", tu)
	}
	var page protocol.HistoryAck
	alice.Ack("history", map[string]any{"room": "general", "thread": parent.Seq}, &page)
	if len(page.Messages) != 1 || page.Messages[0].Text != "deployed" {
		t.Errorf("thread page after the HTTP reply: %+v", page.Messages)
	}
	for _, tc := range []struct {
		replyTo    int64
		wantStatus int
	}{{99, 404}, {-1, 400}} {
		status, body := srv.Do(t, "POST", "/api/rooms/general/messages", bot.Token, map[string]any{"text": "x", "reply_to": tc.replyTo})
		if status != tc.wantStatus {
			t.Errorf("POST reply_to %d: %d %s, want %d", tc.replyTo, status, body, tc.wantStatus)
		}
	}
}

// TestRoomMute: set_room_muted stores the mute on the membership: the
// user's other connections hear room_muted, room objects carry muted for
// that user only, a new connection's welcome has it; bad requests and
// rooms one is not in are refused as history refuses them.
func TestRoomMute(t *testing.T) {
	srv := start(t)
	alice, acct, _ := online(t, srv, "alice")
	bob, _, _ := online(t, srv, "bob")
	other := srv.Dial(t, acct.Token)
	other.Welcome()

	var ack protocol.RoomMuted
	alice.Ack("set_room_muted", map[string]any{"room": "general", "muted": true}, &ack)
	if ack != (protocol.RoomMuted{Room: "general", Muted: true}) {
		t.Errorf("ack %+v", ack)
	}
	var ev protocol.RoomMuted
	other.Expect("room_muted", nil).Decode(t, &ev)
	if ev != ack {
		t.Errorf("alice's other connection got room_muted %+v, want %+v", ev, ack)
	}
	alice.ExpectNone("room_muted", nil, 200*time.Millisecond)
	bob.ExpectNone("room_muted", nil, 0)

	mutedOf := func(rooms []chat.Room) map[string]bool {
		m := map[string]bool{}
		for _, r := range rooms {
			m[r.Name] = r.Muted
		}
		return m
	}
	var list protocol.RoomsAck
	alice.Ack("list_rooms", map[string]any{}, &list)
	if !mutedOf(list.Rooms)["general"] {
		t.Errorf("alice's list_rooms: general not muted: %+v", list.Rooms)
	}
	bob.Ack("list_rooms", map[string]any{}, &list)
	if mutedOf(list.Rooms)["general"] {
		t.Error("bob's list_rooms shows alice's mute")
	}
	third := srv.Dial(t, acct.Token)
	if w := third.Welcome(); !mutedOf(w.Rooms)["general"] {
		t.Errorf("a new connection's welcome: general not muted: %+v", w.Rooms)
	}
	status, body := srv.Do(t, "GET", "/api/rooms", acct.Token, nil)
	if status != 200 || !strings.Contains(string(body), `"name":"general"`) || !strings.Contains(string(body), `"muted":true`) {
		t.Errorf("GET /api/rooms: %d %s, want general muted", status, body)
	}

	alice.Ack("set_room_muted", map[string]any{"room": "general", "muted": false}, &ack)
	if ack.Muted {
		t.Errorf("unmute ack %+v", ack)
	}
	for _, tc := range []struct {
		name    string
		payload map[string]any
		code    string
	}{
		{"no muted", map[string]any{"room": "general"}, "bad_request"},
		{"no room", map[string]any{"muted": true}, "bad_request"},
		{"no such room", map[string]any{"room": "nope", "muted": true}, "not_found"},
	} {
		if code := alice.ErrorCode("set_room_muted", tc.payload); code != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, code, tc.code)
		}
	}
	bob.Ack("create_room", map[string]any{"room": "secret", "private": true}, nil)
	if code := alice.ErrorCode("set_room_muted", map[string]any{"room": "secret", "muted": true}); code != "not_found" {
		t.Errorf("muting a private room one is not in: %s, want not_found", code)
	}
}
