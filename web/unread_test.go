package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserUnreadLineAndDrafts: a room opened with unread messages shows
// a "new messages" line above the first of them and opens there, with a way
// down to the latest; a draft survives a reload of the page.
func TestBrowserUnreadLineAndDrafts(t *testing.T) {
	_, alice, bob := pair(t, "")
	bob.createPrivateRoom("elsewhere")
	bob.openRoom("elsewhere")

	alice.openRoom("general")
	for i := range 40 {
		alice.send(fmt.Sprintf("catch-up %02d", i))
	}
	alice.waitText("catch-up 39", 10*time.Second)
	bob.waitJS("general's unread badge", `(() => {
		const b = document.querySelector('[data-room="general"] .badge');
		return !!b && b.textContent.trim().startsWith('40');
	})()`, 10*time.Second)

	bob.openRoom("general")
	bob.waitJS("the new-messages line", `(() => {
		const line = document.querySelector('#messages li.new-line');
		const next = line && line.nextElementSibling;
		return !!next && next.querySelector('.text')?.textContent === 'catch-up 00';
	})()`, 10*time.Second)
	type view struct {
		LineVisible, AtBottom, JumpShown bool
		Jump                             string
	}
	v := eval[view](bob, `(() => {
		const sc = document.getElementById('scroller');
		const line = document.querySelector('#messages li.new-line').getBoundingClientRect();
		const box = sc.getBoundingClientRect();
		const jump = document.getElementById('jump-latest');
		return {
			LineVisible: line.top >= box.top && line.bottom <= box.bottom,
			AtBottom: sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80,
			JumpShown: !jump.hidden,
			Jump: jump.textContent,
		};
	})()`)
	if !v.LineVisible || v.AtBottom {
		t.Errorf("bob's general opened with the line visible=%v, at the bottom=%v; want the line in view, not the bottom", v.LineVisible, v.AtBottom)
	}
	if !v.JumpShown || v.Jump != "Jump to latest ↓" {
		t.Errorf("jump button shown=%v %q, want \"Jump to latest ↓\"", v.JumpShown, v.Jump)
	}
	bob.run(chromedp.Click(chromedp.CSS("#jump-latest")))
	bob.waitJS("the bottom", `(() => {
		const sc = document.getElementById('scroller');
		return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80 && document.getElementById('jump-latest').hidden;
	})()`, 5*time.Second)

	const draft = "half a thought, kept"
	bob.run(chromedp.SendKeys(chromedp.CSS("#composer"), draft))
	bob.run(chromedp.Reload())
	bob.waitOnline(15 * time.Second)
	bob.waitJS("the draft after a reload", fmt.Sprintf(`document.getElementById('composer').value === %q`, draft), 10*time.Second)
	bob.noProblems()
}

// TestBrowserMentionBadge: a room with an unread message that mentions the
// user shows it in its badge, for sighted users and screen readers, until
// the room is read.
func TestBrowserMentionBadge(t *testing.T) {
	_, alice, bob := pair(t, "")
	bob.createPrivateRoom("elsewhere")
	bob.openRoom("elsewhere")
	alice.openRoom("general")
	alice.send("plain news")
	bob.waitJS("an unread badge", `document.querySelector('[data-room="general"] .badge')?.textContent === '1 unread'`, 10*time.Second)
	if eval[bool](bob, `document.querySelector('[data-room="general"] .badge').classList.contains('mention')`) {
		t.Error("a message that does not mention bob marked the badge as a mention")
	}
	alice.send("@bob can you look?")
	bob.waitJS("the mention badge", `(() => {
		const b = document.querySelector('[data-room="general"] .badge');
		return !!b && b.classList.contains('mention') && b.textContent === '2 unread, mentioning you';
	})()`, 10*time.Second)
	bob.openRoom("general")
	bob.waitJS("the badge to clear", `document.querySelector('[data-room="general"] .badge')?.hidden === true`, 10*time.Second)
	bob.openRoom("elsewhere")
	if eval[bool](bob, `document.querySelector('[data-room="general"] .badge').classList.contains('mention')`) {
		t.Error("the mention badge stayed after general was read")
	}
	bob.noProblems()
}
