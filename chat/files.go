package chat

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Files (issue 9): a user uploads a file to a room, which stores it
// unattached; a message they then send to that room names it in
// NewMessage.Attachments, and from then on the file is the message's:
// members of the room may read it, and deleting the message deletes it.

// DefaultMaxUploadBytes is the largest upload when the server is given no
// limit: 25 MiB.
const DefaultMaxUploadBytes = 25 << 20

// MaxAttachments bounds the files one message carries.
const MaxAttachments = 10

// MaxFileNameBytes bounds a file's name, in bytes.
const MaxFileNameBytes = 255

// Attachment is a file as a message carries it. Type is what the server
// detected from the content, never what the client said. Width and Height
// are set for an image the server could decode (and only then is it shown
// inline); Thumb, the path of a thumbnail the server made, for those it
// could also scale.
type Attachment struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	URL    string `json:"url"`
	Thumb  string `json:"thumb,omitempty"`
}

// IsImage reports whether the file is an image the server decoded: the
// only files served inline.
func (a Attachment) IsImage() bool { return a.Width > 0 && a.Height > 0 }

// FileURL is the path a file is served at; the name is there for people
// and for the browser's download, the id alone finds the file.
func FileURL(id, name string) string { return "/files/" + id + "/" + url.PathEscape(name) }

// ThumbURL is the path of a file's thumbnail.
func ThumbURL(id string) string { return "/thumbs/" + id }

// NewFile is an upload to be stored: its content, and what the server
// found out about it.
type NewFile struct {
	Room      string
	Name      string // CleanFileName
	Type      string // detected from Content
	Width     int    // an image's, else 0
	Height    int
	Content   []byte
	Thumb     []byte // a decoded image's thumbnail, or nil
	CreatedAt time.Time
}

// Attachment is f as a message will carry it, once stored under id.
func (f NewFile) Attachment(id string) Attachment {
	a := Attachment{ID: id, Name: f.Name, Size: int64(len(f.Content)), Type: f.Type,
		Width: f.Width, Height: f.Height, URL: FileURL(id, f.Name)}
	if len(f.Thumb) > 0 {
		a.Thumb = ThumbURL(id)
	}
	return a
}

// ErrFileNotFound answers every request for a file that the user may not
// read, as for one that does not exist: nobody learns which files exist.
var ErrFileNotFound = Errorf(CodeNotFound, "file not found")

// ErrNotAttachable answers a message naming a file that is not an
// unattached upload of its sender to its room.
var ErrNotAttachable = Errorf(CodeBadRequest, "attachments must be your own uploads to this room, not yet sent")

// FileStore keeps uploaded files and their metadata beside the messages:
// the sqlite store in its database file (under the data directory), the
// postgres store in the database, so that every node serves every file.
// Every Store is one.
//
// Guarantees every implementation gives:
//   - A file is readable by its uploader while unattached, and once a
//     message carries it by the members of the message's room
//     (Access.MayRead); to anyone else it is ErrFileNotFound, as a missing
//     one is.
//   - Append attaches the files of NewMessage.Attachments in the
//     message's transaction, only if every one is an unattached upload of
//     the sender to that room (ErrNotAttachable otherwise, and nothing is
//     stored). A repeated ClientMsgID returns the first message, with its
//     attachments.
//   - DeleteMessage deletes the message's files in its transaction.
type FileStore interface {
	// SaveFile stores an upload by userID to room f.Room, for a user who
	// may post there (Access.MayPost), and returns it as a message will
	// carry it, under a new id ("f_...").
	SaveFile(ctx context.Context, userID string, f NewFile) (Attachment, error)
	// File returns a file and its content, or its thumbnail's (thumb;
	// ErrFileNotFound if it has none), for userID to read.
	File(ctx context.Context, userID, id string, thumb bool) (Attachment, []byte, error)
	// DeleteUnattachedFiles deletes the files uploaded before before that
	// no message carries, and returns how many it deleted.
	DeleteUnattachedFiles(ctx context.Context, before time.Time) (int64, error)
}

// CleanFileName makes a client's file name safe to store, show and send
// back in a Content-Disposition: the last element of a path, without
// control characters, at most MaxFileNameBytes bytes; "file" if nothing
// is left.
func CleanFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == '\\' || r == '"' {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > MaxFileNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

// CheckAttachments validates the ids a message names: at most
// MaxAttachments, each of the shape NewID("f_") makes, none twice.
func CheckAttachments(ids []string) error {
	if len(ids) > MaxAttachments {
		return Errorf(CodeBadRequest, "a message carries at most %d attachments", MaxAttachments)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !ValidFileID(id) {
			return Errorf(CodeBadRequest, "attachment %q is not a file id", id)
		}
		if seen[id] {
			return Errorf(CodeBadRequest, "attachment %s is named twice", id)
		}
		seen[id] = true
	}
	return nil
}

// ValidFileID reports whether id has the shape of a file's id.
func ValidFileID(id string) bool {
	rest, ok := strings.CutPrefix(id, "f_")
	if !ok || len(rest) != 16 {
		return false
	}
	for _, c := range rest {
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// MayReadFile decides whether userID, whose access to the file's room a
// is, may read a file that uploader uploaded there: the uploader while no
// message carries it (attached false), every member (MayRead) once one
// does. Every refusal is ErrFileNotFound.
func (a Access) MayReadFile(userID, uploader string, attached bool) error {
	if !attached && userID != uploader || attached && a.MayRead() != nil {
		return ErrFileNotFound
	}
	return nil
}

// Attachable checks that the files a message names were all found as
// unattached uploads of its sender to its room: found is how many of ids
// the store found so.
func Attachable(ids []string, found int) error {
	if found != len(ids) {
		return ErrNotAttachable
	}
	return nil
}

// Attach gives each of msgs its files from atts, by seq.
func Attach(msgs []Message, atts map[int64][]Attachment) {
	for i := range msgs {
		msgs[i].Attachments = atts[msgs[i].Seq]
	}
}
