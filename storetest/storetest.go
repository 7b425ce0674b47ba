// Package storetest is the conformance suite of chat.Store: every
// implementation (sqlite, postgres) runs the same tests, so the guarantees
// documented on chat.Store hold whichever database chatd uses.
//
// An implementation's test calls Run with a factory:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) chat.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// Run runs the suite. newStore must return a new, empty store (only the
// general room, no users) for each call, and release it when t ends; the
// Close tests close it first, so Close must tolerate a second call.
func Run(t *testing.T, newStore func(t *testing.T) chat.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", userTests},
		{"Sessions", sessionTests},
		{"CreateRoom", createRoomTests},
		{"JoinRoom", joinRoomTests},
		{"LeaveRoom", leaveRoomTests},
		{"Invite", inviteTests},
		{"OpenDM", openDMTests},
		{"Rooms", roomsTests},
		{"Directory", directoryTests},
		{"Topic", topicTests},
		{"Description", descriptionTests},
		{"Members", membersTests},
		{"Roles", rolesTests},
		{"Archive", archiveTests},
		{"Append", appendTests},
		{"Batch", batchTests},
		{"History", historyTests},
		{"MessagesAfter", messagesAfterTests},
		{"EditMessage", editTests},
		{"DeleteMessage", deleteTests},
		{"MarkRead", markReadTests},
		{"UserAdmin", userAdminTests},
		{"RoomAdmin", roomAdminTests},
		{"Lifecycle", lifecycleTests},
		{"Replies", replyTests},
		{"Reactions", reactionTests},
		{"Mentions", mentionTests},
		{"Search", searchTests},
		{"Files", fileTests},
		{"Mute", muteTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, &fixture{tb: t, ctx: t.Context(), s: newStore(t)})
				})
			}
		})
	}
}

// test is one case of the suite, run on a fresh store.
type test struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// fixture holds a store under test and offers steps that must succeed:
// each fails the test at once if the store returns an error.
type fixture struct {
	tb  testing.TB
	ctx context.Context
	s   chat.Store
}

func (f *fixture) user(name string) chat.User {
	f.tb.Helper()
	u, err := f.s.CreateUser(f.ctx, name, "hash-of-"+name)
	if err != nil {
		f.tb.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func (f *fixture) createRoom(owner chat.User, name string, private bool) chat.Room {
	f.tb.Helper()
	r, err := f.s.CreateRoom(f.ctx, owner.ID, name, private)
	if err != nil {
		f.tb.Fatalf("CreateRoom(%s, %q, private=%v): %v", owner.Username, name, private, err)
	}
	return r
}

func (f *fixture) join(u chat.User, room string) chat.Membership {
	f.tb.Helper()
	m, err := f.s.JoinRoom(f.ctx, u.ID, room)
	if err != nil {
		f.tb.Fatalf("JoinRoom(%s, %q): %v", u.Username, room, err)
	}
	return m
}

func (f *fixture) leave(u chat.User, room string) (newOwner chat.User) {
	f.tb.Helper()
	newOwner, err := f.s.LeaveRoom(f.ctx, u.ID, room)
	if err != nil {
		f.tb.Fatalf("LeaveRoom(%s, %q): %v", u.Username, room, err)
	}
	return newOwner
}

func (f *fixture) invite(owner chat.User, room string, invitee chat.User) chat.Membership {
	f.tb.Helper()
	_, m, err := f.s.Invite(f.ctx, owner.ID, room, invitee.Username)
	if err != nil {
		f.tb.Fatalf("Invite(%s, %q, %s): %v", owner.Username, room, invitee.Username, err)
	}
	return m
}

func (f *fixture) openDM(u, other chat.User) chat.Room {
	f.tb.Helper()
	r, _, _, err := f.s.OpenDM(f.ctx, u.ID, other.Username)
	if err != nil {
		f.tb.Fatalf("OpenDM(%s, %s): %v", u.Username, other.Username, err)
	}
	return r
}

func (f *fixture) send(u chat.User, room, text string) chat.Message {
	f.tb.Helper()
	m, created, err := f.s.Append(f.ctx, chat.NewMessage{Room: room, From: u, Text: text, SentAt: time.Now()})
	if err != nil {
		f.tb.Fatalf("Append(%s in %q): %v", u.Username, room, err)
	}
	if !created {
		f.tb.Fatalf("Append(%s in %q) without client_msg_id: created = false, want true", u.Username, room)
	}
	return m
}

// sendN appends n messages "<prefix> 1", "<prefix> 2", ...
func (f *fixture) sendN(u chat.User, room string, n int) []chat.Message {
	f.tb.Helper()
	msgs := make([]chat.Message, n)
	for i := range msgs {
		msgs[i] = f.send(u, room, fmt.Sprintf("message %d", i+1))
	}
	return msgs
}

func (f *fixture) room(u chat.User, name string) chat.Room {
	f.tb.Helper()
	r, err := f.s.Room(f.ctx, u.ID, name)
	if err != nil {
		f.tb.Fatalf("Room(%s, %q): %v", u.Username, name, err)
	}
	return r
}

func (f *fixture) rooms(u chat.User) []chat.Room {
	f.tb.Helper()
	rs, err := f.s.Rooms(f.ctx, u.ID)
	if err != nil {
		f.tb.Fatalf("Rooms(%s): %v", u.Username, err)
	}
	return rs
}

func (f *fixture) history(u chat.User, room string, q chat.HistoryQuery) ([]chat.Message, bool) {
	f.tb.Helper()
	msgs, more, err := f.s.History(f.ctx, u.ID, room, q)
	if err != nil {
		f.tb.Fatalf("History(%s, %q, %+v): %v", u.Username, room, q, err)
	}
	return msgs, more
}

func (f *fixture) lastSeq(room string) int64 {
	f.tb.Helper()
	n, err := f.s.LastSeq(f.ctx, room)
	if err != nil {
		f.tb.Fatalf("LastSeq(%q): %v", room, err)
	}
	return n
}

// message returns the message room/seq as History shows it to u.
func (f *fixture) message(u chat.User, room string, seq int64) chat.Message {
	f.tb.Helper()
	q := chat.HistoryQuery{AfterSeq: seq - 1, Limit: 1}
	if seq == 1 {
		q = chat.HistoryQuery{BeforeSeq: 2, Limit: 1}
	}
	msgs, _ := f.history(u, room, q)
	if len(msgs) != 1 || msgs[0].Seq != seq {
		f.tb.Fatalf("History of %q at seq %d: got seqs %v", room, seq, seqs(msgs))
	}
	return msgs[0]
}

// findRoom returns the room named name in rooms.
func findRoom(rooms []chat.Room, name string) (chat.Room, bool) {
	i := slices.IndexFunc(rooms, func(r chat.Room) bool { return r.Name == name })
	if i < 0 {
		return chat.Room{}, false
	}
	return rooms[i], true
}

func roomNames(rooms []chat.Room) []string {
	names := make([]string, len(rooms))
	for i, r := range rooms {
		names[i] = r.Name
	}
	return names
}

func seqs(msgs []chat.Message) []int64 {
	s := make([]int64, len(msgs))
	for i, m := range msgs {
		s[i] = m.Seq
	}
	return s
}

// seqRange returns from, from+1, ..., to.
func seqRange(from, to int64) []int64 {
	s := []int64{}
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// checkErr fails the test unless errors.Is(err, want).
func checkErr(tb testing.TB, what string, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// checkSameNotFound checks that err (about a private room the user is not
// in) and errMissing (about a room that does not exist) are the same
// ErrNotFound, so a client cannot tell them apart.
func checkSameNotFound(tb testing.TB, what string, err, errMissing error) {
	tb.Helper()
	checkErr(tb, what+" (private room, not a member)", err, chat.ErrNotFound)
	checkErr(tb, what+" (no such room)", errMissing, chat.ErrNotFound)
	if err != nil && errMissing != nil && chat.ErrorMessage(err) != chat.ErrorMessage(errMissing) {
		tb.Errorf("%s: private room answers %q, missing room %q; want the same answer",
			what, chat.ErrorMessage(err), chat.ErrorMessage(errMissing))
	}
}

func checkSeqs(tb testing.TB, what string, msgs []chat.Message, want []int64) {
	tb.Helper()
	if got := seqs(msgs); !slices.Equal(got, want) {
		tb.Errorf("%s: got seqs %v, want %v", what, got, want)
	}
}

// checkTime checks that t is in UTC (the wire format writes "Z") and within
// a millisecond of want (stores may keep milliseconds only).
func checkTime(tb testing.TB, what string, got, want time.Time) {
	tb.Helper()
	if got.Location() != time.UTC {
		tb.Errorf("%s: got location %v, want UTC", what, got.Location())
	}
	if d := got.Sub(want); d < -time.Millisecond || d > time.Millisecond {
		tb.Errorf("%s: got %v, want %v (±1ms)", what, got, want)
	}
}

// checkMessage fails the test if got and want differ in any field.
func checkMessage(tb testing.TB, what string, got, want chat.Message) {
	tb.Helper()
	if d := diffMessage(got, want); d != "" {
		tb.Errorf("%s: message differs: %s\n got: %+v\nwant: %+v", what, d, got, want)
	}
}

func diffMessage(got, want chat.Message) string {
	var diffs []string
	field := func(name string, g, w any) {
		if g != w {
			diffs = append(diffs, fmt.Sprintf("%s %#v, want %#v", name, g, w))
		}
	}
	field("Room", got.Room, want.Room)
	field("Seq", got.Seq, want.Seq)
	field("ID", got.ID, want.ID)
	field("From", got.From, want.From)
	field("Text", got.Text, want.Text)
	field("ClientMsgID", got.ClientMsgID, want.ClientMsgID)
	field("Deleted", got.Deleted, want.Deleted)
	if !got.SentAt.Equal(want.SentAt) {
		diffs = append(diffs, fmt.Sprintf("SentAt %v, want %v", got.SentAt, want.SentAt))
	}
	switch {
	case (got.EditedAt == nil) != (want.EditedAt == nil):
		diffs = append(diffs, fmt.Sprintf("EditedAt %v, want %v", got.EditedAt, want.EditedAt))
	case got.EditedAt != nil && !got.EditedAt.Equal(*want.EditedAt):
		diffs = append(diffs, fmt.Sprintf("EditedAt %v, want %v", *got.EditedAt, *want.EditedAt))
	}
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

// checkRoom compares the fields of a room that the store sets.
func checkRoom(tb testing.TB, what string, got, want chat.Room) {
	tb.Helper()
	got.MembersOnline, want.MembersOnline = 0, 0 // the server's, not the store's
	// The fields of issue 9 have tests of their own (rooms9.go).
	got.Topic, got.Description, got.MemberCount, got.LastActivity, got.Archived, got.Role, got.Hidden = "", "", 0, nil, false, "", false
	want.Topic, want.Description, want.MemberCount, want.LastActivity, want.Archived, want.Role, want.Hidden = "", "", 0, nil, false, "", false
	if got != want {
		tb.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
