package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
)

// The HTTP API of PROTOCOL §1 against a real server over loopback.

// call sends an HTTP request with a JSON body (raw if it is a string or
// []byte) and header pairs ("Origin", "https://x", ...), and returns the
// response with its body read.
func call(tb testing.TB, srv *chatdtest.Server, method, path string, body any, header ...string) (*http.Response, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, data
}

// wantError checks an error answer: the status and
// {"error":{"code","message"}} with the code and a message.
func wantError(tb testing.TB, what string, resp *http.Response, body []byte, status int, code string) {
	tb.Helper()
	if resp.StatusCode != status {
		tb.Errorf("%s: status %d %s, want %d", what, resp.StatusCode, body, status)
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
		tb.Errorf("%s: body %s, want {\"error\":{\"code\",\"message\"}}", what, body)
		return
	}
	if e.Error.Code != code || e.Error.Message == "" {
		tb.Errorf("%s: error %+v, want code %q and a message", what, *e.Error, code)
	}
}

type authBody struct {
	User  chat.User `json:"user"`
	Token string    `json:"token"`
}

func decodeJSON(tb testing.TB, what string, body []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("%s: body %s: %v", what, body, err)
	}
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie {
			return c
		}
	}
	return nil
}

func creds(username, password string) map[string]string {
	return map[string]string{"username": username, "password": password}
}

func TestRegister(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})

	resp, body := call(t, srv, "POST", "/api/register", creds("alice", "password-1"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: status %d %s, want 201", resp.StatusCode, body)
	}
	var got authBody
	decodeJSON(t, "register", body, &got)
	if got.User.Username != "alice" || !strings.HasPrefix(got.User.ID, "u_") {
		t.Errorf("register: user %+v, want username alice and an id u_...", got.User)
	}
	if len(got.Token) < 22 { // 128 bits in base64
		t.Errorf("register: token %q is shorter than 128 bits", got.Token)
	}
	c := sessionCookie(resp)
	switch {
	case c == nil:
		t.Errorf("register: no %s cookie in %q", server.SessionCookie, resp.Header.Values("Set-Cookie"))
	case c.Value != got.Token || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/":
		t.Errorf("register: cookie %q, want the token, HttpOnly, SameSite=Lax, Path=/", resp.Header.Get("Set-Cookie"))
	}
	if status, body := srv.Do(t, "GET", "/api/me", got.Token, nil); status != http.StatusOK {
		t.Errorf("GET /api/me with the new token: status %d %s, want 200", status, body)
	}

	for _, name := range []string{"alice", "Alice", "ALICE"} {
		resp, body := call(t, srv, "POST", "/api/register", creds(name, "password-2"))
		wantError(t, "register "+name+" again", resp, body, http.StatusConflict, "conflict")
	}

	invalid := []struct {
		name string
		body any
	}{
		{"short username", creds("al", "password-1")},
		{"long username", creds(strings.Repeat("a", 33), "password-1")},
		{"space in username", creds("al ice", "password-1")},
		{"slash in username", creds("al/ice", "password-1")},
		{"non-ASCII username", creds("alïce", "password-1")},
		{"empty username", creds("", "password-1")},
		{"short password", creds("bobby", "1234567")},
		{"long password", creds("bobby", strings.Repeat("p", 257))},
		{"not JSON", "username=bobby&password=password-1"},
		{"no body", ""},
	}
	for _, tt := range invalid {
		resp, body := call(t, srv, "POST", "/api/register", tt.body)
		wantError(t, "register with "+tt.name, resp, body, http.StatusBadRequest, "bad_request")
	}
	// The limits themselves are legal.
	for _, c := range []map[string]string{
		creds("abc", "12345678"),
		creds(strings.Repeat("z", 32), strings.Repeat("p", 256)),
		creds("A.b-c_9", "password-1"),
	} {
		if resp, body := call(t, srv, "POST", "/api/register", c); resp.StatusCode != http.StatusCreated {
			t.Errorf("register %q with a %d-byte password: status %d %s, want 201", c["username"], len(c["password"]), resp.StatusCode, body)
		}
	}
}

func TestLogin(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")

	resp, body := call(t, srv, "POST", "/api/login", creds("alice", "password-1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: status %d %s, want 200", resp.StatusCode, body)
	}
	var got authBody
	decodeJSON(t, "login", body, &got)
	if got.User != alice.User {
		t.Errorf("login: user %+v, want %+v", got.User, alice.User)
	}
	if got.Token == "" || got.Token == alice.Token {
		t.Errorf("login: token %q, want a new session", got.Token)
	}
	if c := sessionCookie(resp); c == nil || c.Value != got.Token || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("login: Set-Cookie %q, want the token, HttpOnly, SameSite=Lax", resp.Header.Values("Set-Cookie"))
	}

	// Usernames match regardless of case, as registration does.
	if resp, body := call(t, srv, "POST", "/api/login", creds("ALICE", "password-1")); resp.StatusCode != http.StatusOK {
		t.Errorf("login as ALICE: status %d %s, want 200", resp.StatusCode, body)
	}

	wrongResp, wrong := call(t, srv, "POST", "/api/login", creds("alice", "password-2"))
	wantError(t, "wrong password", wrongResp, wrong, http.StatusUnauthorized, "unauthorized")
	unknownResp, unknown := call(t, srv, "POST", "/api/login", creds("nobody", "password-1"))
	wantError(t, "unknown user", unknownResp, unknown, http.StatusUnauthorized, "unauthorized")
	if !bytes.Equal(wrong, unknown) {
		t.Errorf("bodies differ: wrong password %s, unknown user %s; want them identical", wrong, unknown)
	}
	if c := sessionCookie(wrongResp); c != nil {
		t.Errorf("failed login set a session cookie %q", c.Value)
	}
}

func TestLoginThrottling(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	srv.Register(t, "victim")
	srv.Register(t, "other")
	srv.Register(t, "third")

	start := time.Now()
	// Five failures for one account, then 429, even with the right password.
	for i := 1; i <= 5; i++ {
		resp, body := call(t, srv, "POST", "/api/login", creds("victim", fmt.Sprintf("guess-%03d", i)))
		wantError(t, fmt.Sprintf("failure %d", i), resp, body, http.StatusUnauthorized, "unauthorized")
	}
	resp, body := call(t, srv, "POST", "/api/login", creds("victim", "guess-006"))
	wantError(t, "6th failure for one account", resp, body, http.StatusTooManyRequests, "rate_limited")
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	resp, body = call(t, srv, "POST", "/api/login", creds("Victim", "password-1"))
	wantError(t, "right password for a throttled account", resp, body, http.StatusTooManyRequests, "rate_limited")

	// Another account from the same address still logs in, and successes
	// cost nothing.
	for range 3 {
		if resp, body := call(t, srv, "POST", "/api/login", creds("other", "password-1")); resp.StatusCode != http.StatusOK {
			t.Fatalf("login as another account from the same client: status %d %s, want 200", resp.StatusCode, body)
		}
	}

	// Failures for many accounts spend the address's budget of 20 (one
	// more comes back every 3 s): then the address is refused for any
	// account. Malformed usernames fail without hashing, which is quick.
	failures := 5
	for i := 1; ; i++ {
		resp, body := call(t, srv, "POST", "/api/login", creds(fmt.Sprintf("no such user %d", i), "password-1"))
		if resp.StatusCode == http.StatusTooManyRequests {
			wantError(t, "address throttled", resp, body, http.StatusTooManyRequests, "rate_limited")
			break
		}
		wantError(t, fmt.Sprintf("address failure %d", failures+1), resp, body, http.StatusUnauthorized, "unauthorized")
		failures++
		if max := 20 + int(time.Since(start)/(3*time.Second)) + 1; failures > max {
			t.Fatalf("%d failed logins from one address within %v and still no 429", failures, time.Since(start))
		}
	}
	if failures < 20 {
		t.Errorf("the address was refused after %d failures, want 20", failures)
	}
	resp, body = call(t, srv, "POST", "/api/login", creds("third", "password-1"))
	wantError(t, "login of another account once the address is throttled", resp, body, http.StatusTooManyRequests, "rate_limited")

	// Registration is not throttled.
	if resp, body := call(t, srv, "POST", "/api/register", creds("fourth", "password-1")); resp.StatusCode != http.StatusCreated {
		t.Errorf("register after the address's failures: status %d %s, want 201", resp.StatusCode, body)
	}
}

func TestLogout(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	resp, body := call(t, srv, "POST", "/api/login", creds("alice", "password-1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: status %d %s", resp.StatusCode, body)
	}
	var second authBody
	decodeJSON(t, "login", body, &second)

	ws1 := srv.Dial(t, alice.Token)
	ws1.Welcome()
	ws2 := srv.Dial(t, second.Token)
	ws2.Welcome()

	resp, body = call(t, srv, "POST", "/api/logout", nil, "Authorization", "Bearer "+alice.Token)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: status %d %s, want 204", resp.StatusCode, body)
	}
	if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 && c.Value != "" {
		t.Errorf("logout: Set-Cookie %q, want the session cookie cleared", resp.Header.Values("Set-Cookie"))
	}

	resp, body = call(t, srv, "GET", "/api/me", nil, "Authorization", "Bearer "+alice.Token)
	wantError(t, "GET /api/me after logout", resp, body, http.StatusUnauthorized, "unauthorized")
	resp, body = call(t, srv, "POST", "/api/logout", nil, "Authorization", "Bearer "+alice.Token)
	wantError(t, "logout again", resp, body, http.StatusUnauthorized, "unauthorized")
	if _, err := srv.TryDial(t, alice.Token, nil); err == nil {
		t.Errorf("WebSocket with a revoked token opened, want 401")
	}

	// That session's socket closes; the other session is untouched.
	code, text := ws1.WaitClosed(5 * time.Second)
	t.Logf("the logged-out session's socket closed with %d %q", code, text)
	if status, body := srv.Do(t, "GET", "/api/me", second.Token, nil); status != http.StatusOK {
		t.Errorf("GET /api/me with the other session: status %d %s, want 200", status, body)
	}
	ws2.Ack(protocol.TypeListRooms, struct{}{}, nil)
}

func TestMe(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	want := fmt.Sprintf(`{"user":{"id":%q,"username":"alice"}}`, alice.User.ID)

	for _, tt := range []struct {
		name   string
		header []string
	}{
		{"Bearer", []string{"Authorization", "Bearer " + alice.Token}},
		{"lower-case bearer", []string{"Authorization", "bearer " + alice.Token}},
		{"cookie", []string{"Cookie", server.SessionCookie + "=" + alice.Token}},
		{"cookie from a foreign origin", []string{"Cookie", server.SessionCookie + "=" + alice.Token, "Origin", "https://evil.example"}},
	} {
		resp, body := call(t, srv, "GET", "/api/me", nil, tt.header...)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != want {
			t.Errorf("GET /api/me with %s: %d %s, want 200 %s", tt.name, resp.StatusCode, body, want)
		}
	}
	for _, tt := range []struct {
		name   string
		header []string
	}{
		{"nothing", nil},
		{"a wrong token", []string{"Authorization", "Bearer " + strings.Repeat("A", 43)}},
		{"a wrong cookie", []string{"Cookie", server.SessionCookie + "=nope"}},
		{"Basic auth", []string{"Authorization", "Basic YWxpY2U6cGFzc3dvcmQtMQ=="}},
		{"an empty Bearer", []string{"Authorization", "Bearer "}},
	} {
		resp, body := call(t, srv, "GET", "/api/me", nil, tt.header...)
		wantError(t, "GET /api/me with "+tt.name, resp, body, http.StatusUnauthorized, "unauthorized")
	}
}

func TestRoomsAndHistoryAPI(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	bob := srv.Register(t, "bob")
	b := srv.Dial(t, bob.Token)
	b.Welcome()
	b.Ack(protocol.TypeCreateRoom, protocol.CreateRoom{Room: "lobby"}, nil)
	b.Ack(protocol.TypeCreateRoom, protocol.CreateRoom{Room: "secret", Private: true}, nil)

	// GET /api/rooms: alice's rooms, then public rooms she could join.
	status, body := srv.Do(t, "GET", "/api/rooms", alice.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/rooms: status %d %s", status, body)
	}
	var rooms protocol.RoomsAck
	decodeJSON(t, "GET /api/rooms", body, &rooms)
	byName := map[string]chat.Room{}
	for _, r := range rooms.Rooms {
		byName[r.Name] = r
	}
	if r, ok := byName["general"]; !ok || !r.Joined {
		t.Errorf("GET /api/rooms: general = %+v (listed %v), want joined", r, ok)
	}
	if r, ok := byName["lobby"]; !ok || r.Joined || r.Private {
		t.Errorf("GET /api/rooms: lobby = %+v (listed %v), want a public room not joined", r, ok)
	}
	if _, ok := byName["secret"]; ok {
		t.Errorf("GET /api/rooms lists bob's private room to alice: %s", body)
	}
	resp, body := call(t, srv, "GET", "/api/rooms", nil)
	wantError(t, "GET /api/rooms without a session", resp, body, http.StatusUnauthorized, "unauthorized")

	// History paging, ascending, with has_more.
	for i := 1; i <= 7; i++ {
		status, body := srv.Do(t, "POST", "/api/rooms/general/messages", alice.Token, map[string]string{"text": fmt.Sprintf("m%d", i)})
		if status != http.StatusCreated {
			t.Fatalf("post m%d: status %d %s", i, status, body)
		}
	}
	pages := []struct {
		query   string
		seqs    []int64
		hasMore bool
	}{
		{"", []int64{1, 2, 3, 4, 5, 6, 7}, false},
		{"?limit=3", []int64{5, 6, 7}, true},
		{"?before_seq=5&limit=3", []int64{2, 3, 4}, true},
		{"?before_seq=2&limit=3", []int64{1}, false},
		{"?before_seq=1", []int64{}, false},
		{"?after_seq=4&limit=2", []int64{5, 6}, true},
		{"?after_seq=5", []int64{6, 7}, false},
		{"?after_seq=0&limit=2", []int64{1, 2}, true},
		{"?limit=7", []int64{1, 2, 3, 4, 5, 6, 7}, false},
		{"?limit=100", []int64{1, 2, 3, 4, 5, 6, 7}, false},
	}
	for _, p := range pages {
		status, body := srv.Do(t, "GET", "/api/rooms/general/messages"+p.query, alice.Token, nil)
		if status != http.StatusOK {
			t.Errorf("history %s: status %d %s, want 200", p.query, status, body)
			continue
		}
		var page struct {
			Messages []chat.Message `json:"messages"`
			HasMore  *bool          `json:"has_more"`
		}
		decodeJSON(t, "history "+p.query, body, &page)
		if page.Messages == nil || page.HasMore == nil {
			t.Errorf("history %s: %s, want messages (an array) and has_more", p.query, body)
			continue
		}
		seqs := []int64{}
		for _, m := range page.Messages {
			seqs = append(seqs, m.Seq)
			if m.Text != fmt.Sprintf("m%d", m.Seq) || m.From != alice.User || m.Room != "general" {
				t.Errorf("history %s: message %+v, want text m%d from alice in general", p.query, m, m.Seq)
			}
		}
		if fmt.Sprint(seqs) != fmt.Sprint(p.seqs) || *page.HasMore != p.hasMore {
			t.Errorf("history %s: seqs %v has_more %v, want %v %v", p.query, seqs, *page.HasMore, p.seqs, p.hasMore)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?before_seq=x", "?before_seq=-1", "?before_seq=3&after_seq=1", "?before_seq=3&after_seq=0"} {
		resp, body := call(t, srv, "GET", "/api/rooms/general/messages"+q, nil, "Authorization", "Bearer "+alice.Token)
		wantError(t, "history "+q, resp, body, http.StatusBadRequest, "bad_request")
	}

	// A public room alice has not joined: 403. A private room she is not in
	// and a room that does not exist: the same 404.
	resp, body = call(t, srv, "GET", "/api/rooms/lobby/messages", nil, "Authorization", "Bearer "+alice.Token)
	wantError(t, "history of a public room not joined", resp, body, http.StatusForbidden, "forbidden")
	resp, secret := call(t, srv, "GET", "/api/rooms/secret/messages", nil, "Authorization", "Bearer "+alice.Token)
	wantError(t, "history of someone else's private room", resp, secret, http.StatusNotFound, "not_found")
	resp, missing := call(t, srv, "GET", "/api/rooms/nope/messages", nil, "Authorization", "Bearer "+alice.Token)
	wantError(t, "history of a missing room", resp, missing, http.StatusNotFound, "not_found")
	if !bytes.Equal(secret, missing) {
		t.Errorf("private room answers %s, missing room %s; want identical bodies", secret, missing)
	}
	resp, secret = call(t, srv, "POST", "/api/rooms/secret/messages", map[string]string{"text": "hi"}, "Authorization", "Bearer "+alice.Token)
	wantError(t, "post to someone else's private room", resp, secret, http.StatusNotFound, "not_found")
	resp, missing = call(t, srv, "POST", "/api/rooms/nope/messages", map[string]string{"text": "hi"}, "Authorization", "Bearer "+alice.Token)
	wantError(t, "post to a missing room", resp, missing, http.StatusNotFound, "not_found")
	if !bytes.Equal(secret, missing) {
		t.Errorf("post: private room answers %s, missing room %s; want identical bodies", secret, missing)
	}
	resp, body = call(t, srv, "POST", "/api/rooms/lobby/messages", map[string]string{"text": "hi"}, "Authorization", "Bearer "+alice.Token)
	wantError(t, "post to a public room not joined", resp, body, http.StatusForbidden, "forbidden")
	resp, body = call(t, srv, "GET", "/api/rooms/Not%20A%20Room/messages", nil, "Authorization", "Bearer "+alice.Token)
	wantError(t, "history of an invalid room name", resp, body, http.StatusBadRequest, "bad_request")
}

func TestPostMessageAPI(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	bob := srv.Register(t, "bob")
	b := srv.Dial(t, bob.Token)
	b.Welcome()

	post := func(body any) (*http.Response, chat.Message, []byte) {
		t.Helper()
		resp, data := call(t, srv, "POST", "/api/rooms/general/messages", body, "Authorization", "Bearer "+alice.Token)
		var m chat.Message
		if resp.StatusCode == http.StatusCreated {
			decodeJSON(t, "post", data, &m)
		}
		return resp, m, data
	}

	resp, first, body := post(map[string]any{"text": "hello bots", "client_msg_id": "bot-1", "from": map[string]string{"username": "mallory"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("post: status %d %s, want 201", resp.StatusCode, body)
	}
	if first.Seq != 1 || first.Text != "hello bots" || first.From != alice.User || first.Room != "general" ||
		first.ClientMsgID != "bot-1" || !strings.HasPrefix(first.ID, "m_") || first.SentAt.IsZero() {
		t.Errorf("post: message %s, want seq 1 from alice with the text, client_msg_id and an id", body)
	}
	// Live delivery, as for send_message.
	f := b.Expect(protocol.TypeNewMessage, nil)
	var live chat.Message
	f.Decode(t, &live)
	if live.Seq != first.Seq || live.ID != first.ID {
		t.Errorf("bob got new_message %+v, want the posted one %+v", live, first)
	}

	// The same client_msg_id again: the first message, not a second one.
	resp, again, body := post(map[string]any{"text": "hello bots (retry)", "client_msg_id": "bot-1"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("repeated client_msg_id: status %d %s, want 201", resp.StatusCode, body)
	}
	if again.Seq != first.Seq || again.ID != first.ID || again.Text != first.Text {
		t.Errorf("repeated client_msg_id: got seq %d id %s text %q, want the first message (seq %d id %s)", again.Seq, again.ID, again.Text, first.Seq, first.ID)
	}
	b.ExpectNone(protocol.TypeNewMessage, nil, 100*time.Millisecond)

	resp, _, body = post(map[string]any{"text": strings.Repeat("a", chat.MaxTextChars+1)})
	wantError(t, "post 4001 characters", resp, body, http.StatusRequestEntityTooLarge, "too_large")
	resp, m, body := post(map[string]any{"text": strings.Repeat("ü", chat.MaxTextChars)})
	if resp.StatusCode != http.StatusCreated || m.Seq != 2 {
		t.Errorf("post 4000 two-byte characters: status %d seq %d %.100s, want 201 seq 2", resp.StatusCode, m.Seq, body)
	}
	for _, bad := range []any{map[string]any{"text": ""}, map[string]any{"text": " \n "}, map[string]any{"text": 5}, "not json", map[string]any{"text": "hi", "client_msg_id": strings.Repeat("x", 65)}} {
		resp, _, body := post(bad)
		wantError(t, fmt.Sprintf("post %v", bad), resp, body, http.StatusBadRequest, "bad_request")
	}
	msgs, _, err := srv.Store.History(t.Context(), alice.User.ID, "general", chat.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Errorf("store holds %d messages, want 2", len(msgs))
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := srv.Do(t, "GET", path, "", nil); status != http.StatusOK {
			t.Errorf("GET %s: status %d %s, want 200", path, status, body)
		}
	}

	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	resp, body := call(t, srv, "GET", "/metrics", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: status %d Content-Type %q, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, name := range []string{"chatd_connections", "chatd_messages_stored_total", "chatd_slow_consumers_total", "go_goroutines"} {
		if !strings.Contains(string(body), "\n"+name+" ") {
			t.Errorf("/metrics has no sample %s", name)
		}
	}
	if v, _ := scrapeMetric(t, srv, "chatd_connections"); v != 1 {
		t.Errorf("chatd_connections = %v with one socket open, want 1", v)
	}
	before, _ := scrapeMetric(t, srv, "chatd_messages_stored_total")
	c.Ack(protocol.TypeSendMessage, protocol.SendMessage{Room: "general", Text: "count me"}, nil)
	srv.Do(t, "POST", "/api/rooms/general/messages", alice.Token, map[string]string{"text": "and me"})
	if after, _ := scrapeMetric(t, srv, "chatd_messages_stored_total"); after != before+2 {
		t.Errorf("chatd_messages_stored_total went from %v to %v after two sends, want +2", before, after)
	}
}

func TestWebApp(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	resp, body := call(t, srv, "GET", "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /: Content-Type %q, want text/html", ct)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("GET /: Content-Security-Policy %q, want a default-src and no unsafe-inline", csp)
	}
	if !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("GET / is not an HTML page: %.200s", body)
	}
	// Unknown API paths answer JSON errors, not the app.
	resp, body = call(t, srv, "GET", "/api/nope", nil)
	wantError(t, "GET /api/nope", resp, body, http.StatusNotFound, "not_found")
}

func TestWebSocketUpgradeChecks(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	cookie := server.SessionCookie + "=" + alice.Token
	self := srv.URL // http://127.0.0.1:port, the request's own origin

	dial := func(header http.Header) (*chatdtest.Client, int, error) {
		t.Helper()
		c, err := chatdtest.DialURL(t, srv.WSURL(), "", header, nil)
		status := 0
		if c.Resp != nil {
			status = c.Resp.StatusCode
		}
		return c, status, err
	}

	if _, status, err := dial(nil); err == nil || status != http.StatusUnauthorized {
		t.Errorf("/ws without a session: status %d (err %v), want 401", status, err)
	}
	if _, status, err := dial(http.Header{"Cookie": {server.SessionCookie + "=wrong"}}); err == nil || status != http.StatusUnauthorized {
		t.Errorf("/ws with a wrong cookie: status %d (err %v), want 401", status, err)
	}
	if _, status, err := dial(http.Header{"Cookie": {cookie}, "Origin": {"https://evil.example"}}); err == nil || status != http.StatusForbidden {
		t.Errorf("/ws with a cookie from a foreign origin: status %d (err %v), want 403", status, err)
	}
	// A look-alike of the own host on another port or scheme is foreign too.
	if _, status, err := dial(http.Header{"Cookie": {cookie}, "Origin": {"http://127.0.0.1:1"}}); err == nil || status != http.StatusForbidden {
		t.Errorf("/ws with a cookie from another port: status %d (err %v), want 403", status, err)
	}
	c, status, err := dial(http.Header{"Cookie": {cookie}, "Origin": {self}})
	if err != nil || status != http.StatusSwitchingProtocols {
		t.Fatalf("/ws with a cookie from the same origin: status %d (err %v), want 101", status, err)
	}
	if w := c.Welcome(); w.User != alice.User {
		t.Errorf("welcome user %+v, want %+v", w.User, alice.User)
	}
	c, status, err = dial(http.Header{"Cookie": {cookie}}) // not a browser
	if err != nil || status != http.StatusSwitchingProtocols {
		t.Fatalf("/ws with a cookie and no Origin: status %d (err %v), want 101", status, err)
	}
	c.Welcome()
}

func TestCrossOriginPosts(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	cookie := server.SessionCookie + "=" + alice.Token
	msg := map[string]string{"text": "hi"}
	const evil = "https://evil.example"

	resp, body := call(t, srv, "POST", "/api/rooms/general/messages", msg, "Cookie", cookie, "Origin", evil)
	wantError(t, "cookie POST from a foreign origin", resp, body, http.StatusForbidden, "forbidden")
	resp, body = call(t, srv, "POST", "/api/logout", nil, "Cookie", cookie, "Origin", evil)
	wantError(t, "cookie logout from a foreign origin", resp, body, http.StatusForbidden, "forbidden")
	resp, body = call(t, srv, "POST", "/api/login", creds("alice", "password-1"), "Origin", evil)
	wantError(t, "login from a foreign origin", resp, body, http.StatusForbidden, "forbidden")
	resp, body = call(t, srv, "POST", "/api/register", creds("mallory", "password-1"), "Origin", evil)
	wantError(t, "register from a foreign origin", resp, body, http.StatusForbidden, "forbidden")
	if status, _ := srv.Do(t, "GET", "/api/me", alice.Token, nil); status != http.StatusOK {
		t.Errorf("the foreign logout revoked the session: GET /api/me %d, want 200", status)
	}

	// The same requests pass from the own origin, or with a Bearer token
	// (which no browser sends by itself) from anywhere.
	resp, body = call(t, srv, "POST", "/api/rooms/general/messages", msg, "Cookie", cookie, "Origin", srv.URL)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("cookie POST from the same origin: status %d %s, want 201", resp.StatusCode, body)
	}
	resp, body = call(t, srv, "POST", "/api/rooms/general/messages", msg, "Authorization", "Bearer "+alice.Token, "Origin", evil)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("Bearer POST from a foreign origin: status %d %s, want 201", resp.StatusCode, body)
	}
	got := historyTexts(t, srv, alice.User.ID, "general")
	if len(got) != 2 {
		t.Errorf("store holds %d messages, want 2 (the refused POST must not store one)", len(got))
	}
}

func TestAllowedOrigins(t *testing.T) {
	const allowed = "https://chat.example"
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{AllowedOrigins: []string{allowed}}})
	alice := srv.Register(t, "alice")
	cookie := server.SessionCookie + "=" + alice.Token

	c, err := chatdtest.DialURL(t, srv.WSURL(), "", http.Header{"Cookie": {cookie}, "Origin": {allowed}}, nil)
	if err != nil {
		status := 0
		if c.Resp != nil {
			status = c.Resp.StatusCode
		}
		t.Fatalf("/ws from the allowed origin: status %d (%v), want 101", status, err)
	}
	c.Welcome()
	for _, origin := range []string{"https://evil.example", "http://chat.example", "https://chat.example.evil.example"} {
		c, err := chatdtest.DialURL(t, srv.WSURL(), "", http.Header{"Cookie": {cookie}, "Origin": {origin}}, nil)
		if err == nil || c.Resp == nil || c.Resp.StatusCode != http.StatusForbidden {
			t.Errorf("/ws from %s with AllowedOrigins %q: err %v, want 403", origin, allowed, err)
		}
	}

	resp, body := call(t, srv, "POST", "/api/rooms/general/messages", map[string]string{"text": "hi"}, "Cookie", cookie, "Origin", allowed)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("cookie POST from the allowed origin: status %d %s, want 201", resp.StatusCode, body)
	}
	resp, body = call(t, srv, "POST", "/api/rooms/general/messages", map[string]string{"text": "hi"}, "Cookie", cookie, "Origin", "https://evil.example")
	wantError(t, "cookie POST from another origin", resp, body, http.StatusForbidden, "forbidden")
}

// TestHTTPErrorsAreJSON: no route answers in plain text: a wrong method is
// a JSON 405 with Allow, an unknown API path a JSON 404.
func TestHTTPErrorsAreJSON(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", "/api/me", 405, "GET, HEAD"},
		{"DELETE", "/api/rooms", 405, "GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/api/register", 405, "POST"},
		{"GET", "/api/nope", 404, ""},
		{"POST", "/api/nope", 404, ""},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || err != nil || body.Error.Code == "" || body.Error.Message == "" {
			t.Errorf("%s %s: %d %s (decode err %v), want %d with a JSON error body", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), err, tt.status)
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

// TestWebSocketHandshakeWithWelcome: the handshake's response and the
// welcome leave in one write, so a raw client's first read holds both
// (TestUpgradeResponseIsHeld checks the hold itself, deterministically).
// Requests that are not a WebSocket handshake are refused as gorilla's
// upgrader refused them.
func TestWebSocketHandshakeWithWelcome(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	addr := strings.TrimPrefix(srv.URL, "http://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The key and accept value of RFC 6455 §1.3.
	fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", addr, alice.Token)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	n, err := nc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok := bytes.Cut(buf[:n], []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) || !bytes.Contains(head, []byte("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
		t.Fatalf("first read: %q, want a 101 with the RFC's accept value", buf[:n])
	}
	size, hl := 0, 2 // an unmasked text frame of up to 64 KiB
	if len(rest) >= 2 {
		size = int(rest[1])
	}
	if size == 126 && len(rest) >= 4 {
		size, hl = int(rest[2])<<8|int(rest[3]), 4
	}
	if len(rest) < hl || rest[0] != 0x81 || size > 126 && hl == 2 || len(rest) != hl+size {
		t.Fatalf("the first read after the 101 holds %d bytes (%q), want exactly one text frame (the welcome)", len(rest), rest)
	}
	if w := rest[hl:]; !bytes.HasPrefix(w, []byte(`{"type":"welcome"`)) || !bytes.Contains(w, []byte(alice.User.ID)) {
		t.Errorf("first frame %.200s, want alice's welcome", w)
	}

	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no upgrade", map[string]string{}, http.StatusBadRequest},
		{"no Connection: upgrade", map[string]string{"Upgrade": "websocket", "Connection": "keep-alive", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusBadRequest},
		{"version 8", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusBadRequest},
		{"short key", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "c2hvcnQ="}, http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
		req.Header.Set("Authorization", "Bearer "+alice.Token)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Sec-Websocket-Version") != "13" {
			t.Errorf("%s: status %d, Sec-WebSocket-Version %q; want %d and 13", tc.name, resp.StatusCode, resp.Header.Get("Sec-Websocket-Version"), tc.status)
		}
	}
}
