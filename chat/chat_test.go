package chat

import (
	"encoding/base32"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		text string
		want Code
	}{
		{"hi", ""},
		{"  \n\t", CodeBadRequest},
		{"", CodeBadRequest},
		{"a\x00b", CodeBadRequest},
		{"\xff", CodeBadRequest},
		{strings.Repeat("字", MaxTextChars), ""},
		{strings.Repeat("字", MaxTextChars+1), CodeTooLarge},
	}
	for _, tt := range tests {
		if got := ErrorCode(CheckText(tt.text)); got != tt.want {
			t.Errorf("CheckText(%.20q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := DMName("bob", "alice"); got != "dm:alice:bob" {
		t.Errorf("DMName = %q", got)
	}
	for name, want := range map[string]bool{
		"general": true, "a": true, "dev-ops_2": true, "Caps": false, "": false,
		strings.Repeat("a", 65): false, "dm:alice:bob": false, "sp ace": false,
	} {
		if got := ValidRoomName(name); got != want {
			t.Errorf("ValidRoomName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{
		"dm:alice:bob": true, "dm:Al.ice:bob": true, "dm:bob:alice": false, "dm:al:bob": false, "dm:alice": false,
	} {
		if got := IsDMName(name); got != want {
			t.Errorf("IsDMName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{"alice": true, "A.b-c_9": true, "ab": false, "a b c": false, strings.Repeat("x", 33): false} {
		if got := ValidUsername(name); got != want {
			t.Errorf("ValidUsername(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	err := Errorf(CodeNotFound, "room %q not found", "x")
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
		t.Errorf("errors.Is mismatch for %v", err)
	}
	wrapped := errors.Join(errors.New("context"), err)
	if ErrorCode(wrapped) != CodeNotFound || ErrorMessage(wrapped) != `room "x" not found` {
		t.Errorf("wrapped: code %q message %q", ErrorCode(wrapped), ErrorMessage(wrapped))
	}
	if ErrorCode(errors.New("boom")) != CodeInternal || ErrorMessage(errors.New("secret detail")) != "internal error" {
		t.Error("plain errors must be internal and hide their text")
	}
	if ErrorCode(nil) != "" {
		t.Error("ErrorCode(nil) must be empty")
	}
	if id := NewID("u_"); !strings.HasPrefix(id, "u_") || len(id) != 18 || id == NewID("u_") {
		t.Errorf("NewID = %q", id)
	}
}

func TestMessageJSONTimes(t *testing.T) {
	sent := time.Date(2026, 11, 25, 16, 40, 0, 120_000_000, time.FixedZone("x", 3600))
	edited := time.Date(2026, 11, 25, 16, 41, 5, 0, time.UTC)
	b, err := json.Marshal(Message{Room: "general", Seq: 1, SentAt: sent, EditedAt: &edited, From: User{ID: "u_1", Username: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sent_at":"2026-11-25T15:40:00.120Z"`, `"edited_at":"2026-11-25T16:41:05.000Z"`, `"room":"general"`, `"from":{"id":"u_1","username":"a"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if strings.Count(string(b), "sent_at") != 1 {
		t.Errorf("sent_at appears more than once: %s", b)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil || !back.SentAt.Equal(sent) || !back.EditedAt.Equal(edited) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	b, _ = json.Marshal(Message{})
	if !strings.Contains(string(b), `"edited_at":null`) {
		t.Errorf("unedited message: %s, want edited_at null", b)
	}
}

// TestMessageIDEncoding: the ids are what they were when they were
// base32hex upper case, lowered.
func TestMessageIDEncoding(t *testing.T) {
	old := base32.HexEncoding.WithPadding(base32.NoPadding)
	for _, b := range [][16]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {0x80, 0, 0x7f, 0xaa, 0x55}} {
		if got, want := messageID(b), "m_"+strings.ToLower(old.EncodeToString(b[:])); got != want {
			t.Errorf("messageID(%x) = %q, want %q", b, got, want)
		}
	}
}

func TestNewMessageID(t *testing.T) {
	t0 := time.UnixMilli(1_764_000_000_000)
	a, b := NewMessageID(t0), NewMessageID(t0)
	if !strings.HasPrefix(a, "m_") || len(a) != 28 || a == b {
		t.Errorf("NewMessageID = %q, %q", a, b)
	}
	// Same millisecond: the same time part, different random parts.
	if a[:11] != b[:11] { // "m_" and 45 of the 48 bits of time
		t.Errorf("same time, different prefixes: %q, %q", a, b)
	}
	// Later times sort later, whatever the random part.
	prev := NewMessageID(t0)
	for _, d := range []time.Duration{time.Millisecond, time.Second, time.Hour, 24 * 365 * time.Hour} {
		next := NewMessageID(t0.Add(d))
		if next <= prev {
			t.Errorf("NewMessageID(t0+%v) = %q, not after %q", d, next, prev)
		}
		prev = next
	}
}

func TestMentionScope(t *testing.T) {
	r := func(name string, unread int64) Room { return Room{Name: name, Unread: unread} }
	for _, tc := range []struct {
		rooms []Room
		room  string
		ok    bool
	}{
		{nil, "", false},
		{[]Room{r("a", 0), r("b", 0)}, "", false},
		{[]Room{r("a", 0), r("b", 3)}, "b", true},
		{[]Room{r("a", 1), r("b", 3)}, "", true},
	} {
		room, ok := MentionScope(tc.rooms)
		if room != tc.room || ok != tc.ok {
			t.Errorf("MentionScope(%v) = %q, %v; want %q, %v", tc.rooms, room, ok, tc.room, tc.ok)
		}
	}
}
