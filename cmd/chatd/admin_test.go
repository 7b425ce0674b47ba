package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/gorilla/websocket"
)

// chatdCmd runs one admin command in-process and returns its exit status
// and output.
func chatdCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runCommand(context.Background(), args, env(nil), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustCmd runs an admin command that must succeed and returns its output.
func mustCmd(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := chatdCmd(t, stdin, args...)
	if code != 0 {
		t.Fatalf("chatd %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// dial opens a WebSocket on in with token and takes its welcome.
func dial(t *testing.T, in *instance, token string) *chatdtest.Client {
	t.Helper()
	c, err := chatdtest.DialURL(t, "ws://"+in.addr+"/ws", token, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Welcome()
	return c
}

// login returns the status of a login and its token.
func login(t *testing.T, url, username, password string) (int, string) {
	t.Helper()
	return postCredentials(t, url+"/api/login", username, password)
}

// The admin command changes the database of a server while it serves, and
// the server acts on it: revoked sessions' sockets close within a second,
// disabled users cannot log in, new passwords work, archived rooms refuse
// messages.
func TestAdminCommandsOnARunningServer(t *testing.T) {
	dir := t.TempDir()
	in := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, nil)
	url := "http://" + in.addr
	waitReady(t, url)
	dd := "--data-dir=" + dir

	alice := register(t, url, "alice")
	ws := dial(t, in, alice)

	t.Run("sessions revoke", func(t *testing.T) {
		revoked := time.Now()
		out := mustCmd(t, "", "sessions", "revoke", "alice", dd)
		if !strings.Contains(out, "ended 1 session") {
			t.Errorf("sessions revoke printed %q, want the count", out)
		}
		if code, text := ws.WaitClosed(2 * time.Second); code != websocket.CloseNormalClosure || text != "session revoked" {
			t.Errorf("socket closed with %d %q, want 1000 \"session revoked\"", code, text)
		}
		if d := time.Since(revoked); d > time.Second+200*time.Millisecond { // the command's own start included
			t.Errorf("socket closed %v after the command started, want about a second at most", d)
		}
	})

	t.Run("user add, disable, enable", func(t *testing.T) {
		mustCmd(t, "carol-password\n", "user", "add", "--password-stdin", "carol", dd)
		if status, _ := login(t, url, "carol", "carol-password"); status != http.StatusOK {
			t.Fatalf("login of an added user: %d", status)
		}
		mustCmd(t, "", "user", "disable", "carol", dd)
		if status, _ := login(t, url, "carol", "carol-password"); status != http.StatusForbidden {
			t.Errorf("login of a disabled user: %d, want 403", status)
		}
		out := mustCmd(t, "", "user", "list", "--json", dd)
		if !strings.Contains(out, `"username":"carol","created_at"`) || !strings.Contains(out, `"disabled":true`) {
			t.Errorf("user list --json:\n%s\nwant carol disabled", out)
		}
		mustCmd(t, "", "user", "enable", "carol", dd)
		if status, _ := login(t, url, "carol", "carol-password"); status != http.StatusOK {
			t.Errorf("login once enabled: %d", status)
		}
	})

	t.Run("user reset-password", func(t *testing.T) {
		status, token := login(t, url, "alice", "password-1")
		if status != http.StatusOK {
			t.Fatalf("login: %d", status)
		}
		ws := dial(t, in, token)
		out := mustCmd(t, "", "user", "reset-password", "alice", dd)
		_, pw, ok := strings.Cut(strings.SplitN(out, "\n", 2)[0], "password for alice: ")
		if !ok || len(pw) < 16 {
			t.Fatalf("reset-password printed %q, want a generated password", out)
		}
		if status, _ := login(t, url, "alice", "password-1"); status != http.StatusUnauthorized {
			t.Errorf("login with the old password: %d, want 401", status)
		}
		if status, _ := login(t, url, "alice", pw); status != http.StatusOK {
			t.Errorf("login with the new password: %d, want 200", status)
		}
		if code, _ := ws.WaitClosed(2 * time.Second); code != websocket.CloseNormalClosure {
			t.Errorf("socket of the old password's session closed with %d, want 1000", code)
		}
	})

	t.Run("room archive", func(t *testing.T) {
		mustCmd(t, "", "room", "archive", "general", dd)
		ws := dial(t, in, register(t, url, "dave"))
		if code := ws.ErrorCode("send_message", map[string]string{"room": "general", "text": "hi"}); code != "forbidden" {
			t.Errorf("send_message to an archived room: %s, want forbidden", code)
		}
		out := mustCmd(t, "", "room", "list", dd)
		if !strings.Contains(out, "archived") {
			t.Errorf("room list:\n%s\nwant general archived", out)
		}
		mustCmd(t, "", "room", "unarchive", "general", dd)
		ws.Ack("send_message", map[string]string{"room": "general", "text": "hi again"}, nil)
	})

	t.Run("room set-owner", func(t *testing.T) {
		ws := dial(t, in, register(t, url, "erin"))
		ws.Ack("create_room", map[string]any{"room": "ops", "private": true}, nil)
		mustCmd(t, "", "room", "set-owner", "ops", "carol", dd)
		if code := ws.ErrorCode("invite", map[string]string{"room": "ops", "user": "dave"}); code != "forbidden" {
			t.Errorf("invite by the former owner: %s, want forbidden", code)
		}
		out := mustCmd(t, "", "room", "list", "--json", dd)
		if !strings.Contains(out, `{"name":"ops","private":true,"owner":"carol","members":2`) {
			t.Errorf("room list --json:\n%s\nwant ops owned by carol with 2 members", out)
		}
	})
}

func TestAdminUsage(t *testing.T) {
	empty := t.TempDir()
	dd := "--data-dir=" + empty
	for _, tt := range []struct {
		args    []string
		code    int
		mention string // in stderr
	}{
		{[]string{"user"}, 2, "needs a subcommand"},
		{[]string{"user", "frob"}, 2, `unknown command "user frob"`},
		{[]string{"user", "add"}, 2, "USERNAME"},
		{[]string{"user", "add", "a b", dd}, 2, "not a username"},
		{[]string{"user", "add", "--bogus", "alice"}, 2, "bogus"},
		{[]string{"room", "set-owner", "general"}, 2, "ROOM USERNAME"},
		{[]string{"sessions", "revoke", "a", "b"}, 2, "got 2"},
		{[]string{"version", "extra"}, 2, "no arguments"},
		{[]string{"backup", "x.db", "--postgres-url", "postgres://db/chatd"}, 2, "pg_dump"},
		{[]string{"restore", "x.db", "--postgres-url", "postgres://db/chatd"}, 2, "pg_restore"},
		{[]string{"user", "list", dd}, 1, "no chatd database in " + empty},
		{[]string{"backup", filepath.Join(t.TempDir(), "b.db"), dd}, 1, "chatd.db"},
		{[]string{"restore", filepath.Join(empty, "missing.db"), "--data-dir", t.TempDir()}, 1, "missing.db"},
	} {
		code, _, stderr := chatdCmd(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.mention) {
			t.Errorf("chatd %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.mention)
		}
		if lines := strings.Count(stderr, "\n"); lines != 1 {
			t.Errorf("chatd %s: stderr has %d lines, want one", strings.Join(tt.args, " "), lines)
		}
	}
	for _, args := range [][]string{{"user", "add", "-h"}, {"room", "-h"}, {"backup", "--help"}, {"sessions", "revoke", "-h"}} {
		code, _, stderr := chatdCmd(t, "", args...)
		if code != 0 || !strings.Contains(stderr, "Usage: chatd "+args[0]) {
			t.Errorf("chatd %s: exit %d, %q; want 0 and a usage", strings.Join(args, " "), code, stderr)
		}
	}
	if _, out, _ := chatdCmd(t, "", "version"); !strings.HasPrefix(out, "chatd "+version+" (go") {
		t.Errorf("chatd version printed %q", out)
	}
	// A flag only, or nothing: the server, as before.
	for _, args := range [][]string{nil, {"--addr", ":0"}, {"serve"}} {
		if isCommand(args) {
			t.Errorf("isCommand(%q) = true, want the server to run", args)
		}
	}
	// A password from stdin must be one a user could register with.
	if code, _, stderr := chatdCmd(t, "short\n", "user", "add", "--password-stdin", "alice", dd); code != 2 || !strings.Contains(stderr, "password must be") {
		t.Errorf("user add with a short password: exit %d, %q; want 2", code, stderr)
	}
}

// The same commands work on PostgreSQL, the database of a cluster.
func TestAdminPostgres(t *testing.T) {
	url := pgtest.URL(t)
	pg := "--postgres-url=" + url
	mustCmd(t, "", "user", "add", "alice", pg)
	mustCmd(t, "", "user", "disable", "alice", pg)
	if out := mustCmd(t, "", "user", "list", pg); !strings.Contains(out, "alice") || !strings.Contains(out, "disabled") {
		t.Errorf("user list:\n%s\nwant alice disabled", out)
	}
	mustCmd(t, "", "room", "archive", "general", pg)
	if out := mustCmd(t, "", "room", "list", "--json", pg); !strings.Contains(out, `"archived":true`) {
		t.Errorf("room list:\n%s\nwant general archived", out)
	}
	if code, _, stderr := chatdCmd(t, "", "sessions", "revoke", "nobody", pg); code != 1 || stderr != "chatd: user not found\n" {
		t.Errorf("sessions revoke nobody: exit %d, %q; want 1 and \"user not found\"", code, stderr)
	}
}

// Two nodes on one PostgreSQL, each with a NATS of its own (so no bus
// joins them, or the admin command): a revocation closes the user's
// sockets on both within a second.
func TestAdminRevokeReachesEveryPostgresNode(t *testing.T) {
	url := pgtest.URL(t)
	vars := map[string]string{"CHATD_POSTGRES_URL": url}
	var nodes []*instance
	for range 2 {
		in := start(t, []string{"--addr", "127.0.0.1:0"}, vars)
		waitReady(t, "http://"+in.addr)
		nodes = append(nodes, in)
	}
	token := register(t, "http://"+nodes[0].addr, "alice")
	var conns []*chatdtest.Client
	for _, in := range nodes {
		conns = append(conns, dial(t, in, token))
	}
	began := time.Now()
	mustCmd(t, "", "sessions", "revoke", "alice", "--postgres-url", url)
	for i, c := range conns {
		if code, text := c.WaitClosed(3 * time.Second); code != websocket.CloseNormalClosure || text != "session revoked" {
			t.Errorf("node %d: socket closed with %d %q, want 1000 \"session revoked\"", i, code, text)
		}
	}
	d := time.Since(began)
	t.Logf("both sockets closed %v after the command began", d)
	if d > time.Second+500*time.Millisecond { // the command's connect and migrate check included
		t.Errorf("sockets closed %v after the command began, want about a second at most", d)
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// chatdBinary builds chatd once for the tests that run the process.
func chatdBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chatd-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "chatd")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// The process's exit status: 0, 1 for a failure, 2 for bad use.
func TestAdminBinaryExitStatus(t *testing.T) {
	bin := chatdBinary(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"user", "add", "--data-dir", dir, "alice"}, 0},
		{[]string{"user", "list", "--data-dir", dir}, 0},
		{[]string{"user", "-h"}, 0},
		{[]string{"user"}, 2},
		{[]string{"room", "archive"}, 2},
		{[]string{"sessions", "revoke", "--data-dir", dir, "nobody"}, 1},
		{[]string{"user", "list", "--data-dir", t.TempDir()}, 1},
	} {
		cmd := exec.Command(bin, tt.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if got := cmd.ProcessState.ExitCode(); got != tt.code {
			t.Errorf("chatd %s: exit %d (%v), want %d\n%s", strings.Join(tt.args, " "), got, err, tt.code, stderr.String())
		}
	}
	// The environment twins name the server's database for the commands too.
	cmd := exec.Command(bin, "user", "list")
	cmd.Env = append(os.Environ(), "CHATD_DATA_DIR="+dir)
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "alice") {
		t.Errorf("CHATD_DATA_DIR=... chatd user list: %v\n%s", err, out)
	}
}

// A backup taken while a sender is sending holds every message acked
// before it began, and a node started on its restore serves them.
func TestBackupWhileServingAndRestore(t *testing.T) {
	dir := t.TempDir()
	in := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--rate-limit", "0"}, nil)
	url := "http://" + in.addr
	waitReady(t, url)
	ws := dial(t, in, register(t, url, "alice"))

	// The sender sends one message after another and records each ack.
	var (
		mu    sync.Mutex
		acked []string // texts, in ack order
	)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			text := fmt.Sprintf("message %d", i)
			var ack struct {
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			}
			f := ws.Request("send_message", map[string]string{"room": "general", "text": text})
			if f.Type != "ack" {
				t.Errorf("send %d: %s", i, f.Payload)
				return
			}
			json.Unmarshal(f.Payload, &ack)
			mu.Lock()
			acked = append(acked, ack.Message.Text)
			mu.Unlock()
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for count() < 300 { // some history, so that the copy takes a while
		time.Sleep(10 * time.Millisecond)
	}

	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "chatd-backup.db")
	began := time.Now()
	out := mustCmd(t, "", "backup", file, "--data-dir", dir)
	took := time.Since(began)
	during := count() - len(before)
	// A write of the admin command waits its turn with the sender's.
	began = time.Now()
	mustCmd(t, "", "user", "add", "carol", "--data-dir", dir)
	t.Logf("user add took %v while the sender was sending", time.Since(began))
	time.Sleep(100 * time.Millisecond) // the sender goes on after the backup
	close(stop)
	<-sent
	t.Logf("%s: %d messages before, %d acked while it ran (%v)", strings.TrimSpace(out), len(before), during, took)
	if count() <= len(before) {
		t.Fatalf("no message was acked after the backup began: the sender was not sending during it")
	}

	restored := filepath.Join(t.TempDir(), "restored")
	mustCmd(t, "", "restore", file, "--data-dir", restored)
	node := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", restored}, nil)
	nodeURL := "http://" + node.addr
	waitReady(t, nodeURL)
	status, token := login(t, nodeURL, "alice", "password-1")
	if status != http.StatusOK {
		t.Fatalf("login on the restored node: %d", status)
	}
	have := map[string]bool{}
	for after := 0; ; {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/rooms/general/messages?after_seq=%d&limit=100", nodeURL, after), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Messages []struct {
				Seq  int    `json:"seq"`
				Text string `json:"text"`
			} `json:"messages"`
			HasMore bool `json:"has_more"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			have[m.Text] = true
			after = m.Seq
		}
		if !page.HasMore || len(page.Messages) == 0 {
			break
		}
	}
	missing := 0
	for _, text := range before {
		if !have[text] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of the %d messages acked before the backup began are missing from the restore", missing, len(before))
	}
	if len(have) > count() {
		t.Errorf("the restore has %d messages, more than the %d ever acked", len(have), count())
	}

	// restore refuses a data dir in use.
	if code, _, stderr := chatdCmd(t, "", "restore", file, "--data-dir", dir); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Errorf("restore into the running server's data dir: exit %d, %q; want 1, not empty", code, stderr)
	}
	// A file that is not a chatd database is refused before anything is written.
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	if code, _, stderr := chatdCmd(t, "", "restore", junk, "--data-dir", empty); code != 1 || !strings.Contains(stderr, "junk.db") {
		t.Errorf("restore of junk: exit %d, %q; want 1", code, stderr)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Errorf("restore of junk created the data dir")
	}
}
