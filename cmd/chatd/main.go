// Command chatd is the chat server: with no flags it listens on :8080, keeps
// its data in ./data (SQLite) and runs its message bus in-process;
// --postgres-url and --nats-url make it a node of a cluster instead.
//
// Every flag has an environment twin: --data-dir is CHATD_DATA_DIR, and so
// on. A flag on the command line wins over its twin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/natsbus"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/sqlite"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// shutdownTimeout bounds a graceful stop; the contract asks for 10 s, and
// a stop that reaches it waits up to a second more for the connections it
// then cuts off (server.Shutdown).
const shutdownTimeout = 8 * time.Second

// postgresConnectTimeout bounds connecting to PostgreSQL and migrating its
// schema at start. The migration may wait for another node's, which takes
// well under a second.
const postgresConnectTimeout = 5 * time.Second

// defaultGCPercent is the collector's target unless GOGC says otherwise.
// Measured with chatbench (docs/benchmarks.md): at 19,000 idle
// connections 4.2 KiB of RSS each instead of 10.6 with Go's default of
// 100, and the same fan-out throughput flat out.
const defaultGCPercent = 50

func main() {
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		os.Exit(runMigrate(os.Args[2:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gogc := os.Getenv("GOGC") == ""
	if gogc {
		debug.SetGCPercent(defaultGCPercent)
	}
	if isCommand(os.Args[1:]) { // chatd user ..., chatd backup ... (admin.go)
		code := runCommand(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if gogc { // the server's heap only: a command's is short-lived
		go gcFloor(ctx, liveHeap)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage is printed, and asking for it is no failure
		}
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(2)
	}
}

type config struct {
	addr           string
	dataDir        string
	postgresURL    string
	natsURL        string
	natsPrefix     string
	clusterListen  string
	clusterRoutes  string
	clusterName    string
	allowedOrigins string
	rateLimit      float64
	presenceLimit  int
	logFormat      string
	logLevel       string
	pingInterval   time.Duration
	pongWait       time.Duration
	maxFrameBytes  int64
	maxUploadBytes int64
	writeDelay     time.Duration
	pprofAddr      string
	tlsCert        string
	tlsKey         string
	redirectAddr   string
}

// parseConfig reads flags, then fills each flag not given from its
// environment twin (CHATD_ plus the flag's name in upper case, - as _).
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	// Parse errors are returned, and main prints them as one line; only
	// -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() { fmt.Fprint(fs.Output(), commandsUsage); fs.PrintDefaults() }
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.dataDir, "data-dir", "./data", "directory for the SQLite database")
	fs.StringVar(&c.postgresURL, "postgres-url", "", "PostgreSQL URL: use PostgreSQL instead of SQLite")
	fs.StringVar(&c.natsURL, "nats-url", "", "NATS URL(s): use an external NATS cluster instead of the embedded bus")
	fs.StringVar(&c.natsPrefix, "nats-prefix", natsbus.DefaultPrefix, "NATS subject prefix; clusters sharing one NATS need different ones")
	fs.StringVar(&c.clusterListen, "cluster-listen", "", "HOST:PORT where the embedded NATS accepts routes from the other nodes (needs --postgres-url)")
	fs.StringVar(&c.clusterRoutes, "cluster-routes", "", "the other nodes' cluster addresses, nats://h1:p1,nats://h2:p2")
	fs.StringVar(&c.clusterName, "cluster-name", natsbus.DefaultClusterName, "NATS cluster name, the same on every node")
	fs.StringVar(&c.allowedOrigins, "allowed-origins", "", "comma-separated origins allowed to open WebSockets (default: the request's own host)")
	fs.Float64Var(&c.rateLimit, "rate-limit", 10, "messages per second per user, burst twice that; 0 turns it off")
	fs.IntVar(&c.presenceLimit, "presence-limit", server.DefaultPresenceLimit, "rooms with more online members send no presence events")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.pingInterval, "ping-interval", server.DefaultPingInterval, "interval between WebSocket pings")
	fs.DurationVar(&c.pongWait, "pong-wait", server.DefaultPongWait, "close a connection whose pong is this late")
	fs.Int64Var(&c.maxFrameBytes, "max-frame-bytes", server.DefaultMaxFrameBytes, "largest frame a client may send")
	fs.Int64Var(&c.maxUploadBytes, "max-upload-bytes", chat.DefaultMaxUploadBytes, "largest file a user may upload (bytes)")
	fs.DurationVar(&c.writeDelay, "write-delay", 10*time.Millisecond, "under fan-out load, how long a flusher gathers frames before writing them (0: no wait)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address (loopback only, e.g. 127.0.0.1:6060); off when empty")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS and WSS with this certificate (PEM, chain included); re-read on SIGHUP")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	fs.StringVar(&c.redirectAddr, "redirect-addr", "", "also listen for plain HTTP here, only to redirect to https (e.g. :80)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := applyEnvTwins(fs, getenv); err != nil {
		return c, err
	}
	if err := checkTLSFlags(c, getenv("GODEBUG")); err != nil {
		return c, err
	}
	switch {
	case c.logFormat != "text" && c.logFormat != "json":
		return c, fmt.Errorf("--log-format must be text or json, not %q", c.logFormat)
	case c.rateLimit < 0:
		return c, errors.New("--rate-limit must not be negative")
	case c.presenceLimit < 1:
		return c, errors.New("--presence-limit must be at least 1")
	case c.pingInterval <= 0 || c.pongWait <= 0:
		return c, errors.New("--ping-interval and --pong-wait must be positive")
	case c.maxFrameBytes < 1024:
		return c, errors.New("--max-frame-bytes must be at least 1024")
	case c.maxUploadBytes < 1:
		return c, errors.New("--max-upload-bytes must be at least 1")
	case c.writeDelay < 0 || c.writeDelay > time.Second:
		return c, errors.New("--write-delay must be between 0 and 1s")
	case c.pprofAddr != "" && !loopbackAddr(c.pprofAddr):
		return c, fmt.Errorf("--pprof-addr %q: profiles are served on loopback only", c.pprofAddr)
	case c.natsURL != "" && c.postgresURL == "":
		// Nodes that share a bus share rooms, and each SQLite file hands
		// out its own seqs: two nodes would give two messages one seq.
		return c, errors.New("--nats-url needs --postgres-url: nodes sharing a NATS must share a database, not each its own SQLite")
	}
	return c, checkCluster(c)
}

func newLogger(c config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// openStore opens PostgreSQL if --postgres-url is given, else the SQLite
// database in --data-dir, creating the directory if needed.
func openStore(ctx context.Context, c config) (chat.Store, error) {
	if c.postgresURL != "" {
		// A database that does not answer fails the start in a few seconds,
		// not at the first request; the data dir is not used at all.
		cctx, cancel := context.WithTimeout(ctx, postgresConnectTimeout)
		defer cancel()
		store, err := postgres.Open(cctx, c.postgresURL)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: %w", err)
		}
		return store, nil
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(c.dataDir, dbFile))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// run starts chatd and serves until ctx is done, then shuts down
// gracefully. ready, if not nil, is called with the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(addr string)) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	var cert *certificate
	if c.tlsCert != "" {
		if cert, err = loadCertificate(c.tlsCert, c.tlsKey, logger); err != nil {
			return err
		}
		defer cert.reloadOnHUP()()
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer store.Close()

	bus, err := natsbus.New(natsbus.Options{URL: c.natsURL, Prefix: c.natsPrefix, Logger: logger,
		ClusterListen: c.clusterListen, ClusterRoutes: splitList(c.clusterRoutes), ClusterName: c.clusterName})
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	defer bus.Close()

	origins := splitList(c.allowedOrigins)
	srv, err := server.New(server.Config{
		Store:          store,
		Bus:            bus,
		Logger:         logger,
		Version:        version,
		AllowedOrigins: origins,
		RateLimit:      c.rateLimit,
		PresenceLimit:  c.presenceLimit,
		PingInterval:   c.pingInterval,
		PongWait:       c.pongWait,
		MaxFrameBytes:  c.maxFrameBytes,
		WriteDelay:     c.writeDelay,
		MaxUploadBytes: c.maxUploadBytes,
	})
	if err != nil {
		return err
	}
	// A return before the graceful stop below (a port in use, say) still
	// stops the server, whose heartbeat and bus subscriptions would
	// otherwise outlive run; after that stop this does nothing.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	// Profiles first: if their address is taken, nothing is served yet.
	if c.pprofAddr != "" {
		stop, err := servePprof(c.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	// No TCP keep-alive probes: a WebSocket has its heartbeat and an idle
	// HTTP connection its IdleTimeout, and turning them on cost four
	// setsockopt calls per accepted connection.
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	const readHeaderTimeout = 10 * time.Second
	if cert == nil {
		// WebSocket upgrades are served off the listener, before net/http
		// (server.Listener); with TLS, net/http serves them all.
		ln = srv.Listener(ln, readHeaderTimeout)
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- serve(httpSrv, ln, cert) }()
	if c.redirectAddr != "" {
		rd, err := listenRedirect(c.redirectAddr, ln.Addr().String(), logger)
		if err != nil {
			httpSrv.Close()
			return err
		}
		defer rd.close()
	}
	storeAttr := slog.String("data_dir", c.dataDir)
	if c.postgresURL != "" {
		storeAttr = slog.String("store", "postgres") // the URL may hold a password
	}
	logger.Info("chatd listening", "addr", ln.Addr().String(), "version", version,
		storeAttr, "embedded_bus", bus.Embedded(), "tls", cert != nil)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpSrv.Shutdown(sctx) }() // stops accepting at once
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("websockets did not all close in time", "err", err)
	}
	if err := <-httpDone; err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	// The deferred bus and store closes run now: the store last, after
	// every in-flight write has returned.
	logger.Info("stopped")
	return nil
}
