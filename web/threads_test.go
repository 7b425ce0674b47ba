package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/protocol"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// msgWith is a JS expression for the room's list item of the message with
// this text.
func msgWith(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages li.msg')].find(li => li.querySelector('.text')?.textContent.trim() === %q)`, text)
}

// clickJS clicks the element expr names, as a pointer would (the message
// actions are drawn only while hovered).
func (p *tab) clickJS(what, expr string) {
	p.t.Helper()
	p.waitJS(what, "!!("+expr+")", 10*time.Second)
	eval[bool](p, "("+expr+").click(), true")
}

// threadReply is a JS expression: is a reply with this text in the thread
// panel?
func threadReply(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#thread-replies li.msg .text')].some(e => e.textContent.trim() === %q)`, text)
}

// reactionOn is a JS expression for the reaction with this emoji on the
// message with this text.
func reactionOn(text, emoji string) string {
	return msgWith(text) + fmt.Sprintf(`?.querySelector('.reaction[data-emoji=%q]')`, emoji)
}

// replyInThread opens the thread of the message with this text and sends
// reply from the panel's composer.
func (p *tab) replyInThread(text, reply string) {
	p.t.Helper()
	p.clickJS(p.name+"'s reply button", msgWith(text)+`?.querySelector('.msg-reply')`)
	p.waitJS(p.name+"'s thread panel", `!document.getElementById('thread-panel').hidden`, 10*time.Second)
	p.waitJS("focus in the thread composer", `document.activeElement?.id === 'thread-composer'`, 5*time.Second)
	p.run(chromedp.SendKeys(chromedp.CSS("#thread-composer"), reply+kb.Enter))
}

// pickReaction reacts to the message with this text with the picker's emoji.
func (p *tab) pickReaction(text, emoji string) {
	p.t.Helper()
	p.clickJS(p.name+"'s React button", msgWith(text)+`?.querySelector('.msg-react')`)
	p.waitJS("the picker", `!document.getElementById('emoji-picker').hidden`, 5*time.Second)
	p.run(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#emoji-picker [data-emoji=%q]`, emoji))))
}

// TestBrowserReplyThread: bob answers alice's message in the thread panel;
// alice, with the thread open, sees the reply there live, the count on the
// message, and the reply in the room marked as one; her own reply reaches
// bob's panel; Escape closes the panel and gives focus back.
func TestBrowserReplyThread(t *testing.T) {
	srv, alice, bob := pair(t, "")
	alice.send("lunch at noon?")
	bob.waitText("lunch at noon?", 10*time.Second)

	alice.clickJS("alice's reply button", msgWith("lunch at noon?")+`?.querySelector('.msg-reply')`)
	alice.waitJS("alice's thread panel", `!document.getElementById('thread-panel').hidden && document.getElementById('thread-count').textContent === 'No replies yet'`, 10*time.Second)
	if got := eval[string](alice, `document.querySelector('#thread-root li.msg .text')?.textContent`); got != "lunch at noon?" {
		t.Errorf("alice's panel shows %q as the thread's first message", got)
	}

	bob.replyInThread("lunch at noon?", "yes, **noon** works")
	alice.waitJS("the reply in alice's panel", threadReply("yes, noon works"), 10*time.Second)
	alice.waitJS("the count in alice's room", msgWith("lunch at noon?")+`?.querySelector('.thread-summary .thread-count')?.textContent === '1 reply'`, 10*time.Second)
	alice.waitJS("the panel's count", `document.getElementById('thread-count').textContent === '1 reply'`, 5*time.Second)
	// In the room's stream the reply is there too, marked as a reply.
	link := eval[string](alice, msgWith("yes, noon works")+`?.querySelector('.reply-link')?.textContent ?? ''`)
	if link != "↳ Replied to alice: lunch at noon?" {
		t.Errorf("the reply in alice's room says %q above its text", link)
	}
	if got := eval[string](alice, msgWith("lunch at noon?")+`.querySelector('.thread-summary').childNodes`+
		`.values().filter(n => n.nodeType === 3 || n.getAttribute('aria-hidden') !== 'true').map(n => n.textContent).toArray().join('')`); got != "1 reply View thread, latest from bob" {
		t.Errorf("the summary reads %q to a screen reader", got)
	}

	alice.run(chromedp.SendKeys(chromedp.CSS("#thread-composer"), "great"+kb.Enter))
	bob.waitJS("alice's reply in bob's panel", threadReply("great"), 10*time.Second)
	bob.waitJS("bob's count", msgWith("lunch at noon?")+`?.querySelector('.thread-count')?.textContent === '2 replies'`, 10*time.Second)

	// Escape closes the panel; focus goes back to the room.
	alice.run(chromedp.KeyEvent(kb.Escape))
	alice.waitJS("the panel to close", `document.getElementById('thread-panel').hidden`, 5*time.Second)
	alice.waitJS("focus back in the room", `document.getElementById('main').contains(document.activeElement)`, 5*time.Second)

	// After a reload the thread is opened from the count, loaded by history.
	alice.run(chromedp.Reload())
	alice.waitOnline(15 * time.Second)
	alice.waitText("lunch at noon?", 10*time.Second)
	alice.clickJS("the thread summary", msgWith("lunch at noon?")+`?.querySelector('.thread-summary')`)
	alice.waitJS("both replies in the panel after a reload", threadReply("yes, noon works")+" && "+threadReply("great"), 10*time.Second)

	// A long thread loads its newest 50 replies, and the older ones on demand.
	carol := srv.Dial(t, srv.Register(t, "carol").Token)
	carol.Welcome()
	var root protocol.MessageAck
	carol.Ack("send_message", protocol.SendMessage{Room: "general", Text: "a long thread"}, &root)
	for i := range 55 {
		carol.Ack("send_message", protocol.SendMessage{Room: "general", Text: fmt.Sprintf("reply %02d", i), ReplyTo: root.Message.Seq}, nil)
	}
	alice.waitJS("the long thread's count", msgWith("a long thread")+`?.querySelector('.thread-count')?.textContent === '55 replies'`, 30*time.Second)
	alice.clickJS("the long thread", msgWith("a long thread")+`?.querySelector('.thread-summary')`)
	alice.waitJS("the newest 50 replies", `document.querySelectorAll('#thread-replies li.msg').length === 50 && !document.getElementById('thread-older').hidden`, 10*time.Second)
	if first := eval[string](alice, `document.querySelector('#thread-replies li.msg .text').textContent`); first != "reply 05" {
		t.Errorf("the first reply shown is %q, want reply 05", first)
	}
	alice.run(chromedp.Click(chromedp.CSS("#thread-older")))
	alice.waitJS("all 55 replies", `document.querySelectorAll('#thread-replies li.msg').length === 55 && document.getElementById('thread-older').hidden`, 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}

// TestBrowserReactions: a reaction bob adds with the picker (keyboard
// only) reaches alice live and stays after a reload; clicking it adds
// alice's, clicking again removes it; a message with 20 different emoji
// refuses a 21st with a clear notice.
func TestBrowserReactions(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.send("ship it")
	bob.waitText("ship it", 10*time.Second)

	// bob: focus the React button, open the picker with Enter, move right
	// once and pick with Enter.
	bob.clickJS("bob's React button", msgWith("ship it")+`?.querySelector('.msg-react')`)
	bob.waitJS("the picker", `!document.getElementById('emoji-picker')?.hidden && document.activeElement?.classList.contains('emoji-choice')`, 5*time.Second)
	bob.run(chromedp.KeyEvent(kb.Escape))
	bob.waitJS("Escape to close the picker and refocus React", `document.getElementById('emoji-picker').hidden && document.activeElement?.classList.contains('msg-react')`, 5*time.Second)
	bob.run(chromedp.KeyEvent(kb.Enter))
	bob.waitJS("the picker again", `document.activeElement?.dataset.emoji === '👍'`, 5*time.Second)
	bob.run(chromedp.KeyEvent(kb.ArrowRight))
	bob.waitJS("the second emoji focused", `document.activeElement?.dataset.emoji === '❤️'`, 5*time.Second)
	bob.run(chromedp.KeyEvent(kb.Enter))

	heart := reactionOn("ship it", "❤️")
	bob.waitJS("bob's reaction", heart+`?.getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	alice.waitJS("bob's reaction at alice", heart+`?.querySelector('.reaction-count').textContent === '1'`, 10*time.Second)
	if eval[bool](alice, heart+`.classList.contains('me')`) {
		t.Error("bob's reaction is shown as alice's")
	}
	if got := eval[string](alice, heart+`.title`); got != "bob reacted with ❤️" {
		t.Errorf("title %q", got)
	}

	alice.clickJS("alice's toggle", heart)
	alice.waitJS("alice's reaction", heart+`?.classList.contains('me') && `+heart+`.querySelector('.reaction-count').textContent === '2'`, 10*time.Second)
	bob.waitJS("the count of 2 at bob", heart+`?.querySelector('.reaction-count').textContent === '2' && `+heart+`.classList.contains('me')`, 10*time.Second)

	bob.run(chromedp.Reload())
	bob.waitOnline(15 * time.Second)
	bob.waitJS("the reactions after a reload", heart+`?.querySelector('.reaction-count').textContent === '2' && `+heart+`.getAttribute('aria-pressed') === 'true'`, 10*time.Second)
	if got := eval[string](bob, heart+`.title`); got != "you and alice reacted with ❤️" {
		t.Errorf("title after reload %q", got)
	}

	// bob toggles his off: alice sees 1, hers still pressed.
	bob.clickJS("bob's toggle", heart)
	alice.waitJS("the count back to 1", heart+`?.querySelector('.reaction-count').textContent === '1' && `+heart+`.classList.contains('me')`, 10*time.Second)
	alice.clickJS("alice's toggle off", heart)
	bob.waitJS("the reaction gone", `!(`+heart+`)`, 10*time.Second)

	// 20 different emoji on one message: a 21st is refused, and bob is told why.
	alice.send("full house")
	bob.waitText("full house", 10*time.Second)
	seq := eval[int](alice, msgWith("full house")+`.dataset.seq * 1`)
	eval[bool](alice, fmt.Sprintf(`(async () => {
		const { _debug } = await import('/js/app.js');
		const many = ['😀','😃','😄','😁','😆','😅','🤣','😊','😇','🙂','🙃','😉','😌','😍','🥰','😘','😗','😙','😚','😋'];
		for (const emoji of many) await _debug.conn.request('react', { room: 'general', seq: %d, emoji, add: true });
		return true;
	})()`, seq), chromedp.EvalAwaitPromise)
	bob.waitJS("20 reactions at bob", msgWith("full house")+`?.querySelectorAll('.reaction').length === 20`, 10*time.Second)
	bob.pickReaction("full house", "👍")
	bob.waitJS("the notice", `/already has 20 different reactions/.test(document.getElementById('composer-error').textContent) && !document.getElementById('composer-error').hidden`, 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}

// TestBrowserReplyOffline: a reply written in the thread panel while the
// server is down waits there, in the outbox, and goes out as a reply of
// that thread once the server is back.
func TestBrowserReplyOffline(t *testing.T) {
	dir := t.TempDir()
	srv, alice, bob := pair(t, dir)
	alice.send("who is on call?")
	bob.waitText("who is on call?", 10*time.Second)
	bob.clickJS("bob's reply button", msgWith("who is on call?")+`?.querySelector('.msg-reply')`)
	bob.waitJS("bob's thread panel", `!document.getElementById('thread-panel').hidden && document.getElementById('thread-count').textContent === 'No replies yet'`, 10*time.Second)

	addr := stopServer(srv, bob)
	bob.run(chromedp.SendKeys(chromedp.CSS("#thread-composer"), "me, this week"+kb.Enter))
	bob.waitJS("the reply waiting in the panel", `[...document.querySelectorAll('#thread-pending li')].some(li =>
		li.textContent.includes('me, this week') && li.textContent.includes('Waiting for connection'))`, 10*time.Second)
	stored := eval[string](bob, `Object.entries(localStorage).find(([k]) => k.startsWith('chatd.outbox.'))?.[1] ?? ''`)
	if !strings.Contains(stored, `"replyTo":1`) {
		t.Errorf("the outbox holds %s, want the reply with its thread", stored)
	}

	startServer(t, dir, addr)
	bob.waitOnline(20 * time.Second)
	alice.waitOnline(20 * time.Second)
	bob.waitJS("the reply sent, in bob's panel", `document.querySelectorAll('#thread-pending li').length === 0 &&
		[...document.querySelectorAll('#thread-replies li.msg .text')].some(e => e.textContent === 'me, this week')`, 15*time.Second)
	alice.waitJS("the count at alice", msgWith("who is on call?")+`?.querySelector('.thread-count')?.textContent === '1 reply'`, 15*time.Second)
	alice.waitJS("the reply in alice's room, as a reply", `!!(`+msgWith("me, this week")+`?.querySelector('.reply-link'))`, 10*time.Second)
	for _, p := range []*tab{alice, bob} {
		p.noProblems("WebSocket connection to", "ERR_CONNECTION_REFUSED", "/api/me")
	}
}
