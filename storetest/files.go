package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// Files (issue 9): chat.FileStore and the attachments of Append.

func (f *fixture) upload(u chat.User, room, name string, content []byte) chat.Attachment {
	f.tb.Helper()
	a, err := f.s.SaveFile(f.ctx, u.ID, chat.NewFile{Room: room, Name: name, Type: "text/plain; charset=utf-8",
		Content: content, CreatedAt: time.Now()})
	if err != nil {
		f.tb.Fatalf("SaveFile(%s, %q, %q): %v", u.Username, room, name, err)
	}
	return a
}

func (f *fixture) sendFiles(u chat.User, room, text string, ids ...string) (chat.Message, error) {
	f.tb.Helper()
	m, _, err := f.s.Append(f.ctx, chat.NewMessage{Room: room, From: u, Text: text, SentAt: time.Now(), Attachments: ids})
	return m, err
}

// fileContent returns what File gives u of id, failing on any error.
func (f *fixture) fileContent(u chat.User, id string, thumb bool) (chat.Attachment, []byte) {
	f.tb.Helper()
	a, b, err := f.s.File(f.ctx, u.ID, id, thumb)
	if err != nil {
		f.tb.Fatalf("File(%s, %s, thumb=%v): %v", u.Username, id, thumb, err)
	}
	return a, b
}

func attachmentIDs(atts []chat.Attachment) []string {
	ids := make([]string, len(atts))
	for i, a := range atts {
		ids[i] = a.ID
	}
	return ids
}

var fileTests = []test{
	{"an upload and its thumbnail read back as stored", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		content := []byte("\x89PNG not really, but bytes \x00\xff")
		a, err := f.s.SaveFile(f.ctx, alice.ID, chat.NewFile{Room: chat.General, Name: "pic.png", Type: "image/png",
			Width: 640, Height: 480, Content: content, Thumb: []byte("small"), CreatedAt: time.Now()})
		if err != nil {
			t.Fatalf("SaveFile: %v", err)
		}
		if !chat.ValidFileID(a.ID) {
			t.Errorf("id %q is not a file id", a.ID)
		}
		want := chat.Attachment{ID: a.ID, Name: "pic.png", Size: int64(len(content)), Type: "image/png",
			Width: 640, Height: 480, URL: chat.FileURL(a.ID, "pic.png"), Thumb: chat.ThumbURL(a.ID)}
		if a != want {
			t.Errorf("SaveFile: got %+v, want %+v", a, want)
		}
		got, b := f.fileContent(alice, a.ID, false)
		if got != want || !bytes.Equal(b, content) {
			t.Errorf("File: got %+v %q, want %+v %q", got, b, want, content)
		}
		if _, b := f.fileContent(alice, a.ID, true); string(b) != "small" {
			t.Errorf("File(thumb): got %q, want %q", b, "small")
		}
		plain := f.upload(alice, chat.General, "notes.txt", []byte("hello"))
		if plain.Thumb != "" || plain.Width != 0 {
			t.Errorf("upload without a thumbnail: got %+v", plain)
		}
		_, _, err = f.s.File(f.ctx, alice.ID, plain.ID, true)
		checkErr(t, "File(thumb) of a file without one", err, chat.ErrFileNotFound)
	}},
	{"a message carries its attachments in history, after and on a resend", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		a := f.upload(alice, chat.General, "a.txt", []byte("a"))
		b := f.upload(alice, chat.General, "b.txt", []byte("bb"))
		f.send(alice, chat.General, "before")
		nm := chat.NewMessage{Room: chat.General, From: alice, SentAt: time.Now(), ClientMsgID: "c1",
			Attachments: []string{b.ID, a.ID}}
		m, created, err := f.s.Append(f.ctx, nm)
		if err != nil || !created {
			t.Fatalf("Append with attachments and no text: created %v, %v", created, err)
		}
		want := []string{b.ID, a.ID} // the order the message named them
		if got := attachmentIDs(m.Attachments); !slices.Equal(got, want) {
			t.Errorf("Append: attachments %v, want %v", got, want)
		}
		if m.Attachments[0] != b || m.Attachments[1] != a {
			t.Errorf("Append: attachments %+v, want %+v", m.Attachments, []chat.Attachment{b, a})
		}
		again, created, err := f.s.Append(f.ctx, nm)
		if err != nil || created || again.Seq != m.Seq {
			t.Fatalf("Append again with the client id: seq %d created %v, %v; want seq %d, not created", again.Seq, created, err, m.Seq)
		}
		if got := attachmentIDs(again.Attachments); !slices.Equal(got, want) {
			t.Errorf("resend: attachments %v, want %v", got, want)
		}
		if got := attachmentIDs(f.message(alice, chat.General, m.Seq).Attachments); !slices.Equal(got, want) {
			t.Errorf("History: attachments %v, want %v", got, want)
		}
		if got := f.message(alice, chat.General, m.Seq-1).Attachments; got != nil {
			t.Errorf("History: a message without files has attachments %v", got)
		}
		after, err := f.s.MessagesAfter(f.ctx, chat.General, m.Seq-1, 10)
		if err != nil || len(after) != 1 {
			t.Fatalf("MessagesAfter: %v, %v", seqs(after), err)
		}
		if got := attachmentIDs(after[0].Attachments); !slices.Equal(got, want) {
			t.Errorf("MessagesAfter: attachments %v, want %v", got, want)
		}
	}},
	{"only members of the room read an attached file, the same not found for all others", func(t *testing.T, f *fixture) {
		alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
		f.createRoom(alice, "secret", true)
		f.invite(alice, "secret", bob)
		up := f.upload(alice, "secret", "plan.txt", []byte("plan"))

		// Unattached, it is the uploader's alone, even for members.
		_, _, err := f.s.File(f.ctx, bob.ID, up.ID, false)
		checkErr(t, "File of another member's unattached upload", err, chat.ErrFileNotFound)
		f.fileContent(alice, up.ID, false)

		if _, err := f.sendFiles(alice, "secret", "here", up.ID); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if _, b := f.fileContent(bob, up.ID, false); string(b) != "plan" {
			t.Errorf("File for a member: got %q", b)
		}
		_, _, errOther := f.s.File(f.ctx, carol.ID, up.ID, false)
		_, _, errMissing := f.s.File(f.ctx, carol.ID, chat.NewID("f_"), false)
		_, _, errBad := f.s.File(f.ctx, carol.ID, "../etc/passwd", false)
		for what, err := range map[string]error{"not a member": errOther, "no such file": errMissing, "not an id": errBad} {
			checkErr(t, "File, "+what, err, chat.ErrFileNotFound)
			if chat.ErrorMessage(err) != chat.ErrorMessage(chat.ErrFileNotFound) {
				t.Errorf("File, %s: message %q, want the same for every refusal", what, chat.ErrorMessage(err))
			}
		}

		// A public room's files are for its members too.
		pub := f.upload(alice, chat.General, "pub.txt", []byte("pub"))
		if _, err := f.sendFiles(alice, chat.General, "", pub.ID); err != nil {
			t.Fatalf("Append: %v", err)
		}
		f.leave(carol, chat.General)
		_, _, err = f.s.File(f.ctx, carol.ID, pub.ID, false)
		checkErr(t, "File of a public room one left", err, chat.ErrFileNotFound)
		f.fileContent(bob, pub.ID, false)
	}},
	{"only its uploader attaches a file, only in its room, only once", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		f.createRoom(alice, "other", false)
		f.join(bob, "other")
		up := f.upload(alice, chat.General, "a.txt", []byte("a"))
		last := f.lastSeq(chat.General)

		_, err := f.sendFiles(bob, chat.General, "mine now", up.ID)
		checkErr(t, "Append of another's upload", err, chat.ErrNotAttachable)
		_, err = f.sendFiles(alice, "other", "elsewhere", up.ID)
		checkErr(t, "Append in another room", err, chat.ErrNotAttachable)
		_, err = f.sendFiles(alice, chat.General, "unknown", chat.NewID("f_"))
		checkErr(t, "Append of an unknown file", err, chat.ErrNotAttachable)
		if got := f.lastSeq(chat.General); got != last {
			t.Errorf("refused Appends stored messages: last seq %d, want %d", got, last)
		}

		if _, err := f.sendFiles(alice, chat.General, "", up.ID); err != nil {
			t.Fatalf("Append by the uploader: %v", err)
		}
		_, err = f.sendFiles(alice, chat.General, "twice", up.ID)
		checkErr(t, "Append of a file already sent", err, chat.ErrNotAttachable)

		_, err = f.s.SaveFile(f.ctx, bob.ID, chat.NewFile{Room: "nowhere", Name: "x", Content: []byte("x")})
		checkErr(t, "SaveFile to a missing room", err, chat.ErrNotFound)
		f.createRoom(alice, "closed", false)
		_, err = f.s.SaveFile(f.ctx, bob.ID, chat.NewFile{Room: "closed", Name: "x", Content: []byte("x")})
		checkErr(t, "SaveFile to a room one is not in", err, chat.ErrForbidden)
		if _, _, err := f.s.ArchiveRoom(f.ctx, alice.ID, "closed", true); err != nil {
			t.Fatalf("ArchiveRoom: %v", err)
		}
		_, err = f.s.SaveFile(f.ctx, alice.ID, chat.NewFile{Room: "closed", Name: "x", Content: []byte("x")})
		checkErr(t, "SaveFile to an archived room", err, chat.ErrArchived)
	}},
	{"deleting the message deletes its files", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		a := f.upload(alice, chat.General, "a.txt", []byte("a"))
		b := f.upload(alice, chat.General, "b.txt", []byte("b"))
		m, err := f.sendFiles(alice, chat.General, "two", a.ID, b.ID)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		keep := f.upload(alice, chat.General, "keep.txt", []byte("k"))
		if _, err := f.sendFiles(alice, chat.General, "one", keep.ID); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if _, err := f.s.DeleteMessage(f.ctx, alice.ID, chat.General, m.Seq, time.Now()); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		for _, id := range []string{a.ID, b.ID} {
			_, _, err := f.s.File(f.ctx, alice.ID, id, false)
			checkErr(t, "File of a deleted message, for its author", err, chat.ErrFileNotFound)
		}
		if got := f.message(bob, chat.General, m.Seq).Attachments; got != nil {
			t.Errorf("History of the deleted message: attachments %v, want none", got)
		}
		f.fileContent(bob, keep.ID, false)
	}},
	{"unattached uploads are deleted once old, sent ones are kept", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		old := f.upload(alice, chat.General, "old.txt", []byte("o"))
		sent := f.upload(alice, chat.General, "sent.txt", []byte("s"))
		if _, err := f.sendFiles(alice, chat.General, "", sent.ID); err != nil {
			t.Fatalf("Append: %v", err)
		}
		n, err := f.s.DeleteUnattachedFiles(f.ctx, time.Now().Add(-time.Hour))
		if err != nil || n != 0 {
			t.Errorf("DeleteUnattachedFiles(an hour ago): %d, %v; want 0", n, err)
		}
		f.fileContent(alice, old.ID, false)
		n, err = f.s.DeleteUnattachedFiles(f.ctx, time.Now().Add(time.Second))
		if err != nil || n != 1 {
			t.Errorf("DeleteUnattachedFiles(now): %d, %v; want 1", n, err)
		}
		_, _, err = f.s.File(f.ctx, alice.ID, old.ID, false)
		checkErr(t, "File of a swept upload", err, chat.ErrFileNotFound)
		_, err = f.sendFiles(alice, chat.General, "late", old.ID)
		checkErr(t, "Append of a swept upload", err, chat.ErrNotAttachable)
		f.fileContent(alice, sent.ID, false)
	}},
}
