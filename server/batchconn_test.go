package server

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// countingConn records each Write that reaches the "kernel".
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestBatchConn(t *testing.T) {
	cc := &countingConn{}
	b := &batchConn{Conn: cc}

	b.Write([]byte("handshake"))
	if len(cc.writes) != 1 {
		t.Fatalf("outside a batch: %d writes, want 1 (straight through)", len(cc.writes))
	}

	b.begin()
	var want []byte
	for i := range 10 {
		p := []byte{'a' + byte(i), 'x'}
		want = append(want, p...)
		if n, err := b.Write(p); n != 2 || err != nil {
			t.Fatalf("Write in a batch = %d, %v", n, err)
		}
	}
	if len(cc.writes) != 1 {
		t.Fatalf("before flush: %d writes, want the batch held back", len(cc.writes))
	}
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	if len(cc.writes) != 2 || !bytes.Equal(cc.writes[1], want) {
		t.Fatalf("after flush: writes %q, want one write of %q", cc.writes[1:], want)
	}
	if b.buf != nil {
		t.Error("an idle connection still holds its batch buffer")
	}

	// A batch larger than the buffer goes out in order, in buffer-sized writes.
	cc.writes = nil
	b.begin()
	big := bytes.Repeat([]byte("y"), maxBatch-10)
	b.Write([]byte("0123456789ab")) // 12 bytes
	b.Write(big)                    // does not fit behind them: the 12 go first
	b.Write(bytes.Repeat([]byte("z"), maxBatch+1))
	b.Write([]byte("tail"))
	b.flush()
	got := bytes.Join(cc.writes, nil)
	wantAll := append(append(append([]byte("0123456789ab"), big...), bytes.Repeat([]byte("z"), maxBatch+1)...), "tail"...)
	if !bytes.Equal(got, wantAll) {
		t.Fatalf("large batch: %d bytes in %d writes, out of order or incomplete", len(got), len(cc.writes))
	}
	if len(cc.writes) != 4 {
		t.Errorf("large batch took %d writes, want 4", len(cc.writes))
	}
}
