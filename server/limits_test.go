package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// The limits of PROTOCOL §7 on what a client may send: text length and
// the per-user message rate.

func TestTextLimits(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()

	send := func(text string) chatdtest.Frame {
		t.Helper()
		return c.Request(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: text})
	}
	refused := []struct {
		name, text, code string
	}{
		{"empty", "", "bad_request"},
		{"spaces", "   ", "bad_request"},
		{"white space", " \t\n\r\u00a0\u2003 ", "bad_request"},
		{"4001 ASCII", strings.Repeat("a", chat.MaxTextChars+1), "too_large"},
		{"4001 emoji", strings.Repeat("😀", chat.MaxTextChars+1), "too_large"},
	}
	for _, tt := range refused {
		if got := errorFrameCode(t, send(tt.text)); got != tt.code {
			t.Errorf("%s text: error %q, want %q", tt.name, got, tt.code)
		}
	}

	// 4000 code points are accepted even when they are 16000 bytes, and the
	// text is stored exactly as sent.
	accepted := []struct{ name, text string }{
		{"4000 ASCII", strings.Repeat("a", chat.MaxTextChars)},
		{"4000 emoji", strings.Repeat("😀", chat.MaxTextChars)},
		{"padded", "  hi  \n"},
	}
	for _, tt := range accepted {
		f := send(tt.text)
		if f.Type != protocol.TypeAck {
			t.Fatalf("%s text (%d code points): got %s %s, want an ack", tt.name, utf8.RuneCountInString(tt.text), f.Type, f.Payload)
		}
		var ack protocol.MessageAck
		f.Decode(t, &ack)
		if ack.Message.Text != tt.text {
			t.Errorf("%s text: ack text differs from what was sent (%d vs %d bytes)", tt.name, len(ack.Message.Text), len(tt.text))
		}
	}
	got := historyTexts(t, srv, alice.User.ID, "general")
	if len(got) != len(accepted) {
		t.Fatalf("stored %d messages, want %d (refused texts must not be stored)", len(got), len(accepted))
	}
	for i, tt := range accepted {
		if got[i] != tt.text {
			t.Errorf("stored message %d (%s) differs from what was sent", i+1, tt.name)
		}
	}
}

func TestRateLimit(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 10}}) // burst 20
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	w := c.Welcome()
	if got, want := w.Limits.MessagesPerSecond, 10.0; got != want {
		t.Errorf("welcome limits.messages_per_second = %v, want %v", got, want)
	}

	// Sends written back to back: the burst of 20 passes and the rest is
	// refused, except for the tokens earned meanwhile (one per 100 ms).
	const n = 30
	start := time.Now()
	for i := 1; i <= n; i++ {
		b, err := json.Marshal(protocol.Envelope{
			Type: protocol.TypeSendMessage, ID: fmt.Sprintf("s%d", i),
			Payload: json.RawMessage(fmt.Sprintf(`{"room":"general","text":"msg %d"}`, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendRaw(b); err != nil {
			t.Fatal(err)
		}
	}
	replies := map[string]chatdtest.Frame{}
	var at21 time.Duration // when the reply to the 21st arrived
	for len(replies) < n {
		f := c.Next()
		if f.Type != protocol.TypeAck && f.Type != protocol.TypeError {
			continue
		}
		replies[f.ID] = f
		if f.ID == "s21" {
			at21 = time.Since(start)
		}
	}
	elapsed := time.Since(start)

	var stored, refused []string
	for i := 1; i <= n; i++ {
		f, ok := replies[fmt.Sprintf("s%d", i)]
		if !ok {
			t.Fatalf("no reply to send %d", i)
		}
		text := fmt.Sprintf("msg %d", i)
		if f.Type == protocol.TypeAck {
			stored = append(stored, text)
			continue
		}
		if code := errorFrameCode(t, f); code != "rate_limited" {
			t.Errorf("send %d: error %q, want rate_limited", i, code)
		}
		if i <= 20 {
			t.Errorf("send %d refused, want the burst of 20 to pass", i)
		}
		refused = append(refused, text)
	}
	if at21 < 100*time.Millisecond {
		if replies["s21"].Type != protocol.TypeError {
			t.Errorf("21st send within %v was accepted, want rate_limited", at21)
		}
	} else {
		t.Logf("the first 21 sends took %v: a token may have been earned meanwhile", at21)
	}
	if max := 20 + int(10*elapsed.Seconds()) + 1; len(stored) > max {
		t.Errorf("%d of %d sends accepted within %v, want at most %d", len(stored), n, elapsed, max)
	}
	if len(refused) == 0 {
		t.Fatalf("none of %d sends within %v was rate_limited", n, elapsed)
	}

	// Refused messages are not stored; accepted ones are.
	got := historyTexts(t, srv, alice.User.ID, "general")
	if strings.Join(got, "|") != strings.Join(stored, "|") {
		t.Errorf("stored texts = %q, want exactly the acked ones %q", got, stored)
	}
	if v, _ := scrapeMetric(t, srv, "chatd_rate_limited_total"); int(v) != len(refused) {
		t.Errorf("chatd_rate_limited_total = %v, want %d", v, len(refused))
	}

	// The connection stays open, and sends pass again once tokens return.
	time.Sleep(250 * time.Millisecond)
	c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "later"}, nil)
}
