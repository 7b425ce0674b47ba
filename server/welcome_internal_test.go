package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// testWelcome is a welcome with n rooms, long enough past a few rooms for
// each of a frame's three header lengths.
func testWelcome(n int) protocol.Welcome {
	w := protocol.Welcome{
		User:        chat.User{ID: "u1", Username: "alice \"al\" <a>"},
		CurrentRoom: chat.General,
		Server:      "chatd/test",
		Heartbeat:   protocol.Heartbeat{PingIntervalMS: 25000, PongWaitMS: 30000},
		Limits:      protocol.Limits{MaxFrameBytes: 65536, MaxTextChars: chat.MaxTextChars, MessagesPerSecond: 2.5, MaxUploadBytes: 10 << 20},
	}
	if n >= 0 {
		w.Rooms = []chat.Room{}
	}
	for i := range n {
		w.Rooms = append(w.Rooms, chat.Room{Name: fmt.Sprintf("room-%d", i), LastSeq: int64(i) * 1000, Joined: true,
			Topic: strings.Repeat("t", i%7), Unread: int64(i % 3), MembersOnline: i})
	}
	return w
}

// TestWelcomeFrameInPlace: the welcome encoded in place after the
// handshake's answer is the bytes start gave from frame's encoding: the
// answer, then one text frame of the welcome envelope, for a payload under
// 126 bytes, one under 64 KiB and one over.
func TestWelcomeFrameInPlace(t *testing.T) {
	head := []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n")
	for _, n := range []int{-1, 0, 1, 5, 300, 1000} {
		w := testWelcome(n)
		p, err := w.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		want := appendFrame(append([]byte(nil), head...), opText, frame(protocol.TypeWelcome, "", encoded(p)))
		if got := welcomeFrame(head, &w); !bytes.Equal(got, want) {
			t.Fatalf("%d rooms: welcomeFrame gives %d bytes, want %d", n, len(got), len(want))
		}
		for _, extra := range []int{0, 1, 100000} { // room to spare, or none
			f := append(make([]byte, 0, len(head)+extra), head...)
			got := appendTextFrameOf(f, func(b []byte) []byte { return appendWelcome(b, &w) })
			if !bytes.Equal(got, want) {
				t.Fatalf("%d rooms, cap +%d: got %d bytes\n%q\nwant %d bytes\n%q", n, extra, len(got), got[:min(len(got), 200)], len(want), want[:min(len(want), 200)])
			}
		}
	}
}

// BenchmarkWelcomeFrame: the welcome's frame after the handshake's
// answer, for a user in five rooms: encoded in place as hub.serve builds
// it, and, to compare, as it was built before (the payload, the envelope
// and the answer with the frame, each in a buffer of its own).
func BenchmarkWelcomeFrame(b *testing.B) {
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	w := testWelcome(5)
	b.Run("in-place", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f := welcomeFrame(head, &w); len(f) == 0 {
				b.Fatal("empty")
			}
		}
	})
	b.Run("three-buffers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := w.AppendJSON(make([]byte, 0, 256+256*len(w.Rooms)))
			if err != nil {
				b.Fatal(err)
			}
			payload := frame(protocol.TypeWelcome, "", encoded(p))
			f := appendFrame(append(make([]byte, 0, len(head)+len(payload)+maxFrameHeader), head...), opText, payload)
			if len(f) == 0 {
				b.Fatal("empty")
			}
		}
	})
}
