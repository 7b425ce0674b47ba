// Package storecall is what every call of chatd's chat.Store adapters
// (sqlite, postgres) goes through, whatever the driver: the gate that Close
// shuts, and the mapping of the call's error to a chat code.
package storecall

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/chatd/chatd/chat"
)

// errClosed is what every call answers after Close.
var errClosed = chat.Errorf(chat.CodeUnavailable, "store is closed")

// Gate lets calls into a store while it is open, and makes Close wait for
// the calls in progress. The zero Gate is open.
type Gate struct {
	// mu guards closed. Every call holds it for reading while it runs, so
	// Close, which takes it for writing, waits for the calls in progress.
	mu     sync.RWMutex
	closed bool
}

// Enter marks the start of a call; it fails with chat.ErrUnavailable once
// the store is closed. A successful Enter must be paired with Exit.
func (g *Gate) Enter() error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	return nil
}

// Exit marks the end of a call that entered.
func (g *Gate) Exit() { g.mu.RUnlock() }

// Close waits for the calls in progress, shuts the gate and runs release,
// the store's own closing, before any later call is turned away. Only the
// first Close runs release; later ones return nil.
func (g *Gate) Close(release func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return release()
}

// errUnavailable is the domain error for a database that cannot be reached
// or cannot do its work right now.
var errUnavailable = chat.Errorf(chat.CodeUnavailable, "database unavailable")

// MapErr gives err, from operation op of the store called driver, a chat
// code: domain errors pass through, failures that unavailable recognises
// (the database could not be reached or could not do the work now) become
// chat.ErrUnavailable, still wrapping the cause for the logs, and anything
// else stays internal. The message is one line, whatever the driver's was.
func MapErr(driver, op string, err error, unavailable func(error) bool) error {
	if err == nil {
		return nil
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	if unavailable(err) {
		return oneLine{fmt.Errorf("%s: %s: %w: %w", driver, op, errUnavailable, err)}
	}
	return oneLine{fmt.Errorf("%s: %s: %w", driver, op, err)}
}

// oneLine keeps an error's chain but prints it on one line: pgx's connect
// errors list each address tried on a line of its own, and chatd reports a
// failed start as one line.
type oneLine struct{ err error }

func (e oneLine) Error() string {
	return strings.Join(strings.Fields(strings.ReplaceAll(e.err.Error(), "\n", "; ")), " ")
}

func (e oneLine) Unwrap() error { return e.err }
