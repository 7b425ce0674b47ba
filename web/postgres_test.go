package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/server"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserFeaturesOnPostgres walks the features of issues 8 and 9 in
// the web app against a chatd on PostgreSQL (the other browser tests run
// on SQLite): a reaction seen live, a reply counted, a search that jumps
// to its message, a room found and joined from the directory, and an
// image shown inline.
func TestBrowserFeaturesOnPostgres(t *testing.T) {
	pgURL := pgtest.URL(t) // a schema of this test's own; skips without CHATD_TEST_POSTGRES_URL
	findChromium(t)        // skip before touching the database without a browser
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	store, err := postgres.Open(ctx, pgURL)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { store.Close() }) // after the server stops
	srv := chatdtest.Start(t, chatdtest.Options{Store: store, Config: server.Config{RateLimit: 0}})
	alice, bob := usersOn(t, srv)

	// 1. A reaction alice adds reaches bob live.
	alice.send("ship it")
	bob.waitText("ship it", 10*time.Second)
	alice.pickReaction("ship it", "👍")
	thumbs := reactionOn("ship it", "👍")
	bob.waitJS("alice's reaction at bob", thumbs+`?.querySelector('.reaction-count').textContent === '1' && !`+thumbs+`.classList.contains('me')`, 10*time.Second)

	// 2. bob replies in the thread panel; alice sees the count.
	bob.replyInThread("ship it", "shipping now")
	bob.waitJS("the reply in bob's panel", threadReply("shipping now"), 10*time.Second)
	alice.waitJS("the reply count at alice", msgWith("ship it")+`?.querySelector('.thread-summary .thread-count')?.textContent === '1 reply'`, 10*time.Second)
	bob.run(chromedp.KeyEvent(kb.Escape)) // closes the panel

	// 3. A search finds bob's message in another room and jumps to it.
	bob.joinRoom("ops")
	bob.send("the wombat migration is done")
	bob.waitText("the wombat migration is done", 10*time.Second)
	alice.joinRoom("ops")
	alice.openRoom("general")
	alice.search("wombat migration")
	result := `#search-results .search-result`
	alice.waitJS("one result, in ops", fmt.Sprintf(`document.querySelectorAll(%[1]q).length === 1 && document.querySelector(%[1]q).dataset.room === 'ops'`, result), 10*time.Second)
	alice.run(chromedp.Click(chromedp.CSS(result)))
	alice.waitJS("ops opened at the message, flashed", fmt.Sprintf(`document.querySelector(%q)?.getAttribute('aria-current') === 'page' && !!(%s)?.classList.contains('found')`,
		roomButton("ops"), msgWith("the wombat migration is done")), 10*time.Second)
	// The jump ends with the focus on the message: typing elsewhere before
	// that would lose keys.
	alice.waitJS("the focus on the message", msgWith("the wombat migration is done")+` === document.activeElement`, 5*time.Second)

	// 4. A public room alice creates, bob finds in the directory and joins.
	alice.joinRoom("golang")
	alice.send("welcome, gophers")
	alice.waitText("welcome, gophers", 10*time.Second)
	bob.findInDirectory("golang", "golang")
	bob.joinFromDirectory("golang")
	bob.waitText("welcome, gophers", 10*time.Second)
	alice.waitJS("the member count to grow live", `document.getElementById('member-count').textContent === '2'`, 10*time.Second)

	// 5. An image alice uploads shows inline for bob.
	alice.sendImage(pngBytes(t, 48, 32), "diagram.png", "the diagram")
	bob.waitText("the diagram", 10*time.Second)
	bob.waitThumbnail("the diagram", 48)

	alice.noProblems()
	bob.noProblems()
}
