package web_test

import (
	"os"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chromedp/chromedp"
)

// TestBrowserScreenshot draws the README's screenshot: a team room with
// formatted messages (bold, code, a link), reactions, and a thread open
// in the side panel. It runs only when CHATD_SCREENSHOT names the file to
// write:
//
//	CHATD_SCREENSHOT=$PWD/docs/screenshot.png go test -run TestBrowserScreenshot ./web/
func TestBrowserScreenshot(t *testing.T) {
	path := os.Getenv("CHATD_SCREENSHOT")
	if path == "" {
		t.Skip("CHATD_SCREENSHOT is not set: no screenshot to write")
	}
	b := newBrowser(t)
	srv := startServer(t, "", "")
	alice := b.open("alice", srv.URL)
	alice.run(chromedp.EmulateViewport(1280, 720))
	alice.signUp("alice")
	alice.joinRoom("team")

	// bob and carol speak over the protocol, as bots or other apps would.
	join := func(name string) *chatdtest.Client {
		c := srv.Dial(t, srv.Register(t, name).Token)
		c.Welcome()
		c.Ack("join_room", protocol.RoomRef{Room: "team"}, nil)
		return c
	}
	bob, carol := join("bob"), join("carol")
	say := func(c *chatdtest.Client, text string, replyTo int64) int64 {
		var ack protocol.MessageAck
		c.Ack("send_message", protocol.SendMessage{Room: "team", Text: text, ReplyTo: replyTo}, &ack)
		return ack.Message.Seq
	}
	reactTo := func(c *chatdtest.Client, seq int64, emoji string) {
		c.Ack("react", protocol.React{Room: "team", Seq: seq, Emoji: emoji, Add: true}, nil)
	}

	release := say(bob, "Release **v1.4** is tagged 🎉 Notes: https://github.com/chatd/chatd/releases/tag/v1.4", 0)
	alice.waitText("Release v1.4 is tagged 🎉 Notes: https://github.com/chatd/chatd/releases/tag/v1.4", 10*time.Second)
	alice.send("Nice! Did `go test -race ./...` pass on *PostgreSQL* too?")
	alice.waitText("Nice! Did go test -race ./... pass on PostgreSQL too?", 10*time.Second)
	green := say(carol, "Yes: both stores are green, and the cluster tests ran across two nodes.", 0)
	reactTo(carol, release, "🎉")
	reactTo(bob, green, "✅")
	reactTo(carol, green, "✅")
	reactTo(bob, green, "🙏")
	alice.waitJS("the reactions", msgWith("Yes: both stores are green, and the cluster tests ran across two nodes.")+`?.querySelectorAll('.reaction').length === 2`, 10*time.Second)
	alice.clickJS("alice's 🎉", msgWith("Release v1.4 is tagged 🎉 Notes: https://github.com/chatd/chatd/releases/tag/v1.4")+`?.querySelector('.reaction')`)

	say(carol, "I'll update the **changelog** and the upgrade notes.", release)
	say(bob, "Thanks! Docker image is building, ~10 min.", release)
	alice.waitJS("the thread summary", msgWith("Release v1.4 is tagged 🎉 Notes: https://github.com/chatd/chatd/releases/tag/v1.4")+`?.querySelector('.thread-count')?.textContent === '2 replies'`, 10*time.Second)
	alice.clickJS("the thread", msgWith("Release v1.4 is tagged 🎉 Notes: https://github.com/chatd/chatd/releases/tag/v1.4")+`?.querySelector('.thread-summary')`)
	alice.waitJS("the replies in the panel", `document.querySelectorAll('#thread-replies li.msg').length === 2`, 10*time.Second)
	alice.run(chromedp.SendKeys(chromedp.CSS("#thread-composer"), "🚀 I'll post it in #general when it's out"))

	// No hover or focus ring on a message: the mouse rests on the panel's header.
	alice.run(chromedp.MouseClickXY(1100, 30))
	alice.waitJS("the reaction to settle", `document.querySelector('.reaction.me') !== null`, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // transitions
	png, err := chromedp.Run(alice.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	alice.noProblems()
}
