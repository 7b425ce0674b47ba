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
