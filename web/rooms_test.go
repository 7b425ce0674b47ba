package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 9 in the browser: rooms people find and run.

// findInDirectory opens the directory, searches it for query and waits
// until room is its one result; it returns the selector of room's line.
func (p *tab) findInDirectory(query, room string) string {
	p.t.Helper()
	p.run(
		chromedp.Click(chromedp.CSS("#open-directory")),
		chromedp.WaitVisible(chromedp.CSS("#directory-search")),
		chromedp.SendKeys(chromedp.CSS("#directory-search"), query),
	)
	row := fmt.Sprintf(`#directory-list [data-dir-room=%q]`, room)
	p.waitJS(room+", found by "+query, fmt.Sprintf(`document.querySelectorAll('#directory-list li').length === 1 && !!document.querySelector(%q)`, row), 10*time.Second)
	return row
}

// joinFromDirectory joins room with its line's button in the open
// directory and waits until the room is open.
func (p *tab) joinFromDirectory(room string) {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#directory-list [data-dir-room=%q] button.dir-join`, room))))
	p.waitJS(room+" to open", fmt.Sprintf(`document.querySelector('#room-list ' + %q)?.getAttribute('aria-current') === 'page'`, roomButton(room)), 10*time.Second)
}

// TestBrowserDirectoryJoin: a newcomer finds a public room in the
// directory (by its topic), sees its member count, joins it from there
// and reads it; the owner's topic shows in the header and a change of it
// arrives live.
func TestBrowserDirectoryJoin(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.joinRoom("golang")
	alice.run(chromedp.Click(chromedp.CSS("#room-details")), chromedp.WaitVisible(chromedp.CSS("#room-topic-input")))
	alice.run(
		chromedp.SendKeys(chromedp.CSS("#room-topic-input"), "Gophers talk here"),
		chromedp.SendKeys(chromedp.CSS("#room-description-input"), "Be kind.\nNo spam."),
		chromedp.Click(chromedp.CSS("#room-about-save")),
	)
	alice.waitJS("the save", `document.getElementById('room-dialog-status').textContent === 'Saved.'`, 10*time.Second)
	alice.run(chromedp.Click(chromedp.CSS("#room-dialog-close")))
	alice.waitJS("the topic in the header", `document.getElementById('room-topic').textContent === 'Gophers talk here'`, 5*time.Second)
	alice.send("welcome, gophers")
	alice.waitText("welcome, gophers", 10*time.Second)

	row := bob.findInDirectory("gophers", "golang")
	if got := eval[string](bob, fmt.Sprintf(`document.querySelector(%q + ' .dir-meta').textContent`, row)); got[:8] != "1 member" {
		t.Errorf("golang's line in the directory = %q, want 1 member first", got)
	}
	bob.joinFromDirectory("golang")
	if eval[bool](bob, `document.getElementById('directory').open`) {
		t.Error("the directory is still open after joining")
	}
	bob.waitText("welcome, gophers", 10*time.Second)
	bob.waitJS("the topic", `document.getElementById('room-topic').textContent === 'Gophers talk here'`, 5*time.Second)
	bob.waitJS("the member count", `document.getElementById('member-count').textContent === '2'`, 5*time.Second)
	alice.waitJS("the member count to grow live", `document.getElementById('member-count').textContent === '2'`, 5*time.Second)
	if eval[bool](bob, `!document.getElementById('invite-form').hidden || !!document.querySelector('#messages li.msg:not(.own) .msg-delete')`) {
		t.Error("bob, a member, is offered the invite form or a delete button on alice's message")
	}

	// The owner changes the topic: it reaches bob without a reload.
	alice.run(
		chromedp.Click(chromedp.CSS("#room-details")),
		chromedp.WaitVisible(chromedp.CSS("#room-topic-input")),
		chromedp.SetValue(chromedp.CSS("#room-topic-input"), "Go 1.26 is out"),
		chromedp.Click(chromedp.CSS("#room-about-save")),
	)
	bob.waitJS("the new topic", `document.getElementById('room-topic').textContent === 'Go 1.26 is out'`, 10*time.Second)
	bob.run(chromedp.Click(chromedp.CSS("#room-details")), chromedp.WaitVisible(chromedp.CSS("#members-list li")))
	bob.waitJS("the description and both members", `document.getElementById('room-dialog-description').textContent === 'Be kind.\nNo spam.' &&
		document.querySelectorAll('#members-list li').length === 2 &&
		document.querySelector('#members-list [data-user="alice"]').dataset.role === 'owner' &&
		document.querySelector('#members-list [data-user="alice"]').dataset.online === 'true'`, 10*time.Second)
	if eval[bool](bob, `!document.getElementById('room-about-form').hidden || !!document.querySelector('#members-list button')`) {
		t.Error("bob, a member, is offered the owners' tools")
	}
	alice.noProblems()
	bob.noProblems()
}

// TestBrowserJoinTypoAsks: joining a name that does not exist asks before
// creating it; cancelling creates nothing, confirming creates it.
func TestBrowserJoinTypoAsks(t *testing.T) {
	srv, alice, bob := pair(t, "")
	alice.run(
		chromedp.SendKeys(chromedp.CSS("#join-room-input"), "genral"),
		chromedp.Click(chromedp.CSS("#join-room-submit")),
		chromedp.WaitVisible(chromedp.CSS("#join-create-yes")),
	)
	if got := eval[string](alice, `document.getElementById('join-create-text').textContent`); got != "There is no public room #genral. Create it?" {
		t.Errorf("the question = %q", got)
	}
	alice.run(chromedp.Click(chromedp.CSS("#join-create-no")))
	alice.waitJS("the question to go", `document.getElementById('join-create').hidden`, 5*time.Second)
	rooms, err := srv.Store.AllRooms(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if r.Name == "genral" {
			t.Fatal("cancelling created #genral in the store")
		}
	}
	bob.run(chromedp.Click(chromedp.CSS("#open-directory")), chromedp.WaitVisible(chromedp.CSS("#directory-search")),
		chromedp.SendKeys(chromedp.CSS("#directory-search"), "genral"))
	bob.waitJS("the empty search", `/No public room matches/.test(document.getElementById('directory-status').textContent)`, 10*time.Second)
	bob.run(chromedp.Click(chromedp.CSS("#directory-close")))
	if eval[bool](alice, fmt.Sprintf(`!!document.querySelector(%q)`, roomButton("genral"))) {
		t.Error("cancelling created the room anyway")
	}
	// Joining general by name opens it, without a question.
	alice.run(
		chromedp.SetValue(chromedp.CSS("#join-room-input"), "general"),
		chromedp.Click(chromedp.CSS("#join-room-submit")),
	)
	alice.waitJS("general", fmt.Sprintf(`document.querySelector(%q)?.getAttribute('aria-current') === 'page'`, roomButton("general")), 5*time.Second)
	// Confirming creates it, and its creator owns it.
	alice.joinRoom("new-room")
	alice.waitJS("the owner's member count", `document.getElementById('member-count').textContent === '1'`, 5*time.Second)
	alice.noProblems()
	bob.noProblems()
}

// TestBrowserOwnerHandsOverAndLeaves: an owner makes a member an owner,
// deletes their message as a moderator, then leaves (asked first) and
// lands in general; the other user is the owner now and gets the owners'
// tools, and the composer never names the room left.
func TestBrowserOwnerHandsOverAndLeaves(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.joinRoom("club")
	alice.openRoom("general")
	alice.openRoom("club")
	bob.joinRoom("club")
	bob.send("spam from bob")
	alice.waitText("spam from bob", 10*time.Second)
	// An owner sees a delete button on others' messages.
	alice.run(chromedp.Click(chromedp.CSS(`#messages li.msg[data-author="bob"] .msg-delete`)),
		chromedp.Click(chromedp.CSS(`#messages li.msg[data-author="bob"] .msg-delete-confirm`)))
	bob.waitJS("the deletion", `!!document.querySelector('#messages li.msg.deleted[data-author="bob"]')`, 10*time.Second)

	alice.run(chromedp.Click(chromedp.CSS("#room-details")))
	alice.waitJS("bob in the members", `!!document.querySelector('#members-list [data-user="bob"] .member-role')`, 10*time.Second)
	alice.run(chromedp.Click(chromedp.CSS(`#members-list [data-user="bob"] .member-role`)))
	alice.waitJS("bob's new role", `document.querySelector('#members-list [data-user="bob"]')?.dataset.role === 'owner'`, 10*time.Second)
	alice.run(chromedp.Click(chromedp.CSS("#room-dialog-close")))

	// Leaving asks first.
	alice.run(chromedp.Click(chromedp.CSS("#leave-room")))
	if got := eval[string](alice, `document.getElementById('leave-room').textContent`); got != "Leave #club?" {
		t.Fatalf("the leave button after one click says %q, want to ask", got)
	}
	if !eval[bool](alice, fmt.Sprintf(`!!document.querySelector(%q)`, roomButton("club"))) {
		t.Fatal("one click left the room")
	}
	alice.run(chromedp.Click(chromedp.CSS("#leave-room")))
	alice.waitJS("club to go", fmt.Sprintf(`!document.querySelector(%q)`, roomButton("club")), 10*time.Second)
	alice.waitJS("landing in general, the room shown before", fmt.Sprintf(`document.querySelector(%q)?.getAttribute('aria-current') === 'page'`, roomButton("general")), 5*time.Second)
	if got := eval[string](alice, `document.getElementById('composer').placeholder`); got != "Message #general" {
		t.Errorf("alice's composer says %q after leaving, want Message #general", got)
	}

	// bob sees he is the owner: the owners' tools, and alice gone from the list.
	bob.run(chromedp.Click(chromedp.CSS("#room-details")))
	bob.waitJS("bob as owner, alone", `!document.getElementById('room-about-form').hidden &&
		document.querySelector('#members-list [data-user="bob"]')?.dataset.role === 'owner' &&
		!document.querySelector('#members-list [data-user="alice"]') &&
		!document.getElementById('room-archive').hidden`, 10*time.Second)
	// The new owner archives the room: it turns read-only, then unarchives it.
	bob.run(chromedp.Click(chromedp.CSS("#room-archive")))
	bob.waitJS("the archived note", `!document.getElementById('archived-note').hidden && document.getElementById('composer-form').hidden`, 10*time.Second)
	bob.run(chromedp.Click(chromedp.CSS("#room-archive")))
	bob.waitJS("the composer back", `document.getElementById('archived-note').hidden && !document.getElementById('composer-form').hidden`, 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}

// TestBrowserDMComesBack: a DM hidden by leaving it comes back, with its
// unread count, when the other side writes again.
func TestBrowserDMComesBack(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.run(
		chromedp.SendKeys(chromedp.CSS("#dm-user"), "bob"),
		chromedp.Click(chromedp.CSS("#dm-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#dm-list [data-user="bob"]`)),
	)
	alice.send("hi bob")
	alice.waitText("hi bob", 10*time.Second)
	entry := `#dm-list [data-user="alice"]`
	bob.run(chromedp.WaitVisible(chromedp.CSS(entry)), chromedp.Click(chromedp.CSS(entry)))
	bob.waitText("hi bob", 10*time.Second)
	// bob has read it (the marker goes out a moment after the room shows):
	// the count that comes back is then that of the new message alone.
	bob.waitJS("the badge to clear", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '0'`, entry), 10*time.Second)
	bob.run(chromedp.Click(chromedp.CSS("#leave-room")), chromedp.Click(chromedp.CSS("#leave-room")))
	bob.waitJS("the DM to go", fmt.Sprintf(`!document.querySelector(%q)`, entry), 10*time.Second)
	bob.waitJS("landing in a room bob is in", fmt.Sprintf(`document.querySelector(%q)?.getAttribute('aria-current') === 'page'`, roomButton("general")), 5*time.Second)

	alice.send("are you there?")
	bob.waitJS("the DM back with its unread count", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '1'`, entry), 10*time.Second)
	bob.run(chromedp.Click(chromedp.CSS(entry)))
	bob.waitText("are you there?", 10*time.Second)
	bob.waitText("hi bob", 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}
