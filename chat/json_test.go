package chat

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// jsonStrings are texts whose escaping json.Marshal treats specially.
var jsonStrings = []string{
	"", "hi", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnl\nr\rb\bf\f", "\x00\x01\x1f\x7f",
	"héllo wörld ✓ 😀", "bad \xff utf8 \xc3", "line\u2028para\u2029", "m_0123456789abcdefghijklmnop",
}

func TestMessageAppendJSONMatchesReflection(t *testing.T) {
	at := time.Date(2026, 11, 25, 16, 40, 0, 120_000_000, time.FixedZone("x", 3600))
	edited := at.Add(time.Second + 7*time.Millisecond)
	n := 0
	for _, s := range jsonStrings {
		for _, m := range []Message{
			{Room: s, Seq: 1, ID: s, From: User{ID: s, Username: s}, Text: s, SentAt: at},
			{Room: "general", Seq: -7, ID: "m_1", From: User{ID: "u_1", Username: "ann"}, Text: s, SentAt: at,
				ClientMsgID: s, EditedAt: &edited, Deleted: true, ReplyTo: 3, MentionRoom: true},
			{Room: "r", Seq: 1 << 62, Text: s, Mentions: []string{s}, Thread: &Replies{Count: 2}},
			{Room: "r", Text: s, Replies: &Replies{Count: 1}, Reactions: []Reaction{{Emoji: s}}},
			{Room: "r", Text: s, Attachments: []Attachment{{ID: s}}},
		} {
			got, err := json.Marshal(m) // through MarshalJSON, and compacted as any other
			if err != nil {
				t.Fatal(err)
			}
			if want := m.marshalSlow(); !bytes.Equal(got, want) {
				t.Errorf("message %d:\n got %s\nwant %s", n, got, want)
			}
			if got := m.AppendJSON([]byte("x")); !bytes.Equal(got[1:], m.marshalSlow()) || got[0] != 'x' {
				t.Errorf("AppendJSON does not append: %s", got)
			}
			n++
		}
	}
}

func TestRoomAppendJSONMatchesReflection(t *testing.T) {
	at := time.Date(2026, 11, 25, 16, 40, 0, 120_000_000, time.FixedZone("x", 3600))
	n := 0
	for _, s := range jsonStrings {
		for _, r := range []Room{
			{Name: s, Topic: s, Description: s, Role: s, Owner: s, Hidden: true},
			{Name: "general", Private: true, LastSeq: 1 << 62, Joined: true, Unread: -3, MembersOnline: 7, Mentions: 2,
				Topic: s, MemberCount: 40, LastActivity: &at, Archived: true, Muted: true},
			{Name: "r", LastSeq: -1, Role: RoleOwner, LastActivity: &at},
		} {
			got, err := json.Marshal(r) // through MarshalJSON, and compacted as any other
			if err != nil {
				t.Fatal(err)
			}
			if want := roomByReflection(r); !bytes.Equal(got, want) {
				t.Errorf("room %d:\n got %s\nwant %s", n, got, want)
			}
			if got := r.AppendJSON([]byte("x")); !bytes.Equal(got[1:], roomByReflection(r)) || got[0] != 'x' {
				t.Errorf("AppendJSON does not append: %s", got)
			}
			n++
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkMessageJSON(b *testing.B) {
	m := Message{Room: "room-17", Seq: 123456, ID: NewMessageID(time.Now()), From: User{ID: "u_0123456789", Username: "bench-user-3"},
		Text: "a message of sixty-four bytes, more or less, like chatbench's one", SentAt: time.Now(), ClientMsgID: "c-42-17"}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = m.AppendJSON(buf[:0])
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.marshalSlow()
		}
	})
}

// roomByReflection is what Room's JSON was by reflection, the reference
// for AppendJSON.
func roomByReflection(r Room) []byte {
	type plain Room // no MarshalJSON: no recursion
	out := struct {
		plain
		LastActivity *string `json:"last_activity"`
	}{plain: plain(r)}
	if r.LastActivity != nil {
		t := r.LastActivity.UTC().Format(timeLayout)
		out.LastActivity = &t
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // plain data
	}
	return b
}
