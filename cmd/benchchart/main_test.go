package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// results is a small results file as scripts/compare.sh writes it.
const results = `{"server":"chatd","load":"steady","round":1,"offered":1000,"rc":0,"chatd":"abc123","loadavg":"2.0 1.5 1.0","report":{"ok":true,"sent":10000,"deliveries_expected":10000000,"deliveries_per_s":90000,"deliveries_lost":0,"closes":{},"e2e_latency":{"p50_ms":2,"p99_ms":10,"max_ms":20}}}
{"server":"chatd","load":"steady","round":2,"offered":1000,"rc":0,"chatd":"abc123","loadavg":"10.0 1.5 1.0","report":{"ok":true,"deliveries_per_s":80000,"e2e_latency":{"p50_ms":4,"p99_ms":30,"max_ms":40}}}
{"server":"chatd","load":"steady","round":3,"offered":1000,"rc":1,"chatd":"abc123","loadavg":"2.5 1.5 1.0","report":{"ok":false,"deliveries_per_s":100000,"deliveries_lost":7,"closes":{"1013":2},"e2e_latency":{"p50_ms":3,"p99_ms":20,"max_ms":30}}}
{"server":"gorilla","load":"sweep","round":1,"offered":250,"rc":0,"report":{"ok":true,"sent":1250,"deliveries_expected":1250000,"deliveries_per_s":249000,"e2e_latency":{"p99_ms":5}}}
{"server":"gorilla","load":"sweep","round":1,"offered":500,"rc":0,"report":{"ok":true,"sent":2500,"deliveries_expected":2500000,"deliveries_per_s":400000,"e2e_latency":{"p99_ms":500}}}
{"server":"centrifugo","load":"idle","round":1,"offered":0,"rc":0,"report":{"ok":true,"connects_per_s":5000,"welcomes_per_s":6000,"ready_s":2,"kib_per_conn":12.5}}

`

func TestMarkdownMediansAndRanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(path, []byte(results), 0o644)
	var out bytes.Buffer
	if err := run([]string{"-in", path, "-markdown"}, &out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"chatd measured: abc123. Runs: 6.",
		"load average at run start: 2.00–10.00",
		"| chatd | 3 (2) | 90,000 [80,000–100,000] | 3.0 [2.0–4.0] | 20.0 [10.0–30.0] | 30.0 [20.0–40.0] | 0 [0–7] | 0 | 0 | 0 [0–2] |",
		"| 500 | gorilla | 1 (1) | 400,000 |",
		"| centrifugo | 1 (1) | 5,000 | 6,000 | 0 | 0 | 2.00 | 12.5 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	os.WriteFile(path, []byte(results), 0o644)
	svg := filepath.Join(dir, "chart.svg")
	if err := run([]string{"-in", path, "-svg", svg}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	lines := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG does not parse: %v\n%s", err, data)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	// gorilla's deliveries and p99, and the ideal line.
	if lines != 3 {
		t.Errorf("%d polylines, want 3", lines)
	}
	if !strings.Contains(string(data), "ideal: offered × 1000 subscribers") {
		t.Errorf("no ideal line label for 1000 subscribers")
	}
}

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "999": "999", "1000": "1,000", "1234567.5": "1,234,567.5", "-12345": "-12,345"} {
		if got := group(in); got != want {
			t.Errorf("group(%q) = %q, want %q", in, got, want)
		}
	}
}
