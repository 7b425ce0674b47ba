package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// storeFailureLogEvery is how often the failures of one store operation
// are logged: the first at once, with its cause; those that follow within
// this time are counted, and the first one after it is logged with their
// number. A long outage costs a line per operation per interval, not one
// per refused request.
const storeFailureLogEvery = 10 * time.Second

// storeFailures logs and counts the failures of the store itself (it is
// unavailable, or broke), as opposed to its domain errors (not found,
// forbidden...), which are answers.
type storeFailures struct {
	log   *slog.Logger
	count func(op string) // the metric
	now   func() time.Time

	mu  sync.Mutex // guards the following
	ops map[string]*opFailures
}

// opFailures is what one operation's failures since its last log line were.
type opFailures struct {
	logged time.Time // when its last line was written
	since  int       // failures not logged since then
}

func newStoreFailures(log *slog.Logger, count func(op string)) *storeFailures {
	return &storeFailures{log: log, count: count, now: time.Now, ops: make(map[string]*opFailures)}
}

// storeFailure reports whether err, returned by a store call, is a
// failure of the store: unavailable or internal, and not the caller
// giving up.
func storeFailure(err error) bool {
	switch chat.ErrorCode(err) {
	case chat.CodeUnavailable, chat.CodeInternal:
		return !errors.Is(err, context.Canceled)
	}
	return false
}

// reportedError is a store failure that storeFailures has counted and
// logged (or counted towards its next line): the edges, which log other
// internal errors, need not log it again.
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

// failed counts a failure of op, logs it if op's interval allows, and
// returns err marked as reported. Errors that are not store failures are
// returned as they are.
func (f *storeFailures) failed(op string, err error) error {
	if err == nil || !storeFailure(err) {
		return err
	}
	if errors.As(err, new(reportedError)) {
		return err // reported by the call that returned it
	}
	f.count(op)
	now := f.now()
	f.mu.Lock()
	o := f.ops[op]
	if o == nil {
		o = &opFailures{}
		f.ops[op] = o
	}
	o.since++
	n := o.since
	write := o.logged.IsZero() || now.Sub(o.logged) >= storeFailureLogEvery
	if write {
		o.logged, o.since = now, 0
	}
	f.mu.Unlock()
	if write {
		// failures: how many this line stands for, itself included.
		f.log.Error("store failed", "op", op, "err", err, "failures", n, "log_every", storeFailureLogEvery)
	}
	return reportedError{err}
}
