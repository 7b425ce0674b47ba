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

// BenchmarkWelcome: a welcome of five rooms, through encoding/json (as
// Encode did it) and by hand (AppendJSON).
func BenchmarkWelcome(b *testing.B) {
	at := time.Date(2026, 11, 25, 16, 40, 0, 120_000_000, time.UTC)
	w := protocol.Welcome{User: chat.User{ID: "u_0123456789abcdef", Username: "alice"}, CurrentRoom: "general", Server: "chatd/dev",
		Heartbeat: protocol.Heartbeat{PingIntervalMS: 9000, PongWaitMS: 10000},
		Limits:    protocol.Limits{MaxFrameBytes: 16 << 10, MaxTextChars: 4000, MessagesPerSecond: 10, MaxUploadBytes: 10 << 20}}
	for _, name := range []string{"general", "a", "b", "c", "d"} {
		w.Rooms = append(w.Rooms, chat.Room{Name: name, LastSeq: 100, Joined: true, Unread: 3, MembersOnline: 12,
			Topic: "the topic", MemberCount: 40, LastActivity: &at, Role: chat.RoleMember})
	}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := protocol.Encode(protocol.TypeWelcome, "", w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := w.AppendJSON(make([]byte, 0, 256+256*len(w.Rooms)))
			if err != nil {
				b.Fatal(err)
			}
			protocol.AppendFrame(make([]byte, 0, len(p)+32), protocol.TypeWelcome, "", p)
		}
	})
}
