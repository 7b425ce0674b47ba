// Command benchchart reads the results of scripts/compare.sh (one JSON line
// per run: server, load, round, offered rate and chatbench's report) and
// prints a markdown summary (medians with min-max over the rounds) or
// draws the fan-out chart: deliveries per second and end-to-end p99
// against offered load, one line per server.
//
//	go run ./cmd/benchchart -in /tmp/chatd-compare-....jsonl -markdown
//	go run ./cmd/benchchart -in /tmp/chatd-compare-....jsonl -svg docs/benchmarks-fanout.svg
//
// Standard library only.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchchart: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchchart", flag.ContinueOnError)
	in := fs.String("in", "", "results file: JSON lines from scripts/compare.sh")
	md := fs.Bool("markdown", false, "print the summary tables in markdown")
	svg := fs.String("svg", "", "write the fan-out chart (the sweep load) to this SVG file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || (!*md && *svg == "") {
		return errors.New("usage: benchchart -in RESULTS.jsonl [-markdown] [-svg FILE.svg]")
	}
	runs, err := readRuns(*in)
	if err != nil {
		return err
	}
	if *md {
		writeMarkdown(stdout, runs)
	}
	if *svg != "" {
		f, err := os.Create(*svg)
		if err != nil {
			return err
		}
		writeSVG(f, runs)
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Run is one line of the results file.
type Run struct {
	Server  string  `json:"server"`
	Load    string  `json:"load"`
	Round   int     `json:"round"`
	Offered float64 `json:"offered"`
	RC      int     `json:"rc"`
	Chatd   string  `json:"chatd"`
	LoadAvg string  `json:"loadavg"`
	Report  *Report `json:"report"`
}

// Report holds the fields of chatbench's three reports (load, idle,
// storm) that the summary uses.
type Report struct {
	OK         bool             `json:"ok"`
	Sent       int64            `json:"sent"`
	Deliveries float64          `json:"deliveries_per_s"`
	Received   int64            `json:"deliveries_received"`
	Expected   int64            `json:"deliveries_expected"`
	Lost       int64            `json:"deliveries_lost"`
	Duplicates int64            `json:"duplicates"`
	OutOfOrder int64            `json:"out_of_order"`
	Closes     map[string]int64 `json:"closes"`
	E2E        struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
		Max float64 `json:"max_ms"`
	} `json:"e2e_latency"`

	ConnectsPerS float64 `json:"connects_per_s"`
	WelcomesPerS float64 `json:"welcomes_per_s"`
	CPUPerConnUS float64 `json:"server_cpu_per_connect_us"`
	BenchPerConn float64 `json:"bench_cpu_per_connect_us"`
	ReadyS       float64 `json:"ready_s"`
	KiBPerConn   float64 `json:"kib_per_conn"`

	WelcomedS  float64 `json:"all_welcomed_s"`
	ServerCPUS float64 `json:"server_cpu_s"`
	BenchCPUS  float64 `json:"bench_cpu_s"`
	CaughtUpS  float64 `json:"all_caught_up_s"`
	CatchUp    struct {
		P99 float64 `json:"p99_ms"`
	} `json:"catch_up"`
}

func readRuns(path string) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []Run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// serverOrder is the column order of the tables and the chart's legend.
var serverOrder = []string{"chatd", "gorilla", "centrifugo"}

func servers(runs []Run) []string {
	var out []string
	for _, s := range serverOrder {
		if slices.ContainsFunc(runs, func(r Run) bool { return r.Server == s }) {
			out = append(out, s)
		}
	}
	for _, r := range runs {
		if !slices.Contains(out, r.Server) {
			out = append(out, r.Server)
		}
	}
	return out
}

func filter(runs []Run, keep func(Run) bool) []Run {
	var out []Run
	for _, r := range runs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// stat is the median and range of one measure over the rounds.
type stat struct{ med, lo, hi float64 }

func statOf(runs []Run, f func(*Report) float64) (stat, bool) {
	var v []float64
	for _, r := range runs {
		if r.Report != nil {
			v = append(v, f(r.Report))
		}
	}
	if len(v) == 0 {
		return stat{}, false
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stat{med, v[0], v[len(v)-1]}, true
}

// cell formats a stat as "median [min–max]" with the given precision.
func cell(runs []Run, prec int, f func(*Report) float64) string {
	s, ok := statOf(runs, f)
	if !ok {
		return "–"
	}
	num := func(x float64) string { return group(fmt.Sprintf("%.*f", prec, x)) }
	if len(runs) == 1 || s.lo == s.hi {
		return num(s.med)
	}
	return fmt.Sprintf("%s [%s–%s]", num(s.med), num(s.lo), num(s.hi))
}

// group puts thousands separators into a formatted number.
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

func okCount(runs []Run) string {
	ok := 0
	for _, r := range runs {
		if r.RC == 0 && r.Report != nil && r.Report.OK {
			ok++
		}
	}
	return fmt.Sprintf("%d (%d)", len(runs), ok)
}

func closes(r *Report) float64 {
	var n int64
	for _, v := range r.Closes {
		n += v
	}
	return float64(n)
}

func writeMarkdown(w io.Writer, runs []Run) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	var labels []string
	var loadavgs []float64
	for _, r := range runs {
		if r.Chatd != "" && !slices.Contains(labels, r.Chatd) {
			labels = append(labels, r.Chatd)
		}
		la, _, _ := strings.Cut(r.LoadAvg, " ")
		if v, err := strconv.ParseFloat(la, 64); err == nil {
			loadavgs = append(loadavgs, v)
		}
	}
	slices.Sort(loadavgs)
	p("chatd measured: %s. Runs: %d. 1-minute load average at run start: %s.", strings.Join(labels, ", "), len(runs), spread(loadavgs))
	p("Cells: median [min–max] over the rounds; \"runs (ok)\": runs, and how many had no loss, disorder or early close.")
	srv := servers(runs)
	for _, load := range []string{"steady", "flat"} {
		lr := filter(runs, func(r Run) bool { return r.Load == load })
		if len(lr) == 0 {
			continue
		}
		p("")
		p("### %s", load)
		p("")
		p("| server | runs (ok) | deliveries/s | e2e p50 ms | e2e p99 ms | e2e max ms | lost | duplicates | out of order | closes |")
		p("|---|---|---|---|---|---|---|---|---|---|")
		for _, s := range srv {
			sr := filter(lr, func(r Run) bool { return r.Server == s })
			if len(sr) == 0 {
				continue
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", s, okCount(sr),
				cell(sr, 0, func(r *Report) float64 { return r.Deliveries }),
				cell(sr, 1, func(r *Report) float64 { return r.E2E.P50 }),
				cell(sr, 1, func(r *Report) float64 { return r.E2E.P99 }),
				cell(sr, 1, func(r *Report) float64 { return r.E2E.Max }),
				cell(sr, 0, func(r *Report) float64 { return float64(r.Lost) }),
				cell(sr, 0, func(r *Report) float64 { return float64(r.Duplicates) }),
				cell(sr, 0, func(r *Report) float64 { return float64(r.OutOfOrder) }),
				cell(sr, 0, closes))
		}
	}
	if lr := filter(runs, func(r Run) bool { return r.Load == "sweep" }); len(lr) > 0 {
		p("")
		p("### sweep (offered msg/s to every subscriber)")
		p("")
		p("| offered msg/s | server | runs (ok) | deliveries/s | e2e p50 ms | e2e p99 ms | lost | closes |")
		p("|---|---|---|---|---|---|---|---|")
		for _, off := range offeredRates(lr) {
			for _, s := range srv {
				sr := filter(lr, func(r Run) bool { return r.Server == s && r.Offered == off })
				if len(sr) == 0 {
					continue
				}
				p("| %s | %s | %s | %s | %s | %s | %s | %s |", group(fmt.Sprint(off)), s, okCount(sr),
					cell(sr, 0, func(r *Report) float64 { return r.Deliveries }),
					cell(sr, 1, func(r *Report) float64 { return r.E2E.P50 }),
					cell(sr, 1, func(r *Report) float64 { return r.E2E.P99 }),
					cell(sr, 0, func(r *Report) float64 { return float64(r.Lost) }),
					cell(sr, 0, closes))
			}
		}
	}
	if lr := filter(runs, func(r Run) bool { return r.Load == "idle" }); len(lr) > 0 {
		p("")
		p("### idle connections")
		p("")
		p("| server | runs (ok) | connects/s | welcomes/s | server CPU µs per connect | bench CPU µs per connect | all ready s | server RSS KiB per connection |")
		p("|---|---|---|---|---|---|---|---|")
		for _, s := range srv {
			sr := filter(lr, func(r Run) bool { return r.Server == s })
			if len(sr) == 0 {
				continue
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s |", s, okCount(sr),
				cell(sr, 0, func(r *Report) float64 { return r.ConnectsPerS }),
				cell(sr, 0, func(r *Report) float64 { return r.WelcomesPerS }),
				cell(sr, 0, func(r *Report) float64 { return r.CPUPerConnUS }),
				cell(sr, 0, func(r *Report) float64 { return r.BenchPerConn }),
				cell(sr, 2, func(r *Report) float64 { return r.ReadyS }),
				cell(sr, 1, func(r *Report) float64 { return r.KiBPerConn }))
		}
	}
	if lr := filter(runs, func(r Run) bool { return r.Load == "storm" }); len(lr) > 0 {
		p("")
		p("### reconnect storm (chatd)")
		p("")
		p("| runs (ok) | all welcomed s | all caught up s | catch-up p99 ms | server CPU s | bench CPU s |")
		p("|---|---|---|---|---|---|")
		p("| %s | %s | %s | %s | %s | %s |", okCount(lr),
			cell(lr, 2, func(r *Report) float64 { return r.WelcomedS }),
			cell(lr, 2, func(r *Report) float64 { return r.CaughtUpS }),
			cell(lr, 0, func(r *Report) float64 { return r.CatchUp.P99 }),
			cell(lr, 2, func(r *Report) float64 { return r.ServerCPUS }),
			cell(lr, 2, func(r *Report) float64 { return r.BenchCPUS }))
	}
}

func spread(sorted []float64) string {
	switch len(sorted) {
	case 0:
		return "unknown"
	case 1:
		return fmt.Sprintf("%.2f", sorted[0])
	}
	return fmt.Sprintf("%.2f–%.2f", sorted[0], sorted[len(sorted)-1])
}

func offeredRates(runs []Run) []float64 {
	var out []float64
	for _, r := range runs {
		if !slices.Contains(out, r.Offered) {
			out = append(out, r.Offered)
		}
	}
	slices.Sort(out)
	return out
}

// Chart geometry: two panels side by side.
const (
	panelW, panelH = 440.0, 300.0
	marginL        = 70.0
	marginT        = 50.0
	marginB        = 60.0
	gap            = 90.0
)

var colors = map[string]string{"chatd": "#d62728", "gorilla": "#1f77b4", "centrifugo": "#2ca02c"}

// writeSVG draws the sweep runs: median deliveries/s (linear) and median
// e2e p99 (log scale) against offered msg/s (log scale), one line per
// server, with the ideal (every delivery made) dashed.
func writeSVG(w io.Writer, runs []Run) {
	sweep := filter(runs, func(r Run) bool { return r.Load == "sweep" && r.Report != nil })
	rates := offeredRates(sweep)
	srv := servers(sweep)
	width := marginL + panelW + gap + panelW + 30
	height := marginT + panelH + marginB + 30
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	var labels []string
	for _, r := range sweep {
		if r.Chatd != "" && !slices.Contains(labels, r.Chatd) {
			labels = append(labels, r.Chatd)
		}
	}
	fmt.Fprintf(w, `<text x="%.0f" y="22" font-size="15" font-weight="bold">Fan-out to one room: medians over the rounds (chatd %s)</text>`+"\n", marginL, esc(strings.Join(labels, ", ")))
	if len(rates) == 0 {
		fmt.Fprintf(w, `<text x="%.0f" y="%.0f">no sweep runs in the results</text></svg>`+"\n", marginL, marginT+40)
		return
	}
	subs := 0.0
	for _, r := range sweep {
		if r.Report.Sent > 0 && r.Report.Expected > 0 {
			subs = math.Max(subs, float64(r.Report.Expected)/float64(r.Report.Sent))
		}
	}
	// Offered rates span decades: a log x axis keeps the low ones apart.
	lx0, lx1 := math.Log10(rates[0]/1.25), math.Log10(rates[len(rates)-1]*1.25)
	xf := func(v float64) float64 { return (math.Log10(v) - lx0) / (lx1 - lx0) * panelW }
	series := func(f func(*Report) float64) map[string][][2]float64 {
		out := map[string][][2]float64{}
		for _, s := range srv {
			for _, off := range rates {
				st, ok := statOf(filter(sweep, func(r Run) bool { return r.Server == s && r.Offered == off }), f)
				if ok {
					out[s] = append(out[s], [2]float64{off, st.med})
				}
			}
		}
		return out
	}
	deliv := series(func(r *Report) float64 { return r.Deliveries })
	p99 := series(func(r *Report) float64 { return r.E2E.P99 })

	// Left: deliveries per second, with the ideal (offered x subscribers).
	yMax := 0.0
	for _, pts := range deliv {
		for _, pt := range pts {
			yMax = math.Max(yMax, pt[1])
		}
	}
	yMax = niceCeil(math.Max(yMax, 1) * 1.1)
	x0 := marginL
	lin := func(v float64) float64 { return marginT + panelH - v/yMax*panelH }
	axes(w, x0, "offered msg/s (log)", "deliveries/s", rates, xf, ticksLinear(yMax), lin, func(v float64) string { return group(fmt.Sprintf("%.0f", v)) })
	if subs > 0 {
		// The ideal, offered x subscribers, up to where it leaves the panel.
		var pts [][2]float64
		for _, off := range rates {
			if off*subs > yMax {
				pts = append(pts, [2]float64{yMax / subs, yMax})
				break
			}
			pts = append(pts, [2]float64{off, off * subs})
		}
		polyline(w, x0, xf, lin, pts, "#999", `stroke-dasharray="4 4"`)
	}
	for _, s := range srv {
		polyline(w, x0, xf, lin, deliv[s], colorOf(s), "")
	}

	// Right: e2e p99 in ms, log scale.
	lo, hi := math.Inf(1), 0.0
	for _, pts := range p99 {
		for _, pt := range pts {
			if pt[1] > 0 {
				lo, hi = math.Min(lo, pt[1]), math.Max(hi, pt[1])
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	dLo, dHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dHi == dLo {
		dHi++
	}
	logY := func(v float64) float64 {
		v = math.Max(v, math.Pow(10, dLo))
		return marginT + panelH - (math.Log10(v)-dLo)/(dHi-dLo)*panelH
	}
	var yt []float64
	for d := dLo; d <= dHi; d++ {
		yt = append(yt, math.Pow(10, d))
	}
	x1 := marginL + panelW + gap
	axes(w, x1, "offered msg/s (log)", "end-to-end p99 (ms, log)", rates, xf, yt, logY, func(v float64) string { return group(fmt.Sprintf("%g", v)) })
	for _, s := range srv {
		polyline(w, x1, xf, logY, p99[s], colorOf(s), "")
	}

	// Legend.
	for i, s := range srv {
		x := marginL + float64(i)*130
		y := marginT + panelH + 48
		fmt.Fprintf(w, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2.5"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			x, y, x+24, y, colorOf(s), x+30, y+4, esc(s))
	}
	if subs > 0 {
		x, y := marginL+float64(len(srv))*130, marginT+panelH+48
		fmt.Fprintf(w, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999" stroke-width="2.5" stroke-dasharray="4 4"/><text x="%.0f" y="%.0f">ideal: offered × %.0f subscribers</text>`+"\n",
			x, y, x+24, y, x+30, y+4, subs)
	}
	fmt.Fprintln(w, "</svg>")
}

func colorOf(s string) string {
	if c, ok := colors[s]; ok {
		return c
	}
	return "#555"
}

// axes draws one panel's frame, grid, ticks and titles.
func axes(w io.Writer, x0 float64, xTitle, yTitle string, xt []float64, xf func(float64) float64, yt []float64, y func(float64) float64, yLabel func(float64) string) {
	top, bottom := marginT, marginT+panelH
	fmt.Fprintf(w, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", x0, top, panelW, panelH)
	for _, v := range yt {
		yy := y(v)
		if yy < top-0.5 || yy > bottom+0.5 {
			continue
		}
		fmt.Fprintf(w, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			x0+1, yy, x0+panelW-1, yy, x0-6, yy+4, yLabel(v))
	}
	for _, v := range xt {
		xx := x0 + xf(v)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333"/><text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n",
			xx, bottom, xx, bottom+5, xx, bottom+19, group(fmt.Sprintf("%.0f", v)))
	}
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", x0+panelW/2, bottom+36, esc(xTitle))
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x0+panelW/2, top-8, esc(yTitle))
}

func polyline(w io.Writer, x0 float64, xf func(float64) float64, y func(float64) float64, pts [][2]float64, color, extra string) {
	if len(pts) == 0 {
		return
	}
	var b strings.Builder
	for _, pt := range pts {
		fmt.Fprintf(&b, "%.1f,%.1f ", x0+xf(pt[0]), y(pt[1]))
	}
	fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" %s/>`+"\n", strings.TrimSpace(b.String()), color, extra)
	if extra != "" {
		return
	}
	for _, pt := range pts {
		fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", x0+xf(pt[0]), y(pt[1]), color)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func ticksLinear(max float64) []float64 {
	var out []float64
	for i := 0; i <= 5; i++ {
		out = append(out, max*float64(i)/5)
	}
	return out
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
