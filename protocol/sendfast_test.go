package protocol_test

import (
	"testing"

	"github.com/chatd/chatd/protocol"
)

var sendFrames = []string{
	`{"type":"send_message","id":"c-17","payload":{"room":"general","text":"hello","client_msg_id":"c-17"}}`,
	`{"payload":{"text":"no room, no id"},"type":"send_message"}`,
	`{"type":"send_message","id":"","payload":{"room":"","text":"héllo ✓","client_msg_id":""}}`,
	`{"type":"send_message","id":"1","payload":{"room":"dm:u_1:u_2","text":"x"}}`,
	// Each of these is left to encoding/json.
	`{"type":"send_message","id":"1","payload":{"room":"general","text":"a \"quote\""}}`,
	`{"type":"send_message", "id":"1","payload":{"text":"space"}}`,
	`{"type":"send_message","Type":"join_room","payload":{"text":"case"}}`,
	`{"type":"send_message","payload":{"text":"twice","text":"again"}}`,
	`{"type":"send_message","payload":{"text":"reply","reply_to":3}}`,
	`{"type":"send_message","payload":{"text":"files","attachments":["f_1"]}}`,
	`{"type":"send_message","payload":"bare string"}`,
	`{"type":"send_message","payload":{"text":""}}`,
	`{"type":"send_message","payload":{"room":"No Such","text":"bad room"}}`,
	`{"type":"send_message","id":null,"payload":{"text":"null id"}}`,
	`{"type":"edit_message","payload":{"text":"other type"}}`,
	`{"type":"send_message","payload":{"text":"x"}} `,
	`{"type":"send_message","payload":{"text":"x"},}`,
	"{\"type\":\"send_message\",\"payload\":{\"text\":\"bad \xff\"}}",
	`{"type":"send_message","payload":{"text":"tab	"}}`,
}

// DecodeSendMessage agrees with Decode and DecodePayload on every frame it
// takes, and takes the plain ones.
func TestDecodeSendMessage(t *testing.T) {
	for i, f := range sendFrames {
		_, _, ok := protocol.DecodeSendMessage([]byte(f))
		if want := i < 4; ok != want {
			t.Errorf("frame %d %s: fast path %v, want %v", i, f, ok, want)
		}
		checkSendMessage(t, []byte(f))
	}
}

func FuzzDecodeSendMessage(f *testing.F) {
	for _, s := range sendFrames {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSendMessage(t, []byte(s)) })
}

func checkSendMessage(t *testing.T, data []byte) {
	id, p, ok := protocol.DecodeSendMessage(data)
	if !ok {
		return
	}
	env, err := protocol.Decode(data)
	if err != nil {
		t.Fatalf("%s: fast path took it, Decode: %v", data, err)
	}
	var want protocol.SendMessage
	if err := protocol.DecodePayload(env.Payload, &want); err != nil {
		t.Fatalf("%s: fast path took it, DecodePayload: %v", data, err)
	}
	if env.Type != protocol.TypeSendMessage || env.ID != id || want.Room != p.Room || want.Text != p.Text ||
		want.ClientMsgID != p.ClientMsgID || want.ReplyTo != p.ReplyTo || len(want.Attachments) > 0 {
		t.Fatalf("%s: fast path %q %+v, encoding/json %q %q %+v", data, id, p, env.Type, env.ID, want)
	}
}

func BenchmarkDecodeSendMessageFast(b *testing.B) {
	frame := []byte(`{"type":"send_message","id":"c-17","payload":{"room":"general","text":"a message of about sixty-four bytes, as the benchmark uses","client_msg_id":"c-17"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := protocol.DecodeSendMessage(frame); !ok {
			b.Fatal("not decoded")
		}
	}
}
