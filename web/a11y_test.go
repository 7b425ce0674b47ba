package web_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axePackage is the accessibility engine the audit runs: axe-core, from
// npm at test time (never committed), once per test process.
const axePackage = "axe-core@4"

var axe struct {
	once sync.Once
	src  string
	err  error
}

// axeSource returns axe.min.js. Without npm, or with the registry out of
// reach, the test skips with one line (or fails under CHATD_REQUIRE_ALL).
func axeSource(tb testing.TB) string {
	tb.Helper()
	axe.once.Do(func() { axe.src, axe.err = fetchAxe() })
	if axe.err != nil {
		if os.Getenv("CHATD_REQUIRE_ALL") != "" {
			tb.Fatalf("cannot fetch %s with npm (%v), but CHATD_REQUIRE_ALL is: the accessibility audit cannot run", axePackage, axe.err)
		}
		tb.Skipf("cannot fetch %s with npm (%v); skipping the accessibility audit", axePackage, axe.err)
	}
	return axe.src
}

// fetchAxe packs axe-core into a temporary directory with npm and reads
// axe.min.js out of the tarball; nothing is installed.
func fetchAxe() (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is not on PATH")
	}
	dir, err := os.MkdirTemp("", "chatd-axe-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// One retry: an unreachable registry should cost seconds, not minutes.
	cmd := exec.CommandContext(ctx, npm, "pack", axePackage, "--json", "--fetch-retries=1", "--pack-destination", dir)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var failed struct{ Error struct{ Summary string } }
		if json.Unmarshal(out, &failed) == nil && failed.Error.Summary != "" {
			return "", fmt.Errorf("npm pack %s: %s", axePackage, failed.Error.Summary)
		}
		return "", fmt.Errorf("npm pack %s: %v", axePackage, err)
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 {
		return "", fmt.Errorf("npm pack %s printed %.200q", axePackage, out)
	}
	f, err := os.Open(filepath.Join(dir, filepath.Base(packed[0].Filename)))
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return "", fmt.Errorf("no package/axe.min.js in %s: %v", packed[0].Filename, err)
		}
		if h.Name == "package/axe.min.js" {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}

// axeViolation is the part of an axe-core result a failure message needs.
type axeViolation struct {
	ID     string
	Impact string
	Help   string
	Nodes  []struct {
		Target         []any
		FailureSummary string
	}
}

// audit runs axe-core's WCAG 2.1 A and AA rules on the page as it is and
// fails the test for every violation.
func (p *tab) audit(src, what string) {
	p.t.Helper()
	if !eval[bool](p, `typeof window.axe === 'object'`) {
		p.run(chromedp.Evaluate[chromedp.Void](src))
	}
	// A fade half done (a message's actions as the pointer or the focus
	// leaves) has colours no one reads: audit what the page settles on.
	p.waitJS("transitions to end", `document.getAnimations().every(a =>
		a.playState !== 'running' || a.effect.getComputedTiming().endTime === Infinity)`, 5*time.Second)
	res := eval[[]axeViolation](p, `axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
		resultTypes: ['violations'],
	}).then(r => r.violations)`, chromedp.EvalAwaitPromise)
	for _, v := range res {
		var nodes []string
		for i, n := range v.Nodes {
			if i == 5 {
				nodes = append(nodes, fmt.Sprintf("… and %d more", len(v.Nodes)-i))
				break
			}
			nodes = append(nodes, fmt.Sprintf("%v: %s", n.Target, strings.ReplaceAll(n.FailureSummary, "\n", " ")))
		}
		p.t.Errorf("%s, %s: %s violation %s (%s):\n\t%s", p.name, what, v.Impact, v.ID, v.Help, strings.Join(nodes, "\n\t"))
	}
}

// phoneDark makes the page a 360 px wide phone that prefers dark mode.
func phoneDark() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(360, 740)); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	})
}

// TestBrowserAccessibility: axe-core finds no WCAG 2.1 A or AA violation
// in the sign-in screen and in a room with messages (own and others', a day
// separator, an edit and a delete in progress, a message that failed), on the desktop in
// light mode and on a 360 px phone in dark mode with the rooms drawer open
// and closed.
func TestBrowserAccessibility(t *testing.T) {
	src := axeSource(t)
	b := newBrowser(t)
	srv := startServer(t, "", "")
	bot := srv.Register(t, "bot")
	if status, body := srv.Do(t, "POST", "/api/rooms/general/messages", bot.Token, map[string]string{"text": "welcome to general"}); status != 201 {
		t.Fatalf("bot post: %d %s", status, body)
	}

	desk := b.open("desktop", srv.URL)
	phone := b.open("phone", srv.URL)
	phone.run(phoneDark())
	for _, p := range []*tab{desk, phone} {
		p.run(chromedp.WaitVisible(chromedp.CSS("#login-username")))
		p.audit(src, "sign-in screen")
		p.run(chromedp.Click(chromedp.CSS("#login-submit"))) // empty: the inline error shows
		p.waitJS("the sign-in error", `!document.getElementById('auth-error').hidden`, 5*time.Second)
		p.audit(src, "sign-in screen with an error")
	}
	desk.signUp("alice")
	phone.signUp("carol")
	desk.createPrivateRoom("secret")
	desk.run(
		chromedp.SendKeys(chromedp.CSS("#dm-user"), "carol"),
		chromedp.Click(chromedp.CSS("#dm-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#dm-list [data-user="carol"]`)),
	)
	desk.openRoom("general")
	desk.send("hello from alice")
	phone.send("hello from carol")
	for _, p := range []*tab{desk, phone} {
		p.waitText("hello from alice", 10*time.Second)
		p.waitText("hello from carol", 10*time.Second)
		p.waitJS("own messages to be sent", `document.querySelectorAll('#pending-list li').length === 0`, 10*time.Second)
		p.audit(src, "a room with messages")
	}

	// The search panel with results, and the @ suggestions (issue 8).
	desk.run(chromedp.Click(chromedp.CSS("#search-open")), chromedp.SendKeys(chromedp.CSS("#search-input"), "hello"),
		chromedp.Click(chromedp.CSS("#search-submit")))
	desk.waitJS("search results", `document.querySelectorAll('#search-results .search-result').length === 2`, 10*time.Second)
	desk.audit(src, "search results")
	desk.run(chromedp.Click(chromedp.CSS("#search-close")), chromedp.SendKeys(chromedp.CSS("#composer"), "@c"))
	desk.waitJS("mention suggestions", `!document.getElementById('mention-list').hidden`, 10*time.Second)
	desk.audit(src, "mention suggestions")
	desk.run(chromedp.Evaluate[chromedp.Void](`(() => {
		const ta = document.getElementById('composer');
		ta.value = '';
		ta.dispatchEvent(new Event('input', {bubbles: true}));
	})()`))

	desk.run(chromedp.Click(chromedp.CSS(`#messages li.msg.own .msg-edit`)), chromedp.WaitVisible(chromedp.CSS(`#messages .edit-input`)))
	desk.audit(src, "editing a message")
	desk.run(chromedp.Click(chromedp.CSS(`#messages .msg-edit-cancel`)),
		chromedp.Click(chromedp.CSS(`#messages li.msg.own .msg-delete`)),
		chromedp.WaitVisible(chromedp.CSS(`#messages .msg-delete-confirm`)))
	desk.audit(src, "confirming a delete")
	desk.run(chromedp.Click(chromedp.CSS(`#messages .msg-delete-cancel`)))

	// The directory, and the details of a room its owner runs.
	desk.run(chromedp.Click(chromedp.CSS("#open-directory")))
	desk.waitJS("the directory's rooms", `document.querySelectorAll('#directory-list li').length > 0`, 10*time.Second)
	desk.audit(src, "the room directory")
	desk.run(chromedp.Click(chromedp.CSS("#directory-close")))
	desk.run(
		chromedp.SendKeys(chromedp.CSS("#join-room-input"), "no-such-room"),
		chromedp.Click(chromedp.CSS("#join-room-submit")),
		chromedp.WaitVisible(chromedp.CSS("#join-create-yes")),
	)
	desk.audit(src, "asking whether to create a room")
	desk.run(chromedp.Click(chromedp.CSS("#join-create-no")))
	desk.openRoom("secret")
	desk.run(chromedp.Click(chromedp.CSS("#room-details")))
	desk.waitJS("the members", `document.querySelectorAll('#members-list li').length > 0`, 10*time.Second)
	desk.audit(src, "a room's details, as its owner")
	desk.run(chromedp.Click(chromedp.CSS("#room-dialog-close")))
	desk.openRoom("general")

	// Reactions, the emoji picker, and a thread with a reply: in the panel
	// on the desktop, in a drawer on the phone.
	desk.clickJS("the React button", msgWith("hello from carol")+`?.querySelector('.msg-react')`)
	desk.waitJS("the picker", `!document.getElementById('emoji-picker').hidden`, 5*time.Second)
	desk.audit(src, "the emoji picker")
	desk.run(chromedp.Click(chromedp.CSS(`#emoji-picker [data-emoji="👍"]`)))
	desk.waitJS("the reaction", `!!(`+msgWith("hello from carol")+`?.querySelector('.reaction.me'))`, 10*time.Second)
	desk.clickJS("the Reply button", msgWith("hello from carol")+`?.querySelector('.msg-reply')`)
	desk.run(chromedp.SendKeys(chromedp.CSS("#thread-composer"), "a reply"+kb.Enter))
	desk.waitJS("the reply in the panel", `document.querySelectorAll('#thread-replies li.msg').length === 1`, 10*time.Second)
	desk.audit(src, "a thread with a reply and reactions")
	phone.clickJS("the thread summary", msgWith("hello from carol")+`?.querySelector('.thread-summary')`)
	phone.waitJS("the thread drawer", `document.querySelectorAll('#thread-replies li.msg').length === 1 && document.getElementById('main').inert`, 10*time.Second)
	time.Sleep(400 * time.Millisecond)
	phone.audit(src, "the thread drawer")
	phone.run(chromedp.KeyEvent(kb.Escape))
	phone.waitJS("the thread drawer to close", `document.getElementById('thread-panel').hidden && !document.getElementById('main').inert`, 5*time.Second)

	// A message that cannot be sent stays in the pending list, marked failed.
	id := eval[string](phone, `fetch('/api/me').then(r => r.json()).then(b => b.user.id)`, chromedp.EvalAwaitPromise)
	phone.run(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('chatd.outbox.%s', JSON.stringify([
		{clientMsgId: 'too-big', room: 'general', text: '\u0001'.repeat(3000), createdAt: 1, state: 'pending'}]))`, id)),
		chromedp.Reload())
	phone.waitOnline(15 * time.Second)
	phone.waitJS("the failed entry", `!!document.querySelector('#pending-list li.failed')`, 10*time.Second)
	phone.audit(src, "a room with a failed message")
	phone.run(chromedp.Click(chromedp.CSS("#sidebar-toggle")))
	phone.waitJS("the drawer", `document.getElementById('app-view').classList.contains('drawer-open')`, 5*time.Second)
	time.Sleep(400 * time.Millisecond) // the drawer slides in
	phone.audit(src, "the rooms drawer")

	desk.noProblems()
	phone.noProblems()
}
