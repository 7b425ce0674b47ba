package server

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// TestFlushWriteAllocatesNothing: a flusher's write (a list of frames from
// the pool, one writev, the list back to the pool) allocates nothing once
// the pools are warm. At a thousand connections written per round, one
// allocation per write was most of the server's garbage under fan-out.
func TestFlushWriteAllocatesNothing(t *testing.T) {
	w, client := loopbackWire(t)

	a := textFrame([]byte(`{"type":"new_message","payload":{"seq":1}}`))
	b := textFrame([]byte(`{"type":"new_message","payload":{"seq":2}}`))
	const runs = 1000
	want := bytes.Repeat(append(append([]byte{}, a...), b...), runs+2) // AllocsPerRun runs it once more
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, len(want))
		n, _ := io.ReadFull(client, buf)
		got <- buf[:n]
	}()
	write := func() {
		segs := getSegs()
		segs = append(segs, a, nil, b) // an empty segment is skipped
		if n, err := w.tryWrite(segs); err != nil || n != len(a)+len(b) {
			t.Fatalf("tryWrite = %d, %v; want %d, nil", n, err, len(a)+len(b))
		}
		putSegs(segs)
	}
	write() // warms the pools
	if allocs := testing.AllocsPerRun(runs, write); allocs != 0 && !raceEnabled {
		t.Errorf("a flusher's write allocates %v times, want 0", allocs)
	}
	if p := <-got; !bytes.Equal(p, want) {
		t.Errorf("the client read %d bytes, not the %d frames' %d", len(p), 2*(runs+2), len(want))
	}
}

// loopbackWire is a wire on one end of a loopback TCP connection and the
// other end, both closed when tb ends.
func loopbackWire(tb testing.TB) (*wire, net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	nc, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	w := newWire(nc)
	tb.Cleanup(func() { w.Close() })
	return w, client
}
