// Command chatbench is chatd's load generator. It registers users over
// HTTP, opens one WebSocket per user, spreads the users over rooms, sends
// messages at a fixed aggregate rate (or as fast as acks allow) for a fixed
// time or a fixed count, and reports ack and end-to-end latency, delivery
// throughput, and every ordering violation or lost delivery it saw, so that
// it doubles as a correctness check under load.
//
// With --proto gorilla or --proto centrifugo it drives the peers chatd is
// compared with (gorilla/websocket's examples/chat, Centrifugo v6) with the
// same load shapes and the same report (peer.go). --idle only opens and
// holds connections (idle.go); --storm measures chatd's reconnect storm
// after a server restart (storm.go).
//
// It drives a chatd on the local machine only: a --url whose host is not
// loopback is refused, and every connection it opens is checked again at
// dial time.
//
//	go run ./cmd/chatbench --url http://127.0.0.1:8080 --users 100 --senders 10 --rate 200
//
// Exit status: 0 when every acked message reached every member of its room
// in order, 1 when not (or the run failed or timed out), 2 for bad flags.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatd/chatd/chat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Config is one bench run. A zero field means the default of its flag
// (URL excepted: it is required).
type Config struct {
	URL         string
	Users       int
	Rooms       int
	Senders     int // 0: every user sends
	Rate        float64
	Inflight    int
	Size        int
	Duration    time.Duration
	Drain       time.Duration
	Timeout     time.Duration
	Prefix      string // usernames are Prefix-u<i>
	RoomPrefix  string // rooms are RoomPrefix-r<i>
	Password    string
	Concurrency int // parallel setup requests
	Progress    io.Writer

	Proto    string // chatd (default), gorilla or centrifugo
	Messages int    // > 0: each sender sends exactly this many, then drains; Duration is ignored
	Accounts int    // chatd: accounts to register; connection i logs in as account i mod Accounts; 0: one per connection
	Channel  string // centrifugo: the channel; default "bench"

	Readers   string        // readersPoll or readersGoroutine
	Idle      bool          // only connect (and join/subscribe), report connects/s, hold
	Hold      time.Duration // idle: how long to hold the connections open
	ServerPID int           // the server's process: its VmRSS and CPU time are read from /proc
	Storm     bool          // chatd: reconnect storm after a server restart (storm.go)

	// CPUProfile: write the bench's own CPU profile to this file, to see
	// what the load generator spends its share of the cores on.
	CPUProfile string

	// stall ends a peer run's drain once no delivery has come for this
	// long; default stallWait (tests shorten it).
	stall time.Duration
}

// Protocols chatbench speaks.
const (
	protoChatd      = "chatd"
	protoGorilla    = "gorilla"
	protoCentrifugo = "centrifugo"
)

// How the bench reads its connections (--readers).
const (
	readersPoll      = "poll"
	readersGoroutine = "goroutine"
)

// defaultInflightPaced bounds the unacked messages of one sender in a
// paced run (--rate > 0), where pacing, not acks, should set the rate.
const defaultInflightPaced = 64

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 2
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "chatbench: %v\n", err)
			return 2
		}
		defer stop()
	}
	cfg.Progress = stderr
	raiseFileLimit(cfg.Users+64, stderr)
	var rep reporter
	keep := func(r reporter, ok bool, e error) {
		if ok {
			rep = r
		}
		err = e
	}
	switch {
	case cfg.Idle:
		r, e := RunIdle(ctx, cfg)
		keep(r, r != nil, e)
	case cfg.Storm:
		r, e := RunStorm(ctx, cfg)
		keep(r, r != nil, e)
	case cfg.Proto != protoChatd:
		r, e := RunPeer(ctx, cfg)
		keep(r, r != nil, e)
	default:
		r, e := Run(ctx, cfg)
		keep(r, r != nil, e)
	}
	if rep != nil {
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
		} else {
			rep.WriteText(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	if ok, failures := rep.result(); !ok {
		fmt.Fprintf(stderr, "chatbench: FAILED: %s\n", strings.Join(failures, "; "))
		return 1
	}
	return 0
}

// reporter is any of the reports: the load report, the idle report, the
// storm report.
type reporter interface {
	WriteText(w io.Writer)
	result() (ok bool, failures []string)
}

func (r *Report) result() (bool, []string) { return r.OK, r.Failures }

func parseFlags(args []string, stderr io.Writer) (Config, bool, error) {
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	var asJSON bool
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "chatd base URL; its host must be loopback (127.0.0.0/8, ::1, localhost)")
	fs.IntVar(&c.Users, "users", defaultUsers, "users, one WebSocket each")
	fs.IntVar(&c.Rooms, "rooms", 1, "rooms; user i joins room i mod rooms")
	fs.IntVar(&c.Senders, "senders", 0, "users that send (the first ones, so spread over the rooms); 0 = all")
	fs.Float64Var(&c.Rate, "rate", 0, "messages per second, all senders together; 0 = as fast as acks allow")
	fs.IntVar(&c.Inflight, "inflight", 0, fmt.Sprintf("unacked messages per sender; default 1 with --rate 0, %d with a rate", defaultInflightPaced))
	fs.IntVar(&c.Size, "size", defaultSize, fmt.Sprintf("message text bytes (%d-%d); the send time is embedded", minTextSize, chat.MaxTextChars))
	fs.DurationVar(&c.Duration, "duration", defaultDuration, "how long to send")
	fs.DurationVar(&c.Drain, "drain", defaultDrain, "after sending, the longest wait for acks, and again for deliveries")
	fs.DurationVar(&c.Timeout, "timeout", defaultTimeout, "hard limit on the whole run, setup included")
	fs.StringVar(&c.Prefix, "prefix", "", "username prefix (users <prefix>-u<i>); default random, so reruns do not collide")
	fs.StringVar(&c.RoomPrefix, "room-prefix", "", "room name prefix (rooms <prefix>-r<i>); default the username prefix, lowercased")
	fs.StringVar(&c.Password, "password", defaultPassword, "password of the bench users")
	fs.IntVar(&c.Concurrency, "concurrency", defaultConcurrency, "parallel requests during setup (register, connect, join)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.Proto, "proto", protoChatd, "server protocol: chatd, gorilla (gorilla/websocket examples/chat) or centrifugo (Centrifugo v6 JSON)")
	fs.IntVar(&c.Messages, "messages", 0, "each sender sends exactly this many messages, then drains (--duration is then ignored); 0 = send for --duration")
	fs.IntVar(&c.Accounts, "accounts", 0, "chatd: accounts to register, connection i logs in as account i mod accounts (registration costs a password hash each); 0 = one per connection")
	fs.StringVar(&c.Channel, "channel", "bench", "centrifugo: the channel every connection subscribes to and publishes in")
	fs.StringVar(&c.Readers, "readers", readersPoll, "how the bench reads its connections: "+readersPoll+" (a few epoll loops for all of them, Linux only) or "+readersGoroutine+" (one goroutine each)")
	fs.BoolVar(&c.Idle, "idle", false, "only open --users connections (joined / subscribed), report connects per second, hold them for --hold")
	fs.DurationVar(&c.Hold, "hold", 0, "with --idle: how long to keep the connections open once all are ready")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's local process: with --idle its VmRSS before and after connecting (KiB per connection) and CPU per connect; otherwise its CPU per delivery")
	fs.BoolVar(&c.Storm, "storm", false, "chatd: connect, send --messages, wait for the server to restart, then reconnect every client at once and time the catch-up")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write chatbench's own CPU profile (pprof) to this file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: chatbench --url http://127.0.0.1:8080 [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, asJSON, c.check()
}

// Defaults of the flags, also used for zero Config fields.
const (
	defaultUsers       = 10
	defaultSize        = 64
	defaultDuration    = 10 * time.Second
	defaultDrain       = 10 * time.Second
	defaultTimeout     = 5 * time.Minute
	defaultPassword    = "chatbench-password"
	defaultConcurrency = 32
)

// check validates the config and fills in the defaults.
func (c *Config) check() error {
	if err := checkLoopbackURL(c.URL); err != nil {
		return err
	}
	setDefault(&c.Users, defaultUsers)
	setDefault(&c.Rooms, 1)
	setDefault(&c.Size, defaultSize)
	setDefault(&c.Duration, defaultDuration)
	setDefault(&c.Drain, defaultDrain)
	setDefault(&c.Timeout, defaultTimeout)
	setDefault(&c.Password, defaultPassword)
	setDefault(&c.Concurrency, defaultConcurrency)
	if c.Prefix == "" {
		b := make([]byte, 4)
		rand.Read(b)
		c.Prefix = "cb" + hex.EncodeToString(b)
	}
	if c.RoomPrefix == "" {
		c.RoomPrefix = strings.ReplaceAll(strings.ToLower(c.Prefix), ".", "_")
	}
	setDefault(&c.Proto, protoChatd)
	setDefault(&c.Channel, "bench")
	setDefault(&c.Readers, readersPoll)
	setDefault(&c.stall, stallWait)
	if c.Senders == 0 {
		c.Senders = c.Users
	}
	if c.Accounts == 0 || c.Accounts > c.Users {
		c.Accounts = c.Users
	}
	if c.Inflight == 0 {
		c.Inflight = 1
		if c.Rate > 0 {
			c.Inflight = defaultInflightPaced
		}
	}
	switch {
	case c.Users < 1:
		return errors.New("--users must be at least 1")
	case c.Rooms < 1 || c.Rooms > c.Users:
		return errors.New("--rooms must be 1 to --users")
	case c.Senders < 1 || c.Senders > c.Users:
		return errors.New("--senders must be 1 to --users (0 = all)")
	case c.Rate < 0:
		return errors.New("--rate must not be negative")
	case c.Inflight < 1:
		return errors.New("--inflight must be at least 1")
	case c.Proto != protoChatd && c.Proto != protoGorilla && c.Proto != protoCentrifugo:
		return fmt.Errorf("--proto %q: want chatd, gorilla or centrifugo", c.Proto)
	case c.Proto != protoChatd && c.Rooms != 1:
		return errors.New("--rooms must be 1 with the peers' protocols (one global room / one channel)")
	case c.Proto != protoChatd && (c.Size < peerMinTextSize || c.Size > peerMaxTextSize):
		// gorilla's examples/chat reads at most 512 bytes per frame.
		return fmt.Errorf("--size must be %d to %d with --proto %s", peerMinTextSize, peerMaxTextSize, c.Proto)
	case c.Size < minTextSize || c.Size > chat.MaxTextChars:
		return fmt.Errorf("--size must be %d to %d", minTextSize, chat.MaxTextChars)
	case c.Messages < 0:
		return errors.New("--messages must not be negative")
	case c.Accounts < 0:
		return errors.New("--accounts must not be negative")
	case c.Hold < 0:
		return errors.New("--hold must not be negative")
	case c.Readers != readersPoll && c.Readers != readersGoroutine:
		return fmt.Errorf("--readers %q: want %s or %s", c.Readers, readersPoll, readersGoroutine)
	case c.Idle && c.Storm:
		return errors.New("--idle and --storm exclude each other")
	case c.Storm && c.Proto != protoChatd:
		return errors.New("--storm is for --proto chatd only")
	case c.Duration <= 0:
		return errors.New("--duration must be positive")
	case c.Drain <= 0:
		return errors.New("--drain must be positive")
	case c.Messages == 0 && !c.Idle && c.Timeout < c.Duration+2*c.Drain:
		return errors.New("--timeout must be at least --duration + 2 * --drain")
	case c.Concurrency < 1:
		return errors.New("--concurrency must be at least 1")
	case !chat.ValidUsername(c.userName(c.Users - 1)):
		return fmt.Errorf("--prefix %q does not make valid usernames (3-32 of A-Z a-z 0-9 _ . -)", c.Prefix)
	case !chat.ValidRoomName(c.roomName(c.Rooms - 1)):
		return fmt.Errorf("--room-prefix %q does not make valid room names (1-64 of a-z 0-9 _ -)", c.RoomPrefix)
	}
	return nil
}

// startCPUProfile profiles the bench until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func (c *Config) userName(i int) string { return c.Prefix + "-u" + strconv.Itoa(i) }
func (c *Config) roomName(i int) string { return c.RoomPrefix + "-r" + strconv.Itoa(i) }

// checkLoopbackURL accepts only http(s) URLs whose host is a loopback
// address or "localhost": this tool must never load another machine.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url %q: scheme must be http or https", raw)
	}
	if u.User != nil || u.Opaque != "" {
		return fmt.Errorf("--url %q: not a plain http URL", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("--url %q: host is not loopback (127.0.0.0/8, ::1, localhost); chatbench loads the local machine only", raw)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Report is what a run measured. The text and JSON forms carry the same
// fields.
type Report struct {
	Proto    string  `json:"proto"`
	URL      string  `json:"url"`
	Prefix   string  `json:"prefix"`
	Users    int     `json:"users"`
	Rooms    int     `json:"rooms"`
	Senders  int     `json:"senders"`
	Rate     float64 `json:"rate"`
	Inflight int     `json:"inflight"`
	Size     int     `json:"size"`
	Duration float64 `json:"duration_s"`
	Messages int     `json:"messages_per_sender"` // 0: sent for duration_s
	Accounts int     `json:"accounts"`

	RegisterSeconds float64 `json:"register_s"`
	ConnectSeconds  float64 `json:"connect_s"`
	JoinSeconds     float64 `json:"join_s"`

	Sent        int64            `json:"sent"`
	Acked       int64            `json:"acked"`
	Errors      map[string]int64 `json:"errors"` // error replies by code
	Unanswered  int64            `json:"unanswered"`
	LateSends   int64            `json:"late_sends"` // paced sends delayed a period or more by the in-flight bound
	AckedPerSec float64          `json:"acked_per_s"`

	Received       int64   `json:"deliveries_received"`
	Expected       int64   `json:"deliveries_expected"`
	Lost           int64   `json:"deliveries_lost"`
	Foreign        int64   `json:"deliveries_foreign"` // in bench rooms, not sent by a bench
	DeliveryWindow float64 `json:"delivery_window_s"`  // first send to last delivery
	DeliveriesPerS float64 `json:"deliveries_per_s"`

	AckLatency LatencySummary `json:"ack_latency"`
	E2ELatency LatencySummary `json:"e2e_latency"`

	// CPU time (user + system) over the send and drain phases, per
	// delivery received, in microseconds: the bench's own, and with
	// --server-pid the server's. 0 when not measured.
	BenchCPUPerDelivery  float64 `json:"bench_cpu_us_per_delivery,omitempty"`
	ServerCPUPerDelivery float64 `json:"server_cpu_us_per_delivery,omitempty"`

	OrderViolations int64            `json:"order_violations"` // duplicates, out-of-order and gaps
	Duplicates      int64            `json:"duplicates"`
	OutOfOrder      int64            `json:"out_of_order"`
	ConnErrors      map[string]int64 `json:"connection_errors"`
	Closes          map[string]int64 `json:"closes"` // unexpected ends: close code, "reset" or "error"

	OK       bool     `json:"ok"`
	Failures []string `json:"failures"`
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	rate := "max"
	if r.Rate > 0 {
		rate = strconv.FormatFloat(r.Rate, 'f', -1, 64) + "/s"
	}
	p("chatbench %s  proto %s  prefix %s", r.URL, r.Proto, r.Prefix)
	span := fmt.Sprintf("duration %.1fs", r.Duration)
	if r.Messages > 0 {
		span = fmt.Sprintf("messages %d per sender", r.Messages)
	}
	p("load        users %d  rooms %d  senders %d  rate %s  inflight %d  size %d B  %s",
		r.Users, r.Rooms, r.Senders, rate, r.Inflight, r.Size, span)
	p("setup       register %.1fs  connect %.1fs  join %.1fs", r.RegisterSeconds, r.ConnectSeconds, r.JoinSeconds)
	p("messages    sent %d  acked %d (%.0f/s)  errors %s  unanswered %d  late sends %d",
		r.Sent, r.Acked, r.AckedPerSec, counts(r.Errors), r.Unanswered, r.LateSends)
	p("deliveries  received %d  expected %d  lost %d  foreign %d  %.0f/s over %.2fs",
		r.Received, r.Expected, r.Lost, r.Foreign, r.DeliveriesPerS, r.DeliveryWindow)
	lat := func(name string, s LatencySummary) {
		p("%-11s p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms  (n=%d)", name, s.P50, s.P90, s.P99, s.Max, s.Count)
	}
	lat("ack", r.AckLatency)
	lat("end-to-end", r.E2ELatency)
	if r.BenchCPUPerDelivery > 0 {
		srv := "unmeasured (--server-pid)"
		if r.ServerCPUPerDelivery > 0 {
			srv = fmt.Sprintf("%.2fµs", r.ServerCPUPerDelivery)
		}
		p("cpu         per delivery: bench %.2fµs  server %s", r.BenchCPUPerDelivery, srv)
	}
	p("order       violations %d  duplicates %d  out-of-order %d", r.OrderViolations, r.Duplicates, r.OutOfOrder)
	p("connections errors %s  closes %s", counts(r.ConnErrors), counts(r.Closes))
	if r.OK {
		p("result      OK")
	} else {
		p("result      FAILED: %s", strings.Join(r.Failures, "; "))
	}
}

func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
