package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/server"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive the embedded web app in a real Chromium against
// real servers on loopback: the one CHATD_CHROMIUM names, else the first of
// chromiumNames on PATH, so `go test ./...` runs them wherever a browser is
// installed. Each user gets a browser context of their own: separate
// cookies and storage, like separate browsers.

// chromiumNames are the commands Chromium is installed as (Debian,
// Ubuntu, Google's build).
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// findChromium returns the browser to test with. With none, the test skips
// with one line saying how to run it, or fails under CHATD_REQUIRE_ALL.
func findChromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("CHATD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no Chromium: CHATD_CHROMIUM is not set and none of %s is on PATH"
	if os.Getenv("CHATD_REQUIRE_ALL") != "" {
		tb.Fatalf(why+", but CHATD_REQUIRE_ALL is: the web app cannot be tested", strings.Join(chromiumNames, ", "))
	}
	tb.Skipf(why+"; skipping the browser tests", strings.Join(chromiumNames, ", "))
	return ""
}

type browser struct {
	t    *testing.T
	root context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	if err := chromedp.Do(root); err != nil { // starts the browser
		cancelRoot()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
	})
	return &browser{t: t, root: root}
}

// tab is one user's page.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu       sync.Mutex // guards the following
	problems []string   // console errors, exceptions, CSP violations
	dialogs  []string
}

// open starts a new browser context (a user of their own) at url.
func (b *browser) open(name, url string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	return newTab(b.t, ctx, name, url)
}

// another opens a second tab in p's browser context: the same user, with
// the same cookies and storage.
func (p *tab) another(name, url string) *tab {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	p.t.Cleanup(cancel)
	return newTab(p.t, ctx, name, url)
}

func newTab(t *testing.T, ctx context.Context, name, url string) *tab {
	t.Helper()
	p := &tab{t: t, name: name, ctx: ctx}
	// Subscribe before navigating so that nothing the page logs is missed.
	console := chromedp.Console(ctx) // console calls, exceptions, browser log (CSP violations)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				p.problem(fmt.Sprintf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
			}
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.dialogs = append(p.dialogs, ev.Message)
			p.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	p.run(chromedp.Navigate(url))
	return p
}

func (p *tab) problem(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, s)
}

// run runs actions with a timeout, failing the test on error.
func (p *tab) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\n%s", p.name, err, p.dump())
	}
}

// eval evaluates a JavaScript expression into a T.
func eval[T any](p *tab, expr string, opts ...chromedp.EvaluateOption) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v\n%s", p.name, expr, err, p.dump())
	}
	return v
}

// waitJS waits until expr is truthy.
func (p *tab) waitJS(what, expr string, timeout time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.t.Fatalf("%s: waiting for %s: %v\n%s", p.name, what, err, p.dump())
	}
}

// dump describes the page for a failure message.
func (p *tab) dump() string {
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		conn: document.querySelector('#conn-state')?.dataset.state,
		room: document.querySelector('#room-name')?.textContent,
		rooms: [...document.querySelectorAll('[data-room]')].map(e => e.dataset.room),
		messages: [...document.querySelectorAll('#messages li.msg')].map(li => li.dataset.seq + ':' + li.querySelector('.text')?.textContent),
		pending: [...document.querySelectorAll('#pending-list li')].map(li => li.textContent),
		side: document.querySelector('#side-status')?.textContent,
		auth: document.querySelector('#auth-error')?.textContent,
	})`))
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("page state: %s\nproblems: %q", state, p.problems)
}

// noProblems fails the test if the page logged errors (CSP violations
// included) or opened a dialog.
func (p *tab) noProblems(allow ...string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
outer:
	for _, s := range p.problems {
		for _, a := range allow {
			if strings.Contains(s, a) {
				continue outer
			}
		}
		p.t.Errorf("%s: %s", p.name, s)
	}
	if len(p.dialogs) > 0 {
		p.t.Errorf("%s: dialogs opened: %q", p.name, p.dialogs)
	}
}

const password = "password-1"

// signUp registers through the form and waits until the app is online.
func (p *tab) signUp(username string) {
	p.t.Helper()
	p.run(
		chromedp.WaitVisible(chromedp.CSS("#login-username")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), username),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS("#app-view")),
	)
	p.waitOnline(10 * time.Second)
}

func (p *tab) waitOnline(timeout time.Duration) {
	p.t.Helper()
	p.waitJS("the connection", `document.querySelector('#conn-state')?.dataset.state === 'online'`, timeout)
}

// roomButton is the sidebar entry of a room.
func roomButton(room string) string { return fmt.Sprintf(`[data-room=%q]`, room) }

// joinRoom joins a room by name through the sidebar form, creating it
// (after the form asks) if it does not exist.
func (p *tab) joinRoom(room string) {
	p.t.Helper()
	p.run(
		chromedp.SendKeys(chromedp.CSS("#join-room-input"), room),
		chromedp.Click(chromedp.CSS("#join-room-submit")),
	)
	p.waitJS("the room, or the question whether to create it", fmt.Sprintf(
		`!!document.querySelector('#room-list ' + %q) || !document.getElementById('join-create').hidden`, roomButton(room)), 10*time.Second)
	if eval[bool](p, `!document.getElementById('join-create').hidden`) {
		p.run(chromedp.Click(chromedp.CSS("#join-create-yes")))
	}
	p.run(chromedp.WaitVisible(chromedp.CSS("#room-list " + roomButton(room))))
	p.openRoom(room)
}

// createPrivateRoom creates an invite-only room through the sidebar form.
func (p *tab) createPrivateRoom(room string) {
	p.t.Helper()
	p.run(
		chromedp.SendKeys(chromedp.CSS("#create-room-name"), room),
		chromedp.Click(chromedp.CSS("#create-room-private")),
		chromedp.Click(chromedp.CSS("#create-room-submit")),
		chromedp.WaitVisible(chromedp.CSS("#room-list "+roomButton(room))),
	)
}

func (p *tab) openRoom(room string) {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(roomButton(room))))
	p.waitJS("room "+room+" to open", fmt.Sprintf(
		`document.querySelector(%q)?.getAttribute('aria-current') === 'page'`, roomButton(room)), 5*time.Second)
}

func (p *tab) send(text string) {
	p.t.Helper()
	p.run(
		chromedp.SendKeys(chromedp.CSS("#composer"), text), // typed, as a person would
		chromedp.Click(chromedp.CSS("#send")),
	)
}

// texts returns the texts of the messages shown, top to bottom.
func (p *tab) texts() []string {
	p.t.Helper()
	return eval[[]string](p, `[...document.querySelectorAll('#messages li.msg')].map(li => li.querySelector('.text')?.textContent ?? '')`)
}

// waitText waits until a message with exactly this text is shown.
func (p *tab) waitText(text string, timeout time.Duration) {
	p.t.Helper()
	p.waitJS("message "+text, fmt.Sprintf(
		`[...document.querySelectorAll('#messages li.msg .text')].some(e => e.textContent.trim() === %q)`, text), timeout)
}

// count returns how many shown messages have this text.
func count(texts []string, text string) int {
	n := 0
	for _, s := range texts {
		if strings.TrimSpace(s) == text {
			n++
		}
	}
	return n
}

func startServer(t *testing.T, dir, addr string) *chatdtest.Server {
	t.Helper()
	return chatdtest.Start(t, chatdtest.Options{DataDir: dir, Addr: addr, Config: server.Config{RateLimit: 0}})
}

// pair starts a browser and a server on dir (a new one if empty), and signs
// up alice and bob, each in a browser context of their own.
func pair(t *testing.T, dir string) (srv *chatdtest.Server, alice, bob *tab) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	srv = startServer(t, dir, "")
	alice, bob = usersOn(t, srv)
	return srv, alice, bob
}

// usersOn starts a browser and signs up alice and bob on srv, each in a
// browser context of their own.
func usersOn(t *testing.T, srv *chatdtest.Server) (alice, bob *tab) {
	t.Helper()
	b := newBrowser(t)
	alice = b.open("alice", srv.URL)
	bob = b.open("bob", srv.URL)
	alice.signUp("alice")
	bob.signUp("bob")
	return alice, bob
}

// stopServer closes srv as a crash or restart would and waits until p
// shows that it is offline; it returns the address to restart on.
func stopServer(srv *chatdtest.Server, p *tab) string {
	p.t.Helper()
	srv.Close()
	p.waitJS("the page to notice", `document.querySelector('#conn-state')?.dataset.state !== 'online'`, 15*time.Second)
	return srv.Addr
}

func TestBrowserTwoUsersChat(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.joinRoom("team")
	bob.joinRoom("team")

	alice.send("hello bob")
	bob.waitText("hello bob", 10*time.Second)
	bob.send("hi alice 👋")
	alice.waitText("hi alice 👋", 10*time.Second)
	bob.waitText("hi alice 👋", 10*time.Second) // acked and shown as sent, not pending
	for _, p := range []*tab{alice, bob} {
		if got := p.texts(); strings.Join(got, "|") != "hello bob|hi alice 👋" {
			t.Errorf("%s sees %q", p.name, got)
		}
	}
	own := eval[bool](alice, `!![...document.querySelectorAll('#messages li.msg')].find(li => li.querySelector('.text').textContent === 'hello bob')?.classList.contains('own')`)
	if !own {
		t.Error("alice's own message is not marked as hers")
	}
	alice.noProblems()
	bob.noProblems()
}

func TestBrowserPrivateRoomInvite(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t, "", "")
	alice := b.open("alice", srv.URL)
	bob := b.open("bob", srv.URL)
	carol := b.open("carol", srv.URL)
	alice.signUp("alice")
	bob.signUp("bob")
	carol.signUp("carol")

	alice.createPrivateRoom("secret")
	alice.openRoom("secret")
	alice.send("for invited eyes only")
	alice.waitText("for invited eyes only", 5*time.Second)
	alice.run(
		chromedp.WaitVisible(chromedp.CSS("#invite-user")),
		chromedp.SendKeys(chromedp.CSS("#invite-user"), "bob"),
		chromedp.Click(chromedp.CSS("#invite-submit")),
	)
	bob.run(chromedp.WaitVisible(chromedp.CSS("#room-list " + roomButton("secret"))))
	bob.openRoom("secret")
	bob.waitText("for invited eyes only", 5*time.Second)

	// carol was not invited: the room is not listed, and asking for it by
	// name answers like a room that does not exist (would she create it?);
	// creating it says it is private.
	carol.run(
		chromedp.SendKeys(chromedp.CSS("#join-room-input"), "secret"),
		chromedp.Click(chromedp.CSS("#join-room-submit")),
		chromedp.WaitVisible(chromedp.CSS("#join-create-yes")),
		chromedp.Click(chromedp.CSS("#join-create-yes")),
	)
	carol.waitJS("an error for the uninvited join", `document.querySelector('#side-status')?.classList.contains('error') && /private/.test(document.querySelector('#side-status').textContent)`, 5*time.Second)
	if eval[bool](carol, fmt.Sprintf(`!!document.querySelector(%q)`, roomButton("secret"))) {
		t.Error("carol's sidebar lists the private room")
	}
	if got := carol.texts(); count(got, "for invited eyes only") != 0 {
		t.Errorf("carol sees %q", got)
	}
	for _, p := range []*tab{alice, bob, carol} {
		p.noProblems()
	}
}

// TestBrowserServerRestart: the server restarts mid-conversation; both pages
// reconnect by themselves with the same session, and what was sent while
// they were away appears once, in order.
func TestBrowserServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv, alice, bob := pair(t, dir)
	alice.send("before the restart")
	bob.waitText("before the restart", 10*time.Second)

	addr := stopServer(srv, alice)
	srv = startServer(t, dir, addr)
	carol := srv.Register(t, "carol")
	var sent []string
	for i := 1; i <= 5; i++ {
		text := fmt.Sprintf("while you were away %d", i)
		if status, body := srv.Do(t, "POST", "/api/rooms/general/messages", carol.Token, map[string]string{"text": text}); status != 201 {
			t.Fatalf("bot post: %d %s", status, body)
		}
		sent = append(sent, text)
	}
	for _, p := range []*tab{alice, bob} {
		p.waitOnline(40 * time.Second)
		p.waitText(sent[len(sent)-1], 10*time.Second)
	}
	bob.send("after the restart")
	alice.waitText("after the restart", 10*time.Second)
	want := append(append([]string{"before the restart"}, sent...), "after the restart")
	for _, p := range []*tab{alice, bob} {
		if got := p.texts(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s sees\n%q\nwant\n%q", p.name, got, want)
		}
	}
	// The pages log failed reconnects while the server was down; nothing else.
	for _, p := range []*tab{alice, bob} {
		p.noProblems("WebSocket connection to", "ERR_CONNECTION_REFUSED", "/api/me")
	}
}

// TestBrowserOfflineOutbox: a message sent while the server is down is kept,
// shown as pending, and delivered once when it is back, also across a reload.
func TestBrowserOfflineOutbox(t *testing.T) {
	dir := t.TempDir()
	srv, alice, bob := pair(t, dir)
	addr := stopServer(srv, alice)
	const text = "typed while the server was down"
	alice.send(text)
	alice.waitJS("the pending message", fmt.Sprintf(
		`[...document.querySelectorAll('#pending-list li')].some(li => li.textContent.includes(%q))`, text), 5*time.Second)

	srv = startServer(t, dir, addr)
	alice.waitOnline(40 * time.Second)
	alice.waitText(text, 10*time.Second)
	alice.waitJS("the outbox to empty", `document.querySelectorAll('#pending-list li').length === 0`, 10*time.Second)
	bob.waitOnline(40 * time.Second)
	bob.waitText(text, 10*time.Second)

	alice.run(chromedp.Reload())
	alice.waitOnline(15 * time.Second)
	alice.waitText(text, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive by now
	for _, p := range []*tab{alice, bob} {
		if n := count(p.texts(), text); n != 1 {
			t.Errorf("%s shows the message %d times: %q", p.name, n, p.texts())
		}
	}
	var h struct{ Messages []struct{ Text string } }
	status, body := srv.Do(t, "GET", "/api/rooms/general/messages", srv.Register(t, "auditor").Token, nil)
	if status != 200 {
		t.Fatalf("history: %d %s", status, body)
	}
	if err := jsonUnmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if stored := len(h.Messages); stored != 1 {
		t.Errorf("the store holds %d messages, want exactly 1", stored)
	}
}

// TestBrowserRendersUserContentAsText: markup in a message is shown as text;
// no dialog opens and no element is injected.
func TestBrowserRendersUserContentAsText(t *testing.T) {
	_, alice, bob := pair(t, "")
	payloads := []string{
		`<img src=x onerror=alert(1)>`,
		`<script>alert(2)</script>`,
		`"><svg onload=alert(3)>`,
	}
	for _, s := range payloads {
		alice.send(s)
	}
	for _, s := range payloads {
		bob.waitText(s, 10*time.Second)
	}
	time.Sleep(300 * time.Millisecond) // an injected onerror would have fired
	for _, p := range []*tab{alice, bob} {
		injected := eval[int](p, `document.querySelectorAll('#messages img, #messages script, #messages svg:not(.icon), #messages [onerror], #messages [onload]').length`)
		if injected != 0 {
			t.Errorf("%s: %d elements injected into the message list", p.name, injected)
		}
		p.noProblems()
	}
}

// TestBrowserScrollLoadsHistory: scrolling up loads older pages until the
// first message, in order, without repeats.
func TestBrowserScrollLoadsHistory(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t, "", "")
	seeder := srv.Register(t, "seeder")
	const total = 130
	for i := 1; i <= total; i++ {
		if status, body := srv.Do(t, "POST", "/api/rooms/general/messages", seeder.Token,
			map[string]string{"text": fmt.Sprintf("msg %03d", i)}); status != 201 {
			t.Fatalf("seed: %d %s", status, body)
		}
	}
	reader := b.open("reader", srv.URL)
	reader.signUp("reader")
	reader.waitText(fmt.Sprintf("msg %03d", total), 10*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := eval[int](reader, `(document.getElementById('scroller').scrollTop = 0, document.querySelectorAll('#messages li.msg').length)`)
		if n >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages after scrolling up for 30 s; scroller %s; %s", n, total,
				eval[string](reader, `JSON.stringify({top: document.getElementById('scroller').scrollTop, h: document.getElementById('scroller').scrollHeight, status: document.querySelector('#history-status')?.textContent})`),
				reader.dump())
		}
		time.Sleep(150 * time.Millisecond)
	}
	got := reader.texts()
	if len(got) != total {
		t.Fatalf("shows %d messages, want %d", len(got), total)
	}
	for i, s := range got {
		if want := fmt.Sprintf("msg %03d", i+1); s != want {
			t.Fatalf("message %d is %q, want %q", i, s, want)
		}
	}
	reader.waitJS("the start-of-room note", `/start/i.test(document.querySelector('#history-status')?.textContent || '')`, 5*time.Second)
	reader.noProblems()
}

// TestBrowserPhoneDarkKeyboard: on a 360 px wide phone in dark mode the app
// fits the screen, Enter sends and Shift+Enter makes a new line, and new
// messages from others are announced to screen readers.
func TestBrowserPhoneDarkKeyboard(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t, "", "")
	p := b.open("alice", srv.URL)
	p.run(phoneDark())
	p.signUp("alice")
	if overflow := eval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); overflow > 0 {
		t.Errorf("the page is %d px wider than a 360 px screen", overflow)
	}
	if !eval[bool](p, `(() => { const r = document.getElementById('composer').getBoundingClientRect();
		return r.width > 200 && r.right <= window.innerWidth && r.bottom <= window.innerHeight })()`) {
		t.Error("the composer is not fully on screen")
	}
	lum := eval[float64](p, `(() => { const m = getComputedStyle(document.body).backgroundColor.match(/\d+(\.\d+)?/g).map(Number);
		return (0.2126*m[0] + 0.7152*m[1] + 0.0722*m[2]) / 255 })()`)
	if lum > 0.3 {
		t.Errorf("background luminance %.2f in dark mode, want a dark background", lum)
	}

	p.run(
		chromedp.Focus(chromedp.CSS("#composer")),
		chromedp.KeyEvent("first line"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.KeyEvent("second line"),
		chromedp.KeyEvent(kb.Enter),
	)
	p.waitText("first line\nsecond line", 10*time.Second)
	if v := eval[string](p, `document.getElementById('composer').value`); v != "" {
		t.Errorf("composer holds %q after Enter sent it", v)
	}

	bot := srv.Register(t, "bot")
	if status, body := srv.Do(t, "POST", "/api/rooms/general/messages", bot.Token, map[string]string{"text": "deploy finished"}); status != 201 {
		t.Fatalf("bot post: %d %s", status, body)
	}
	p.waitText("deploy finished", 10*time.Second)
	p.waitJS("the screen reader announcement", `(() => { const r = document.querySelector('[aria-live]#live-region');
		return !!r && r.textContent.includes('deploy finished') })()`, 5*time.Second)
	p.noProblems()
}

// TestBrowserReadStateAcrossTabs: unread badges and the title count follow
// the user's read marker in every tab.
func TestBrowserReadStateAcrossTabs(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t, "", "")
	tab1 := b.open("alice-1", srv.URL)
	tab1.signUp("alice")
	tab1.joinRoom("team")
	tab1.openRoom("general")
	tab2 := tab1.another("alice-2", srv.URL)
	tab2.waitOnline(15 * time.Second)
	tab2.openRoom("general")

	bob := srv.Dial(t, srv.Register(t, "bob").Token)
	bob.Welcome()
	bob.Ack("join_room", map[string]string{"room": "team"}, nil)
	for i := 1; i <= 3; i++ {
		bob.Ack("send_message", map[string]string{"room": "team", "text": fmt.Sprintf("news %d", i)}, nil)
	}
	for _, p := range []*tab{tab1, tab2} {
		p.waitJS("an unread badge of 3", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '3'`, "#room-list "+roomButton("team")), 10*time.Second)
		p.waitJS("the title count", `document.title.startsWith('(3)')`, 5*time.Second)
	}
	tab1.openRoom("team")
	tab1.waitText("news 3", 5*time.Second)
	for _, p := range []*tab{tab1, tab2} {
		p.waitJS("the badge to clear", fmt.Sprintf(`(document.querySelector(%q)?.dataset.unread || '0') === '0'`, "#room-list "+roomButton("team")), 10*time.Second)
		p.waitJS("the title count to clear", `!document.title.startsWith('(')`, 5*time.Second)
	}
	tab1.noProblems()
	tab2.noProblems()
}

// TestBrowserEditDeleteTypingPresence: own messages are edited and deleted
// from the UI and the other user sees it; typing shows and goes away by
// itself; the other user is listed online.
func TestBrowserEditDeleteTypingPresence(t *testing.T) {
	_, alice, bob := pair(t, "")
	alice.waitJS("bob in the online list", `!!document.querySelector('#online-list [data-user="bob"]')`, 10*time.Second)

	alice.send("tpyo")
	bob.waitText("tpyo", 10*time.Second)
	alice.waitJS("the message to be sent", `!!document.querySelector('#messages li.msg.own[data-seq]')`, 10*time.Second)
	const own = `#messages li.msg.own`
	alice.run(
		chromedp.Click(chromedp.CSS(own+` .msg-edit`)),
		chromedp.WaitVisible(chromedp.CSS(own+` .edit-input`)),
		chromedp.SetValue(chromedp.CSS(own+` .edit-input`), "typo fixed"),
		chromedp.Click(chromedp.CSS(own+` .msg-edit-save`)),
	)
	bob.waitText("typo fixed", 10*time.Second)
	bob.waitJS("the edited mark", `!!document.querySelector('#messages li.msg .edited')`, 5*time.Second)

	alice.run(
		chromedp.Click(chromedp.CSS(own+` .msg-delete`)),
		chromedp.Click(chromedp.CSS(own+` .msg-delete-confirm`)),
	)
	bob.waitJS("the deleted message", `!!document.querySelector('#messages li.msg.deleted')`, 10*time.Second)
	if n := count(bob.texts(), "typo fixed"); n != 0 {
		t.Errorf("bob still sees the deleted text %d times", n)
	}

	bob.run(chromedp.SendKeys(chromedp.CSS("#composer"), "hm"))
	alice.waitJS("the typing notice", `/bob is typing/.test(document.getElementById('typing').textContent)`, 5*time.Second)
	alice.waitJS("the typing notice to go away", `document.getElementById('typing').textContent.trim() === ''`, 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}

// TestBrowserOversizedMessageNeverSent: text within the character limit
// that would make a frame over the server's limit (control characters take
// six bytes once JSON-escaped) is refused in the composer, and one already
// in the outbox (from an older page) is marked failed instead of being
// resent forever; the messages after it still go out.
func TestBrowserOversizedMessageNeverSent(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t, "", "")
	p := b.open("alice", srv.URL)
	p.signUp("alice")
	p.run(
		chromedp.Evaluate[chromedp.Void](`document.getElementById('composer').value = '\u0001'.repeat(3000)`),
		chromedp.Click(chromedp.CSS("#send")),
	)
	p.waitJS("the composer error", `/too large/i.test(document.getElementById('composer-error').textContent)`, 5*time.Second)

	// An oversized entry left in the outbox, then a normal one.
	id := eval[string](p, `fetch('/api/me').then(r => r.json()).then(b => b.user.id)`, chromedp.EvalAwaitPromise)
	p.run(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('chatd.outbox.%s', JSON.stringify([
		{clientMsgId: 'poison', room: 'general', text: '\u0001'.repeat(3000), createdAt: 1, state: 'pending'},
		{clientMsgId: 'after-poison', room: 'general', text: 'after the poison', createdAt: 2, state: 'pending'}]))`, id)),
		chromedp.Reload())
	p.waitOnline(15 * time.Second)
	p.waitText("after the poison", 10*time.Second)
	p.waitJS("the failed entry", `!!document.querySelector('#pending-list li.failed')`, 5*time.Second)
	if state := eval[string](p, `document.querySelector('#conn-state').dataset.state`); state != "online" {
		t.Errorf("connection state %q, want online", state)
	}
	p.noProblems()
}

// TestBrowserLongRoomNames: a 60-character room name is cut with an
// ellipsis and its unread badge stays on screen; the sidebar never
// scrolls sideways; the message history can take keyboard focus.
func TestBrowserLongRoomNames(t *testing.T) {
	b := newBrowser(t)
	srv := startServer(t, "", "")
	p := b.open("alice", srv.URL)
	p.signUp("alice")
	long := strings.Repeat("engineering-", 5)[:60]
	p.joinRoom(long)
	p.openRoom("general")
	bot := srv.Dial(t, srv.Register(t, "bot").Token)
	bot.Welcome()
	bot.Ack("join_room", map[string]string{"room": long}, nil)
	bot.Ack("send_message", map[string]string{"room": long, "text": "alert"}, nil)
	sel := "#room-list " + roomButton(long)
	p.waitJS("the unread badge", fmt.Sprintf(`document.querySelector(%q)?.dataset.unread === '1'`, sel), 10*time.Second)
	if !eval[bool](p, fmt.Sprintf(`(() => {
		const side = document.getElementById('sidebar').getBoundingClientRect();
		const badge = document.querySelector(%q + ' .badge').getBoundingClientRect();
		return badge.width > 0 && badge.left >= side.left && badge.right <= side.right })()`, sel)) {
		t.Error("the unread badge of a long-named room is outside the sidebar")
	}
	if off := eval[int](p, `(() => { const s = document.querySelector('.sidebar-scroll'); return s.scrollWidth - s.clientWidth })()`); off > 0 {
		t.Errorf("the sidebar is %d px wider than its box", off)
	}
	if ti := eval[int](p, `document.getElementById('scroller').tabIndex`); ti != 0 {
		t.Errorf("message history tabIndex = %d, want 0 (reachable by keyboard)", ti)
	}
	p.noProblems()
}
