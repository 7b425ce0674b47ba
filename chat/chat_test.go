package chat

import (
	"errors"
	"strings"
	"testing"
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
