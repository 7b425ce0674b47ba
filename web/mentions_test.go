package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// @mentions, notifications, per-room mute and search in the web app
// (issue 8), in real Chromium.

// grantNotifications allows notifications for the page's origin in its
// browser context, through the DevTools protocol, as a user's "Allow"
// would.
func (p *tab) grantNotifications(origin string) {
	p.t.Helper()
	_, err := chromedp.CallBrowser(p.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission:       &cdpbrowser.PermissionDescriptor{Name: "notifications"},
		Setting:          cdpbrowser.PermissionSettingGranted,
		Origin:           origin,
		BrowserContextID: chromedp.FromContext(p.ctx).BrowserContextID,
	})
	if err != nil {
		p.t.Fatalf("%s: grant notifications: %v", p.name, err)
	}
}

// spyNotifications wraps window.Notification so that the test sees every
// notification the page raises (window.__notes), still through the real
// constructor.
func (p *tab) spyNotifications() {
	p.t.Helper()
	p.run(chromedp.Evaluate[chromedp.Void](`(() => {
		const Real = window.Notification;
		window.__notes = [];
		class Spy extends Real {
			constructor(title, opts) {
				super(title, opts);
				window.__notes.push({title, body: opts?.body ?? '', tag: opts?.tag ?? ''});
				window.__lastNote = this;
			}
		}
		Object.defineProperty(Spy, 'permission', {get: () => Real.permission});
		Spy.requestPermission = (...a) => Real.requestPermission(...a);
		window.Notification = Spy;
	})()`))
}

type note struct{ Title, Body, Tag string }

func notes(p *tab) []note { return eval[[]note](p, `window.__notes`) }

// hide minimizes p's window, so that its page is really hidden
// (document.visibilityState), as when the user switched away; show
// restores it. (Another tab brought to front does not hide a page in
// headless Chromium: each tab has a window of its own.)
func (p *tab) hide() { p.setWindow(cdpbrowser.WindowStateMinimized, "hidden") }

func (p *tab) show() { p.setWindow(cdpbrowser.WindowStateNormal, "visible") }

func (p *tab) setWindow(state cdpbrowser.WindowState, want string) {
	p.t.Helper()
	w, err := chromedp.Call(p.ctx, cdpbrowser.GetWindowForTarget, cdpbrowser.GetWindowForTargetParams{})
	if err == nil {
		_, err = chromedp.Call(p.ctx, cdpbrowser.SetWindowBounds, cdpbrowser.SetWindowBoundsParams{
			WindowID: w.WindowID, Bounds: &cdpbrowser.Bounds{WindowState: state}})
	}
	if err != nil {
		p.t.Fatalf("%s: window %s: %v", p.name, state, err)
	}
	p.waitJS("the page to be "+want, fmt.Sprintf(`document.visibilityState === %q`, want), 10*time.Second)
}

// TestBrowserMentionNotification: once bob allowed notifications, a
// mention of him and a direct message to him raise one while his tab is
// hidden, naming the room and the sender, and clicking it opens the room;
// a room he muted raises none, and neither do plain messages.
func TestBrowserMentionNotification(t *testing.T) {
	srv, alice, bob := pair(t, "")
	alice.joinRoom("team")
	bob.joinRoom("team")
	bob.openRoom("general")

	if perm := eval[string](bob, `Notification.permission`); perm == "default" {
		bob.waitJS("the enable button", `!document.getElementById('notify-enable').hidden`, 5*time.Second)
	}
	bob.grantNotifications(srv.URL)
	bob.spyNotifications()
	if !eval[bool](bob, `document.getElementById('notify-enable').hidden`) {
		bob.run(chromedp.Click(chromedp.CSS("#notify-enable")))
	}
	bob.waitJS("the enable button to go", `document.getElementById('notify-enable').hidden && Notification.permission === 'granted'`, 5*time.Second)

	// bob mutes general; the mute is stored, and his badge there is quiet.
	bob.run(chromedp.Click(chromedp.CSS("#mute-room")))
	bob.waitJS("general muted", `document.getElementById('mute-room').getAttribute('aria-pressed') === 'true' &&
		document.querySelector('[data-room="general"]').classList.contains('muted')`, 5*time.Second)
	bob.openRoom("team")

	bob.hide()
	alice.openRoom("general")
	alice.send("@bob in the muted room")
	alice.openRoom("team")
	alice.send("plain words for the team")
	alice.send("@bob please review <b>this</b>")
	bob.waitJS("the mention's notification", `window.__notes.length >= 1`, 10*time.Second)
	got := notes(bob)
	if len(got) != 1 || got[0].Title != "alice in #team" || got[0].Body != "@bob please review <b>this</b>" {
		t.Errorf("notifications %+v, want one from alice in #team with the mention's text", got)
	}

	// A direct message, too.
	alice.run(
		chromedp.SendKeys(chromedp.CSS("#dm-user"), "bob"),
		chromedp.Click(chromedp.CSS("#dm-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#dm-list [data-user="bob"]`)),
	)
	alice.send("a quiet word")
	bob.waitJS("the DM's notification", `window.__notes.length >= 2`, 10*time.Second)
	got = notes(bob)
	if len(got) != 2 || got[1].Title != "alice" || got[1].Body != "a quiet word" {
		t.Errorf("notifications %+v, want the DM from alice second", got)
	}
	// By now the general mention has long arrived (messages are in order):
	// it raised nothing, as the count above says.
	if !eval[bool](bob, `document.querySelector('[data-room="general"] .badge').textContent === '1 unread, mentioning you, muted'`) {
		t.Errorf("general's badge: %q", eval[string](bob, `document.querySelector('[data-room="general"] .badge').textContent`))
	}

	// Clicking the notification brings bob to the DM.
	bob.run(chromedp.Evaluate[chromedp.Void](`window.__lastNote.onclick()`))
	bob.waitJS("the DM opened", `document.querySelector('#dm-list [data-user="alice"]')?.getAttribute('aria-current') === 'page'`, 5*time.Second)

	// The mute follows bob: a new page has it from the server.
	bob.show()
	front := bob.another("bob-2", srv.URL)
	front.waitOnline(15 * time.Second)
	front.waitJS("general muted on reload", `document.querySelector('[data-room="general"]')?.classList.contains('muted')`, 5*time.Second)
	for _, p := range []*tab{alice, bob, front} {
		p.noProblems()
	}
}

// TestBrowserMentionAutocomplete: typing @ and letters offers the room's
// members; the keyboard moves through them and picks one, Escape closes
// the list, a click picks too, and Enter with the list closed still sends.
func TestBrowserMentionAutocomplete(t *testing.T) {
	srv, alice, bob := pair(t, "")
	for _, name := range []string{"bobby", "carol"} {
		acct := srv.Register(t, name)
		if status, body := srv.Do(t, "POST", "/api/rooms/general/messages", acct.Token, map[string]string{"text": "hi from " + name}); status != 201 {
			t.Fatalf("post as %s: %d %s", name, status, body)
		}
	}
	alice.openRoom("general")
	alice.waitText("hi from carol", 10*time.Second)

	options := `[...document.querySelectorAll('#mention-list li[role=option]')].map(li => li.dataset.username + (li.getAttribute('aria-selected') === 'true' ? '*' : ''))`
	alice.run(chromedp.SendKeys(chromedp.CSS("#composer"), "thanks @bo"))
	alice.waitJS("suggestions", `!document.getElementById('mention-list').hidden`, 5*time.Second)
	if got := eval[[]string](alice, options); strings.Join(got, " ") != "bob* bobby" {
		t.Errorf("suggestions for @bo: %q, want bob (selected) then bobby", got)
	}
	type combo struct {
		Expanded, Active string
		ActiveIsOption   bool
	}
	c := eval[combo](alice, `(() => {
		const ta = document.getElementById('composer');
		const id = ta.getAttribute('aria-activedescendant');
		return {Expanded: ta.getAttribute('aria-expanded'), Active: id,
			ActiveIsOption: document.getElementById(id)?.getAttribute('aria-selected') === 'true'};
	})()`)
	if c.Expanded != "true" || !c.ActiveIsOption {
		t.Errorf("combobox state %+v, want expanded with the selected option active", c)
	}
	alice.run(chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[[]string](alice, options); strings.Join(got, " ") != "bob bobby*" {
		t.Errorf("after ArrowDown: %q", got)
	}
	alice.run(chromedp.KeyEvent(kb.Enter))
	alice.waitJS("the pick", `document.getElementById('composer').value === 'thanks @bobby ' && document.getElementById('mention-list').hidden`, 5*time.Second)
	if eval[string](alice, `document.getElementById('composer').getAttribute('aria-expanded')`) != "false" {
		t.Error("the combobox says it is expanded after the pick")
	}

	// Escape closes without changing the text; Enter then sends.
	alice.run(chromedp.SendKeys(chromedp.CSS("#composer"), "and @ca"))
	alice.waitJS("suggestions for @ca", `document.querySelector('#mention-list li[data-username="carol"]') !== null`, 5*time.Second)
	alice.run(chromedp.KeyEvent(kb.Escape))
	alice.waitJS("the list to close", `document.getElementById('mention-list').hidden`, 5*time.Second)
	alice.run(chromedp.KeyEvent(kb.Enter))
	alice.waitText("thanks @bobby and @ca", 10*time.Second)

	// The mouse: a click on a suggestion picks it; @room is offered in a small room.
	alice.run(chromedp.SendKeys(chromedp.CSS("#composer"), "@r"))
	alice.waitJS("@room offered", `document.querySelector('#mention-list li[data-username="room"]') !== null`, 5*time.Second)
	alice.run(chromedp.SendKeys(chromedp.CSS("#composer"), kb.Backspace+"c"))
	alice.waitJS("carol offered", `document.querySelector('#mention-list li[data-username="carol"]') !== null`, 5*time.Second)
	alice.run(chromedp.Click(chromedp.CSS(`#mention-list li[data-username="carol"]`)))
	alice.waitJS("the click's pick", `document.getElementById('composer').value === '@carol '`, 5*time.Second)
	alice.run(chromedp.SendKeys(chromedp.CSS("#composer"), "look"), chromedp.KeyEvent(kb.Enter))
	alice.waitText("@carol look", 10*time.Second)
	bob.waitText("@carol look", 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}

// search opens the search panel with Ctrl+K and searches for query.
func (p *tab) search(query string) {
	p.t.Helper()
	p.run(chromedp.KeyEvent("k", chromedp.KeyModifiers(kb.ModifierCtrl)))
	p.waitJS("the search box focused", `!document.getElementById('search-panel').hidden && document.activeElement?.id === 'search-input'`, 5*time.Second)
	p.run(chromedp.SendKeys(chromedp.CSS("#search-input"), query), chromedp.KeyEvent(kb.Enter))
}

// TestBrowserSearchJump: Ctrl+K opens the search; a result shows its room,
// author and snippet with the match marked (markup in the text stays
// text); picking it opens the other room with the history around the
// message loaded, the message in view and flashed; Escape closes the panel.
func TestBrowserSearchJump(t *testing.T) {
	srv, alice, _ := pair(t, "")
	bot := srv.Dial(t, srv.Register(t, "bot").Token)
	bot.Welcome()
	bot.Ack("join_room", map[string]any{"room": "archive"}, nil)
	alice.joinRoom("archive")
	alice.openRoom("general")
	const found = 20
	for i := 1; i <= 150; i++ {
		text := fmt.Sprintf("filler %03d", i)
		if i == found {
			text = "the <b>quokka</b> plan is ready"
		}
		bot.Ack("send_message", map[string]any{"room": "archive", "text": text}, nil)
	}
	alice.waitJS("archive's unread count", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '150'`, roomButton("archive")), 20*time.Second)
	alice.send("no quokka here, only in general")
	alice.waitText("no quokka here, only in general", 10*time.Second)

	alice.search("quokka plan")
	alice.waitJS("a result", `document.querySelectorAll('#search-results .search-result').length === 1`, 10*time.Second)
	type result struct {
		Room, Seq, Meta, Snippet string
		Marks                    []string
		Bold                     int
	}
	r := eval[result](alice, `(() => {
		const b = document.querySelector('#search-results .search-result');
		return {Room: b.dataset.room, Seq: b.dataset.seq, Meta: b.querySelector('.search-meta').textContent,
			Snippet: b.querySelector('.search-snippet').textContent,
			Marks: [...b.querySelectorAll('mark')].map(m => m.textContent),
			Bold: document.querySelectorAll('#search-results b').length};
	})()`)
	if r.Room != "archive" || r.Seq != fmt.Sprint(found) || !strings.HasPrefix(r.Meta, "#archivebot") {
		t.Errorf("result %+v, want archive seq %d by bot", r, found)
	}
	if r.Snippet != "the <b>quokka</b> plan is ready" || strings.Join(r.Marks, ",") != "quokka,plan" || r.Bold != 0 {
		t.Errorf("snippet %q marks %q (%d <b> elements), want the text as typed with quokka and plan marked", r.Snippet, r.Marks, r.Bold)
	}

	alice.run(chromedp.Click(chromedp.CSS("#search-results .search-result")))
	alice.waitJS("archive opened", fmt.Sprintf(`document.querySelector(%q)?.getAttribute('aria-current') === 'page'`, roomButton("archive")), 5*time.Second)
	alice.waitJS("the message in view, flashed", fmt.Sprintf(`(() => {
		const li = document.querySelector('#messages li.msg[data-seq="%d"]');
		if (!li || !li.classList.contains('found')) return false;
		const box = document.getElementById('scroller').getBoundingClientRect(), r = li.getBoundingClientRect();
		return r.top >= box.top && r.bottom <= box.bottom;
	})()`, found), 10*time.Second)
	for _, seq := range []int{found - 5, found - 1, found + 1, found + 5} {
		if !eval[bool](alice, fmt.Sprintf(`!!document.querySelector('#messages li.msg[data-seq="%d"]')`, seq)) {
			t.Errorf("message %d around the result is not loaded", seq)
		}
	}
	if !eval[bool](alice, `document.getElementById('search-panel').hidden`) {
		t.Error("the search panel stayed open after a pick")
	}

	// Escape closes the panel; focus returns.
	alice.run(chromedp.Click(chromedp.CSS("#search-open")))
	alice.waitJS("the panel", `document.activeElement?.id === 'search-input'`, 5*time.Second)
	alice.run(chromedp.KeyEvent(kb.Escape))
	alice.waitJS("the panel to close", `document.getElementById('search-panel').hidden`, 5*time.Second)
	alice.noProblems()
}
