package chat

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

var (
	idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)
	// sortedEncoding keeps the bytes' order in the text's: base32hex in
	// lower case, whose alphabet sorts as its values do.
	sortedEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)
)

// NewID returns prefix followed by 80 random bits, e.g. "u_3xk2...", for the
// IDs of users ("u_").
func NewID(prefix string) string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return prefix + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// NewMessageID returns a message ID: "m_" followed by the time t in
// milliseconds (48 bits) and 80 random bits, encoded so that IDs sort as
// their times do. Consecutive messages' IDs then land next to each other
// in the stores' unique index of IDs, so that a group commit of many
// messages writes a page or two of that index instead of a page for each
// message (random IDs were about half the pages a commit wrote). The ID
// stays opaque to clients; the random part keeps it unguessable and
// unique across nodes.
func NewMessageID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	rand.Read(b[6:])
	return messageID(b)
}

// messageID encodes b as NewMessageID's result, with one allocation (the
// SQLite writer makes one for every message it stores).
func messageID(b [16]byte) string {
	var s [2 + 26]byte // 128 bits in base32: 26 characters
	s[0], s[1] = 'm', '_'
	sortedEncoding.Encode(s[2:], b[:])
	return string(s[:])
}
