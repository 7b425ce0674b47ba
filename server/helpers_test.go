package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/protocol"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Helpers shared by the tests that drive a real server over loopback.

// scrapeMetric reads /metrics and returns the value of an unlabelled sample
// (0 and false if it is absent).
func scrapeMetric(tb testing.TB, srv *chatdtest.Server, name string) (float64, bool) {
	tb.Helper()
	status, body := srv.Do(tb, "GET", "/metrics", "", nil)
	if status != http.StatusOK {
		tb.Fatalf("GET /metrics: status %d, want 200", status)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			tb.Fatalf("metric %s: bad value %q", name, rest)
		}
		return v, true
	}
	return 0, false
}

// errorFrameCode decodes an error frame; it fails the test for anything else.
func errorFrameCode(tb testing.TB, f chatdtest.Frame) string {
	tb.Helper()
	if f.Type != protocol.TypeError {
		tb.Fatalf("got %s frame %s, want an error", f.Type, f.Payload)
	}
	var p protocol.ErrorPayload
	f.Decode(tb, &p)
	if p.Message == "" {
		tb.Errorf("error frame %s has no message", f.Payload)
	}
	return string(p.Code)
}

// historyTexts returns the texts of a room's newest messages, read from the
// store as user sees it.
func historyTexts(tb testing.TB, srv *chatdtest.Server, userID, room string) []string {
	tb.Helper()
	msgs, _, err := srv.Store.History(context.Background(), userID, room, chat.HistoryQuery{Limit: 100})
	if err != nil {
		tb.Fatalf("store history of %s: %v", room, err)
	}
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		texts[i] = m.Text
	}
	return texts
}

// dialRaw opens a WebSocket with gorilla directly, without the harness's
// reader goroutine: the test decides when (and whether) to read.
func dialRaw(tb testing.TB, srv *chatdtest.Server, token string, dialer *websocket.Dialer) *websocket.Conn {
	tb.Helper()
	if dialer == nil {
		dialer = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	ws, _, err := dialer.Dial(srv.WSURL(), http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { ws.Close() })
	return ws
}

func writeFrame(tb testing.TB, ws *websocket.Conn, typ, id string, payload any) {
	tb.Helper()
	p, err := json.Marshal(payload)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(protocol.Envelope{Type: typ, ID: id, Payload: p})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		tb.Fatalf("write %s: %v", typ, err)
	}
}

// metricValue returns the value of the sample of a counter or gauge in reg whose
// labels include the given name/value pairs (0 if there is none), read in
// process, at once.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue samples
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
