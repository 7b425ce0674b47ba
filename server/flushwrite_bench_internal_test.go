package server

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// BenchmarkFlushWrite is one flusher write over loopback TCP: a list of
// frames of a steady run's size (a 64-byte text's new_message, about 200
// bytes framed) to one socket, whose peer reads everything on a goroutine.
// It reports ns per write; the kernel's share (the send, the loopback's
// receiving side run inline, the wake-up of the reader) is most of it.
func BenchmarkFlushWrite(b *testing.B) {
	for _, frames := range []int{1, 30, 60, 100} {
		b.Run(fmt.Sprintf("frames=%d", frames), func(b *testing.B) { benchFlushWrite(b, frames) })
	}
}

func benchFlushWrite(b *testing.B, frames int) {
	w, client := loopbackWire(b)
	go io.Copy(io.Discard, client)

	payload := make([]byte, 190)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	list := make([][]byte, frames)
	for i := range list {
		list[i] = textFrame(payload) // a frame each, as broadcasts queue them
	}
	b.ReportAllocs()
	b.SetBytes(int64(frames * len(list[0])))
	b.ResetTimer()
	for range b.N {
		segs := getSegs()
		segs = append(segs, list...)
		if n, err := w.tryWrite(segs); err == errWouldBlock {
			w.writeBlocking(segs, n, time.Minute) // the reader fell behind
		} else if err != nil {
			b.Fatal(err)
		}
		putSegs(segs)
	}
}
