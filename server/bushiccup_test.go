package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
	"github.com/chatd/chatd/protocol"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/sqlite"
)

// TestBusHiccupCostsNoConnection: three nodes on one NATS server and one
// database, six users sending steadily into one room, and NATS restarted
// eight times under them. After each restart every node fills the gap from
// the store; the fill must be paced by the connections' queues (small ones
// here, so that a gap is several queues long), so that every connection
// stays open and receives every message once, in order.
func TestBusHiccupCostsNoConnection(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chatd.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() }) // after the nodes stop
		busHiccups(t, func(string) chat.Store { return store })
	})
	t.Run("postgres", func(t *testing.T) {
		pgURL := pgtest.URL(t)
		// A store per node, as separate processes would have.
		busHiccups(t, func(name string) chat.Store {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			store, err := postgres.Open(ctx, pgURL)
			if err != nil {
				t.Fatalf("node %s: %v", name, err)
			}
			t.Cleanup(func() { store.Close() })
			return store
		})
	})
}

// restartableNATS is an in-process NATS server that can be stopped and
// started again on the same port, as an operator restarting it would.
type restartableNATS struct {
	t    *testing.T
	opts natsserver.Options
	ns   *natsserver.Server
}

func startNATS(t *testing.T) *restartableNATS {
	t.Helper()
	n := &restartableNATS{t: t, opts: natsserver.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true}}
	n.start()
	n.opts.Port = n.ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { n.ns.Shutdown() })
	return n
}

func (n *restartableNATS) start() {
	n.t.Helper()
	opts := n.opts
	ns, err := natsserver.NewServer(&opts)
	if err != nil {
		n.t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		n.t.Fatal("nats server not ready")
	}
	n.ns = ns
}

func (n *restartableNATS) restart(down time.Duration) {
	n.t.Helper()
	n.ns.Shutdown()
	n.ns.WaitForShutdown()
	time.Sleep(down)
	n.start()
}

// hiccupClient is one WebSocket of the test: what it has received so far,
// taken from the chatdtest.Client by a goroutine of the test.
type hiccupClient struct {
	name string
	c    *chatdtest.Client

	mu     sync.Mutex // guards the following
	seqs   []int64    // new_message seqs in room, in order of arrival
	acked  []int64    // seqs of acked sends
	errors []string   // error frames
}

func (hc *hiccupClient) take(room string) {
	for _, f := range hc.c.Drain() {
		switch f.Type {
		case protocol.TypeNewMessage:
			var m chat.Message
			if json.Unmarshal(f.Payload, &m) == nil && m.Room == room {
				hc.mu.Lock()
				hc.seqs = append(hc.seqs, m.Seq)
				hc.mu.Unlock()
			}
		case protocol.TypeAck:
			var a protocol.MessageAck
			if json.Unmarshal(f.Payload, &a) == nil && a.Message.Seq > 0 {
				hc.mu.Lock()
				hc.acked = append(hc.acked, a.Message.Seq)
				hc.mu.Unlock()
			}
		case protocol.TypeError:
			hc.mu.Lock()
			hc.errors = append(hc.errors, string(f.Payload))
			hc.mu.Unlock()
		}
	}
}

func (hc *hiccupClient) counts() (received, acked int) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return len(hc.seqs), len(hc.acked)
}

func busHiccups(t *testing.T, storeFor func(node string) chat.Store) {
	const (
		restarts = 8
		// Six senders, one message each every 6 ms: 1,000 a second.
		senders = 6
		every   = 6 * time.Millisecond
		window  = 8
		// The readers' links carry 512 KB/s: twice or thrice the room's
		// traffic, but a gap of hundreds of messages takes a while.
		linkRate = 512 << 10
		// Queues of 32 frames: a restart's gap (hundreds of messages) is
		// many queues long, so an unpaced fill overflows them.
		queueFrames = 32
		room        = chat.General
	)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	nats := startNATS(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", nats.opts.Port)
	var nodes []*chatdtest.Server
	for i := range 3 {
		name := string(rune('a' + i))
		bus, err := natsbus.New(natsbus.Options{URL: url, Name: "chatd-hiccup-" + name, Logger: quiet})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		t.Cleanup(func() { bus.Close() })
		nodes = append(nodes, chatdtest.Start(t, chatdtest.Options{
			Store:  storeFor(name),
			Bus:    bus,
			Config: server.Config{RateLimit: 0, QueueFrames: queueFrames, Logger: quiet},
		}))
	}

	// One reader and two senders on each node. The readers are on a slow
	// network: a burst waits in their queues, not in the kernel's buffers.
	var readers, sending, all []*hiccupClient
	connect := func(name string, wsURL string) *hiccupClient {
		acc := nodes[0].Register(t, name) // accounts live in the shared database
		c, err := chatdtest.DialURL(t, wsURL, acc.Token, nil, nil)
		if err != nil {
			t.Fatalf("%s: dial: %v", name, err)
		}
		hc := &hiccupClient{name: name, c: c}
		w := hc.c.Welcome()
		if r := roomOf(t, w.Rooms, room); r.LastSeq != 0 {
			t.Fatalf("%s: %s starts at seq %d, want 0", name, room, r.LastSeq)
		}
		all = append(all, hc)
		return hc
	}
	for i, node := range nodes {
		readers = append(readers, connect(fmt.Sprintf("reader%d", i), "ws://"+slowLink(t, node.Addr, linkRate)+"/ws"))
	}
	for i := range senders {
		sending = append(sending, connect(fmt.Sprintf("sender%d", i), nodes[i%len(nodes)].WSURL()))
	}

	// Each client's frames are taken as they come, so that its buffer
	// stays short.
	stopTaking := make(chan struct{})
	var taking sync.WaitGroup
	for _, hc := range all {
		taking.Go(func() {
			for {
				hc.take(room)
				select {
				case <-stopTaking:
					hc.take(room)
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		})
	}
	defer func() {
		select {
		case <-stopTaking:
		default:
			close(stopTaking)
		}
		taking.Wait()
	}()

	// Pipelined sends: each sender writes on without waiting for acks, up
	// to a window (its queue must hold their acks too, which a group commit
	// reports at once).
	stopSending := make(chan struct{})
	var senderWG sync.WaitGroup
	sent := make([]int, senders)
	sendErr := make([]error, senders)
	for i, hc := range sending {
		senderWG.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			defer hc.c.WS.SetWriteDeadline(time.Time{})
			n := 0
			for {
				select {
				case <-stopSending:
					sent[i] = n
					return
				case <-tick.C:
				}
				if _, acked := hc.counts(); n-acked >= window {
					continue
				}
				env, _ := json.Marshal(protocol.Envelope{
					Type: protocol.TypeSendMessage, ID: fmt.Sprintf("m%d", n),
					Payload: json.RawMessage(fmt.Sprintf(`{"room":%q,"text":"%s %d"}`, room, hc.name, n)),
				})
				hc.c.WS.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if err := hc.c.SendRaw(env); err != nil {
					sent[i], sendErr[i] = n, err
					return
				}
				n++
			}
		})
	}

	started := time.Now()
	for i := range restarts {
		time.Sleep(300 * time.Millisecond) // up: the nodes reconnect and catch up
		nats.restart(time.Duration(200+i*40) * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // live traffic after the last gap
	close(stopSending)
	senderWG.Wait()
	sendingFor := time.Since(started)

	// Every send is acked, and then every connection receives every
	// message; one that stops making progress was cut off.
	waitFor := func(hc *hiccupClient, what string, want int, got func() int) {
		t.Helper()
		progress, at := -1, time.Now()
		for {
			n := got()
			if n >= want {
				return
			}
			if n > progress {
				progress, at = n, time.Now()
			} else if time.Since(at) > 3*time.Second {
				t.Errorf("%s received %d of %d %s", hc.name, n, want, what)
				code, text := hc.c.WaitClosed(time.Second)
				t.Fatalf("%s was closed with %d %q", hc.name, code, text)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	total := 0
	for i, hc := range sending {
		if sendErr[i] != nil {
			t.Errorf("%s: send %d: %v", hc.name, sent[i], sendErr[i])
		}
		waitFor(hc, "acks", sent[i], func() int { _, acked := hc.counts(); return acked })
		total += sent[i]
	}
	if last, err := nodes[0].Store.LastSeq(t.Context(), room); err != nil || last != int64(total) {
		t.Fatalf("store's last seq: %d, %v; want %d, one per acked send", last, err, total)
	}
	for _, hc := range all {
		waitFor(hc, "messages", total, func() int { received, _ := hc.counts(); return received })
	}
	close(stopTaking)
	taking.Wait()
	acked := map[int64]string{}
	for _, hc := range all {
		hc.mu.Lock()
		if len(hc.errors) > 0 {
			t.Errorf("%s got errors: %v", hc.name, hc.errors)
		}
		for _, seq := range hc.acked {
			if other, dup := acked[seq]; dup {
				t.Errorf("seq %d acked to %s and %s", seq, other, hc.name)
			}
			acked[seq] = hc.name
		}
		for i, seq := range hc.seqs {
			if want := int64(i + 1); seq != want {
				t.Fatalf("%s received seq %d as message %d, want %d: a gap, repeat or reordering",
					hc.name, seq, i+1, want)
			}
		}
		if len(hc.seqs) != total {
			t.Errorf("%s received %d messages, want %d", hc.name, len(hc.seqs), total)
		}
		hc.mu.Unlock()
	}
	for seq := int64(1); seq <= int64(total); seq++ {
		if _, ok := acked[seq]; !ok {
			t.Errorf("seq %d is stored but was acked to no one", seq)
		}
	}
	// Still connected: each answers a request.
	for _, hc := range all {
		hc.c.Ack("who", protocol.Who{Room: room}, nil)
	}
	t.Logf("%d messages in %v (%.0f/s) through %d NATS restarts; 3 nodes, %d connections",
		total, sendingFor.Round(time.Millisecond), float64(total)/sendingFor.Seconds(), restarts, len(all))
}

// slowLink relays TCP connections to addr until the test ends, passing at
// most rate bytes a second towards the client, with small socket buffers:
// a client on a slow network.
func slowLink(t *testing.T, addr string, rate int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	small := func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			// A small window and a small MSS (on which the server's send
			// buffer is sized) keep the burst out of the kernel's buffers.
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536)
		})
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := (&net.Dialer{Timeout: 5 * time.Second, Control: small}).Dial("tcp", addr)
			if err != nil {
				client.Close()
				continue
			}
			track(client)
			track(server)
			wg.Go(func() {
				io.Copy(server, client)
				server.Close()
			})
			wg.Go(func() {
				defer client.Close()
				buf := make([]byte, 2048)
				start, passed := time.Now(), 0
				for {
					n, err := server.Read(buf)
					if n > 0 {
						if _, werr := client.Write(buf[:n]); werr != nil {
							return
						}
						passed += n
						time.Sleep(time.Until(start.Add(time.Duration(passed) * time.Second / time.Duration(rate))))
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}
