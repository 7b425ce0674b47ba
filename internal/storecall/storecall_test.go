package storecall

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func TestGate(t *testing.T) {
	var g Gate
	if err := g.Enter(); err != nil {
		t.Fatalf("Enter on an open gate: %v", err)
	}
	var released atomic.Bool
	closed := make(chan error)
	go func() {
		closed <- g.Close(func() error { released.Store(true); return io.ErrClosedPipe })
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a call was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	if released.Load() {
		t.Fatal("release ran while a call was in progress")
	}
	g.Exit()
	if err := <-closed; !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Close = %v, want release's error", err)
	}
	if err := g.Enter(); !errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("Enter after Close = %v, want ErrUnavailable", err)
	}
	if err := g.Close(func() error { t.Error("release ran twice"); return nil }); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestMapErr(t *testing.T) {
	cause := errors.New("connect: dial 1.2.3.4:5432:\n  refused")
	isCause := func(err error) bool { return err == cause }

	if err := MapErr("db", "op", nil, isCause); err != nil {
		t.Errorf("MapErr(nil) = %v", err)
	}
	if err := MapErr("db", "op", chat.ErrRoomNotFound, isCause); err != chat.ErrRoomNotFound {
		t.Errorf("a domain error = %v, want it as it was", err)
	}

	err := MapErr("db", "open x", cause, isCause)
	if !errors.Is(err, chat.ErrUnavailable) || !errors.Is(err, cause) {
		t.Errorf("unavailable: %v, want ErrUnavailable wrapping the cause", err)
	}
	if got, want := err.Error(), "db: open x: unavailable: database unavailable: connect: dial 1.2.3.4:5432:; refused"; got != want {
		t.Errorf("message %q, want one line %q", got, want)
	}
	if got, want := chat.ErrorMessage(err), "database unavailable"; got != want {
		t.Errorf("client message %q, want %q", got, want)
	}

	other := errors.New("syntax error")
	err = MapErr("db", "op", other, isCause)
	if chat.ErrorCode(err) != chat.CodeInternal || !errors.Is(err, other) || !strings.HasPrefix(err.Error(), "db: op: ") {
		t.Errorf("other error: %v (code %s), want internal, wrapped and named", err, chat.ErrorCode(err))
	}
}
