// Package server is chatd's HTTP and WebSocket front: routes, accounts and
// sessions, the WebSocket upgrade, the hub that fans room events out to local
// connections, limits and metrics. It consumes chat.Store and chat.Bus and
// never imports an implementation of either; cmd/chatd wires them.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero fields of Config.
const (
	DefaultPingInterval   = 9 * time.Second
	DefaultPongWait       = 10 * time.Second
	DefaultWriteWait      = 10 * time.Second
	DefaultMaxFrameBytes  = 16 << 10
	DefaultQueueFrames    = 256
	DefaultQueueBytes     = 1 << 20
	DefaultPresenceLimit  = 500
	DefaultBadFrameLimit  = 20
	DefaultBadFrameWindow = 10 * time.Second
	DefaultSessionTTL     = 30 * 24 * time.Hour
	DefaultNodeHeartbeat  = 5 * time.Second
)

// Config configures a Server. A zero field means the default its comment
// names.
type Config struct {
	Store chat.Store // required
	Bus   chat.Bus   // required

	// Logger receives structured logs; default slog.Default().
	Logger *slog.Logger
	// Registry receives the server's Prometheus metrics and is served at
	// /metrics; default a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Version is reported as "chatd/<Version>"; default "dev".
	Version string

	// AllowedOrigins lists the origins ("https://chat.example.com") that may
	// open WebSockets and send cookie-authenticated POSTs; "*" allows any.
	// Empty: only the origin of the request's own Host.
	AllowedOrigins []string
	// RateLimit is the messages per second one user may send, with a burst
	// of twice that. 0 turns rate limiting off.
	RateLimit float64
	// PresenceLimit: rooms with more online members send no per-user
	// presence events; default 500.
	PresenceLimit int

	// PingInterval between WebSocket pings; default 9 s.
	PingInterval time.Duration
	// PongWait: a connection whose pong has not arrived this long after the
	// last one is closed; default 10 s.
	PongWait time.Duration
	// WriteWait bounds one write to a client; default 10 s.
	WriteWait time.Duration
	// MaxFrameBytes is the largest frame a client may send (close 1009
	// beyond); default 16 KiB.
	MaxFrameBytes int64
	// QueueFrames and QueueBytes bound a connection's outbound queue (close
	// 1013 beyond); defaults 256 frames and 1 MiB.
	QueueFrames int
	QueueBytes  int
	// BadFrameLimit bad frames within BadFrameWindow close the connection
	// with 1008; defaults 20 in 10 s.
	BadFrameLimit  int
	BadFrameWindow time.Duration
	// Flushers is how many goroutines write queued frames to the
	// connections; default GOMAXPROCS.
	Flushers int
	// WriteDelay is how long a flusher gathers frames before a round that
	// follows a busy one (busyRound connections or more), so that each
	// write carries more of them; default 0 (chatd's flag: 10ms).
	WriteDelay time.Duration
	// ReadGoroutines gives every connection a goroutine that reads it, as
	// connections without a file descriptor (TLS) always have, instead of
	// waiting for idle connections with one epoll poller (Linux).
	ReadGoroutines bool
	// SessionTTL is how long a login lasts; default 30 days.
	SessionTTL time.Duration
	// NodeHeartbeat is how often this node tells the others on the bus that
	// it is alive; a node not heard from for three of them is presumed
	// gone and its users offline. Default 5 s.
	NodeHeartbeat time.Duration
	// MaxUploadBytes bounds one uploaded file; default
	// chat.DefaultMaxUploadBytes (25 MiB).
	MaxUploadBytes int64
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = NewRegistry()
	}
	setDefault(&c.Version, "dev")
	setDefault(&c.PresenceLimit, DefaultPresenceLimit)
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.PongWait, DefaultPongWait)
	setDefault(&c.WriteWait, DefaultWriteWait)
	setDefault(&c.MaxFrameBytes, DefaultMaxFrameBytes)
	setDefault(&c.QueueFrames, DefaultQueueFrames)
	setDefault(&c.QueueBytes, DefaultQueueBytes)
	setDefault(&c.BadFrameLimit, DefaultBadFrameLimit)
	setDefault(&c.BadFrameWindow, DefaultBadFrameWindow)
	setDefault(&c.SessionTTL, DefaultSessionTTL)
	setDefault(&c.NodeHeartbeat, DefaultNodeHeartbeat)
	setDefault(&c.MaxUploadBytes, chat.DefaultMaxUploadBytes)
	setDefault(&c.Flushers, runtime.GOMAXPROCS(0))
}

// setDefault sets *field to def if it is the zero value.
func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Server serves chatd's HTTP API, WebSockets and web app. New does not
// listen; serve Handler() with an http.Server.
type Server struct {
	cfg   Config
	store chat.Store
	// appender is store when it can take pipelined sends, else nil.
	appender chat.AsyncAppender
	bus      chat.Bus
	log      *slog.Logger
	metrics  *metrics
	hub      *hub
	pages    *historyPages
	auth     *auth
	limits   *limiterSet // per-user message rate
	searches *limiterSet // per-user search rate
	handler  http.Handler
}

// New returns a Server; it subscribes to the bus's cluster-wide topics.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Bus == nil {
		return nil, errors.New("server: Store and Bus are required")
	}
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		bus:     cfg.Bus,
		log:     cfg.Logger,
		metrics: newMetrics(cfg.Registry, cfg.Logger),
	}
	s.appender, _ = cfg.Store.(chat.AsyncAppender)
	s.auth = newAuth(s)
	s.pages = newHistoryPages()
	s.searches = newLimiterSet(searchesPerSecond, searchBurst)
	if cfg.RateLimit > 0 {
		s.limits = newLimiterSet(cfg.RateLimit, int(2*cfg.RateLimit+0.5))
	}
	h, err := newHub(s)
	if err != nil {
		return nil, err
	}
	s.hub = h
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// closedConnsWait bounds how long Shutdown, once ctx is done and it has
// closed the sockets left, waits for their goroutines to end.
const closedConnsWait = time.Second

// Shutdown closes every WebSocket with 1001 "going away" after flushing what
// is queued for it, and waits until their in-flight requests (store writes
// included) have finished or ctx is done. If ctx is done first, it closes
// the sockets left and waits up to a second more for their goroutines, so
// that the caller can close the store and bus. Stop the http.Server first
// so that no new connection arrives.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.hub.shutdown(ctx)
}

// readyTimeout bounds Ready: a probe must answer within a second or two
// whatever the store does, or an orchestrator's probe times out instead of
// reading 503.
const readyTimeout = 2 * time.Second

// Ready reports whether the store and the bus answer within readyTimeout.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	return s.bus.Ping(ctx)
}
