package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/protocol"
)

// buildChatd builds the chatd binary into a temporary directory.
func buildChatd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build chatd: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "chatd")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// node is a chatd process that logs JSON lines.
type node struct {
	name   string
	cmd    *exec.Cmd
	addr   string
	exited chan error

	mu  sync.Mutex // guards the following
	log []string
}

// startProcess starts bin with args and waits for it to log the address
// it listens on.
func startProcess(t *testing.T, name, bin string, args ...string) *node {
	t.Helper()
	n := &node{name: name, exited: make(chan error, 1)}
	n.cmd = exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	n.cmd.Env = os.Environ()
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.cmd.Process.Kill(); <-n.exited })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.log = append(n.log, sc.Text())
			n.mu.Unlock()
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "chatd listening" {
				addr <- line.Addr
			}
		}
		n.exited <- n.cmd.Wait()
	}()
	select {
	case n.addr = <-addr:
	case err := <-n.exited:
		n.exited <- err
		t.Fatalf("node %s exited before listening: %v\n%s", name, err, n.logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not log its address within 20 s:\n%s", name, n.logs())
	}
	waitReady(t, "http://"+n.addr)
	return n
}

func (n *node) logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.log, "\n")
}

// count returns how many lines of the log have msg.
func (n *node) count(msg string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, l := range n.log {
		if strings.Contains(l, `"msg":"`+msg+`"`) {
			c++
		}
	}
	return c
}

// freePorts returns k loopback ports that were free a moment ago.
func freePorts(t *testing.T, k int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range k {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// TestClusterSurvivesKill9 runs three chatd processes on one PostgreSQL,
// joined by their embedded NATS servers' routes or by an external NATS: a
// sender on node a, a reader on node c, and node b, the one the others
// were started with a route to, killed with SIGKILL halfway through. The
// reader receives every message the sender had acked, once each, in order,
// and the others learn that b's user went offline.
func TestClusterSurvivesKill9(t *testing.T) {
	pgtest.BaseURL(t) // skip before building
	bin := buildChatd(t)
	for _, mode := range []string{"routes", "external"} {
		t.Run(mode, func(t *testing.T) { testClusterSurvivesKill9(t, bin, mode) })
	}
}

func testClusterSurvivesKill9(t *testing.T, bin, mode string) {
	common := []string{"--postgres-url", pgtest.URL(t), "--rate-limit", "0"}
	names := []string{"b", "a", "c"} // b first: the others' first route is to b
	args := map[string][]string{}
	switch mode {
	case "routes":
		ports := freePorts(t, len(names))
		for i, name := range names {
			var routes []string
			for j, p := range ports {
				if j != i {
					routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
				}
			}
			args[name] = slices.Concat(common, []string{"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[i]),
				"--cluster-routes", strings.Join(routes, ",")})
		}
	case "external":
		url := chatdtest.Env(t, "CHATD_TEST_NATS_URL", "the cluster test on an external NATS")
		prefix := "chatdtest-" + strings.ToLower(rand.Text()[:10])
		for _, name := range names {
			args[name] = slices.Concat(common, []string{"--nats-url", url, "--nats-prefix", prefix})
		}
	}
	nodes := map[string]*node{}
	for _, name := range names {
		nodes[name] = startProcess(t, name, bin, args[name]...)
	}
	if mode == "routes" {
		for deadline := time.Now().Add(15 * time.Second); ; {
			meshed := true
			for _, n := range nodes {
				meshed = meshed && n.count("bus route up") >= len(nodes)-1
			}
			if meshed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the nodes' routes did not all come up:\n%s\n%s\n%s", nodes["a"].logs(), nodes["b"].logs(), nodes["c"].logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	room := "kill9-" + strings.ToLower(rand.Text()[:8])
	dial := func(n *node, user string) *chatdtest.Client {
		c, err := chatdtest.DialURL(t, "ws://"+n.addr+"/ws", register(t, "http://"+n.addr, user), nil, nil)
		if err != nil {
			t.Fatalf("dial node %s: %v", n.name, err)
		}
		c.Welcome()
		c.Ack("join_room", protocol.RoomRef{Room: room}, nil)
		return c
	}
	sender := dial(nodes["a"], "alice")
	doomed := dial(nodes["b"], "bob")
	reader := dial(nodes["c"], "carol")
	// Presence crosses the cluster: who is in the room learns of who joins.
	sender.Expect("presence", chatdtest.PresenceOf(room, "bob", protocol.StatusOnline))
	sender.Expect("presence", chatdtest.PresenceOf(room, "carol", protocol.StatusOnline))
	doomed.Expect("presence", chatdtest.PresenceOf(room, "carol", protocol.StatusOnline))

	const total = 400
	var acked []protocol.MessageAck
	for i := range total {
		if i == total/2 {
			if err := nodes["b"].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		var ack protocol.MessageAck
		sender.Ack("send_message", protocol.SendMessage{Room: room, Text: fmt.Sprintf("m%d", i)}, &ack)
		acked = append(acked, ack)
	}
	if err := <-nodes["b"].exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("node b: %v, want killed", err)
	}
	nodes["b"].exited <- nil // for Cleanup
	doomed.WaitClosed(5 * time.Second)

	for i, ack := range acked {
		f := reader.ExpectWithin("new_message", nil, 10*time.Second)
		var m chat.Message
		f.Decode(t, &m)
		if m.Room != room || m.Seq != ack.Message.Seq || m.Text != ack.Message.Text {
			t.Fatalf("reader's message %d is %s seq %d %q, want seq %d %q: a gap, a repeat or a reordering",
				i, m.Room, m.Seq, m.Text, ack.Message.Seq, ack.Message.Text)
		}
	}
	reader.ExpectNone("new_message", nil, 300*time.Millisecond)

	// b said no goodbye: the others presume it gone after three missed
	// heartbeats (5 s each), and bob with it.
	for _, c := range []*chatdtest.Client{sender, reader} {
		c.ExpectWithin("presence", chatdtest.PresenceOf(room, "bob", protocol.StatusOffline), 20*time.Second)
	}
}

// TestClusterFlagsRefused: the --cluster-* flags are refused, in one line
// naming the flag, where an embedded cluster cannot work (main exits 2 on
// any such error, as TestBinary checks).
func TestClusterFlagsRefused(t *testing.T) {
	pg := "postgres://chatd@127.0.0.1:1/chatd"
	tests := []struct {
		name    string
		args    []string
		vars    map[string]string
		mention string
	}{
		{"with SQLite", []string{"--cluster-listen", "127.0.0.1:0"}, nil, "--postgres-url"},
		{"name with SQLite", []string{"--cluster-name", "x"}, nil, "--postgres-url"},
		{"env twin with SQLite", nil, map[string]string{"CHATD_CLUSTER_ROUTES": "nats://127.0.0.1:6222"}, "--postgres-url"},
		{"with --nats-url", []string{"--postgres-url", pg, "--nats-url", "nats://127.0.0.1:4222", "--cluster-listen", "127.0.0.1:0"}, nil, "--nats-url"},
		{"routes without listen", []string{"--postgres-url", pg, "--cluster-routes", "nats://127.0.0.1:6222"}, nil, "--cluster-listen"},
		{"bad route", []string{"--postgres-url", pg, "--cluster-listen", "127.0.0.1:0", "--cluster-routes", "127.0.0.1:6222"}, nil, "--cluster-routes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, env(tt.vars), io.Discard, io.Discard, func(string) { t.Error("listened") })
			if err == nil || !strings.Contains(err.Error(), tt.mention) || strings.Contains(err.Error(), "\n") {
				t.Errorf("run(%q, %v) = %v, want one line that mentions %s", tt.args, tt.vars, err, tt.mention)
			}
		})
	}
}
