package server

import (
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/gorilla/websocket"
)

// revocationPoll is how often a node asks the store for revocations that
// the admin command recorded (chatd sessions revoke, chatd user disable).
//
// Why a poll of the store, and not a message on the bus or a socket the
// admin command talks to: the store is the one thing every configuration
// shares with the admin command. A single node with SQLite has its NATS
// inside the process, where no other process reaches it; a cluster may run
// its NATS embedded in each node, with routes the admin command does not
// know; a unix socket in the data dir serves one node, and a PostgreSQL
// cluster has no data dir. The store records each revocation in the same
// transaction that deletes the sessions, so nothing is lost if a node is
// busy or restarting, and the query (an indexed range that is almost
// always empty) costs each node two small reads a second. Half a second
// keeps "closed on every node within a second" with room for the close.
const revocationPoll = 500 * time.Millisecond

// revocationBatch bounds one poll's read.
const revocationBatch = 100

// watchRevocations polls the store for revocations until the hub shuts
// down and closes the local WebSockets whose sessions they ended.
//
// A revocation names a user; the node checks each of that user's local
// connections' sessions with the store and closes those that are no longer
// valid (deleted, or the user disabled), with 1000 "session revoked".
// Sessions that are still valid (a login after the revocation) stay open,
// so handling a revocation twice, or one from before the node started,
// does no harm: the poll starts from the oldest one the store keeps.
func (h *hub) watchRevocations() {
	defer h.pollers.Done()
	t := time.NewTicker(revocationPoll)
	defer t.Stop()
	// A store that stalls must not hold up a shutdown for its timeout.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.done
		cancel()
	}()
	var (
		after   int64
		failing bool // logged once per outage, not twice a second
	)
	for {
		for {
			next, more, err := h.pollRevocations(ctx, after)
			after = next
			switch {
			case err != nil && !failing && ctx.Err() == nil:
				h.s.log.Warn("revoked sessions cannot be checked until the store answers", "err", err)
				failing = true
			case err == nil && failing:
				h.s.log.Info("revoked sessions are checked again")
				failing = false
			}
			if !more {
				break
			}
		}
		select {
		case <-h.done:
			return
		case <-t.C:
		}
	}
}

// pollRevocations handles one batch of revocations after the cursor and
// returns the new cursor, and whether there may be more. A revocation
// whose sessions could not be checked (the store failed) stops the batch,
// to be tried again at the next poll.
func (h *hub) pollRevocations(ctx context.Context, after int64) (next int64, more bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	revs, err := h.s.store.RevocationsAfter(ctx, after, revocationBatch)
	if err != nil {
		return after, false, err
	}
	for _, r := range revs {
		if err := h.checkSessions(ctx, r.UserID); err != nil {
			return after, false, err
		}
		after = r.ID
	}
	return after, len(revs) == revocationBatch, nil
}

// checkSessions closes the local connections of userID whose session the
// store no longer knows.
func (h *hub) checkSessions(ctx context.Context, userID string) error {
	h.mu.Lock()
	lu := h.users[userID]
	h.mu.Unlock()
	if lu == nil {
		return nil
	}
	now := time.Now()
	closed := 0
	valid := map[string]bool{} // by token hash: a browser's tabs share one session
	for _, c := range h.userConns(lu) {
		ok, checked := valid[string(c.tokenHash)]
		if !checked {
			_, err := h.s.store.SessionUser(ctx, c.tokenHash, now)
			if err != nil && !errors.Is(err, chat.ErrUnauthorized) {
				return err
			}
			ok = err == nil
			valid[string(c.tokenHash)] = ok
		}
		if !ok {
			c.closeWith(websocket.CloseNormalClosure, "session revoked", false)
			closed++
		}
	}
	if closed > 0 {
		h.s.log.Info("closed the sockets of revoked sessions", "user", userID, "sockets", closed)
	}
	return nil
}
