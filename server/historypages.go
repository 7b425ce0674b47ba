package server

import (
	"context"
	"encoding/json"
	"runtime"
	"sync"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// historyPages lets history requests that ask for the same page at the
// same time share one store read and one encoding of the ack's payload:
// after a restart every client of a room asks for the page after the same
// seq at once.
//
// A request shares only a read that had not started when it arrived, so
// that its page is never older than the request (a client that edits a
// message and then pages history sees its edit). Reads in progress are
// bounded by a semaphore; a read waiting for a slot is open, and requests
// for the same page join it until it starts.
//
// What a page holds for one reader and not another is never shared:
//   - each reader's right to read the room is checked for that reader
//     (Store.MayRead), before it is given the page;
//   - a reaction's Me is the reader's own, so a page with any reaction is
//     shared only by the connections of the user who read it; the others
//     read their own;
//   - an error is the reader's who got it; the others read their own.
type historyPages struct {
	slots chan struct{} // a token per read in progress

	mu   sync.Mutex // guards the following
	open map[pageKey]*pageRead
}

// pageKey is a page as the store is asked for it: the room and the
// checked query (its limit filled in).
type pageKey struct {
	room string
	q    chat.HistoryQuery
}

// pageRead is one store read of a page and its outcome, which is set
// before done is closed.
type pageRead struct {
	done   chan struct{}
	userID string // whose History read it
	joined int    // requests sharing it, guarded by historyPages.mu

	payload []byte // the ack's payload, encoded
	anyone  bool   // the page holds nothing that depends on its reader
	err     error
}

func newHistoryPages() *historyPages {
	// The SQLite store reads on max(4, GOMAXPROCS) connections; a few more
	// reads in flight keep them busy. PostgreSQL's pool would take more,
	// but a page that many ask for at once is read once anyway.
	n := max(8, 2*runtime.GOMAXPROCS(0))
	return &historyPages{slots: make(chan struct{}, n), open: make(map[pageKey]*pageRead)}
}

// page returns the encoded payload of the history ack that userID gets for
// key, read by read (the store's History as userID) or shared.
func (hp *historyPages) page(ctx context.Context, s *Server, userID string, key pageKey) ([]byte, error) {
	hp.mu.Lock()
	if r := hp.open[key]; r != nil {
		r.joined++
		hp.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, chat.Errorf(chat.CodeUnavailable, "history: %v", ctx.Err())
		}
		switch {
		case r.err != nil:
		case r.userID == userID:
			return r.payload, nil
		case r.anyone:
			if err := s.store.MayRead(ctx, userID, key.room); err != nil {
				return nil, err
			}
			return r.payload, nil
		}
		p, _, err := readPage(ctx, s, userID, key)
		return p, err
	}
	r := &pageRead{done: make(chan struct{}), userID: userID}
	hp.open[key] = r
	hp.mu.Unlock()
	defer close(r.done)

	started := false
	select {
	case hp.slots <- struct{}{}:
		started = true
	case <-ctx.Done():
	}
	hp.mu.Lock()
	if hp.open[key] == r {
		delete(hp.open, key) // started (or given up): no one joins it now
	}
	hp.mu.Unlock()
	if !started {
		r.err = chat.Errorf(chat.CodeUnavailable, "history: %v", ctx.Err())
		return nil, r.err
	}
	r.payload, r.anyone, r.err = readPage(ctx, s, userID, key)
	<-hp.slots
	return r.payload, r.err
}

// readPage reads a page as userID and encodes its ack's payload; anyone
// reports whether every member would read the same bytes.
func readPage(ctx context.Context, s *Server, userID string, key pageKey) (payload []byte, anyone bool, err error) {
	msgs, more, err := s.store.History(ctx, userID, key.room, key.q)
	if err != nil {
		return nil, false, err
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	anyone = true
	for _, m := range msgs {
		if len(m.Reactions) > 0 {
			anyone = false // Reaction.Me is the reader's
			break
		}
	}
	payload, err = json.Marshal(protocol.HistoryAck{Messages: msgs, HasMore: more})
	return payload, anyone, err
}
