package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantType string
		wantID   string
		wantCode chat.Code
	}{
		{"full", `{"type":"send_message","id":"c-1","payload":{"room":"general","text":"hi"}}`, "send_message", "c-1", ""},
		{"no id", `{"type":"typing","payload":{"room":"x"}}`, "typing", "", ""},
		{"not json", `hello`, "", "", chat.CodeBadRequest},
		{"array", `[1,2]`, "", "", chat.CodeBadRequest},
		{"missing type", `{"id":"a"}`, "", "a", chat.CodeBadRequest},
		{"type not string", `{"type":5,"id":"a"}`, "", "a", chat.CodeBadRequest},
		{"id not string", `{"type":"x","id":7}`, "", "", chat.CodeBadRequest},
		{"id too long", `{"type":"x","id":"` + strings.Repeat("a", 65) + `"}`, "", "", chat.CodeBadRequest},
		{"null payload", `{"type":"list_rooms","payload":null}`, "list_rooms", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := Decode([]byte(tt.in))
			if got := chat.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Decode(%s) code = %q, want %q (err %v)", tt.in, got, tt.wantCode, err)
			}
			if err == nil && env.Type != tt.wantType {
				t.Errorf("type = %q, want %q", env.Type, tt.wantType)
			}
			if env.ID != tt.wantID {
				t.Errorf("id = %q, want %q", env.ID, tt.wantID)
			}
		})
	}
}

func TestSendMessagePayload(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     SendMessage
		wantCode chat.Code
	}{
		{"object", `{"room":"general","text":"hi","client_msg_id":"k1"}`, SendMessage{Room: "general", Text: "hi", ClientMsgID: "k1"}, ""},
		{"seed bare string", `"Hello"`, SendMessage{Text: "Hello"}, ""},
		{"empty", `{"room":"general","text":""}`, SendMessage{}, chat.CodeBadRequest},
		{"white space", `{"room":"general","text":" \n\t "}`, SendMessage{}, chat.CodeBadRequest},
		{"too long", `{"room":"general","text":"` + strings.Repeat("é", 4001) + `"}`, SendMessage{}, chat.CodeTooLarge},
		{"4000 emoji fit", `{"room":"general","text":"` + strings.Repeat("😀", 4000) + `"}`, SendMessage{Room: "general", Text: strings.Repeat("😀", 4000)}, ""},
		{"bad room", `{"room":"Bad Room","text":"x"}`, SendMessage{}, chat.CodeBadRequest},
		{"reply", `{"room":"general","text":"x","reply_to":4}`, SendMessage{Room: "general", Text: "x", ReplyTo: 4}, ""},
		{"negative reply_to", `{"room":"general","text":"x","reply_to":-1}`, SendMessage{}, chat.CodeBadRequest},
		{"text wrong type", `{"room":"general","text":5}`, SendMessage{}, chat.CodeBadRequest},
		{"number payload", `42`, SendMessage{}, chat.CodeBadRequest},
		{"files without text", `{"room":"general","text":" ","attachments":["f_aaaaaaaaaaaaaaaa"]}`,
			SendMessage{Room: "general", Attachments: []string{"f_aaaaaaaaaaaaaaaa"}}, ""},
		{"files and text", `{"room":"general","text":"see","attachments":["f_aaaaaaaaaaaaaaaa","f_bbbbbbbbbbbbbbbb"]}`,
			SendMessage{Room: "general", Text: "see", Attachments: []string{"f_aaaaaaaaaaaaaaaa", "f_bbbbbbbbbbbbbbbb"}}, ""},
		{"no text, no files", `{"room":"general","text":"","attachments":[]}`, SendMessage{}, chat.CodeBadRequest},
		{"not a file id", `{"room":"general","text":"x","attachments":["../x"]}`, SendMessage{}, chat.CodeBadRequest},
		{"a file twice", `{"room":"general","attachments":["f_aaaaaaaaaaaaaaaa","f_aaaaaaaaaaaaaaaa"]}`, SendMessage{}, chat.CodeBadRequest},
		{"too many files", `{"room":"general","attachments":["f_aaaaaaaaaaaaaaaa","f_aaaaaaaaaaaaaaab","f_aaaaaaaaaaaaaaac",
			"f_aaaaaaaaaaaaaaad","f_aaaaaaaaaaaaaaae","f_aaaaaaaaaaaaaaaf","f_aaaaaaaaaaaaaaag","f_aaaaaaaaaaaaaaah",
			"f_aaaaaaaaaaaaaaai","f_aaaaaaaaaaaaaaaj","f_aaaaaaaaaaaaaaak"]}`, SendMessage{}, chat.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got SendMessage
			err := DecodePayload([]byte(tt.in), &got)
			if code := chat.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("code = %q, want %q (err %v)", code, tt.wantCode, err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPayloadValidation(t *testing.T) {
	tests := []struct {
		name string
		in   string
		v    any
		ok   bool
	}{
		{"history newest", `{"room":"general"}`, &History{}, true},
		{"history both bounds", `{"room":"general","before_seq":5,"after_seq":1}`, &History{}, false},
		{"history limit 101", `{"room":"general","limit":101}`, &History{}, false},
		{"history limit 0 given", `{"room":"general","limit":0}`, &History{}, false},
		{"history limit 1", `{"room":"general","limit":1}`, &History{}, true},
		{"history after_seq 0", `{"room":"general","after_seq":0}`, &History{}, true},
		{"who limit 0 given", `{"room":"x","limit":0}`, &Who{}, false},
		{"history negative", `{"room":"general","after_seq":-1}`, &History{}, false},
		{"history fractional seq", `{"room":"general","after_seq":1.5}`, &History{}, false},
		{"dm room ref", `{"room":"dm:alice:bob"}`, &RoomRef{}, true},
		{"unsorted dm", `{"room":"dm:bob:alice"}`, &RoomRef{}, false},
		{"missing room", `{}`, &RoomRef{}, false},
		{"create dm name", `{"room":"dm:alice:bob"}`, &CreateRoom{}, false},
		{"create ok", `{"room":"team-1","private":true}`, &CreateRoom{}, true},
		{"invite bad user", `{"room":"x","user":"a b"}`, &Invite{}, false},
		{"open dm", `{"user":"bob.smith"}`, &OpenDM{}, true},
		{"edit zero seq", `{"room":"x","seq":0,"text":"a"}`, &EditMessage{}, false},
		{"who limit", `{"room":"x","limit":100}`, &Who{}, true},
		{"mark read", `{"room":"x","seq":3}`, &MessageRef{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodePayload([]byte(tt.in), tt.v)
			if (err == nil) != tt.ok {
				t.Fatalf("DecodePayload(%s) err = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, chat.ErrBadRequest) {
				t.Errorf("err = %v, want a bad_request", err)
			}
		})
	}
}

// TestEncodeIsMarshalOfTheEnvelope: Encode writes exactly what
// json.Marshal gives for the Envelope, escapes and all.
func TestEncodeIsMarshalOfTheEnvelope(t *testing.T) {
	payloads := []any{
		chat.Message{Room: "general", Seq: 7, ID: "m_1", From: chat.User{ID: "u_1", Username: "al<i>ce"},
			Text: "hi \"there\" <b>&amp; \u2028 😀\n", SentAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		struct{}{},
		map[string]any{"rooms": []string{}},
		nil,
		ErrorPayload{Code: chat.CodeBadRequest, Message: "bad \x00 payload"},
	}
	for _, id := range []string{"", "c-17", "q\"uote<&>\u2028é"} {
		for _, p := range payloads {
			got, err := Encode(TypeAck, id, p)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(Envelope{Type: TypeAck, ID: id, Payload: raw})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("Encode(%q, %q, %T):\n got %s\nwant %s", TypeAck, id, p, got, want)
			}
		}
	}
}

// TestWelcomeAppendJSONMatchesReflection: the welcome written by hand is
// the bytes json.Marshal gives, whatever its strings, rooms and limits.
func TestWelcomeAppendJSONMatchesReflection(t *testing.T) {
	at := time.Date(2026, 11, 25, 16, 40, 0, 120_000_000, time.UTC)
	for i, w := range []Welcome{
		{},
		{User: chat.User{ID: "u_<1>", Username: "ann \"x\""}, Rooms: []chat.Room{}, CurrentRoom: "général",
			Server: "chatd/1.0 &", Heartbeat: Heartbeat{PingIntervalMS: 9000, PongWaitMS: 10000},
			Limits: Limits{MaxFrameBytes: 16 << 10, MaxTextChars: 4000, MessagesPerSecond: 10, MaxUploadBytes: 1 << 30}},
		{Rooms: []chat.Room{{Name: "general", Joined: true, LastSeq: 42, Unread: 3, Mentions: 1, LastActivity: &at},
			{Name: "dm:a:b", Private: true, Role: chat.RoleMember, Topic: "\u2028"}},
			Limits: Limits{MessagesPerSecond: 0.5}},
		{Limits: Limits{MessagesPerSecond: 1e-7}},
		{Limits: Limits{MessagesPerSecond: 1e21}},
		{Limits: Limits{MessagesPerSecond: -2.25, MaxTextChars: -1}},
	} {
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.AppendJSON([]byte("x"))
		if err != nil || got[0] != 'x' || !bytes.Equal(got[1:], want) {
			t.Errorf("welcome %d: %v\n got %s\nwant x%s", i, err, got, want)
		}
	}
	if _, err := (Welcome{Limits: Limits{MessagesPerSecond: math.Inf(1)}}).AppendJSON(nil); err == nil {
		t.Error("an infinite messages_per_second encoded without an error")
	}
}
