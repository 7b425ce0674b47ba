package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/server"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Files (issue 9) in the browser: an image one user sends shows inline
// for the other; an HTML file is a download, never a page; a file over the
// limit is refused with a clear error before it is sent.

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 3), 90, uint8(y * 3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeTemp writes content to a file named name in a new directory.
func writeTemp(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// attach picks a file with the attach button's file input, as the file
// chooser would, and waits until the tray shows it ready.
func (p *tab) attach(path string) {
	p.t.Helper()
	p.run(chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}, chromedp.NodeReady))
}

func (p *tab) waitUploaded(name string) {
	p.t.Helper()
	p.waitJS("the upload of "+name, fmt.Sprintf(
		`[...document.querySelectorAll('#upload-tray li.upload')].some(li => li.dataset.status === 'done' && li.querySelector('.upload-name').textContent === %q)`,
		name), 10*time.Second)
}

// sendImage attaches pic as a file named name and sends it with text.
func (p *tab) sendImage(pic []byte, name, text string) {
	p.t.Helper()
	p.attach(writeTemp(p.t, name, pic))
	p.waitUploaded(name)
	p.send(text)
	p.waitJS("the tray to empty", `document.getElementById('upload-tray').hidden`, 5*time.Second)
}

// waitThumbnail waits until the message with this text shows an image
// inline, loaded, width pixels wide.
func (p *tab) waitThumbnail(text string, width int) {
	p.t.Helper()
	p.waitJS("the thumbnail to load", fmt.Sprintf(`(() => { const i = (%s)?.querySelector('.attachments a.att-image img'); return !!i && i.complete && i.naturalWidth === %d; })()`,
		msgWith(text), width), 10*time.Second)
}

func TestBrowserFileImageShowsInline(t *testing.T) {
	_, alice, bob := pair(t, "")
	// Picked with the attach button.
	alice.sendImage(pngBytes(t, 64, 40), "sunset.png", "look")
	bob.waitText("look", 10*time.Second)
	bob.waitThumbnail("look", 64)
	href := eval[string](bob, `document.querySelector('#messages .att-image').getAttribute('href')`)
	if !strings.HasPrefix(href, "/files/f_") || !strings.HasSuffix(href, "/sunset.png") ||
		eval[string](bob, `document.querySelector('#messages .att-image').target`) != "_blank" {
		t.Errorf("the thumbnail links to %q, want the full image in a new tab", href)
	}
	// What the link opens: the image itself, inline.
	got := eval[string](bob, fmt.Sprintf(`fetch(%q).then(r => [r.status, r.headers.get('content-type'), r.headers.get('content-disposition').split(';')[0]].join(' '))`, href),
		chromedp.EvalAsValue, chromedp.EvalAwaitPromise)
	if got != "200 image/png inline" {
		t.Errorf("the full image answers %q, want 200 image/png inline", got)
	}

	// Pasted into the composer, and dropped on the messages, with no text.
	b64 := base64.StdEncoding.EncodeToString(pngBytes(t, 30, 30))
	alice.run(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const bytes = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], 'pasted.png', {type: 'image/png'}));
		document.getElementById('composer').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
		const drop = new DataTransfer();
		drop.items.add(new File(['just notes'], 'notes.txt', {type: 'text/plain'}));
		const sc = document.getElementById('scroller');
		sc.dispatchEvent(new DragEvent('dragenter', {dataTransfer: drop, bubbles: true, cancelable: true}));
		sc.dispatchEvent(new DragEvent('drop', {dataTransfer: drop, bubbles: true, cancelable: true}));
	})()`, b64)))
	alice.waitUploaded("pasted.png")
	alice.waitUploaded("notes.txt")
	alice.run(chromedp.Click(chromedp.CSS("#send")))
	bob.waitJS("the pasted image and the dropped file", `(() => {
		const last = [...document.querySelectorAll('#messages li.msg')].pop();
		const i = last && last.querySelector('.att-image img');
		const f = last && last.querySelector('.att-file');
		return !!i && i.complete && i.naturalWidth === 30 && !!f && f.querySelector('.att-name').textContent === 'notes.txt' &&
			f.querySelector('.att-size').textContent === '10 B';
	})()`, 10*time.Second)
	alice.noProblems()
	bob.noProblems()
}

func TestBrowserFileHTMLIsDownloadedNeverRendered(t *testing.T) {
	srv, alice, bob := pair(t, "")
	// Were it run as a page of chatd's origin, it would post as its viewer.
	evil := `<!DOCTYPE html><html><body><h1>hi</h1><script>
		fetch('/api/rooms/general/messages', {method: 'POST', headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({text: 'pwned'})});
		document.title = 'pwned';
	</script></body></html>`
	alice.attach(writeTemp(t, "invite.html", []byte(evil)))
	alice.waitUploaded("invite.html")
	alice.send("party details")

	link := `#messages li.msg .att-file`
	bob.waitText("party details", 10*time.Second)
	bob.waitJS("the download link", fmt.Sprintf(`!!document.querySelector(%q)`, link), 5*time.Second)
	if img := eval[int](bob, `document.querySelectorAll('#messages .att-image').length`); img != 0 {
		t.Errorf("an HTML file shows as an image (%d)", img)
	}
	href := eval[string](bob, fmt.Sprintf(`document.querySelector(%q).getAttribute('href')`, link))
	if dl := eval[string](bob, fmt.Sprintf(`document.querySelector(%q).getAttribute('download')`, link)); dl != "invite.html" {
		t.Errorf("the link's download name is %q, want invite.html", dl)
	}
	headers := eval[map[string]string](bob, fmt.Sprintf(`fetch(%q).then(r => Object.fromEntries(r.headers.entries()))`, href),
		chromedp.EvalAsValue, chromedp.EvalAwaitPromise)
	for name, want := range map[string]string{
		"content-disposition":     "attachment; filename=invite.html",
		"x-content-type-options":  "nosniff",
		"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
	} {
		if headers[name] != want {
			t.Errorf("the file's %s is %q, want %q", name, headers[name], want)
		}
	}

	// Opening it (a new tab of bob's, as a click with a modifier would):
	// the browser downloads it (here: refuses to), and nothing runs.
	viewer := bob.another("bob viewer", "about:blank")
	viewer.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny})
		return err
	}))
	ctx, cancel := context.WithTimeout(viewer.ctx, 10*time.Second)
	chromedp.Do(ctx, chromedp.Navigate(srv.URL+href)) // a download aborts the navigation: no error to check
	cancel()
	time.Sleep(time.Second) // the script's post would be stored by now
	if title := eval[string](viewer, `document.title`); title == "pwned" {
		t.Error("the HTML file ran as a page")
	}
	u, err := srv.Store.UserByName(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := srv.Store.History(t.Context(), u.ID, chat.General, chat.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Text == "pwned" {
			t.Errorf("the HTML file's script posted as %s", m.From.Username)
		}
	}
	alice.noProblems()
	bob.noProblems()
}

func TestBrowserFileTooLarge(t *testing.T) {
	b := newBrowser(t)
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0, MaxUploadBytes: 2048}})
	alice := b.open("alice", srv.URL)
	alice.signUp("alice")
	alice.attach(writeTemp(t, "big.bin", bytes.Repeat([]byte{7}, 5000)))
	alice.waitJS("the refusal", `[...document.querySelectorAll('#upload-tray li.upload')].some(li => li.dataset.status === 'failed')`, 5*time.Second)
	if msg := eval[string](alice, `document.querySelector('#upload-tray .upload-error').textContent`); msg != "Too large: 4.9 KB; files can be at most 2 KB." {
		t.Errorf("the tray says %q", msg)
	}
	// Nothing was sent: the message waits, and goes without the file.
	alice.run(chromedp.Click(chromedp.CSS("#send")))
	if n := eval[int](alice, `document.querySelectorAll('#messages li.msg, #pending-list li').length`); n != 0 {
		t.Errorf("%d messages after sending with only a refused file", n)
	}
	alice.run(chromedp.Click(chromedp.CSS("#upload-tray .upload-remove")))
	alice.waitJS("the tray to empty", `document.getElementById('upload-tray').hidden`, 5*time.Second)
	alice.noProblems()
}
