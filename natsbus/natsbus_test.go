package natsbus

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func newBus(tb testing.TB, opts Options) *Bus {
	tb.Helper()
	b, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// collect subscribes and returns a channel of what arrives (nil = loss signal).
func collect(tb testing.TB, b *Bus, topic string) <-chan []byte {
	tb.Helper()
	ch := make(chan []byte, 1000)
	sub, err := b.Subscribe(topic, func(d []byte) { ch <- d })
	if err != nil {
		tb.Fatalf("Subscribe(%q): %v", topic, err)
	}
	tb.Cleanup(func() { sub.Unsubscribe() })
	return ch
}

func recv(tb testing.TB, ch <-chan []byte) []byte {
	tb.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(5 * time.Second):
		tb.Fatal("timed out waiting for an event")
		return nil
	}
}

func TestEmbeddedPublishSubscribeInOrder(t *testing.T) {
	b := newBus(t, Options{})
	if !b.Embedded() {
		t.Fatal("bus without URL is not embedded")
	}
	ch := collect(t, b, "room:dm:a.b:c*d")
	other := collect(t, b, "room:dm:a")
	for i := range 100 {
		if err := b.Publish("room:dm:a.b:c*d", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if got, want := string(recv(t, ch)), fmt.Sprint(i); got != want {
			t.Fatalf("event %d = %q, want %q", i, got, want)
		}
	}
	select {
	case d := <-other:
		t.Fatalf("subscriber of another topic got %q", d)
	case <-time.After(50 * time.Millisecond):
	}
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	b := newBus(t, Options{})
	ch := make(chan []byte, 10)
	sub, err := b.Subscribe("t", func(d []byte) { ch <- d })
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	b.Publish("t", []byte("x"))
	b.nc.Flush()
	select {
	case d := <-ch:
		t.Fatalf("got %q after Unsubscribe", d)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSubjectEscaping(t *testing.T) {
	tests := []struct{ topic, want string }{
		{"room:general", "chatd.room:general"},
		{"room:dm:a.b:c", "chatd.room:dm:a%2Eb:c"},
		{"x*>% ", "chatd.x%2A%3E%25%20"},
		{"", "chatd.%"},
	}
	for _, tt := range tests {
		if got := Subject(DefaultPrefix, tt.topic); got != tt.want {
			t.Errorf("Subject(%q) = %q, want %q", tt.topic, got, tt.want)
		}
	}
	if Subject(DefaultPrefix, "a.b") == Subject(DefaultPrefix, "a%2Eb") {
		t.Error("distinct topics map to one subject")
	}
}

// TestReconnectSignalsLoss restarts a real NATS server under the bus and
// expects every subscriber to be told to resynchronise.
func TestReconnectSignalsLoss(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	addr := ns.Addr().(*net.TCPAddr)
	b := newBus(t, Options{URL: "nats://" + addr.String()})
	ch := collect(t, b, "room:x")

	ns.Shutdown()
	ns.WaitForShutdown()
	opts2 := *opts
	opts2.Port = addr.Port
	ns2, err := server.NewServer(&opts2)
	if err != nil {
		t.Fatal(err)
	}
	ns2.Start()
	defer ns2.Shutdown()
	if d := recv(t, ch); d != nil {
		t.Fatalf("first event after restart = %q, want the nil loss signal", d)
	}
	if err := b.Publish("room:x", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if got := string(recv(t, ch)); got != "after" {
		t.Fatalf("got %q after reconnect, want %q", got, "after")
	}
}

// TestExternalTwoNodes runs two buses on the machine's NATS server, as two
// chatd nodes would: each sees what the other publishes.
func TestExternalTwoNodes(t *testing.T) {
	url := os.Getenv("CHATD_TEST_NATS_URL")
	if url == "" {
		if os.Getenv("CHATD_REQUIRE_ALL") != "" {
			t.Fatal("CHATD_TEST_NATS_URL is not set but CHATD_REQUIRE_ALL is")
		}
		t.Skip("CHATD_TEST_NATS_URL is not set; skipping the external NATS test")
	}
	a := newBus(t, Options{URL: url, Name: "node-a"})
	b := newBus(t, Options{URL: url, Name: "node-b"})
	topic := fmt.Sprintf("room:ext-%d", time.Now().UnixNano())
	ch := collect(t, b, topic)
	if err := a.Publish(topic, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := string(recv(t, ch)); got != "hello" {
		t.Fatalf("node b got %q, want %q", got, "hello")
	}
}

// TestPrefixSeparatesClusters: two buses with different prefixes on one
// NATS server do not see each other's events.
func TestPrefixSeparatesClusters(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	url := "nats://" + ns.Addr().String()
	staging := newBus(t, Options{URL: url, Prefix: "chatd.staging"})
	prod := newBus(t, Options{URL: url, Prefix: "chatd.prod"})
	prodSub := collect(t, prod, "room:general")
	stagingSub := collect(t, staging, "room:general")
	if err := staging.Publish("room:general", []byte("staging only")); err != nil {
		t.Fatal(err)
	}
	if got := string(recv(t, stagingSub)); got != "staging only" {
		t.Fatalf("staging got %q", got)
	}
	select {
	case d := <-prodSub:
		t.Fatalf("prod got staging's event %q", d)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := New(Options{URL: url, Prefix: "bad.>"}); err == nil {
		t.Error("New accepted a prefix with a wildcard")
	}
}

func TestConnectFailure(t *testing.T) {
	_, err := New(Options{URL: "nats://127.0.0.1:1", ConnectTimeout: time.Second})
	if err == nil {
		t.Fatal("New with an unreachable URL succeeded")
	}
}

// clusterNode starts a bus whose embedded server joins the cluster over
// routes (listening on a port of its own).
func clusterNode(tb testing.TB, routes ...string) *Bus {
	tb.Helper()
	return newBus(tb, Options{ClusterListen: "127.0.0.1:0", ClusterRoutes: routes, RouteWait: 5 * time.Second})
}

func routeTo(b *Bus) string { return "nats://" + b.ClusterAddr().String() }

func first(s string, _ bool) string { return s }

// deadRoute returns a route to a port nothing listens on.
func deadRoute(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ln.Close()
	return "nats://" + ln.Addr().String()
}

// waitPeers waits until b has routes to n other servers.
func waitPeers(tb testing.TB, b *Bus, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(b.Peers()) != n {
		if time.Now().After(deadline) {
			tb.Fatalf("bus has routes to %v, want %d peers", b.Peers(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEmbeddedClusterSurvivesTheHub: three embedded servers of which two
// were given a route to the third only (the hub) mesh by gossip, and go on
// delivering to each other when the hub stops; every subscriber is told to
// resynchronise when a route comes up.
func TestEmbeddedClusterSurvivesTheHub(t *testing.T) {
	hub := clusterNode(t)
	hubLoss := collect(t, hub, "room:x")
	a := clusterNode(t, routeTo(hub))
	c := clusterNode(t, routeTo(hub), deadRoute(t)) // a dead route is retried, not fatal
	for _, b := range []*Bus{hub, a, c} {
		waitPeers(t, b, 2)
	}
	if d := recv(t, hubLoss); d != nil {
		t.Fatalf("hub's first event = %q, want the nil loss signal of a route coming up", d)
	}

	got := collect(t, c, "room:x")
	// c's interest reaches a over their route a moment after Subscribe
	// returns (Subscribe waits for c's own server only): probe until it has.
	// The loss signals of c's own routes may come before or after the
	// subscription; next skips them.
	next := func(wait time.Duration) (string, bool) {
		for {
			select {
			case d := <-got:
				if d != nil {
					return string(d), true
				}
			case <-time.After(wait):
				return "", false
			}
		}
	}
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("a's events never reached c over the mesh")
		}
		if err := a.Publish("room:x", []byte("probe")); err != nil {
			t.Fatal(err)
		}
		if s, ok := next(50 * time.Millisecond); ok {
			if s != "probe" {
				t.Fatalf("c got %q, want a probe", s)
			}
			break
		}
	}
	for { // the probes in flight
		if _, ok := next(100 * time.Millisecond); !ok {
			break
		}
	}

	hub.Close()
	waitPeers(t, a, 1)
	for i := range 50 {
		if err := a.Publish("room:x", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		if s, want := first(next(5*time.Second)), fmt.Sprint(i); s != want {
			t.Fatalf("after the hub stopped, c got %q, want %q", s, want)
		}
	}
}

func TestClusterOptionsRefused(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for name, opts := range map[string]Options{
		"listen port taken":     {ClusterListen: taken.Addr().String()},
		"routes without listen": {ClusterRoutes: []string{"nats://127.0.0.1:6222"}},
		"with an external URL":  {URL: "nats://127.0.0.1:4222", ClusterListen: "127.0.0.1:0"},
		"listen without port":   {ClusterListen: "127.0.0.1"},
		"route without port":    {ClusterListen: "127.0.0.1:0", ClusterRoutes: []string{"nats://127.0.0.1"}},
		"route of http":         {ClusterListen: "127.0.0.1:0", ClusterRoutes: []string{"http://127.0.0.1:6222"}},
		"route not a URL":       {ClusterListen: "127.0.0.1:0", ClusterRoutes: []string{"127.0.0.1:6222"}},
	} {
		if b, err := New(opts); err == nil {
			b.Close()
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
}
