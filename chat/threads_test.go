package chat

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseMentions(t *testing.T) {
	for _, tc := range []struct {
		text  string
		names []string
		room  bool
	}{
		{"no at sign", nil, false},
		{"@bob hi", []string{"bob"}, false},
		{"hi @Bob and @bob.", []string{"bob"}, false},
		{"mail me@example.com", nil, false},
		{"(@alice) @room!", []string{"alice"}, true},
		{"@ROOM", nil, true},
		{"@ab is too short, @carol_1 is not", []string{"carol_1"}, false},
		{"é@dave counts after a non-ASCII letter", []string{"dave"}, false},
		{"@user @x@x@x", []string{"user"}, false},
	} {
		names, room := ParseMentions(tc.text)
		if !slices.Equal(names, tc.names) || room != tc.room {
			t.Errorf("ParseMentions(%q) = %v, %v; want %v, %v", tc.text, names, room, tc.names, tc.room)
		}
	}
	var many []string
	for i := range 30 {
		many = append(many, "@user"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if names, _ := ParseMentions(strings.Join(many, " ")); len(names) != maxMentionNames {
		t.Errorf("30 names: got %d, want the bound %d", len(names), maxMentionNames)
	}
}

func TestMayMentionRoom(t *testing.T) {
	for _, tc := range []struct {
		members int64
		owner   bool
		want    bool
	}{{2, false, true}, {50, false, true}, {51, false, false}, {51, true, true}, {5000, true, true}} {
		if got := MayMentionRoom(tc.members, tc.owner); got != tc.want {
			t.Errorf("MayMentionRoom(%d, owner %v) = %v, want %v", tc.members, tc.owner, got, tc.want)
		}
	}
}

func TestCheckEmoji(t *testing.T) {
	good := []string{"👍", "🎉", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "1️⃣", "#⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕"}
	bad := []string{"", "a", "1", "👍 ", "<b>", "\u200d", "🏽", "\ufe0f", strings.Repeat("👍", 17), "👍a"}
	for _, e := range good {
		if err := CheckEmoji(e); err != nil {
			t.Errorf("CheckEmoji(%q) = %v, want nil", e, err)
		}
	}
	for _, e := range bad {
		if err := CheckEmoji(e); ErrorCode(err) != CodeBadRequest {
			t.Errorf("CheckEmoji(%q) = %v, want bad_request", e, err)
		}
	}
}

func TestSummarizeReplies(t *testing.T) {
	a, b, c, d := User{"u1", "a"}, User{"u2", "b"}, User{"u3", "c"}, User{"u4", "d"}
	got := SummarizeReplies([]ReplierRow{
		{1, a, 2, 9}, {1, b, 1, 5}, {1, c, 1, 12}, {1, d, 1, 3}, {7, b, 4, 8},
	})
	one := got[1]
	if one.Count != 5 || one.LastSeq != 12 || !slices.Equal(one.Users, []User{c, a, b}) {
		t.Errorf("thread 1: %+v, want 5 replies, last 12, users c a b", one)
	}
	if seven := got[7]; seven.Count != 4 || !slices.Equal(seven.Users, []User{b}) {
		t.Errorf("thread 7: %+v", seven)
	}
	if SummarizeReplies(nil) != nil {
		t.Error("no rows: want nil")
	}
}

func TestGroupReactions(t *testing.T) {
	var rows []ReactionRow
	for i := range 12 {
		rows = append(rows, ReactionRow{Seq: 3, Emoji: "👍", User: User{ID: string(rune('a' + i))}})
	}
	rows = slices.Insert(rows, 1, ReactionRow{Seq: 3, Emoji: "🎉", User: User{ID: "l"}})
	got := GroupReactions(rows, "l")[3]
	if len(got) != 2 || got[0].Emoji != "👍" || got[1].Emoji != "🎉" {
		t.Fatalf("order: %+v, want 👍 (used first) then 🎉", got)
	}
	if got[0].Count != 12 || len(got[0].Users) != MaxReactionUsers || !got[0].Me || got[0].Users[0].ID != "a" {
		t.Errorf("👍: count %d, %d users, me %v", got[0].Count, len(got[0].Users), got[0].Me)
	}
	if !got[1].Me || got[1].Count != 1 {
		t.Errorf("🎉: %+v", got[1])
	}
}

func TestMayReact(t *testing.T) {
	member := Access{Exists: true, Member: true}
	full := make([]string, MaxReactionEmoji)
	for i := range full {
		full[i] = string(rune(0x1F600 + i))
	}
	for _, tc := range []struct {
		name    string
		a       Access
		m       Message
		present []string
		emoji   string
		add     bool
		want    error
	}{
		{"member", member, Message{}, nil, "👍", true, nil},
		{"outsider, private", Access{Exists: true, Private: true}, Message{}, nil, "👍", true, ErrRoomNotFound},
		{"not joined, public", Access{Exists: true}, Message{}, nil, "👍", true, ErrNotMember},
		{"deleted", member, Message{Deleted: true}, nil, "👍", false, errEditDeleted},
		{"21st emoji", member, Message{}, full, "👍", true, ErrConflict},
		{"an existing one of 20", member, Message{}, full, full[3], true, nil},
		{"removing from 20", member, Message{}, full, "👍", false, nil},
	} {
		err := tc.a.MayReact(tc.m, tc.present, tc.emoji, tc.add)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) && ErrorCode(err) != ErrorCode(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSearchQueryCheck(t *testing.T) {
	for _, tc := range []struct {
		q    SearchQuery
		want Code
	}{
		{SearchQuery{Text: "deploy"}, ""},
		{SearchQuery{Text: " "}, CodeBadRequest},
		{SearchQuery{Text: strings.Repeat("é", MaxSearchChars)}, ""},
		{SearchQuery{Text: strings.Repeat("é", MaxSearchChars+1)}, CodeTooLarge},
		{SearchQuery{Text: "x", Limit: MaxSearchLimit + 1}, CodeBadRequest},
		{SearchQuery{Text: "x", Offset: MaxSearchOffset + 1}, CodeBadRequest},
		{SearchQuery{Text: "x", Room: "Bad Room"}, CodeBadRequest},
		{SearchQuery{Text: "x", From: "a b"}, CodeBadRequest},
	} {
		q, err := tc.q.Check()
		if got := ErrorCode(err); err != nil && got != tc.want || err == nil && tc.want != "" {
			t.Errorf("Check(%+v) = %v, want %q", tc.q, err, tc.want)
		}
		if err == nil && q.Limit != DefaultSearchLimit && tc.q.Limit == 0 {
			t.Errorf("default limit %d", q.Limit)
		}
	}
	if got := SearchWords("Deploy, (green) now-ish!"); !slices.Equal(got, []string{"deploy", "green", "now", "ish"}) {
		t.Errorf("SearchWords: %v", got)
	}
}
