package server

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// Reactions, mention counts and search (issue 8); replies travel with
// send_message and history.

// The per-user search rate: searches are the heaviest reads a client can
// ask for.
const (
	searchesPerSecond = 2
	searchBurst       = 5
)

func (req *request) react() (any, error) {
	var p protocol.React
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	c := req.c
	type result struct {
		rs      []chat.Reaction
		changed bool
	}
	res, err := timed(c.s.metrics, "react", func() (result, error) {
		rs, changed, err := c.s.store.React(req.ctx, c.user.ID, p.Room, p.Seq, p.Emoji, p.Add)
		return result{rs, changed}, err
	})
	if err != nil {
		return nil, err
	}
	if res.changed {
		c.s.hub.publishReaction(p.Room, p.Seq, c.user, p.Emoji, p.Add, res.rs)
	}
	return protocol.ReactAck{Room: p.Room, Seq: p.Seq, Reactions: res.rs}, nil
}

func (req *request) search() (any, error) {
	var p protocol.Search
	if err := req.decode(&p); err != nil {
		return nil, err
	}
	offset, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	c := req.c
	if !c.s.searches.allow(c.user.ID) {
		return nil, chat.Errorf(chat.CodeRateLimited, "too many searches; at most %d per second", searchesPerSecond)
	}
	q := p.StoreQuery(offset)
	type page struct {
		rs   []chat.SearchResult
		more bool
	}
	res, err := timed(c.s.metrics, "search", func() (page, error) {
		rs, more, err := c.s.store.Search(req.ctx, c.user.ID, q)
		return page{rs, more}, err
	})
	if err != nil {
		return nil, err
	}
	ack := protocol.SearchAck{Results: res.rs}
	if next := offset + len(res.rs); res.more && next <= chat.MaxSearchOffset {
		ack.Cursor = encodeCursor(next)
	}
	return ack, nil
}

// A search cursor is the offset of the next page, wrapped so that clients
// treat it as opaque.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func decodeCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), "o"); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= chat.MaxSearchOffset {
				return n, nil
			}
		}
	}
	return 0, chat.Errorf(chat.CodeBadRequest, "invalid cursor")
}
