package protocol

import (
	"encoding/json"
	"testing"

	"github.com/chatd/chatd/chat"
)

// FuzzDecode feeds arbitrary frames through the envelope decoder and every
// payload type: it must never panic, and every failure must carry a code.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"type":"send_message","id":"1","payload":{"room":"general","text":"hi"}}`,
		`{"type":"send_message","payload":"Hello"}`,
		`{"type":"history","id":"h","payload":{"room":"dm:a_b:ccc","after_seq":3,"limit":10}}`,
		`{"type":"edit_message","payload":{"room":"x","seq":1,"text":"\u00e9"}}`,
		`{"type":"who","payload":{"room":"x","limit":-1}}`,
		`{"type":null}`, `[]`, `"x"`, `{"type":"a","payload":[1]}`, "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data)
		if err != nil {
			if chat.ErrorCode(err) != chat.CodeBadRequest {
				t.Fatalf("Decode error %v has code %q, want bad_request", err, chat.ErrorCode(err))
			}
			return
		}
		if env.Type == "" || len(env.ID) > MaxIDLen {
			t.Fatalf("Decode accepted type %q id %q", env.Type, env.ID)
		}
		for _, v := range []any{&SendMessage{}, &RoomRef{}, &CreateRoom{}, &Invite{}, &OpenDM{},
			&History{}, &Who{}, &EditMessage{}, &MessageRef{}} {
			if err := DecodePayload(env.Payload, v); err != nil {
				if c := chat.ErrorCode(err); c != chat.CodeBadRequest && c != chat.CodeTooLarge {
					t.Fatalf("DecodePayload(%T) code %q", v, c)
				}
				continue
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("re-encode %T: %v", v, err)
			}
		}
	})
}
