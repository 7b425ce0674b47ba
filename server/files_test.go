package server_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// testPNG is a w×h PNG of a gradient.
func testPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a valid PNG header that declares a w×h image: what a
// decompression bomb looks like to image.DecodeConfig.
func bombPNG(tb testing.TB, w, h uint32) []byte {
	b := testPNG(tb, 1, 1)
	// The IHDR chunk: length (8..12), "IHDR" (12..16), width, height, ...,
	// and its CRC over type and data (29..33).
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// upload posts content as a file named name to room with token, the
// length given (as a browser does) unless chunked.
func upload(tb testing.TB, srv *chatdtest.Server, token, room, name string, content []byte, chunked bool) (int, []byte) {
	tb.Helper()
	var body io.Reader = bytes.NewReader(content)
	if chunked {
		body = io.MultiReader(body) // hides the length: sent chunked
	}
	req, err := http.NewRequest("POST", srv.URL+"/api/rooms/"+room+"/files?name="+url.QueryEscape(name), body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/plain") // what the client says counts for nothing
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("upload %s: %v", name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func uploaded(tb testing.TB, srv *chatdtest.Server, token, room, name string, content []byte) chat.Attachment {
	tb.Helper()
	status, body := upload(tb, srv, token, room, name, content, false)
	if status != http.StatusCreated {
		tb.Fatalf("upload %s: status %d: %s", name, status, body)
	}
	var ack protocol.FileAck
	if err := json.Unmarshal(body, &ack); err != nil {
		tb.Fatal(err)
	}
	return ack.File
}

// fetch GETs path with token and returns the response, body read.
func fetch(tb testing.TB, srv *chatdtest.Server, token, path string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func checkHeader(tb testing.TB, what string, resp *http.Response, name, want string) {
	tb.Helper()
	if got := resp.Header.Get(name); got != want {
		tb.Errorf("%s: %s = %q, want %q", what, name, got, want)
	}
}

func TestFileUploadSendAndServe(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice, bob := srv.Register(t, "alice"), srv.Register(t, "bob")
	ca, cb := srv.Dial(t, alice.Token), srv.Dial(t, bob.Token)
	ca.Welcome()
	if w := cb.Welcome(); w.Limits.MaxUploadBytes != chat.DefaultMaxUploadBytes {
		t.Errorf("welcome: max_upload_bytes %d, want %d", w.Limits.MaxUploadBytes, chat.DefaultMaxUploadBytes)
	}

	pic := testPNG(t, 800, 400)
	img := uploaded(t, srv, alice.Token, "general", "../holiday \"pic\".png", pic)
	if img.Type != "image/png" || img.Width != 800 || img.Height != 400 || img.Size != int64(len(pic)) || img.Thumb == "" {
		t.Errorf("image upload: got %+v", img)
	}
	if img.Name != ".._holiday _pic_.png" {
		t.Errorf("image upload: name %q, want %q: no path, no quote", img.Name, ".._holiday _pic_.png")
	}
	page := uploaded(t, srv, alice.Token, "general", "page.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"))
	if page.Type != "text/html; charset=utf-8" || page.Width != 0 || page.Thumb != "" {
		t.Errorf("HTML named .png: got %+v, want text/html, no image", page)
	}

	// Unattached, the file is alice's alone.
	if resp, _ := fetch(t, srv, bob.Token, img.URL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob fetches an unsent upload: status %d, want 404", resp.StatusCode)
	}

	var ack protocol.MessageAck
	ca.Ack("send_message", map[string]any{"room": "general", "text": "", "attachments": []string{img.ID, page.ID}}, &ack)
	if len(ack.Message.Attachments) != 2 || ack.Message.Attachments[0] != img || ack.Message.Attachments[1] != page {
		t.Fatalf("ack: attachments %+v, want %+v", ack.Message.Attachments, []chat.Attachment{img, page})
	}
	got := messageOf(t, cb.Expect("new_message", nil))
	if len(got.Attachments) != 2 || got.Attachments[0] != img {
		t.Errorf("bob's new_message: attachments %+v", got.Attachments)
	}
	var hist protocol.HistoryAck
	cb.Ack("history", map[string]any{"room": "general"}, &hist)
	if n := len(hist.Messages); n == 0 || len(hist.Messages[n-1].Attachments) != 2 {
		t.Errorf("history: %+v", hist.Messages)
	}

	resp, body := fetch(t, srv, bob.Token, img.URL)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pic) {
		t.Fatalf("bob fetches the image: status %d, %d bytes", resp.StatusCode, len(body))
	}
	checkHeader(t, "image", resp, "Content-Type", "image/png")
	checkHeader(t, "image", resp, "X-Content-Type-Options", "nosniff")
	checkHeader(t, "image", resp, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	checkHeader(t, "image", resp, "Cache-Control", "private, no-cache")
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline;") {
		t.Errorf("image: Content-Disposition %q, want inline", cd)
	}

	resp, body = fetch(t, srv, bob.Token, img.Thumb)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("thumbnail: status %d", resp.StatusCode)
	}
	checkHeader(t, "thumbnail", resp, "Content-Type", "image/png")
	th, err := png.DecodeConfig(bytes.NewReader(body))
	if err != nil || th.Width != 320 || th.Height != 160 {
		t.Errorf("thumbnail: %dx%d, %v; want 320x160", th.Width, th.Height, err)
	}

	resp, _ = fetch(t, srv, bob.Token, page.URL)
	checkHeader(t, "HTML file", resp, "Content-Type", "text/html; charset=utf-8")
	checkHeader(t, "HTML file", resp, "Content-Disposition", `attachment; filename=page.png`)
	checkHeader(t, "HTML file", resp, "X-Content-Type-Options", "nosniff")
	if resp, _ := fetch(t, srv, bob.Token, chat.ThumbURL(page.ID)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("thumbnail of a non-image: status %d, want 404", resp.StatusCode)
	}

	// Conditional requests: the ETag makes a revalidation a 304.
	req, _ := http.NewRequest("GET", srv.URL+img.URL, nil)
	req.Header.Set("Authorization", "Bearer "+bob.Token)
	req.Header.Set("If-None-Match", `"`+img.ID+`"`)
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %v %v, want 304", r2.StatusCode, err)
	} else {
		r2.Body.Close()
	}

	// Deleting the message deletes its files.
	ca.Ack("delete_message", map[string]any{"room": "general", "seq": ack.Message.Seq}, nil)
	if resp, _ := fetch(t, srv, alice.Token, img.URL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the author fetches a deleted message's file: status %d, want 404", resp.StatusCode)
	}
}

func TestFileOnlyForMembers(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice, bob, carol := srv.Register(t, "alice"), srv.Register(t, "bob"), srv.Register(t, "carol")
	ca := srv.Dial(t, alice.Token)
	ca.Ack("create_room", map[string]any{"room": "secret", "private": true}, nil)
	ca.Ack("invite", map[string]any{"room": "secret", "user": "bob"}, nil)
	f := uploaded(t, srv, alice.Token, "secret", "plan.txt", []byte("the plan"))
	ca.Ack("send_message", map[string]any{"room": "secret", "text": "see", "attachments": []string{f.ID}}, nil)

	if resp, body := fetch(t, srv, bob.Token, f.URL); resp.StatusCode != http.StatusOK || string(body) != "the plan" {
		t.Errorf("member: status %d %q", resp.StatusCode, body)
	}
	respOther, bodyOther := fetch(t, srv, carol.Token, f.URL)
	respMissing, bodyMissing := fetch(t, srv, carol.Token, chat.FileURL(chat.NewID("f_"), "plan.txt"))
	if respOther.StatusCode != http.StatusNotFound || respMissing.StatusCode != http.StatusNotFound ||
		!bytes.Equal(bodyOther, bodyMissing) {
		t.Errorf("non-member: %d %s; missing file: %d %s; want the same 404", respOther.StatusCode, bodyOther,
			respMissing.StatusCode, bodyMissing)
	}
	if resp, _ := fetch(t, srv, "", f.URL); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: status %d, want 401", resp.StatusCode)
	}
	// carol can neither upload to the room nor attach alice's upload.
	if status, body := upload(t, srv, carol.Token, "secret", "x.txt", []byte("x"), false); status != http.StatusNotFound {
		t.Errorf("upload to a private room one is not in: %d %s, want 404", status, body)
	}
	other := uploaded(t, srv, alice.Token, "general", "a.txt", []byte("a"))
	cc := srv.Dial(t, carol.Token)
	if code := cc.ErrorCode("send_message", map[string]any{"room": "general", "text": "mine", "attachments": []string{other.ID}}); code != "bad_request" {
		t.Errorf("attach another's upload: %s, want bad_request", code)
	}
	// A cookie from a foreign page may not upload.
	req, _ := http.NewRequest("POST", srv.URL+"/api/rooms/general/files?name=x", strings.NewReader("x"))
	req.Header.Set("Cookie", server.SessionCookie+"="+alice.Token)
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cookie upload from a foreign origin: %v %v, want 403", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func TestFileUploadLimits(t *testing.T) {
	const limit = 4096
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{MaxUploadBytes: limit}})
	alice := srv.Register(t, "alice")
	exact := bytes.Repeat([]byte("a"), limit)
	uploaded(t, srv, alice.Token, "general", "exact.txt", exact)
	for _, chunked := range []bool{false, true} {
		status, body := upload(t, srv, alice.Token, "general", "big.txt", append(exact, 'b'), chunked)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(body, &e)
		if status != http.StatusRequestEntityTooLarge || e.Error.Code != "too_large" || !strings.Contains(e.Error.Message, "4096") {
			t.Errorf("one byte too many (chunked %v): %d %s, want 413 too_large naming the limit", chunked, status, body)
		}
	}
	if status, body := upload(t, srv, alice.Token, "general", "empty.txt", nil, false); status != http.StatusBadRequest {
		t.Errorf("empty file: %d %s, want 400", status, body)
	}

	big := chatdtest.Start(t, chatdtest.Options{})
	bob := big.Register(t, "bob")
	bomb := uploaded(t, big, bob.Token, "general", "bomb.png", bombPNG(t, 100_000, 100_000))
	if bomb.Type != "image/png" || bomb.Width != 0 || bomb.Thumb != "" {
		t.Errorf("a PNG declaring 100000x100000: got %+v, want a plain file, not decoded", bomb)
	}
}

// TestClusterFile: a file posted on one node is served on another, and
// its message reaches the other node with its attachments.
func TestClusterFile(t *testing.T) {
	nodes := startNodes(t, "routes", 2)
	a, b := nodes[0], nodes[1]
	alice, bob := a.Register(t, "alice"), b.Register(t, "bob")
	ca, cb := a.Dial(t, alice.Token), b.Dial(t, bob.Token)
	ca.Welcome()
	cb.Welcome()
	pic := testPNG(t, 64, 48)
	f := uploaded(t, a, alice.Token, "general", "dot.png", pic)
	ca.Ack("send_message", map[string]any{"room": "general", "attachments": []string{f.ID}}, nil)
	m := messageOf(t, cb.ExpectWithin("new_message", nil, 5*time.Second))
	if len(m.Attachments) != 1 || m.Attachments[0] != f {
		t.Fatalf("new_message on the other node: attachments %+v, want %+v", m.Attachments, f)
	}
	resp, body := fetch(t, b, bob.Token, f.URL)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pic) {
		t.Errorf("the other node serves the file: status %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, _ := fetch(t, b, bob.Token, f.Thumb); resp.StatusCode != http.StatusOK {
		t.Errorf("the other node serves the thumbnail: status %d", resp.StatusCode)
	}
}
