package server_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/sqlite"
	"github.com/gorilla/websocket"
)

// openSQLite opens another store on the SQLite file of dir, as the admin
// command (another process) does.
func openSQLite(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, "chatd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two nodes that share a database but no bus (each has its own embedded
// NATS) close a user's sockets within a second of a revocation that a third
// party wrote to the database: the path does not depend on the bus.
func TestRevokedSessionsCloseOnEveryNode(t *testing.T) {
	dir := t.TempDir()
	a := chatdtest.Start(t, chatdtest.Options{DataDir: dir})
	b := chatdtest.Start(t, chatdtest.Options{Store: openSQLite(t, dir)})
	alice, bob := a.Register(t, "alice"), a.Register(t, "bob")
	conns := []*chatdtest.Client{a.Dial(t, alice.Token), b.Dial(t, alice.Token)}
	bobConn := b.Dial(t, bob.Token)
	for _, c := range append(conns, bobConn) {
		c.Welcome()
	}

	admin := openSQLite(t, dir)
	revoked := time.Now()
	if _, n, err := admin.RevokeSessions(t.Context(), "alice"); err != nil || n != 1 {
		t.Fatalf("RevokeSessions = %d, %v; want 1 session", n, err)
	}
	for i, c := range conns {
		code, text := c.WaitClosed(2 * time.Second)
		if code != websocket.CloseNormalClosure || text != "session revoked" {
			t.Errorf("alice's socket on node %d closed with %d %q, want 1000 \"session revoked\"", i, code, text)
		}
	}
	d := time.Since(revoked)
	t.Logf("sockets on both nodes closed %v after the revocation", d)
	if d > time.Second {
		t.Errorf("sockets closed %v after the revocation, want within a second", d)
	}
	if status, _ := a.Do(t, "GET", "/api/me", alice.Token, nil); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the revoked token: %d, want 401", status)
	}

	// Bob, and alice's new session, are not touched by the later polls.
	var out struct{ Token string }
	status, body := a.Do(t, "POST", "/api/login", "", map[string]string{"username": "alice", "password": "password-1"})
	if status != http.StatusOK {
		t.Fatalf("login after the revocation: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	again := b.Dial(t, out.Token)
	again.Welcome()
	time.Sleep(1200 * time.Millisecond) // two polls
	for _, c := range []*chatdtest.Client{bobConn, again} {
		c.Ack(protocol.TypeSendMessage, map[string]string{"room": chat.General, "text": "still here"}, nil)
	}
}

func TestDisabledUser(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()

	if _, err := srv.Store.SetDisabled(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	if code, text := c.WaitClosed(2 * time.Second); code != websocket.CloseNormalClosure || text != "session revoked" {
		t.Errorf("disabled user's socket closed with %d %q, want 1000 \"session revoked\"", code, text)
	}
	login := map[string]string{"username": "alice", "password": "password-1"}
	status, body := srv.Do(t, "POST", "/api/login", "", login)
	if status != http.StatusForbidden || !strings.Contains(string(body), "account is disabled") {
		t.Errorf("login of a disabled user: %d %s, want 403 account is disabled", status, body)
	}
	login["password"] = "wrong-password"
	if status, _ := srv.Do(t, "POST", "/api/login", "", login); status != http.StatusUnauthorized {
		t.Errorf("login of a disabled user with a wrong password: %d, want 401 (nothing said about the account)", status)
	}

	if _, err := srv.Store.SetDisabled(t.Context(), "alice", false); err != nil {
		t.Fatal(err)
	}
	login["password"] = "password-1"
	if status, body := srv.Do(t, "POST", "/api/login", "", login); status != http.StatusOK {
		t.Errorf("login once enabled again: %d %s", status, body)
	}
}

func TestArchivedRoom(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{Config: server.Config{RateLimit: 0}})
	alice := srv.Register(t, "alice")
	c := srv.Dial(t, alice.Token)
	c.Welcome()
	c.Ack(protocol.TypeSendMessage, map[string]string{"room": chat.General, "text": "before"}, nil)

	if err := srv.Store.SetArchived(t.Context(), chat.General, true); err != nil {
		t.Fatal(err)
	}
	f := c.Request(protocol.TypeSendMessage, map[string]string{"room": chat.General, "text": "after"})
	var p protocol.ErrorPayload
	f.Decode(t, &p)
	if f.Type != protocol.TypeError || p.Code != chat.CodeForbidden || !strings.Contains(p.Message, "archived") {
		t.Errorf("send_message to an archived room: %s %+v, want error forbidden \"room is archived...\"", f.Type, p)
	}
	status, body := srv.Do(t, "POST", "/api/rooms/general/messages", alice.Token, map[string]string{"text": "after"})
	if status != http.StatusForbidden || !strings.Contains(string(body), "archived") {
		t.Errorf("POST a message to an archived room: %d %s, want 403 archived", status, body)
	}
	var hist struct {
		Messages []chat.Message `json:"messages"`
	}
	c.Ack(protocol.TypeHistory, map[string]string{"room": chat.General}, &hist)
	if len(hist.Messages) != 1 || hist.Messages[0].Text != "before" {
		t.Errorf("history of an archived room: %+v, want the one message", hist.Messages)
	}
	// A new connection is told the room is archived.
	c2 := srv.Dial(t, alice.Token)
	if w := c2.Welcome(); len(w.Rooms) != 1 || !w.Rooms[0].Archived {
		t.Errorf("welcome rooms = %+v, want general archived", w.Rooms)
	}
}
