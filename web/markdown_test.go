package web_test

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserFormatting: a message's Markdown shows as formatting in the
// other user's browser, links open safely in a new tab, a javascript: link
// and raw HTML stay text, a mention of the reader is highlighted, and
// emoji alone show larger.
func TestBrowserFormatting(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.send("**bold** and `x < y` see https://example.com/a_(b). or [evil](javascript:alert(1)) <b>raw</b> hi @bob")
	bob.waitJS("the formatted message", `document.querySelector('#messages li.msg .text strong')?.textContent === 'bold'`, 10*time.Second)

	type shown struct {
		Code, Mention, Text string
		Links               [][]string
		Scripted, RawB      int
	}
	const look = `(() => {
		const el = [...document.querySelectorAll('#messages li.msg .text')].find(e => e.querySelector('strong'));
		return {
			Code: el.querySelector('code')?.textContent ?? '',
			Mention: el.querySelector('.mention')?.className ?? '',
			Text: el.textContent,
			Links: [...el.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.rel, a.target, a.textContent]),
			Scripted: document.querySelectorAll('#messages a[href^="javascript"]').length,
			RawB: document.querySelectorAll('#messages b').length,
		};
	})()`
	got := eval[shown](bob, look)
	if got.Code != "x < y" {
		t.Errorf("code = %q, want %q", got.Code, "x < y")
	}
	want := []string{"https://example.com/a_(b)", "noopener noreferrer", "_blank", "https://example.com/a_(b)"}
	if len(got.Links) != 1 || len(got.Links[0]) != 4 || got.Links[0][0] != want[0] || got.Links[0][1] != want[1] ||
		got.Links[0][2] != want[2] || got.Links[0][3] != want[3] {
		t.Errorf("links = %q, want one: %q", got.Links, want)
	}
	if got.Scripted != 0 || got.RawB != 0 {
		t.Errorf("%d javascript: links and %d <b> elements in the list, want none", got.Scripted, got.RawB)
	}
	const literal = "[evil](javascript:alert(1)) <b>raw</b>"
	if !strings.Contains(got.Text, literal) {
		t.Errorf("text %q does not show %q as it was typed", got.Text, literal)
	}
	if got.Mention != "mention me" {
		t.Errorf("bob's view of @bob has class %q, want \"mention me\"", got.Mention)
	}
	if m := eval[shown](alice, look).Mention; m != "mention" {
		t.Errorf("alice's view of @bob has class %q, want \"mention\"", m)
	}

	alice.send("🎉")
	bob.waitJS("the emoji-only message", `[...document.querySelectorAll('#messages li.msg .text.emoji-only')].some(e => e.textContent === '🎉')`, 10*time.Second)
	for _, p := range []*tab{alice, bob} {
		p.noProblems()
	}
}
