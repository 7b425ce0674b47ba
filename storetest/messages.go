package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

var appendTests = []test{
	{"Fields", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		// Nanoseconds and a zone other than UTC: the store keeps at least
		// milliseconds and answers in UTC.
		sentAt := time.Date(2026, 11, 25, 17, 40, 0, 123456789, time.FixedZone("CET", 3600))
		got, created, err := f.s.Append(f.ctx, chat.NewMessage{
			Room: chat.General, From: alice, Text: "hello", ClientMsgID: "c-1", SentAt: sentAt,
		})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if !created {
			t.Errorf("Append: created = false, want true")
		}
		if got.ID == "" {
			t.Errorf("Append: empty message ID")
		}
		checkTime(t, "SentAt", got.SentAt, sentAt)
		want := chat.Message{Room: chat.General, Seq: 1, ID: got.ID, From: alice, Text: "hello",
			SentAt: got.SentAt, ClientMsgID: "c-1"}
		checkMessage(t, "Append", got, want)
		// What Append returns is exactly what reads return later.
		checkMessage(t, "History after Append", f.message(alice, chat.General, 1), got)
		after, err := f.s.MessagesAfter(f.ctx, chat.General, 0, 10)
		if err != nil || len(after) != 1 {
			t.Fatalf("MessagesAfter = %d messages, %v; want 1", len(after), err)
		}
		checkMessage(t, "MessagesAfter after Append", after[0], got)
	}},
	{"FromIsTheStoredUser", func(t *testing.T, f *fixture) {
		// The store reports the sender as it knows them, whatever username
		// the caller put in From.
		alice := f.user("alice")
		m, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General,
			From: chat.User{ID: alice.ID, Username: "mallory"}, Text: "hi", SentAt: time.Now()})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if m.From != alice {
			t.Errorf("Append: From = %+v, want %+v", m.From, alice)
		}
		if h := f.message(alice, chat.General, m.Seq); h.From != alice {
			t.Errorf("History: From = %+v, want %+v", h.From, alice)
		}
	}},
	{"SeqPerRoom", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "lobby", false)
		var general, lobby []chat.Message
		for range 3 {
			general = append(general, f.send(alice, chat.General, "g"))
			lobby = append(lobby, f.send(alice, "lobby", "l"))
		}
		checkSeqs(t, "general", general, []int64{1, 2, 3})
		checkSeqs(t, "lobby", lobby, []int64{1, 2, 3})
		ids := map[string]bool{}
		for _, m := range append(general, lobby...) {
			if ids[m.ID] {
				t.Errorf("message ID %q repeats", m.ID)
			}
			ids[m.ID] = true
		}
		if got := f.lastSeq("lobby"); got != 3 {
			t.Errorf("LastSeq(lobby) = %d, want 3", got)
		}
	}},
	{"ConcurrentNoGaps", func(t *testing.T, f *fixture) {
		const senders, perSender = 8, 40
		users := make([]chat.User, senders)
		for i := range users {
			users[i] = f.user(fmt.Sprintf("user%d", i))
		}
		var wg sync.WaitGroup
		got := make([]chat.Message, senders*perSender)
		for i := range got {
			wg.Go(func() {
				u := users[i%senders]
				m, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: u,
					Text: fmt.Sprintf("m%d", i), SentAt: time.Now()})
				if err != nil {
					t.Errorf("Append %d: %v", i, err)
				}
				got[i] = m
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		const n = senders * perSender
		seen := make([]bool, n+1)
		for i, m := range got {
			if m.Seq < 1 || m.Seq > n {
				t.Errorf("message %d: seq %d, want 1..%d", i, m.Seq, n)
				continue
			}
			if seen[m.Seq] {
				t.Errorf("seq %d assigned twice", m.Seq)
			}
			seen[m.Seq] = true
		}
		if last := f.lastSeq(chat.General); last != n {
			t.Errorf("LastSeq = %d, want %d", last, n)
		}
		// History, paged back from the newest, agrees with what each Append
		// returned.
		all, more := f.history(users[0], chat.General, chat.HistoryQuery{Limit: 100})
		for more && len(all) > 0 {
			var page []chat.Message
			page, more = f.history(users[0], chat.General, chat.HistoryQuery{BeforeSeq: all[0].Seq, Limit: 100})
			all = append(page, all...)
		}
		checkSeqs(t, "History of all appends", all, seqRange(1, n))
		for _, m := range got {
			if m.Seq >= 1 && m.Seq <= int64(len(all)) {
				checkMessage(t, fmt.Sprintf("History seq %d", m.Seq), all[m.Seq-1], m)
			}
		}
	}},
	{"ClientMsgIDIdempotent", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		first, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "once", ClientMsgID: "c-1", SentAt: time.Now()})
		if err != nil || !created {
			t.Fatalf("first Append = created %v, %v; want true, nil", created, err)
		}
		again, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "twice?", ClientMsgID: "c-1", SentAt: time.Now()})
		if err != nil {
			t.Fatalf("repeated Append: %v", err)
		}
		if created {
			t.Errorf("repeated Append: created = true, want false")
		}
		checkMessage(t, "repeated Append returns the first message", again, first)
		if got := f.lastSeq(chat.General); got != 1 {
			t.Errorf("LastSeq after a repeated Append = %d, want 1", got)
		}

		// Another sender, or another room, with the same client id is a
		// different message.
		byBob, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: bob, Text: "bob's", ClientMsgID: "c-1", SentAt: time.Now()})
		if err != nil || !created || byBob.Seq != 2 || byBob.From != bob {
			t.Errorf("Append by bob with alice's client id = seq %d from %+v, created %v, %v; want seq 2 from bob, true, nil",
				byBob.Seq, byBob.From, created, err)
		}
		inLobby, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: "lobby", From: alice, Text: "lobby", ClientMsgID: "c-1", SentAt: time.Now()})
		if err != nil || !created || inLobby.Seq != 1 || inLobby.Room != "lobby" {
			t.Errorf("Append in another room with the same client id = %s seq %d, created %v, %v; want lobby seq 1, true, nil",
				inLobby.Room, inLobby.Seq, created, err)
		}
		// Without a client id, nothing is deduplicated.
		f.send(alice, chat.General, "same text")
		f.send(alice, chat.General, "same text")
		if got := f.lastSeq(chat.General); got != 4 {
			t.Errorf("LastSeq after two appends without client id = %d, want 4", got)
		}
	}},
	{"ClientMsgIDConcurrent", func(t *testing.T, f *fixture) {
		// Retries racing each other still store one message.
		alice := f.user("alice")
		const n = 16
		var wg sync.WaitGroup
		msgs := make([]chat.Message, n)
		createdBy := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				m, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: alice,
					Text: fmt.Sprintf("try %d", i), ClientMsgID: "retry", SentAt: time.Now()})
				if err != nil {
					t.Errorf("Append %d: %v", i, err)
				}
				msgs[i], createdBy[i] = m, created
			})
		}
		wg.Wait()
		nCreated := 0
		for i := range n {
			if createdBy[i] {
				nCreated++
			}
			if msgs[i].ID != msgs[0].ID || msgs[i].Seq != 1 {
				t.Errorf("Append %d returned seq %d id %q, want seq 1 id %q", i, msgs[i].Seq, msgs[i].ID, msgs[0].ID)
			}
		}
		if nCreated != 1 {
			t.Errorf("%d concurrent Appends with one client id: %d created, want 1", n, nCreated)
		}
		if got := f.lastSeq(chat.General); got != 1 {
			t.Errorf("LastSeq = %d, want 1", got)
		}
	}},
	{"ConcurrentMixed", func(t *testing.T, f *fixture) {
		// Appends that fail, that repeat a client id, and that the database
		// may refuse (a NUL byte, which PostgreSQL's text cannot hold), sent
		// at once so that a group commit takes them together: each has its
		// own outcome, and the others' are as if they were sent alone.
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "lobby", false)
		f.createRoom(alice, "secret", true)
		type send struct {
			from     chat.User
			room     string
			text     string
			clientID string
			want     error // nil: stored; errAny: any outcome
		}
		errAny := fmt.Errorf("any outcome")
		stored := 0
		for round := range 5 {
			var sends []send
			for i := range 8 {
				sends = append(sends, send{alice, chat.General, "ok", fmt.Sprintf("r%d-a%d", round, i), nil})
			}
			for range 4 {
				sends = append(sends,
					send{alice, chat.General, "dup", fmt.Sprintf("r%d-dup", round), nil},
					send{bob, "lobby", "not joined", "", chat.ErrForbidden},
					send{bob, "secret", "not invited", "", chat.ErrNotFound},
					send{alice, "no-such-room", "nowhere", "", chat.ErrNotFound})
			}
			sends = append(sends, send{carol, chat.General, "nul \x00 byte", "", errAny})
			start := make(chan struct{})
			got := make([]chat.Message, len(sends))
			created := make([]bool, len(sends))
			errs := make([]error, len(sends))
			var wg sync.WaitGroup
			for i, sd := range sends {
				wg.Go(func() {
					<-start
					got[i], created[i], errs[i] = f.s.Append(f.ctx, chat.NewMessage{Room: sd.room, From: sd.from,
						Text: sd.text, ClientMsgID: sd.clientID, SentAt: time.Now()})
				})
			}
			close(start)
			wg.Wait()
			var dupID string
			dupCreated := 0
			for i, sd := range sends {
				switch {
				case sd.want == errAny:
					if errs[i] == nil {
						stored++
					}
				case sd.want != nil:
					checkErr(t, fmt.Sprintf("round %d: Append by %s to %s", round, sd.from.Username, sd.room), errs[i], sd.want)
				case errs[i] != nil:
					t.Errorf("round %d: Append %q to %s: %v", round, sd.clientID, sd.room, errs[i])
				case sd.text == "dup":
					if dupID == "" {
						dupID = got[i].ID
					}
					if got[i].ID != dupID {
						t.Errorf("round %d: repeated client id returned message %q, then %q", round, dupID, got[i].ID)
					}
					if created[i] {
						dupCreated++
						stored++
					}
				default:
					if !created[i] {
						t.Errorf("round %d: Append %q: created = false, want true", round, sd.clientID)
					}
					stored++
				}
			}
			if dupCreated != 1 {
				t.Errorf("round %d: 4 Appends with one client id created %d messages, want 1", round, dupCreated)
			}
		}
		if got := f.lastSeq(chat.General); got != int64(stored) {
			t.Errorf("LastSeq(general) = %d after %d stored messages", got, stored)
		}
		var all []chat.Message
		for more := true; more; {
			var page []chat.Message
			page, more = f.history(alice, chat.General, chat.HistoryQuery{AfterSeq: int64(len(all)), After: true, Limit: 100})
			all = append(all, page...)
		}
		checkSeqs(t, "History of general", all, seqRange(1, int64(stored)))
		for _, room := range []string{"lobby", "secret"} {
			if got := f.lastSeq(room); got != 0 {
				t.Errorf("LastSeq(%s) after refused appends = %d, want 0", room, got)
			}
		}
	}},
	{"AsyncInOrder", func(t *testing.T, f *fixture) {
		// chat.AsyncAppender: Appends queued by one goroutine are stored
		// and reported in queue order, whatever their rooms, and a refused
		// one takes its turn too.
		aa, ok := f.s.(chat.AsyncAppender)
		if !ok {
			t.Skip("the store does not implement chat.AsyncAppender")
		}
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.createRoom(bob, "bobs", false) // alice is not a member
		rooms := []string{chat.General, "lobby", "bobs"}
		const n = 90
		var (
			mu       sync.Mutex
			reported []int
			wg       sync.WaitGroup
		)
		got := make([]chat.Message, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			aa.AppendAsync(f.ctx, chat.NewMessage{Room: rooms[i%3], From: alice, Text: fmt.Sprintf("m%d", i),
				ClientMsgID: fmt.Sprintf("c%d", i), SentAt: time.Now()}, func(m chat.Message, _ bool, err error) {
				mu.Lock()
				reported = append(reported, i)
				mu.Unlock()
				got[i], errs[i] = m, err
				wg.Done()
			})
		}
		wg.Wait()
		for k, i := range reported {
			if k != i {
				t.Fatalf("reports in order %v, want 0, 1, 2, ...", reported)
			}
		}
		last := map[string]int64{}
		for i := range n {
			room := rooms[i%3]
			if room == "bobs" {
				checkErr(t, fmt.Sprintf("AppendAsync %d to a room not joined", i), errs[i], chat.ErrForbidden)
				continue
			}
			if errs[i] != nil {
				t.Errorf("AppendAsync %d: %v", i, errs[i])
				continue
			}
			if got[i].Seq != last[room]+1 {
				t.Errorf("AppendAsync %d to %s: seq %d, want %d", i, room, got[i].Seq, last[room]+1)
			}
			last[room] = got[i].Seq
		}
	}},
	{"Membership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.createRoom(alice, "secret", true)
		send := func(room string) error {
			_, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: room, From: bob, Text: "hi", SentAt: time.Now()})
			return err
		}
		checkSameNotFound(t, "Append by a non-member", send("secret"), send("no-such-room"))
		checkErr(t, "Append to a public room not joined", send("lobby"), chat.ErrForbidden)
		for _, room := range []string{"lobby", "secret"} {
			if got := f.lastSeq(room); got != 0 {
				t.Errorf("LastSeq(%s) after refused appends = %d, want 0", room, got)
			}
		}
	}},
	{"TextStoredExactly", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		texts := []string{
			"plain",
			"emoji 👋🏽 and flags 🇳🇴 and a ZWJ family 👨‍👩‍👧",
			"line one\nline two\r\nline three\ttabbed",
			"  leading and trailing spaces  ",
			"<script>alert('x')</script> &amp; \"quotes\"",
			"'); DROP TABLE messages; --",
			"ünïcödé, Ελληνικά, 日本語, العربية",
			"back\\slash and percent %s %d %%",
			strings.Repeat("😀", chat.MaxTextChars), // 4000 code points, 16000 bytes
		}
		for _, text := range texts {
			m := f.send(alice, chat.General, text)
			if m.Text != text {
				t.Errorf("Append returned text %q, want %q", abbrev(m.Text), abbrev(text))
			}
			if got := f.message(alice, chat.General, m.Seq).Text; got != text {
				t.Errorf("History returned text %q, want %q", abbrev(got), abbrev(text))
			}
		}
	}},
}

func abbrev(s string) string {
	if len(s) > 80 {
		return s[:60] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

var historyTests = []test{
	{"Pages", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.sendN(alice, chat.General, 10)
		for _, c := range []struct {
			q    chat.HistoryQuery
			want []int64
			more bool
		}{
			{chat.HistoryQuery{Limit: 3}, []int64{8, 9, 10}, true},
			{chat.HistoryQuery{Limit: 10}, seqRange(1, 10), false},
			{chat.HistoryQuery{Limit: 20}, seqRange(1, 10), false},
			{chat.HistoryQuery{BeforeSeq: 8, Limit: 3}, []int64{5, 6, 7}, true},
			{chat.HistoryQuery{BeforeSeq: 4, Limit: 3}, []int64{1, 2, 3}, false},
			{chat.HistoryQuery{BeforeSeq: 5, Limit: 3}, []int64{2, 3, 4}, true},
			{chat.HistoryQuery{BeforeSeq: 2, Limit: 3}, []int64{1}, false},
			{chat.HistoryQuery{BeforeSeq: 1, Limit: 3}, []int64{}, false},
			{chat.HistoryQuery{BeforeSeq: 100, Limit: 3}, []int64{8, 9, 10}, true},
			{chat.HistoryQuery{AfterSeq: 2, Limit: 3}, []int64{3, 4, 5}, true},
			{chat.HistoryQuery{AfterSeq: 7, Limit: 3}, []int64{8, 9, 10}, false},
			{chat.HistoryQuery{AfterSeq: 6, Limit: 3}, []int64{7, 8, 9}, true},
			{chat.HistoryQuery{AfterSeq: 9, Limit: 3}, []int64{10}, false},
			{chat.HistoryQuery{AfterSeq: 10, Limit: 3}, []int64{}, false},
			{chat.HistoryQuery{AfterSeq: 100, Limit: 3}, []int64{}, false},
			{chat.HistoryQuery{AfterSeq: 3}, seqRange(4, 10), false},
			{chat.HistoryQuery{After: true, Limit: 3}, []int64{1, 2, 3}, true}, // after_seq 0: from the first
			{chat.HistoryQuery{After: true}, seqRange(1, 10), false},
		} {
			what := fmt.Sprintf("History(%+v)", c.q)
			msgs, more := f.history(alice, chat.General, c.q)
			checkSeqs(t, what, msgs, c.want)
			if more != c.more {
				t.Errorf("%s: has_more = %v, want %v", what, more, c.more)
			}
		}
	}},
	{"Empty", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		msgs, more := f.history(alice, chat.General, chat.HistoryQuery{})
		if len(msgs) != 0 || more {
			t.Errorf("History of an empty room = %v, has_more %v; want none, false", seqs(msgs), more)
		}
	}},
	{"DefaultLimit", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.sendN(alice, chat.General, 60)
		msgs, more := f.history(alice, chat.General, chat.HistoryQuery{})
		checkSeqs(t, "History with limit 0 (default 50)", msgs, seqRange(11, 60))
		if !more {
			t.Errorf("History with limit 0: has_more = false, want true")
		}
	}},
	{"LimitBounds", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.sendN(alice, chat.General, 110)
		msgs, more := f.history(alice, chat.General, chat.HistoryQuery{Limit: 100})
		checkSeqs(t, "History limit 100", msgs, seqRange(11, 110))
		if !more {
			t.Errorf("History limit 100 of 110: has_more = false, want true")
		}
		msgs, more = f.history(alice, chat.General, chat.HistoryQuery{Limit: 1})
		checkSeqs(t, "History limit 1", msgs, []int64{110})
		if !more {
			t.Errorf("History limit 1: has_more = false, want true")
		}
		// Out of range: refused, or clamped to 1–100.
		for _, limit := range []int{101, 1000, -1} {
			msgs, _, err := f.s.History(f.ctx, alice.ID, chat.General, chat.HistoryQuery{Limit: limit})
			if err != nil {
				checkErr(t, fmt.Sprintf("History limit %d", limit), err, chat.ErrBadRequest)
			} else if len(msgs) < 1 || len(msgs) > 100 {
				t.Errorf("History limit %d: got %d messages, want an ErrBadRequest or 1–100 messages", limit, len(msgs))
			}
		}
	}},
	{"BothCursors", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.sendN(alice, chat.General, 5)
		_, _, err := f.s.History(f.ctx, alice.ID, chat.General, chat.HistoryQuery{BeforeSeq: 4, AfterSeq: 1})
		checkErr(t, "History with before_seq and after_seq", err, chat.ErrBadRequest)
		_, _, err = f.s.History(f.ctx, alice.ID, chat.General, chat.HistoryQuery{BeforeSeq: 4, After: true})
		checkErr(t, "History with before_seq and after_seq 0", err, chat.ErrBadRequest)
	}},
	{"DeletedAndEdited", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		msgs := f.sendN(alice, chat.General, 3)
		at := time.Now()
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, 2, at); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		edited, err := f.s.EditMessage(f.ctx, alice.ID, chat.General, 3, "edited", at)
		if err != nil {
			t.Fatalf("EditMessage: %v", err)
		}
		got, _ := f.history(alice, chat.General, chat.HistoryQuery{})
		checkSeqs(t, "History", got, []int64{1, 2, 3})
		if len(got) != 3 {
			return
		}
		checkMessage(t, "untouched message", got[0], msgs[0])
		deleted := msgs[1]
		deleted.Deleted, deleted.Text = true, ""
		checkMessage(t, "deleted message", got[1], deleted)
		checkMessage(t, "edited message", got[2], edited)
	}},
	{"Membership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.createRoom(alice, "secret", true)
		f.send(alice, "lobby", "hi")
		f.send(alice, "secret", "psst")
		history := func(room string) error {
			msgs, _, err := f.s.History(f.ctx, bob.ID, room, chat.HistoryQuery{})
			if len(msgs) != 0 {
				t.Errorf("History(bob, %s) returned %d messages along with error %v", room, len(msgs), err)
			}
			return err
		}
		checkSameNotFound(t, "History by a non-member", history("secret"), history("no-such-room"))
		checkErr(t, "History of a public room not joined", history("lobby"), chat.ErrForbidden)

		// MayRead answers as History does, before and after joining.
		checkSameNotFound(t, "MayRead by a non-member", f.s.MayRead(f.ctx, bob.ID, "secret"), f.s.MayRead(f.ctx, bob.ID, "no-such-room"))
		checkErr(t, "MayRead of a public room not joined", f.s.MayRead(f.ctx, bob.ID, "lobby"), chat.ErrForbidden)
		for _, room := range []string{"lobby", "secret", chat.General} {
			if err := f.s.MayRead(f.ctx, alice.ID, room); err != nil {
				t.Errorf("MayRead(alice, %s) = %v, want nil", room, err)
			}
		}
		f.join(bob, "lobby")
		if err := f.s.MayRead(f.ctx, bob.ID, "lobby"); err != nil {
			t.Errorf("MayRead(bob, lobby) after joining = %v, want nil", err)
		}
		if _, err := f.s.LeaveRoom(f.ctx, bob.ID, "lobby"); err != nil {
			t.Fatalf("LeaveRoom: %v", err)
		}
		checkErr(t, "MayRead after leaving", f.s.MayRead(f.ctx, bob.ID, "lobby"), chat.ErrForbidden)
	}},
}

var messagesAfterTests = []test{
	{"Pages", func(t *testing.T, f *fixture) {
		// No membership check: the hub reads for everyone, private rooms too.
		alice := f.user("alice")
		f.createRoom(alice, "secret", true)
		sent := f.sendN(alice, "secret", 5)
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, "secret", 4, time.Now()); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		for _, c := range []struct {
			after int64
			limit int
			want  []int64
		}{
			{0, 10, seqRange(1, 5)},
			{0, 2, []int64{1, 2}},
			{2, 2, []int64{3, 4}},
			{4, 10, []int64{5}},
			{5, 10, []int64{}},
			{50, 10, []int64{}},
		} {
			got, err := f.s.MessagesAfter(f.ctx, "secret", c.after, c.limit)
			if err != nil {
				t.Fatalf("MessagesAfter(%d, %d): %v", c.after, c.limit, err)
			}
			checkSeqs(t, fmt.Sprintf("MessagesAfter(%d, %d)", c.after, c.limit), got, c.want)
		}
		got, err := f.s.MessagesAfter(f.ctx, "secret", 2, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("MessagesAfter(2, 3) = %d messages, %v", len(got), err)
		}
		checkMessage(t, "MessagesAfter seq 3", got[0], sent[2])
		if !got[1].Deleted || got[1].Text != "" {
			t.Errorf("MessagesAfter seq 4 = deleted %v, text %q; want true, empty", got[1].Deleted, got[1].Text)
		}
	}},
	{"LastSeq", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.createRoom(alice, "lobby", false)
		if got := f.lastSeq("lobby"); got != 0 {
			t.Errorf("LastSeq of an empty room = %d, want 0", got)
		}
		f.sendN(alice, "lobby", 3)
		if got := f.lastSeq("lobby"); got != 3 {
			t.Errorf("LastSeq = %d, want 3", got)
		}
		if got := f.lastSeq(chat.General); got != 0 {
			t.Errorf("LastSeq(general) = %d, want 0 (rooms count separately)", got)
		}
	}},
}

var editTests = []test{
	{"Author", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		m := f.send(alice, chat.General, "helo")
		at := time.Now().Add(time.Second)
		got, err := f.s.EditMessage(f.ctx, alice.ID, chat.General, m.Seq, "hello 👋", at)
		if err != nil {
			t.Fatalf("EditMessage: %v", err)
		}
		if got.EditedAt == nil {
			t.Fatalf("EditMessage: EditedAt = nil, want %v", at)
		}
		checkTime(t, "EditedAt", *got.EditedAt, at)
		want := m
		want.Text, want.EditedAt = "hello 👋", got.EditedAt
		checkMessage(t, "EditMessage", got, want)
		checkMessage(t, "History after EditMessage", f.message(alice, chat.General, m.Seq), got)
	}},
	{"NotAuthor", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		m := f.send(bob, "lobby", "bob's words")
		// Not even the room's owner may put words in bob's mouth.
		_, err := f.s.EditMessage(f.ctx, alice.ID, "lobby", m.Seq, "alice's words", time.Now())
		checkErr(t, "EditMessage by the owner, not the author", err, chat.ErrForbidden)
		if got := f.message(bob, "lobby", m.Seq); got.Text != "bob's words" || got.EditedAt != nil {
			t.Errorf("after a refused edit: text %q, edited %v; want unchanged", got.Text, got.EditedAt)
		}
	}},
	{"Deleted", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		m := f.send(alice, chat.General, "gone soon")
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, m.Seq, time.Now()); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		_, err := f.s.EditMessage(f.ctx, alice.ID, chat.General, m.Seq, "back", time.Now())
		checkErr(t, "EditMessage after delete", err, chat.ErrConflict)
		if got := f.message(alice, chat.General, m.Seq); !got.Deleted || got.Text != "" {
			t.Errorf("after the refused edit: deleted %v, text %q; want true, empty", got.Deleted, got.Text)
		}
	}},
	{"Unknown", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.send(alice, chat.General, "one")
		_, err := f.s.EditMessage(f.ctx, alice.ID, chat.General, 2, "two", time.Now())
		checkErr(t, "EditMessage of an unknown seq", err, chat.ErrNotFound)
	}},
	{"Membership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(bob, "secret", true)
		f.createRoom(bob, "lobby", false)
		f.join(alice, "lobby")
		m := f.send(alice, "lobby", "mine")
		f.leave(alice, "lobby")
		_, err := f.s.EditMessage(f.ctx, alice.ID, "lobby", m.Seq, "still mine", time.Now())
		checkErr(t, "EditMessage after leaving the room", err, chat.ErrForbidden)
		_, err = f.s.EditMessage(f.ctx, alice.ID, "secret", 1, "x", time.Now())
		_, errMissing := f.s.EditMessage(f.ctx, alice.ID, "no-such-room", 1, "x", time.Now())
		checkSameNotFound(t, "EditMessage by a non-member", err, errMissing)
	}},
}

var deleteTests = []test{
	{"Author", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		m := f.send(alice, chat.General, "oops")
		got, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, m.Seq, time.Now())
		if err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		want := m
		want.Deleted, want.Text = true, ""
		checkMessage(t, "DeleteMessage", got, want)
		checkMessage(t, "History after DeleteMessage", f.message(alice, chat.General, m.Seq), want)
		// Deleting again is no error and changes nothing.
		again, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, m.Seq, time.Now())
		if err != nil {
			t.Fatalf("DeleteMessage twice: %v", err)
		}
		checkMessage(t, "DeleteMessage twice", again, want)
	}},
	{"Owner", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		m := f.send(bob, "lobby", "spam")
		got, err := f.s.DeleteMessage(f.ctx, alice.ID, "lobby", m.Seq, time.Now())
		if err != nil {
			t.Fatalf("DeleteMessage by the room's owner: %v", err)
		}
		if !got.Deleted || got.Text != "" || got.From != bob {
			t.Errorf("DeleteMessage by the owner = deleted %v, text %q, from %+v; want true, empty, bob", got.Deleted, got.Text, got.From)
		}
	}},
	{"Others", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "lobby", false)
		f.join(bob, "lobby")
		f.join(carol, "lobby")
		m := f.send(bob, "lobby", "bob's")
		_, err := f.s.DeleteMessage(f.ctx, carol.ID, "lobby", m.Seq, time.Now())
		checkErr(t, "DeleteMessage by another member", err, chat.ErrForbidden)
		// general has no owner: only authors delete there.
		g := f.send(bob, chat.General, "in general")
		_, err = f.s.DeleteMessage(f.ctx, alice.ID, chat.General, g.Seq, time.Now())
		checkErr(t, "DeleteMessage in general by another user", err, chat.ErrForbidden)
		for _, c := range []struct {
			room string
			seq  int64
		}{{"lobby", m.Seq}, {chat.General, g.Seq}} {
			if got := f.message(bob, c.room, c.seq); got.Deleted || got.Text == "" {
				t.Errorf("%s seq %d after refused deletes: deleted %v, text %q; want untouched", c.room, c.seq, got.Deleted, got.Text)
			}
		}
	}},
	{"Unknown", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		_, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, 1, time.Now())
		checkErr(t, "DeleteMessage of an unknown seq", err, chat.ErrNotFound)
	}},
	{"Membership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(bob, "secret", true)
		f.send(bob, "secret", "psst")
		_, err := f.s.DeleteMessage(f.ctx, alice.ID, "secret", 1, time.Now())
		_, errMissing := f.s.DeleteMessage(f.ctx, alice.ID, "no-such-room", 1, time.Now())
		checkSameNotFound(t, "DeleteMessage by a non-member", err, errMissing)
		f.createRoom(bob, "lobby", false)
		f.send(bob, "lobby", "hi")
		_, err = f.s.DeleteMessage(f.ctx, alice.ID, "lobby", 1, time.Now())
		checkErr(t, "DeleteMessage in a public room not joined", err, chat.ErrForbidden)
	}},
}

var markReadTests = []test{
	{"ForwardOnlyAndClamped", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.sendN(alice, chat.General, 5)
		for _, c := range []struct {
			seq, marker, unread int64
		}{
			{3, 3, 2},
			{1, 3, 2}, // never back
			{3, 3, 2},
			{100, 5, 0}, // clamped to the last seq
		} {
			marker, unread, err := f.s.MarkRead(f.ctx, bob.ID, chat.General, c.seq)
			if err != nil {
				t.Fatalf("MarkRead(%d): %v", c.seq, err)
			}
			if marker != c.marker || unread != c.unread {
				t.Errorf("MarkRead(%d) = marker %d, unread %d; want %d, %d", c.seq, marker, unread, c.marker, c.unread)
			}
		}
		checkRoom(t, "Room(bob, general) after reading all", f.room(bob, chat.General),
			chat.Room{Name: chat.General, Joined: true, LastSeq: 5, Unread: 0})
		// The marker was clamped to 5, not left at 100: new messages count.
		f.send(alice, chat.General, "six")
		f.send(bob, chat.General, "seven, bob's own")
		if got := f.room(bob, chat.General).Unread; got != 1 {
			t.Errorf("Room(bob, general).Unread after one message from alice and one of his own = %d, want 1", got)
		}
		marker, unread, err := f.s.MarkRead(f.ctx, bob.ID, chat.General, 0)
		if err != nil || marker != 5 || unread != 1 {
			t.Errorf("MarkRead(0) = %d, %d, %v; want marker 5, unread 1", marker, unread, err)
		}
	}},
	{"Membership", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "secret", true)
		f.createRoom(alice, "lobby", false)
		f.send(alice, "lobby", "hi")
		_, _, err := f.s.MarkRead(f.ctx, bob.ID, "secret", 1)
		_, _, errMissing := f.s.MarkRead(f.ctx, bob.ID, "no-such-room", 1)
		checkSameNotFound(t, "MarkRead by a non-member", err, errMissing)
		_, _, err = f.s.MarkRead(f.ctx, bob.ID, "lobby", 1)
		checkErr(t, "MarkRead of a public room not joined", err, chat.ErrForbidden)
	}},
}

var lifecycleTests = []test{
	{"Ping", func(t *testing.T, f *fixture) {
		if err := f.s.Ping(f.ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	}},
	{"Close", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		if err := f.s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkErr(t, "Ping after Close", f.s.Ping(f.ctx), chat.ErrUnavailable)
		_, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: alice, Text: "hello?", SentAt: time.Now()})
		checkErr(t, "Append after Close", err, chat.ErrUnavailable)
	}},
	{"CloseDuringAppends", func(t *testing.T, f *fixture) {
		// Appends racing Close either succeed or fail as unavailable.
		alice := f.user("alice")
		var wg sync.WaitGroup
		started := make(chan struct{})
		var once sync.Once
		for i := range 8 {
			wg.Go(func() {
				for j := 0; ; j++ {
					_, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: chat.General, From: alice,
						Text: fmt.Sprintf("%d/%d", i, j), SentAt: time.Now()})
					once.Do(func() { close(started) })
					if err != nil {
						checkErr(t, "Append racing Close", err, chat.ErrUnavailable)
						return
					}
				}
			})
		}
		<-started
		if err := f.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	}},
}
