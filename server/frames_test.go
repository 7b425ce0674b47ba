package server_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/gorilla/websocket"
)

// Frame limits and bad input (PROTOCOL §7): oversized, invalid UTF-8,
// malformed and random frames, and the 1008 limit on bad frames.

func TestFrameOverLimitCloses1009(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")

	// A frame of exactly the limit is read (and its 16 KB text refused as
	// too_large); one byte more closes the connection.
	frameOf := func(size int) []byte {
		head, tail := `{"type":"send_message","id":"big","payload":"`, `"}`
		return []byte(head + strings.Repeat("a", size-len(head)-len(tail)) + tail)
	}
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	if err := c.SendRaw(frameOf(server.DefaultMaxFrameBytes)); err != nil {
		t.Fatal(err)
	}
	f := c.Expect(protocol.TypeError, func(f chatdtest.Frame) bool { return f.ID == "big" })
	if got, want := errorFrameCode(t, f), "too_large"; got != want {
		t.Errorf("frame of exactly %d bytes: error %q, want %q", server.DefaultMaxFrameBytes, got, want)
	}

	if err := c.SendRaw(frameOf(server.DefaultMaxFrameBytes + 1)); err != nil {
		t.Fatal(err)
	}
	if code, text := c.WaitClosed(5 * time.Second); code != websocket.CloseMessageTooBig {
		t.Errorf("frame of %d bytes: close code %d %q, want %d", server.DefaultMaxFrameBytes+1, code, text, websocket.CloseMessageTooBig)
	}
}

func TestInvalidUTF8Closes1007(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	if err := c.WS.WriteMessage(websocket.TextMessage, []byte{0xff, 0xfe}); err != nil {
		t.Fatal(err)
	}
	if code, text := c.WaitClosed(5 * time.Second); code != websocket.CloseInvalidFramePayloadData {
		t.Errorf("close code %d %q, want %d", code, text, websocket.CloseInvalidFramePayloadData)
	}
}

func TestBadFramesAnsweredConnectionStaysOpen(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()

	tests := []struct {
		name  string
		frame string
		id    string // the id the error must carry
		code  string
	}{
		{"not JSON", `hello there`, "", "bad_request"},
		{"JSON array", `[1,2,3]`, "", "bad_request"},
		{"truncated JSON", `{"type":"send_message","id":"t1"`, "", "bad_request"},
		{"unknown type", `{"type":"frobnicate","id":"u1","payload":{}}`, "u1", "unknown_type"},
		{"type not a string", `{"type":42,"id":"w1"}`, "w1", "bad_request"},
		{"no type", `{"id":"w2","payload":{}}`, "w2", "bad_request"},
		{"id not a string", `{"type":"list_rooms","id":7}`, "", "bad_request"},
		{"room not a string", `{"type":"send_message","id":"w3","payload":{"room":7,"text":"hi"}}`, "w3", "bad_request"},
		{"limit not a number", `{"type":"history","id":"w4","payload":{"room":"general","limit":"ten"}}`, "w4", "bad_request"},
		{"payload not an object", `{"type":"join_room","id":"w5","payload":["general"]}`, "w5", "bad_request"},
		{"seq not a number", `{"type":"mark_read","id":"w6","payload":{"room":"general","seq":"1"}}`, "w6", "bad_request"},
	}
	for _, tt := range tests {
		if err := c.SendRaw([]byte(tt.frame)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		f := c.Expect(protocol.TypeError, func(f chatdtest.Frame) bool { return f.ID == tt.id })
		if got := errorFrameCode(t, f); got != tt.code {
			t.Errorf("%s: %s: error %q, want %q", tt.name, tt.frame, got, tt.code)
		}
	}

	// A binary frame is refused the same way.
	if err := c.WS.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"list_rooms","id":"bin"}`)); err != nil {
		t.Fatal(err)
	}
	f := c.Expect(protocol.TypeError, nil)
	if got, want := errorFrameCode(t, f), "bad_request"; got != want {
		t.Errorf("binary frame: error %q, want %q", got, want)
	}
	if f.ID == "bin" {
		t.Errorf("binary frame answered as a request (id %q)", f.ID)
	}

	// The connection still works.
	var ack protocol.MessageAck
	c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "still here"}, &ack)
	if ack.Message.Text != "still here" || ack.Message.Seq != 1 {
		t.Errorf("send after bad frames: got %+v, want text %q seq 1", ack.Message, "still here")
	}
	c.ExpectNone(protocol.TypeAck, func(f chatdtest.Frame) bool { return f.ID == "bin" }, 50*time.Millisecond)
}

func TestRepeatedBadFramesClose1008(t *testing.T) {
	badFrame := []byte(`not json`)
	sendBad := func(t *testing.T, c *chatdtest.Client, n int) {
		t.Helper()
		for range n {
			if err := c.SendRaw(badFrame); err != nil {
				t.Fatal(err)
			}
			if code := errorFrameCode(t, c.Expect(protocol.TypeError, nil)); code != "bad_request" {
				t.Fatalf("bad frame: error %q, want bad_request", code)
			}
		}
	}

	t.Run("20 in a row", func(t *testing.T) {
		srv := chatdtest.Start(t, chatdtest.Options{})
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		sendBad(t, c, server.DefaultBadFrameLimit-1)
		c.Ack(protocol.TypeListRooms, struct{}{}, nil) // 19: still open
		sendBad(t, c, 1)
		if code, text := c.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
			t.Errorf("after %d bad frames: close code %d %q, want %d", server.DefaultBadFrameLimit, code, text, websocket.ClosePolicyViolation)
		}
	})

	t.Run("rate_limited refusals do not count", func(t *testing.T) {
		srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 1}}) // burst 2
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		sendBad(t, c, server.DefaultBadFrameLimit-1)
		limited := 0
		for range 10 {
			f := c.Request(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "hi"})
			if f.Type == protocol.TypeError {
				if code := errorFrameCode(t, f); code != "rate_limited" {
					t.Fatalf("send: error %q, want rate_limited or an ack", code)
				}
				limited++
			}
		}
		if limited < 5 {
			t.Fatalf("%d of 10 quick sends were rate_limited, want at least 5", limited)
		}
		c.Ack(protocol.TypeListRooms, struct{}{}, nil) // still open
		sendBad(t, c, 1)                               // the 20th bad frame
		if code, text := c.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d %q, want %d", code, text, websocket.ClosePolicyViolation)
		}
	})

	t.Run("spread beyond the window", func(t *testing.T) {
		const window = 300 * time.Millisecond
		srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{BadFrameWindow: window}})
		c := srv.Dial(t, srv.Register(t, "alice").Token)
		c.Welcome()
		sendBad(t, c, 15)
		time.Sleep(window + 100*time.Millisecond)
		sendBad(t, c, 15) // 30 bad frames, never 20 within the window
		c.Ack(protocol.TypeListRooms, struct{}{}, nil)
		time.Sleep(window + 100*time.Millisecond)
		sendBad(t, c, server.DefaultBadFrameLimit)
		if code, text := c.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d %q, want %d", code, text, websocket.ClosePolicyViolation)
		}
	})
}

// TestRandomFramesNeverBreakTheServer throws a few thousand mutated frames
// (valid envelopes with corrupted bytes, wrong types, huge numbers, deep
// nesting) at one connection. Every frame with an id gets exactly one
// reply, the server stays up, and the connection still works afterwards.
func TestRandomFramesNeverBreakTheServer(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0, BadFrameLimit: 1 << 30}})
	c := srv.Dial(t, srv.Register(t, "fuzzer").Token)
	c.Welcome()
	seeds := []string{
		`{"type":"send_message","id":"X","payload":{"room":"general","text":"hi"}}`,
		`{"type":"history","id":"X","payload":{"room":"general","before_seq":9223372036854775807,"limit":100}}`,
		`{"type":"join_room","id":"X","payload":{"room":"r-1"}}`,
		`{"type":"edit_message","id":"X","payload":{"room":"general","seq":1,"text":"e"}}`,
		`{"type":"mark_read","id":"X","payload":{"room":"general","seq":-5}}`,
		`{"type":"who","id":"X","payload":{"room":"general","limit":1e308}}`,
		`{"type":"open_dm","id":"X","payload":{"user":"fuzzer"}}`,
		`{"type":"invite","id":"X","payload":{"room":"general","user":"nobody"}}`,
		`{"type":"delete_message","id":"X","payload":{"room":"general","seq":1}}`,
		`{"type":"typing","id":"X","payload":{"room":"dm:a:b"}}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	intact := map[string]bool{} // ids of frames sent unmutated
	for i := range n {
		// Mutations may turn one id into another, so only the ids of
		// frames sent intact, in a namespace of their own, are counted.
		mutations := rng.IntN(4)
		id := fmt.Sprintf("m%d", i)
		if mutations == 0 {
			id = fmt.Sprintf("ok-%d", i)
			intact[id] = true
		}
		b := []byte(strings.Replace(seeds[rng.IntN(len(seeds))], `"X"`, `"`+id+`"`, 1))
		for range mutations {
			switch pos := rng.IntN(len(b)); rng.IntN(3) {
			case 0:
				b[pos] = byte(rng.IntN(94) + 32) // printable, keeps UTF-8 valid
			case 1:
				b = append(b[:pos:pos], b[pos+1:]...)
			case 2:
				b = append(b[:pos:pos], append([]byte(`[[[[{"a":`), b[pos:]...)...)
			}
		}
		if err := c.SendRaw(b); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// A plain request still works, and every intact request was answered
	// exactly once. Replies come in request order, so this one comes after
	// the server has worked through all 2000, which under -race on a busy
	// machine can take longer than a usual reply.
	if err := c.SendRaw([]byte(`{"type":"send_message","id":"final","payload":{"room":"general","text":"still here"}}`)); err != nil {
		t.Fatal(err)
	}
	var ack protocol.MessageAck
	c.ExpectWithin(protocol.TypeAck, func(f chatdtest.Frame) bool { return f.ID == "final" }, time.Minute).Decode(t, &ack)
	if ack.Message.Text != "still here" {
		t.Fatalf("after the storm: %+v", ack.Message)
	}
	// Replies travel in request order, so all are in by now.
	replies := map[string]int{}
	byID := map[string][]string{}
	for _, f := range c.Drain() {
		if f.ID != "" {
			byID[f.ID] = append(byID[f.ID], f.Type+" "+string(f.Payload))
			if f.Type != "ack" && f.Type != "error" {
				t.Errorf("frame with id %q has type %q", f.ID, f.Type)
			}
			replies[f.ID]++
		}
	}
	for id := range intact {
		if replies[id] != 1 {
			t.Errorf("intact request %s got %d replies, want 1: %v", id, replies[id], byID[id])
		}
	}
	if len(intact) == 0 {
		t.Fatal("no frame was sent intact")
	}
	status, _ := srv.Do(t, "GET", "/healthz", "", nil)
	if status != 200 {
		t.Fatalf("/healthz = %d after the storm", status)
	}
}

// TestRefusedRequestsAreNotBadFrames: well-formed requests that the server
// refuses (inviting to a public room, a too-long text) are answered but do
// not count towards the 1008 bad-frame limit.
func TestRefusedRequestsAreNotBadFrames(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	online := func(name string) *chatdtest.Client {
		c := srv.Dial(t, srv.Register(t, name).Token)
		c.Welcome()
		return c
	}
	alice := online("alice")
	online("bob")
	for range 25 {
		if code := alice.ErrorCode("invite", protocol.Invite{Room: "general", User: "bob"}); code != "bad_request" {
			t.Fatalf("invite to a public room: %s, want bad_request", code)
		}
	}
	alice.Ack("list_rooms", struct{}{}, nil) // still open after 25 refusals
	for range 20 {
		alice.SendRaw([]byte(`{"type":"typing","payload":{"room":5}}`))
	}
	if code, _ := alice.WaitClosed(5 * time.Second); code != websocket.ClosePolicyViolation {
		t.Fatalf("after 20 malformed frames: close %d, want 1008", code)
	}
}
