package server

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// The message event written by hand is what json.Marshal gives for the
// busEvent, and decodeMessageEvent reads it as json.Unmarshal does; what it
// does not read (other forms, escaped room names) is left to json.Unmarshal.
func TestMessageEventByHand(t *testing.T) {
	at := time.Date(2026, 12, 1, 23, 0, 0, 5e6, time.UTC)
	for _, m := range []chat.Message{
		{Room: "general", Seq: 1, ID: "m_1", From: chat.User{ID: "u_1", Username: "ann"}, Text: `hi "there" <b>`, SentAt: at},
		{Room: "dm:u_1:u_2", Seq: 1 << 40, Text: "x}", SentAt: at, Mentions: []string{"u_2"}},
		{Room: `we"ird<room>`, Seq: 3, Text: "", SentAt: at},
	} {
		msg := m.AppendJSON(nil)
		got := appendMessageEvent(nil, m.Room, m.Seq, msg)
		want, err := json.Marshal(busEvent{Kind: evMessage, Room: m.Room, Seq: m.Seq, Frame: frame(protocol.TypeNewMessage, "", m)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("appendMessageEvent:\n got %s\nwant %s", got, want)
		}
		var viaJSON busEvent
		if err := json.Unmarshal(want, &viaJSON); err != nil {
			t.Fatal(err)
		}
		ev, ok := decodeMessageEvent(got)
		if wantOK := !bytes.ContainsAny([]byte(m.Room), `"<>\`); ok != wantOK {
			t.Errorf("room %q: decoded by hand %v, want %v", m.Room, ok, wantOK)
		}
		if ok && !reflect.DeepEqual(ev, viaJSON) {
			t.Errorf("decodeMessageEvent:\n got %+v\nwant %+v", ev, viaJSON)
		}
	}
	for _, bad := range []string{
		``, `{}`, `{"k":"msg","r":"a","s":1}`, `{"k":"msg","r":"a","s":x,"f":{}}`, `{"k":"msg","r":"a","s":1,"f":{}`,
		`{"k":"upd","r":"a","s":1,"f":{"a":{}}}`, `{"k":"msg","r":"a\"b","s":1,"f":{"a":{}}}`, `{"k":"msg","n":"x","r":"a","s":1,"f":{"a":{}}}`,
	} {
		if ev, ok := decodeMessageEvent([]byte(bad)); ok {
			t.Errorf("decodeMessageEvent(%s) = %+v, want not ok", bad, ev)
		}
	}
}

// BenchmarkMessageAckAndEvent is the commit path's encoding work for one
// acked send: the message's JSON, its ack and its bus event, and the
// event's decoding on the receiving node.
func BenchmarkMessageAckAndEvent(b *testing.B) {
	m := chat.Message{Room: "room-17", Seq: 123456, ID: chat.NewMessageID(time.Now()),
		From: chat.User{ID: "u_0123456789", Username: "bench-user-3"}, ClientMsgID: "c-42-17",
		Text: "a message of sixty-four bytes, more or less, like chatbench's one", SentAt: time.Now()}
	b.Run("by hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg := m.AppendJSON(make([]byte, 0, 256+len(m.Text)))
			protocol.AppendMessageAck(make([]byte, 0, len(msg)+64), "c-42-17", msg)
			ev, _ := decodeMessageEvent(appendMessageEvent(make([]byte, 0, len(msg)+64), m.Room, m.Seq, msg))
			_ = ev
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			frame(protocol.TypeAck, "c-42-17", protocol.MessageAck{Message: m})
			data, _ := json.Marshal(busEvent{Kind: evMessage, Room: m.Room, Seq: m.Seq, Frame: frame(protocol.TypeNewMessage, "", m)})
			var ev busEvent
			json.Unmarshal(data, &ev)
		}
	})
}
