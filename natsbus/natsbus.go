// Package natsbus implements chat.Bus on NATS. With no URL it starts an
// embedded nats-server inside the process (no client port; the client is
// attached in-process), so one node needs nothing else running; with a URL
// the same code talks to an external NATS cluster and nodes share events.
// The embedded servers of several nodes can also form a NATS cluster of
// their own (Options.ClusterListen and ClusterRoutes): nodes then share
// events with nothing but each other. An embedded server with no cluster
// can have no client but this process, so that bus hands events straight
// to its own subscriptions (local.go).
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// DefaultPrefix starts every subject chatd uses, keeping it apart from
// anything else on a shared NATS cluster.
const DefaultPrefix = "chatd"

// Options configures a Bus. Zero fields take the defaults their comments name.
type Options struct {
	// URL of an external NATS server or cluster (comma-separated); empty
	// starts an embedded server.
	URL string
	// Name identifies this node's connection in NATS monitoring; default "chatd".
	Name string
	// Logger receives connection state changes; default slog.Default().
	Logger *slog.Logger
	// ConnectTimeout bounds the first connection; default 5 s.
	ConnectTimeout time.Duration
	// Prefix starts every subject; chatd clusters (say staging and
	// production) that share one NATS need different ones. Default
	// DefaultPrefix. It must be a valid NATS subject token sequence.
	Prefix string

	// ClusterListen, host:port, makes the embedded server accept routes
	// from the other nodes' embedded servers there; empty: no cluster.
	// Only without URL. The port carries every event unencrypted and
	// unauthenticated: keep it on a private network.
	ClusterListen string
	// ClusterRoutes are the cluster addresses of the other nodes
	// (nats://host:port). A node's own address in the list is ignored, so
	// every node can be given the same list; the servers also tell each
	// other of the routes they know. Routes are retried for ever.
	ClusterRoutes []string
	// ClusterName must be the same on every node of a cluster; default
	// DefaultClusterName.
	ClusterName string
	// RouteWait bounds how long New waits for a first route when
	// ClusterRoutes are given, so that the node's first events reach the
	// others; the first node of a cluster to start waits it out. Default
	// 2 s. Events published before a route is up are lost to the nodes
	// behind it, and the bus signals loss to every subscriber when a
	// route comes up.
	RouteWait time.Duration
}

// DefaultClusterName is the name of the embedded servers' NATS cluster.
const DefaultClusterName = "chatd"

// routePoll is how often the bus looks for routes that came up or went
// down. A new route is reported as a loss after it has been seen twice, by
// which time the servers have exchanged their subscriptions: a subscriber
// that resynchronises then also finds what was published just before.
const routePoll = 250 * time.Millisecond

// Bus is a chat.Bus on a NATS connection.
type Bus struct {
	nc     *nats.Conn
	ns     *server.Server // nil with an external URL
	logger *slog.Logger
	prefix string

	// local: the embedded server has no client port and no cluster, so
	// events skip it and go straight to the subscriptions (see local.go).
	local bool

	mu     sync.Mutex // guards the following
	subs   map[*subscription]struct{}
	topics map[string][]*subscription // a local bus's subscriptions, by topic, in subscription order
	closed bool

	closeOnce sync.Once
	done      chan struct{} // closed by Close: stops watchRoutes
	watcher   sync.WaitGroup
}

var _ chat.Bus = (*Bus)(nil)

// New connects the bus, starting the embedded server if opts.URL is empty.
func New(opts Options) (*Bus, error) {
	if opts.Name == "" {
		opts.Name = "chatd"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(opts.Prefix, "*> \t\r\n") || strings.HasPrefix(opts.Prefix, ".") || strings.HasSuffix(opts.Prefix, ".") || strings.Contains(opts.Prefix, "..") {
		return nil, fmt.Errorf("nats subject prefix %q: use tokens of letters, digits, - and _, separated by dots", opts.Prefix)
	}
	clustered := opts.ClusterListen != "" || len(opts.ClusterRoutes) > 0
	if clustered && opts.URL != "" {
		return nil, errors.New("a cluster of embedded servers and an external NATS URL exclude each other")
	}
	b := &Bus{logger: opts.Logger, prefix: opts.Prefix, subs: make(map[*subscription]struct{}), done: make(chan struct{}),
		local: opts.URL == "" && !clustered, topics: make(map[string][]*subscription)}
	natsOpts := []nats.Option{
		nats.Name(opts.Name),
		nats.Timeout(opts.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: we closed it ourselves
				b.logger.Warn("bus disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.logger.Info("bus reconnected", "url", nc.ConnectedUrlRedacted())
			// Events published while we were away are gone: every
			// subscriber resynchronises from the store.
			b.signalLoss(nil)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			b.logger.Warn("bus error", "err", err)
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.signalLoss(sub)
			}
		}),
	}
	url := opts.URL
	if url == "" {
		sopts := &server.Options{
			ServerName: opts.Name + "-embedded",
			DontListen: true,
			NoSigs:     true,
			NoLog:      true,
			MaxPayload: 8 << 20,
		}
		if clustered {
			if err := clusterOptions(sopts, opts); err != nil {
				return nil, err
			}
		}
		ns, err := server.NewServer(sopts)
		if err != nil {
			return nil, fmt.Errorf("embedded nats server: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(opts.ConnectTimeout) {
			ns.Shutdown()
			if clustered {
				return nil, fmt.Errorf("embedded nats server did not start: cannot listen for routes on %s?", opts.ClusterListen)
			}
			return nil, errors.New("embedded nats server did not start")
		}
		b.ns = ns
		natsOpts = append(natsOpts, nats.InProcessServer(ns))
		if sopts.Authorization != "" {
			natsOpts = append(natsOpts, nats.Token(sopts.Authorization))
		}
	}
	nc, err := nats.Connect(url, natsOpts...)
	if err != nil {
		if b.ns != nil {
			b.ns.Shutdown()
		}
		return nil, fmt.Errorf("connect to nats %s: %w", redact(url), err)
	}
	b.nc = nc
	if clustered {
		b.logger.Info("bus accepting routes", "addr", b.ClusterAddr().String(), "cluster", b.ns.ClusterName())
		if len(opts.ClusterRoutes) > 0 {
			b.waitForRoute(opts.RouteWait)
		}
		b.watcher.Add(1)
		go b.watchRoutes()
	}
	return b, nil
}

// Embedded reports whether the bus runs its own in-process server.
func (b *Bus) Embedded() bool { return b.ns != nil }

// Publish implements chat.Bus.
func (b *Bus) Publish(topic string, data []byte) error {
	if b.local {
		return b.publishLocal(topic, data)
	}
	if err := b.nc.Publish(Subject(b.prefix, topic), data); err != nil {
		return chat.Errorf(chat.CodeUnavailable, "bus: %v", err)
	}
	return nil
}

type subscription struct {
	bus     *Bus
	topic   string
	mu      sync.Mutex // serialises handler calls, including loss signals
	handler func([]byte)
	sub     *nats.Subscription // nil on a local bus
	q       localQueue         // on a local bus; guarded by bus.mu
	done    bool
}

func (s *subscription) deliver(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.handler(data)
	}
}

// Subscribe implements chat.Bus. It returns after the server has registered
// the subscription.
func (b *Bus) Subscribe(topic string, handler func([]byte)) (chat.Subscription, error) {
	if b.local {
		return b.subscribeLocal(topic, handler)
	}
	s := &subscription{bus: b, topic: topic, handler: handler}
	sub, err := b.nc.Subscribe(Subject(b.prefix, topic), func(m *nats.Msg) { s.deliver(m.Data) })
	if err != nil {
		return nil, chat.Errorf(chat.CodeUnavailable, "bus subscribe: %v", err)
	}
	// Room subscriptions can see bursts; allow a deep buffer before NATS
	// drops (and we resynchronise).
	if err := sub.SetPendingLimits(pendingMsgs, pendingBytes); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("bus subscribe: %w", err)
	}
	s.sub = sub
	if err := b.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, chat.Errorf(chat.CodeUnavailable, "bus subscribe: %v", err)
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s, nil
}

// Unsubscribe implements chat.Subscription.
func (s *subscription) Unsubscribe() error {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	if s.sub == nil {
		s.bus.unsubscribeLocal(s)
	}
	s.bus.mu.Unlock()
	var err error
	if s.sub != nil {
		err = s.sub.Unsubscribe()
	}
	s.mu.Lock() // wait for a handler call in progress
	s.done = true
	s.mu.Unlock()
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
		return err
	}
	return nil
}

// signalLoss calls the handler of the subscription that lost events (of
// every subscription if only is nil) with nil data.
func (b *Bus) signalLoss(only *nats.Subscription) {
	b.mu.Lock()
	var hit []*subscription
	for s := range b.subs {
		if only == nil || s.sub == only {
			hit = append(hit, s)
		}
	}
	b.mu.Unlock()
	for _, s := range hit {
		s.deliver(nil)
	}
}

// Ping implements chat.Bus: the connection must be up and answer a round trip.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return chat.Errorf(chat.CodeUnavailable, "bus is %s", b.nc.Status())
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return chat.Errorf(chat.CodeUnavailable, "bus: %v", err)
	}
	return nil
}

// Close flushes what was published, closes the connection and stops the
// embedded server. It is safe to call more than once.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true // a local bus publishes and delivers no more
		b.mu.Unlock()
		if b.nc.IsConnected() {
			b.nc.FlushTimeout(2 * time.Second)
		}
		close(b.done)
		b.watcher.Wait()
		b.nc.Close()
		if b.ns != nil {
			b.ns.Shutdown()
			b.ns.WaitForShutdown()
		}
	})
	return nil
}

// Subject maps a topic to the NATS subject prefix.topic. Topics are opaque
// to callers, so the characters NATS gives meaning to ('.', '*', '>', white
// space) and the escape character itself are percent-encoded.
func Subject(prefix, topic string) string {
	const special = ".*>% \t\r\n"
	if !strings.ContainsAny(topic, special) && topic != "" {
		return prefix + "." + topic
	}
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteByte('.')
	if topic == "" {
		sb.WriteString("%")
	}
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if strings.IndexByte(special, c) >= 0 || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&sb, "%%%02X", c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// redact hides credentials in a NATS URL list for error messages.
func redact(url string) string {
	parts := strings.Split(url, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "***" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
