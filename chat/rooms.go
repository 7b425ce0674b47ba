package chat

import (
	"strings"
	"unicode/utf8"
)

// Member is one member of a room, as the members request lists them.
type Member struct {
	User User   `json:"user"`
	Role string `json:"role"`
	// Online is the server's: whether the user has a connection anywhere.
	Online bool `json:"online"`
}

// Page sizes of the directory and of member lists.
const (
	DefaultDirectoryLimit = 50
	MaxDirectoryLimit     = 100
	DefaultMembersLimit   = 100
	MaxMembersLimit       = 200
	// MaxDirectoryQuery bounds the directory's search text, in characters.
	MaxDirectoryQuery = 64
)

// DirectoryQuery selects a page of the directory of public rooms: those
// whose name or topic contains Query (ASCII letters compared without
// case), sorted by name, after the room named After (the cursor).
type DirectoryQuery struct {
	Query string
	After string // the last name of the page before; "" for the first
	Limit int    // 1–MaxDirectoryLimit; 0 means DefaultDirectoryLimit
}

// Check validates q and returns it with its limit filled in and its query
// lower-cased, for every Store.
func (q DirectoryQuery) Check() (DirectoryQuery, error) {
	var err error
	if q.Limit, err = pageLimit(q.Limit, DefaultDirectoryLimit, MaxDirectoryLimit); err != nil {
		return q, err
	}
	if !utf8.ValidString(q.Query) || strings.IndexByte(q.Query, 0) >= 0 {
		return q, Errorf(CodeBadRequest, "query must be valid UTF-8")
	}
	if utf8.RuneCountInString(q.Query) > MaxDirectoryQuery {
		return q, Errorf(CodeBadRequest, "query is longer than %d characters", MaxDirectoryQuery)
	}
	q.Query = asciiLower(q.Query)
	return q, nil
}

// MembersQuery selects a page of a room's members, sorted by username
// without case, after the member whose lower-cased username is After.
type MembersQuery struct {
	After string
	Limit int // 1–MaxMembersLimit; 0 means DefaultMembersLimit
}

// Check validates q and returns it with its limit filled in.
func (q MembersQuery) Check() (MembersQuery, error) {
	var err error
	q.Limit, err = pageLimit(q.Limit, DefaultMembersLimit, MaxMembersLimit)
	return q, err
}

// pageLimit is a page size asked for: 0 means def, and 1–max is allowed.
func pageLimit(limit, def, max int) (int, error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 0 || limit > max:
		return limit, Errorf(CodeBadRequest, "limit must be 1-%d", max)
	}
	return limit, nil
}

// asciiLower lower-cases ASCII letters only, as both databases' lower()
// do alike (SQLite's folds nothing else).
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
