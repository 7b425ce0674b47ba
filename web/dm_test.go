package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDirectMessages: a direct conversation opened from the sidebar
// reaches the other user as a new entry with an unread badge and a screen
// reader announcement; both see each other's messages and online dot, and
// opening it clears the badge.
func TestBrowserDirectMessages(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.run(
		chromedp.SendKeys(chromedp.CSS("#dm-user"), "@bob"),
		chromedp.Click(chromedp.CSS("#dm-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#dm-list [data-user="bob"]`)),
	)
	alice.waitJS("the conversation to open", `document.querySelector('#dm-list [data-user="bob"]').getAttribute('aria-current') === 'page'`, 5*time.Second)
	if got := eval[string](alice, `document.getElementById('room-kind').textContent + document.getElementById('room-name').textContent`); got != "@bob" {
		t.Errorf("alice's header names the conversation %q, want @bob", got)
	}
	alice.waitJS("bob's online dot", `!!document.querySelector('#dm-list [data-user="bob"] .dm-dot.on')`, 10*time.Second)
	alice.send("psst")
	alice.waitText("psst", 10*time.Second)

	entry := `#dm-list [data-user="alice"]`
	bob.waitJS("the conversation with an unread badge", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '1'`, entry), 10*time.Second)
	bob.waitJS("the announcement", `document.getElementById('live-region').textContent.includes('New direct message from alice: psst')`, 5*time.Second)
	bob.waitJS("the sidebar note", `/alice started a conversation/.test(document.getElementById('side-status').textContent)`, 5*time.Second)
	if n := count(bob.texts(), "psst"); n != 0 {
		t.Errorf("bob sees the direct message %d times in #general", n)
	}
	bob.run(chromedp.Click(chromedp.CSS(entry)))
	bob.waitText("psst", 10*time.Second)
	bob.waitJS("the badge to clear", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '0'`, entry), 10*time.Second)
	bob.send("got it")
	alice.waitText("got it", 10*time.Second)
	if !eval[bool](bob, fmt.Sprintf(`!!document.querySelector(%q + ' .dm-dot.on')`, entry)) {
		t.Error("bob's conversation does not show alice online")
	}
	alice.noProblems()
	bob.noProblems()
}
