package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// batchTests are about group commit: Appends queued together, which the
// store may commit in one transaction, each keep the outcome they would
// have alone. AppendAsync queues without waiting, so that a store which
// has it takes these Appends into as few batches as it can; one without
// it is tested through concurrent Appends.
var batchTests = []test{
	{"OneRoomAckOrder", func(t *testing.T, f *fixture) {
		// Many senders into one room at once: the seqs are 1..n without
		// a gap, and the acks (the store's reports) come in seq order.
		const senders, perSender = 16, 25
		users := make([]chat.User, senders)
		for i := range users {
			users[i] = f.user(fmt.Sprintf("user%d", i))
		}
		var (
			mu    sync.Mutex
			acked []int64
			wg    sync.WaitGroup
		)
		start := make(chan struct{})
		for g := range senders {
			wg.Go(func() {
				<-start
				var mine sync.WaitGroup
				for i := range perSender {
					mine.Add(1)
					f.appendAsync(chat.NewMessage{Room: chat.General, From: users[g], Text: fmt.Sprintf("g%d m%d", g, i),
						ClientMsgID: fmt.Sprintf("c%d", i), SentAt: time.Now()}, func(m chat.Message, _ bool, err error) {
						if err != nil {
							t.Errorf("sender %d message %d: %v", g, i, err)
						} else {
							mu.Lock()
							acked = append(acked, m.Seq)
							mu.Unlock()
						}
						mine.Done()
					})
				}
				mine.Wait()
			})
		}
		close(start)
		wg.Wait()
		if _, ok := f.s.(chat.AsyncAppender); ok {
			if want := seqRange(1, senders*perSender); !slices.Equal(acked, want) {
				t.Errorf("seqs in the order they were acked: %v, want 1..%d in order", acked, senders*perSender)
			}
		} else {
			slices.Sort(acked)
			if want := seqRange(1, senders*perSender); !slices.Equal(acked, want) {
				t.Errorf("seqs acked: %v, want 1..%d", acked, senders*perSender)
			}
		}
		if got := f.lastSeq(chat.General); got != senders*perSender {
			t.Errorf("LastSeq = %d, want %d", got, senders*perSender)
		}
	}},
	{"DuplicateInOneBatch", func(t *testing.T, f *fixture) {
		// The same client id twice among Appends queued together: the
		// first stores the message, the second is answered with it.
		alice := f.user("alice")
		var (
			got     [4]chat.Message
			created [4]bool
			errs    [4]error
			wg      sync.WaitGroup
		)
		sends := []chat.NewMessage{
			{Room: chat.General, From: alice, Text: "first", ClientMsgID: "c-1"},
			{Room: chat.General, From: alice, Text: "other", ClientMsgID: "c-2"},
			{Room: chat.General, From: alice, Text: "first again", ClientMsgID: "c-1"},
			{Room: chat.General, From: alice, Text: "other again", ClientMsgID: "c-2"},
		}
		for i, nm := range sends {
			wg.Add(1)
			nm.SentAt = time.Now()
			f.appendAsync(nm, func(m chat.Message, c bool, err error) {
				got[i], created[i], errs[i] = m, c, err
				wg.Done()
			})
		}
		wg.Wait()
		for i := range sends {
			if errs[i] != nil {
				t.Fatalf("Append %d: %v", i, errs[i])
			}
		}
		if !created[0] || !created[1] || created[2] || created[3] {
			t.Errorf("created = %v, want [true true false false]", created)
		}
		checkMessage(t, "the repeat of c-1", got[2], got[0])
		checkMessage(t, "the repeat of c-2", got[3], got[1])
		if got[0].Text != "first" || got[0].Seq != 1 || got[1].Seq != 2 {
			t.Errorf("stored %q seq %d and seq %d, want \"first\" seq 1 and seq 2", got[0].Text, got[0].Seq, got[1].Seq)
		}
		if last := f.lastSeq(chat.General); last != 2 {
			t.Errorf("LastSeq = %d, want 2", last)
		}
	}},
	{"OneBadSendFailsAlone", func(t *testing.T, f *fixture) {
		// Refused Appends (not a member, no such room, a reply to no
		// message, a NUL byte, which PostgreSQL's text cannot hold) queued
		// among good ones: each fails with its own error, the good ones
		// are stored with seqs in order and can be found by search.
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "lobby", false)
		errAny := fmt.Errorf("any outcome")
		type send struct {
			nm   chat.NewMessage
			want error // nil: stored
		}
		var sends []send
		for i := range 6 {
			sends = append(sends, send{chat.NewMessage{Room: chat.General, From: alice, Text: fmt.Sprintf("batchword%d", i), ClientMsgID: fmt.Sprintf("ok%d", i)}, nil})
			switch i {
			case 0:
				sends = append(sends, send{chat.NewMessage{Room: "lobby", From: bob, Text: "not joined"}, chat.ErrForbidden})
			case 1:
				sends = append(sends, send{chat.NewMessage{Room: "no-such-room", From: alice, Text: "nowhere"}, chat.ErrNotFound})
			case 2:
				sends = append(sends, send{chat.NewMessage{Room: chat.General, From: alice, Text: "nul \x00 byte"}, errAny})
			case 3:
				sends = append(sends, send{chat.NewMessage{Room: chat.General, From: alice, Text: "reply", ReplyTo: 999}, chat.ErrNotFound})
			}
		}
		outcomes := make([]error, len(sends))
		msgs := make([]chat.Message, len(sends))
		var wg sync.WaitGroup
		for i, sd := range sends {
			wg.Add(1)
			sd.nm.SentAt = time.Now()
			f.appendAsync(sd.nm, func(m chat.Message, _ bool, err error) {
				msgs[i], outcomes[i] = m, err
				wg.Done()
			})
		}
		wg.Wait()
		var last int64
		stored := 0
		for i, sd := range sends {
			switch {
			case sd.want == errAny:
				if outcomes[i] == nil {
					stored++
					last = msgs[i].Seq
				}
			case sd.want != nil:
				checkErr(t, fmt.Sprintf("send %d (%q to %s)", i, sd.nm.Text, sd.nm.Room), outcomes[i], sd.want)
			case outcomes[i] != nil:
				t.Errorf("send %d (%q): %v", i, sd.nm.Text, outcomes[i])
			default:
				stored++
				if msgs[i].Seq <= last {
					t.Errorf("send %d: seq %d after seq %d", i, msgs[i].Seq, last)
				}
				last = msgs[i].Seq
				if rs := f.search(alice, chat.SearchQuery{Text: sd.nm.Text}); len(rs) != 1 || rs[0].Seq != msgs[i].Seq {
					t.Errorf("search %q: %+v, want seq %d", sd.nm.Text, rs, msgs[i].Seq)
				}
			}
		}
		if got := f.lastSeq(chat.General); got != int64(stored) {
			t.Errorf("LastSeq = %d after %d stored", got, stored)
		}
	}},
}

// appendAsync queues nm with the store's AppendAsync, or, for a store
// without it, runs Append on a goroutine of its own; done gets the outcome.
func (f *fixture) appendAsync(nm chat.NewMessage, done func(chat.Message, bool, error)) {
	if aa, ok := f.s.(chat.AsyncAppender); ok {
		aa.AppendAsync(f.ctx, nm, done)
		return
	}
	go func() { done(f.s.Append(f.ctx, nm)) }()
}
