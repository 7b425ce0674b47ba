package protocol_test

import (
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// BenchmarkEncodeNewMessage measures encoding one new_message frame, which
// the server does once per message for all its recipients.
func BenchmarkEncodeNewMessage(b *testing.B) {
	m := chat.Message{
		Room: "general", Seq: 42, ID: "m_0123456789abcdef",
		From:        chat.User{ID: "u_0123456789abcdef", Username: "alice"},
		Text:        "a message of about sixty-four bytes, as the fan-out benchmark uses",
		SentAt:      time.Date(2026, 12, 1, 15, 0, 0, 123e6, time.UTC),
		ClientMsgID: "c-17",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Encode(protocol.TypeNewMessage, "", m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSendMessage measures decoding and validating one
// send_message request.
func BenchmarkDecodeSendMessage(b *testing.B) {
	frame := []byte(`{"type":"send_message","id":"c-17","payload":{"room":"general","text":"a message of about sixty-four bytes, as the benchmark uses","client_msg_id":"c-17"}}`)
	b.ReportAllocs()
	for b.Loop() {
		env, err := protocol.Decode(frame)
		if err != nil {
			b.Fatal(err)
		}
		var p protocol.SendMessage
		if err := protocol.DecodePayload(env.Payload, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// AppendMessageAck writes what Encode writes for the ack of a send.
func TestAppendMessageAck(t *testing.T) {
	m := chat.Message{Room: "general", Seq: 42, ID: "m_1", From: chat.User{ID: "u_1", Username: "ann"},
		Text: "<hi>", SentAt: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)}
	for _, id := range []string{"", "c-17", `q"<&>\`, "\u2028"} {
		want, err := protocol.Encode(protocol.TypeAck, id, protocol.MessageAck{Message: m})
		if err != nil {
			t.Fatal(err)
		}
		if got := protocol.AppendMessageAck(nil, id, m.AppendJSON(nil)); string(got) != string(want) {
			t.Errorf("id %q:\n got %s\nwant %s", id, got, want)
		}
	}
}
