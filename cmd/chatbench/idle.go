package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// IdleReport is what an --idle run measured: how fast connections open
// and, with --server-pid, what each costs the server in memory.
type IdleReport struct {
	Proto    string `json:"proto"`
	URL      string `json:"url"`
	Users    int    `json:"users"`
	Accounts int    `json:"accounts,omitempty"`

	RegisterSeconds float64 `json:"register_s,omitempty"`
	// ConnectSeconds runs from the first dial until every connection is
	// ready: chatd welcome, gorilla upgrade, Centrifugo connect and
	// subscribe replies.
	ConnectSeconds float64 `json:"connect_s"`
	JoinSeconds    float64 `json:"join_s,omitempty"` // chatd: then every join_room ack
	ReadySeconds   float64 `json:"ready_s"`          // connect + join
	ConnectsPerS   float64 `json:"connects_per_s"`   // users / ready_s
	WelcomesPerS   float64 `json:"welcomes_per_s"`   // users / connect_s: authenticated connects with their welcome
	HoldSeconds    float64 `json:"hold_s"`

	// VmRSS of --server-pid after setup (registration) and before the
	// first dial, and again at the end of the hold.
	RSSBeforeKiB int64   `json:"rss_before_kib,omitempty"`
	RSSAfterKiB  int64   `json:"rss_after_kib,omitempty"`
	KiBPerConn   float64 `json:"kib_per_conn,omitempty"`
	// The CPU time (user and system) --server-pid spent from the first
	// dial until every welcome, per connection: what a connect costs the
	// server, whatever share of the cores it got.
	ServerCPUPerConnectUS float64 `json:"server_cpu_per_connect_us,omitempty"`
	// BenchCPUPerConnectUS is the same for the bench itself (its dials,
	// handshakes and welcome decodes): on a machine the two share, what
	// a connect costs is both.
	BenchCPUPerConnectUS float64 `json:"bench_cpu_per_connect_us,omitempty"`

	ConnErrors map[string]int64 `json:"connection_errors"`
	Closes     map[string]int64 `json:"closes"`
	OK         bool             `json:"ok"`
	Failures   []string         `json:"failures"`
}

func (r *IdleReport) result() (bool, []string) { return r.OK, r.Failures }

// WriteText prints the report for people.
func (r *IdleReport) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("chatbench %s  proto %s  idle", r.URL, r.Proto)
	p("setup       connections %d  accounts %d  register %.1fs", r.Users, r.Accounts, r.RegisterSeconds)
	p("connect     connect %.2fs  join %.2fs  ready %.2fs  %.0f connections/s  held %.1fs",
		r.ConnectSeconds, r.JoinSeconds, r.ReadySeconds, r.ConnectsPerS, r.HoldSeconds)
	if r.WelcomesPerS > 0 {
		p("welcome     %.0f welcomes/s  server CPU %.0f µs per connect", r.WelcomesPerS, r.ServerCPUPerConnectUS)
	}
	if r.BenchCPUPerConnectUS > 0 {
		p("bench       CPU %.0f µs per connect", r.BenchCPUPerConnectUS)
	}
	if r.RSSAfterKiB > 0 {
		p("memory      server VmRSS %d KiB before, %d KiB after: %.1f KiB per connection", r.RSSBeforeKiB, r.RSSAfterKiB, r.KiBPerConn)
	}
	p("connections errors %s  closes %s", counts(r.ConnErrors), counts(r.Closes))
	if r.OK {
		p("result      OK")
	} else {
		p("result      FAILED: %s", strings.Join(r.Failures, "; "))
	}
}

// RunIdle opens cfg.Users connections (chatd: logged in and joined to
// their room; Centrifugo: connected and subscribed; gorilla: upgraded),
// reports how fast, holds them for cfg.Hold and, given cfg.ServerPID,
// how much the server's resident memory grew per connection.
func RunIdle(ctx context.Context, cfg Config) (*IdleReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rep := &IdleReport{Proto: cfg.Proto, URL: strings.TrimSuffix(cfg.URL, "/"), Users: cfg.Users}
	var closes, connErrs *Counter
	var connected func() int // connections still open
	load := &Report{}
	if cfg.Proto == protoChatd {
		b, _ := newBench(cfg)
		rep.Accounts = cfg.Accounts
		tokens, err := b.register(ctx, load)
		rep.RegisterSeconds = load.RegisterSeconds
		if err != nil {
			return nil, err
		}
		rep.RSSBeforeKiB = vmRSS(cfg.ServerPID)
		m := startCPU(cfg.ServerPID)
		b.connected = func() { m.perConnect(rep, cfg.Users) }
		clients, err := b.connectJoin(ctx, load, tokens)
		defer closeAll(clients)
		if err != nil {
			return nil, err
		}
		closes, connErrs = &b.closes, &b.connErrs
		connected = func() (n int) {
			for _, c := range clients {
				if !isDone(c) {
					n++
				}
			}
			return n
		}
	} else {
		cfg.Senders = 1 // nobody sends; one slot for the unused counters
		pb := newPeerBench(cfg)
		rep.RSSBeforeKiB = vmRSS(cfg.ServerPID)
		m := startCPU(cfg.ServerPID)
		conns, err := pb.connectAll(ctx, load, false)
		m.perConnect(rep, cfg.Users)
		defer closePeers(conns)
		if err != nil {
			return nil, err
		}
		closes, connErrs = &pb.closes, &pb.connErrs
		connected = func() (n int) {
			for _, pc := range conns {
				if !isClosed(pc.done) {
					n++
				}
			}
			return n
		}
	}
	rep.ConnectSeconds, rep.JoinSeconds = load.ConnectSeconds, load.JoinSeconds
	rep.ReadySeconds = rep.ConnectSeconds + rep.JoinSeconds
	if rep.ReadySeconds > 0 {
		rep.ConnectsPerS = float64(cfg.Users) / rep.ReadySeconds
	}
	if rep.ConnectSeconds > 0 {
		rep.WelcomesPerS = float64(cfg.Users) / rep.ConnectSeconds
	}
	fmt.Fprintf(progressOf(cfg), "chatbench: %d %s connections ready in %.2fs; holding %v\n", cfg.Users, cfg.Proto, rep.ReadySeconds, cfg.Hold)
	t0 := time.Now()
	sleepCtx(ctx, cfg.Hold)
	rep.HoldSeconds = time.Since(t0).Seconds()
	if cfg.ServerPID > 0 {
		rep.RSSAfterKiB = vmRSS(cfg.ServerPID)
		rep.KiBPerConn = float64(rep.RSSAfterKiB-rep.RSSBeforeKiB) / float64(cfg.Users)
	}
	open := connected()
	rep.ConnErrors = connErrs.Snapshot()
	rep.Closes = closes.Snapshot()
	if open < cfg.Users {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d of %d connections ended during the hold", cfg.Users-open, cfg.Users))
	}
	if ctx.Err() != nil {
		rep.Failures = append(rep.Failures, fmt.Sprintf("run cut short: %v (--timeout %v)", context.Cause(ctx), cfg.Timeout))
	}
	if cfg.ServerPID > 0 && rep.RSSAfterKiB == 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("no VmRSS for process %d", cfg.ServerPID))
	}
	rep.OK = len(rep.Failures) == 0
	if rep.Failures == nil {
		rep.Failures = []string{}
	}
	return rep, nil
}

func progressOf(cfg Config) io.Writer {
	if cfg.Progress == nil {
		return io.Discard
	}
	return cfg.Progress
}

// cpuTime returns the user and system CPU time of a local process from
// /proc/PID/stat, 0 when pid is 0 or it cannot be read.
func cpuTime(pid int) time.Duration {
	d, _ := procCPU(pid)
	return d
}

// procCPU is cpuTime, and whether it could be read: a process just
// started may have used no clock tick yet.
func procCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command (field 2) is in parentheses and may hold spaces: count
	// from the last ')'. utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times:
// 100 on every Linux architecture Go runs on.
const clockTicks = 100

// vmRSS returns the resident set size of a local process in KiB from
// /proc/PID/status, 0 when pid is 0 or it cannot be read.
func vmRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// cpuMeter measures the CPU time the bench and the server spend over a
// phase of a run.
type cpuMeter struct {
	pid              int
	self, server     time.Duration
	selfOK, serverOK bool // read at the start (a fresh process may be at 0)
}

// startCPU starts measuring; pid is the server's process (0: the bench
// only).
func startCPU(pid int) cpuMeter {
	m := cpuMeter{pid: pid}
	m.self, m.selfOK = procCPU(os.Getpid())
	m.server, m.serverOK = procCPU(pid)
	return m
}

// perConnect writes the CPU time per connection since startCPU into rep.
func (m cpuMeter) perConnect(rep *IdleReport, conns int) {
	rep.BenchCPUPerConnectUS, rep.ServerCPUPerConnectUS = m.per(int64(conns))
}

// report writes the CPU time per delivery since startCPU into rep.
func (m cpuMeter) report(rep *Report, deliveries int64) {
	rep.BenchCPUPerDelivery, rep.ServerCPUPerDelivery = m.per(deliveries)
}

// per is the bench's and the server's CPU time, in µs, per one of ops
// operations since startCPU; 0 for a process whose time is not known.
func (m cpuMeter) per(ops int64) (bench, server float64) {
	if ops <= 0 {
		return 0, 0
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ops) }
	if self, ok := procCPU(os.Getpid()); ok && m.selfOK && self > m.self {
		bench = per(self - m.self)
	}
	if srv, ok := procCPU(m.pid); ok && m.serverOK && srv > m.server {
		server = per(srv - m.server)
	}
	return bench, server
}
