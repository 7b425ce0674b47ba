package protocol

import (
	"time"

	"github.com/chatd/chatd/chat"
)

// Payloads of issue 8: reactions, threads and search.

// React is the payload of react.
type React struct {
	Room  string `json:"room"`
	Seq   int64  `json:"seq"`
	Emoji string `json:"emoji"`
	Add   bool   `json:"add"`
}

// Validate checks the room, the seq and the emoji.
func (p *React) Validate() error {
	if err := checkRoomRef(p.Room); err != nil {
		return err
	}
	if p.Seq < 1 {
		return chat.Errorf(chat.CodeBadRequest, "seq must be positive")
	}
	return chat.CheckEmoji(p.Emoji)
}

// ReactAck answers react: the message's reactions as the sender sees them.
type ReactAck struct {
	Room      string          `json:"room"`
	Seq       int64           `json:"seq"`
	Reactions []chat.Reaction `json:"reactions"`
}

// Reaction is the payload of the reaction event. Its reactions carry no
// me (it is per reader): the client derives it.
type Reaction struct {
	Room      string          `json:"room"`
	Seq       int64           `json:"seq"`
	User      chat.User       `json:"user"`
	Emoji     string          `json:"emoji"`
	Add       bool            `json:"add"`
	Reactions []EventReaction `json:"reactions"`
}

// EventReaction is a reaction without the reader's me.
type EventReaction struct {
	Emoji string      `json:"emoji"`
	Count int64       `json:"count"`
	Users []chat.User `json:"users"`
}

// ThreadUpdated is the payload of thread_updated.
type ThreadUpdated struct {
	Room    string       `json:"room"`
	Seq     int64        `json:"seq"`
	Replies chat.Replies `json:"replies"`
}

// Search is the payload of search.
type Search struct {
	Query  string     `json:"query"`
	Room   string     `json:"room,omitempty"`
	From   string     `json:"from,omitempty"`
	After  *time.Time `json:"after,omitempty"`
	Before *time.Time `json:"before,omitempty"`
	Limit  int        `json:"limit,omitempty"`
	Cursor string     `json:"cursor,omitempty"`
}

// Validate checks the query; the cursor is checked by the server, which
// made it.
func (p *Search) Validate() error {
	_, err := p.StoreQuery(0).Check()
	return err
}

// StoreQuery returns the store query for the page that starts at offset.
func (p *Search) StoreQuery(offset int) chat.SearchQuery {
	q := chat.SearchQuery{Text: p.Query, Room: p.Room, From: p.From, Limit: p.Limit, Offset: offset}
	if p.After != nil {
		q.After = *p.After
	}
	if p.Before != nil {
		q.Before = *p.Before
	}
	return q
}

// SearchAck answers search.
type SearchAck struct {
	Results []chat.SearchResult `json:"results"`
	Cursor  string              `json:"cursor,omitempty"`
}
