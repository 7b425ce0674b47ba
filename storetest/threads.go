package storetest

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// Replies, reactions, mentions and search (issue 8).

func (f *fixture) reply(u chat.User, room string, to int64, text string) chat.Message {
	f.tb.Helper()
	m, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: room, From: u, Text: text, SentAt: time.Now(), ReplyTo: to})
	if err != nil || !created {
		f.tb.Fatalf("Append(reply of %s to %d in %q): created %v, %v", u.Username, to, room, created, err)
	}
	return m
}

func (f *fixture) react(u chat.User, room string, seq int64, emoji string, add bool) ([]chat.Reaction, bool) {
	f.tb.Helper()
	rs, changed, err := f.s.React(f.ctx, u.ID, room, seq, emoji, add)
	if err != nil {
		f.tb.Fatalf("React(%s, %q, %d, %q, %v): %v", u.Username, room, seq, emoji, add, err)
	}
	return rs, changed
}

func (f *fixture) mentions(u chat.User) map[string]int64 {
	f.tb.Helper()
	n, err := f.s.UnreadMentions(f.ctx, u.ID, "")
	if err != nil {
		f.tb.Fatalf("UnreadMentions(%s): %v", u.Username, err)
	}
	// Rooms counts them too, in the same call as the rest of each room.
	rooms, err := f.s.Rooms(f.ctx, u.ID)
	if err != nil {
		f.tb.Fatalf("Rooms(%s): %v", u.Username, err)
	}
	for _, r := range rooms {
		if r.Mentions != n[r.Name] {
			f.tb.Errorf("Rooms(%s): %s has Mentions %d, UnreadMentions counts %d", u.Username, r.Name, r.Mentions, n[r.Name])
		}
	}
	return n
}

func (f *fixture) search(u chat.User, q chat.SearchQuery) []chat.SearchResult {
	f.tb.Helper()
	rs, _, err := f.s.Search(f.ctx, u.ID, q)
	if err != nil {
		f.tb.Fatalf("Search(%s, %+v): %v", u.Username, q, err)
	}
	return rs
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var replyTests = []test{
	{"ThreadAndSummary", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		parent := f.send(alice, chat.General, "lunch?")
		f.send(bob, chat.General, "unrelated")
		r1 := f.reply(bob, chat.General, parent.Seq, "yes")
		if r1.ReplyTo != parent.Seq || r1.Seq != 3 {
			t.Errorf("reply: reply_to %d seq %d, want %d and 3 (the room's stream)", r1.ReplyTo, r1.Seq, parent.Seq)
		}
		if r1.Thread == nil || r1.Thread.Count != 1 || r1.Thread.LastSeq != r1.Seq {
			t.Errorf("reply's Thread = %+v, want count 1, last %d", r1.Thread, r1.Seq)
		}
		// A reply to a reply joins the same thread.
		r2 := f.reply(carol, chat.General, r1.Seq, "me too")
		r3 := f.reply(bob, chat.General, parent.Seq, "12:30")
		if r2.ReplyTo != parent.Seq {
			t.Errorf("reply to a reply: reply_to %d, want the thread's %d", r2.ReplyTo, parent.Seq)
		}
		if r3.Thread == nil || r3.Thread.Count != 3 {
			t.Fatalf("third reply's Thread = %+v, want count 3", r3.Thread)
		}
		got := r3.Thread.Users
		if len(got) != 2 || got[0] != bob || got[1] != carol {
			t.Errorf("thread users %v, want bob then carol (newest first, distinct)", got)
		}
		p := f.message(alice, chat.General, parent.Seq)
		if p.Replies == nil || p.Replies.Count != 3 || p.Replies.LastSeq != r3.Seq {
			t.Errorf("history parent replies %+v, want count 3 last %d", p.Replies, r3.Seq)
		}
		page, more := f.history(alice, chat.General, chat.HistoryQuery{Thread: parent.Seq, Limit: 2})
		checkSeqs(t, "thread newest page", page, []int64{r2.Seq, r3.Seq})
		if !more {
			t.Error("thread page: has_more false, want true")
		}
		page, _ = f.history(alice, chat.General, chat.HistoryQuery{Thread: parent.Seq, After: true})
		checkSeqs(t, "thread from the start", page, []int64{r1.Seq, r2.Seq, r3.Seq})
		if page[0].ReplyTo != parent.Seq {
			t.Errorf("thread page message reply_to %d, want %d", page[0].ReplyTo, parent.Seq)
		}
		all, _ := f.history(alice, chat.General, chat.HistoryQuery{})
		checkSeqs(t, "room page keeps replies in the stream", all, seqRange(1, 5))

		// A repeated client id returns the first reply, as it was stored.
		nm := chat.NewMessage{Room: chat.General, From: carol, Text: "@alice ok", ClientMsgID: "k1", ReplyTo: parent.Seq}
		for i := range 2 {
			m, created, err := f.s.Append(f.ctx, nm)
			if err != nil || created != (i == 0) || m.ReplyTo != parent.Seq || !slices.Equal(m.Mentions, []string{alice.ID}) {
				t.Errorf("reply with a client id, try %d: created %v, reply_to %d, mentions %v, %v", i+1, created, m.ReplyTo, m.Mentions, err)
			}
		}
	}},
	{"UnknownParent", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.send(alice, chat.General, "hi")
		_, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "x", ReplyTo: 9})
		checkErr(t, "reply to seq 9", err, chat.ErrNotFound)
		if n := f.lastSeq(chat.General); n != 1 {
			t.Errorf("last seq %d after a refused reply, want 1", n)
		}
		_, _, err = f.s.History(f.ctx, alice.ID, chat.General, chat.HistoryQuery{Thread: 9})
		checkErr(t, "thread 9", err, chat.ErrNotFound)
		// Another room's seq is not a parent; a non-member learns nothing.
		f.createRoom(bob, "secret", true)
		f.send(bob, "secret", "s")
		_, _, err = f.s.Append(f.ctx, chat.NewMessage{Room: "secret", From: alice, Text: "x", ReplyTo: 1})
		checkErr(t, "reply in a private room one is not in", err, chat.ErrNotFound)
	}},
}

var reactionTests = []test{
	{"AddRemove", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		m := f.send(alice, chat.General, "ship it")
		rs, changed := f.react(bob, chat.General, m.Seq, "👍", true)
		if !changed || len(rs) != 1 || rs[0].Count != 1 || !rs[0].Me || rs[0].Users[0] != bob {
			t.Fatalf("first reaction: changed %v, %+v", changed, rs)
		}
		if _, changed := f.react(bob, chat.General, m.Seq, "👍", true); changed {
			t.Error("the same reaction twice: changed, want one per user per emoji")
		}
		f.react(alice, chat.General, m.Seq, "👍", true)
		f.react(alice, chat.General, m.Seq, "🎉", true)
		got := f.message(alice, chat.General, m.Seq).Reactions
		if len(got) != 2 || got[0].Emoji != "👍" || got[0].Count != 2 || !got[0].Me || got[1].Emoji != "🎉" {
			t.Fatalf("alice's view %+v, want 👍×2 (me) then 🎉", got)
		}
		got = f.message(bob, chat.General, m.Seq).Reactions
		if got[1].Me {
			t.Errorf("bob's view of 🎉: me true, want false")
		}
		rs, changed = f.react(bob, chat.General, m.Seq, "👍", false)
		if !changed || rs[0].Count != 1 || rs[0].Me {
			t.Errorf("after bob removes 👍: changed %v, %+v", changed, rs)
		}
		if _, changed := f.react(bob, chat.General, m.Seq, "👍", false); changed {
			t.Error("removing an absent reaction: changed")
		}
	}},
	{"Limits", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		m := f.send(alice, chat.General, "vote")
		emoji := []rune("😀😁😂😃😄😅😆😇😈😉😊😋😌😍😎😏😐😑😒😓😔")
		for _, e := range emoji[:chat.MaxReactionEmoji] {
			f.react(alice, chat.General, m.Seq, string(e), true)
		}
		_, _, err := f.s.React(f.ctx, alice.ID, chat.General, m.Seq, string(emoji[20]), true)
		checkErr(t, "21st emoji", err, chat.ErrConflict)
		_, _, err = f.s.React(f.ctx, alice.ID, chat.General, m.Seq, "<b>", true)
		checkErr(t, "not an emoji", err, chat.ErrBadRequest)
		_, _, err = f.s.React(f.ctx, alice.ID, chat.General, 99, "👍", true)
		checkErr(t, "unknown message", err, chat.ErrNotFound)
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, m.Seq, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.React(f.ctx, alice.ID, chat.General, m.Seq, "😀", false)
		checkErr(t, "deleted message", err, chat.ErrConflict)
		if rs := f.message(alice, chat.General, m.Seq).Reactions; len(rs) != 0 {
			t.Errorf("a deleted message shows reactions %+v", rs)
		}
	}},
	{"Membership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		m := f.send(alice, "secret", "s")
		_, _, err := f.s.React(f.ctx, bob.ID, "secret", m.Seq, "👍", true)
		checkErr(t, "outsider reacts in a private room", err, chat.ErrNotFound)
	}},
}

var mentionTests = []test{
	// Rooms counts mentions only where something is unread: in no room,
	// in one, in several; each must agree with UnreadMentions (f.mentions).
	{"InRoomsWhereUnread", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		for _, r := range []string{"one", "two", "three"} {
			f.createRoom(bob, r, false)
			f.join(alice, r)
		}
		want := func(step string, w map[string]int64) {
			t.Helper()
			got := f.mentions(alice)
			for _, r := range []string{"one", "two", "three"} {
				if got[r] != w[r] {
					t.Errorf("%s: alice's mentions %v, want %v", step, got, w)
					return
				}
			}
		}
		want("nothing sent", nil)
		m := f.send(bob, "one", "no mention")
		want("one unread, no mention", nil)
		f.send(bob, "two", "@alice look")
		want("two rooms unread, a mention in one", map[string]int64{"two": 1})
		if _, _, err := f.s.MarkRead(f.ctx, alice.ID, "one", m.Seq); err != nil {
			t.Fatal(err)
		}
		want("one room unread, with its mention", map[string]int64{"two": 1})
		f.send(bob, "three", "@alice and @room")
		f.send(bob, "two", "@alice again")
		want("two rooms unread, mentions in both", map[string]int64{"two": 2, "three": 1})
	}},
	{"CountedUntilRead", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.user("dave")
		f.createRoom(alice, "team", false)
		f.join(bob, "team")
		m := f.send(alice, "team", "@Bob and @carol and @dave, see me@example.com")
		if !slices.Equal(m.Mentions, []string{bob.ID}) {
			t.Errorf("mentions %v, want only bob (carol and dave are not members)", m.Mentions)
		}
		f.send(alice, "team", "no mention")
		f.send(bob, "team", "@bob talking to myself")
		if got := f.mentions(bob); got["team"] != 1 {
			t.Errorf("bob's unread mentions %v, want team: 1", got)
		}
		if got := f.mentions(carol); len(got) != 0 {
			t.Errorf("carol's unread mentions %v, want none", got)
		}
		if h := f.message(bob, "team", m.Seq); !slices.Equal(h.Mentions, []string{bob.ID}) {
			t.Errorf("history mentions %v, want bob", h.Mentions)
		}
		if _, _, err := f.s.MarkRead(f.ctx, bob.ID, "team", m.Seq); err != nil {
			t.Fatal(err)
		}
		if got := f.mentions(bob); got["team"] != 0 {
			t.Errorf("after mark_read: %v, want none", got)
		}
	}},
	{"Room", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "team", false)
		f.join(bob, "team")
		m := f.send(bob, "team", "hello @room!")
		if !m.MentionRoom || !m.MentionsUser(alice.ID) || m.MentionsUser(bob.ID) {
			t.Errorf("@room in a small room: mention_room %v", m.MentionRoom)
		}
		if got := f.mentions(alice); got["team"] != 1 {
			t.Errorf("alice's mentions %v, want team: 1", got)
		}
		if got := f.mentions(bob); got["team"] != 0 {
			t.Errorf("the sender's own @room counts for them: %v", got)
		}
		if _, err := f.s.DeleteMessage(f.ctx, bob.ID, "team", m.Seq, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := f.mentions(alice); got["team"] != 0 {
			t.Errorf("a deleted message still counts: %v", got)
		}
	}},
	{"RoomInALargeRoom", func(t *testing.T, f *fixture) {
		owner := f.user("owner")
		f.createRoom(owner, "big", false)
		var member chat.User
		for i := range chat.MaxRoomMentionMembers {
			member = f.user("member" + itoa(int64(i)))
			f.join(member, "big")
		}
		if m := f.send(member, "big", "@room hi"); m.MentionRoom {
			t.Error("a member's @room in a room over the bound counts")
		}
		if m := f.send(owner, "big", "@room hi"); !m.MentionRoom {
			t.Error("the owner's @room in a large room does not count")
		}
	}},
}

var searchTests = []test{
	{"FindsAndHighlights", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.send(alice, chat.General, "the deploy failed again")
		f.send(bob, chat.General, "lunch at noon")
		m := f.send(bob, chat.General, "Deploy is green now")
		rs := f.search(alice, chat.SearchQuery{Text: "deploy"})
		if len(rs) != 2 || rs[0].Seq != m.Seq || rs[0].From != bob || rs[0].Room != chat.General {
			t.Fatalf("search deploy: %+v, want 2 results, newest (seq %d by bob) first", rs, m.Seq)
		}
		if !strings.Contains(rs[0].Snippet, chat.HighlightStart+"Deploy"+chat.HighlightEnd) {
			t.Errorf("snippet %q does not wrap the match", rs[0].Snippet)
		}
		if rs := f.search(alice, chat.SearchQuery{Text: "deploy green"}); len(rs) != 1 {
			t.Errorf("two words: %d results, want 1 (every word)", len(rs))
		}
		if rs := f.search(alice, chat.SearchQuery{Text: "deploy", From: "alice"}); len(rs) != 1 || rs[0].From != alice {
			t.Errorf("from alice: %+v", rs)
		}
		if rs := f.search(alice, chat.SearchQuery{Text: "deploy", Before: m.SentAt}); len(rs) > 1 {
			t.Errorf("before the last: %d results", len(rs))
		}
		page := f.search(alice, chat.SearchQuery{Text: "deploy", Limit: 1})
		next, more, err := f.s.Search(f.ctx, alice.ID, chat.SearchQuery{Text: "deploy", Limit: 1, Offset: 1})
		if err != nil || len(page) != 1 || len(next) != 1 || more || next[0].Seq == page[0].Seq {
			t.Errorf("paging: %+v then %+v (more %v, %v)", page, next, more, err)
		}
		_, _, err = f.s.Search(f.ctx, alice.ID, chat.SearchQuery{Text: strings.Repeat("a", chat.MaxSearchChars+1)})
		checkErr(t, "a long query", err, chat.ErrTooLarge)
		_, _, err = f.s.Search(f.ctx, alice.ID, chat.SearchQuery{Text: "  "})
		checkErr(t, "an empty query", err, chat.ErrBadRequest)
	}},
	{"Visibility", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(bob, "secret", true)
		f.send(bob, "secret", "the password is swordfish")
		f.openDM(bob, f.user("carol"))
		f.send(bob, chat.DMName("bob", "carol"), "swordfish for carol")
		f.createRoom(bob, "lobby", false)
		f.join(alice, "lobby")
		f.send(bob, "lobby", "swordfish before alice left")
		if rs := f.search(alice, chat.SearchQuery{Text: "swordfish"}); len(rs) != 1 {
			t.Errorf("alice finds %v, want only the lobby's message", rs)
		}
		f.leave(alice, "lobby")
		f.send(bob, "lobby", "swordfish after alice left")
		if rs := f.search(alice, chat.SearchQuery{Text: "swordfish"}); len(rs) != 0 {
			t.Errorf("after leaving, alice finds %+v, want nothing", rs)
		}
		_, _, err := f.s.Search(f.ctx, alice.ID, chat.SearchQuery{Text: "swordfish", Room: "secret"})
		checkErr(t, "searching a private room one is not in", err, chat.ErrNotFound)
		if rs := f.search(bob, chat.SearchQuery{Text: "swordfish"}); len(rs) != 4 {
			t.Errorf("bob finds %d, want all 4", len(rs))
		}
	}},
	{"EditsAndDeletes", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		m := f.send(alice, chat.General, "meeting on monday")
		d := f.send(alice, chat.General, "monday is cancelled")
		if _, err := f.s.EditMessage(f.ctx, alice.ID, chat.General, m.Seq, "meeting on tuesday", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, d.Seq, time.Now()); err != nil {
			t.Fatal(err)
		}
		if rs := f.search(alice, chat.SearchQuery{Text: "monday"}); len(rs) != 0 {
			t.Errorf("old and deleted text still found: %+v", rs)
		}
		if rs := f.search(alice, chat.SearchQuery{Text: "tuesday"}); len(rs) != 1 || rs[0].Seq != m.Seq {
			t.Errorf("edited text not found: %+v", rs)
		}
	}},
}
