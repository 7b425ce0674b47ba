package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

var userTests = []test{
	{"CreateUser", func(t *testing.T, f *fixture) {
		alice, err := f.s.CreateUser(f.ctx, "alice", "hash-a")
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if alice.ID == "" || alice.Username != "alice" {
			t.Errorf("CreateUser = %+v, want an ID and username alice", alice)
		}
		bob := f.user("bob")
		if bob.ID == alice.ID {
			t.Errorf("alice and bob share ID %q", bob.ID)
		}
	}},
	{"JoinsGeneral", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		checkRoom(t, "alice's rooms", onlyRoom(t, f.rooms(alice)),
			chat.Room{Name: chat.General, Joined: true})
	}},
	{"GeneralReadMarkerAtLastSeq", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		f.sendN(alice, chat.General, 3)
		bob := f.user("bob")
		checkRoom(t, "bob's general after 3 earlier messages", onlyRoom(t, f.rooms(bob)),
			chat.Room{Name: chat.General, Joined: true, LastSeq: 3, Unread: 0})
		f.send(alice, chat.General, "welcome, bob")
		checkRoom(t, "bob's general after one new message", f.room(bob, chat.General),
			chat.Room{Name: chat.General, Joined: true, LastSeq: 4, Unread: 1})
	}},
	{"UsernameUniqueIgnoringCase", func(t *testing.T, f *fixture) {
		alice := f.user("Alice")
		for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
			_, err := f.s.CreateUser(f.ctx, name, "other-hash")
			checkErr(t, "CreateUser("+name+") after Alice", err, chat.ErrConflict)
		}
		got, err := f.s.UserByName(f.ctx, "Alice")
		if err != nil {
			t.Fatalf("UserByName(Alice): %v", err)
		}
		if got != alice {
			t.Errorf("UserByName(Alice) = %+v, want %+v (the case it was registered with)", got, alice)
		}
		// The failed attempts did not join general or otherwise leave traces.
		if _, err := f.s.CreateUser(f.ctx, "alice2", "h"); err != nil {
			t.Errorf("CreateUser(alice2): %v", err)
		}
	}},
	{"LookupIgnoresCase", func(t *testing.T, f *fixture) {
		alice := f.user("Alice")
		for _, name := range []string{"alice", "ALICE"} {
			got, err := f.s.UserByName(f.ctx, name)
			if err != nil || got != alice {
				t.Errorf("UserByName(%q) = %+v, %v; want %+v", name, got, err, alice)
			}
			got, hash, err := f.s.UserCredentials(f.ctx, name)
			if err != nil || got != alice || hash != "hash-of-Alice" {
				t.Errorf("UserCredentials(%q) = %+v, %q, %v; want %+v, %q", name, got, hash, err, alice, "hash-of-Alice")
			}
		}
	}},
	{"UserCredentials", func(t *testing.T, f *fixture) {
		const hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
		alice, err := f.s.CreateUser(f.ctx, "alice", hash)
		if err != nil {
			t.Fatal(err)
		}
		f.user("bob")
		got, gotHash, err := f.s.UserCredentials(f.ctx, "alice")
		if err != nil {
			t.Fatalf("UserCredentials(alice): %v", err)
		}
		if got != alice || gotHash != hash {
			t.Errorf("UserCredentials(alice) = %+v, %q; want %+v, %q", got, gotHash, alice, hash)
		}
		_, _, err = f.s.UserCredentials(f.ctx, "nobody")
		checkErr(t, "UserCredentials(nobody)", err, chat.ErrNotFound)
	}},
	{"UserByNameUnknown", func(t *testing.T, f *fixture) {
		f.user("alice")
		_, err := f.s.UserByName(f.ctx, "nobody")
		checkErr(t, "UserByName(nobody)", err, chat.ErrNotFound)
	}},
}

func onlyRoom(tb testing.TB, rooms []chat.Room) chat.Room {
	tb.Helper()
	if len(rooms) != 1 {
		tb.Fatalf("got rooms %v, want exactly one", roomNames(rooms))
	}
	return rooms[0]
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

var sessionTests = []test{
	{"Lookup", func(t *testing.T, f *fixture) {
		alice, bob := f.user("alice"), f.user("bob")
		now := time.Now()
		for _, s := range []chat.Session{
			{TokenHash: tokenHash("a"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{TokenHash: tokenHash("b"), UserID: bob.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		} {
			if err := f.s.CreateSession(f.ctx, s); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
		}
		for token, want := range map[string]chat.User{"a": alice, "b": bob} {
			got, err := f.s.SessionUser(f.ctx, tokenHash(token), now.Add(time.Minute))
			if err != nil || got != want {
				t.Errorf("SessionUser(%q) = %+v, %v; want %+v", token, got, err, want)
			}
		}
		_, err := f.s.SessionUser(f.ctx, tokenHash("unknown"), now)
		checkErr(t, "SessionUser(unknown token)", err, chat.ErrUnauthorized)
	}},
	{"Expiry", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		now := time.Now()
		s := chat.Session{TokenHash: tokenHash("a"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := f.s.CreateSession(f.ctx, s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if _, err := f.s.SessionUser(f.ctx, s.TokenHash, now.Add(59*time.Minute)); err != nil {
			t.Errorf("SessionUser a minute before expiry: %v", err)
		}
		_, err := f.s.SessionUser(f.ctx, s.TokenHash, now.Add(61*time.Minute))
		checkErr(t, "SessionUser a minute after expiry", err, chat.ErrUnauthorized)
	}},
	{"Delete", func(t *testing.T, f *fixture) {
		alice := f.user("alice")
		now := time.Now()
		a1 := chat.Session{TokenHash: tokenHash("a1"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		a2 := chat.Session{TokenHash: tokenHash("a2"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		for _, s := range []chat.Session{a1, a2} {
			if err := f.s.CreateSession(f.ctx, s); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
		}
		if err := f.s.DeleteSession(f.ctx, a1.TokenHash); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		_, err := f.s.SessionUser(f.ctx, a1.TokenHash, now)
		checkErr(t, "SessionUser after DeleteSession", err, chat.ErrUnauthorized)
		if got, err := f.s.SessionUser(f.ctx, a2.TokenHash, now); err != nil || got != alice {
			t.Errorf("the other session after DeleteSession: %+v, %v; want %+v", got, err, alice)
		}
		if err := f.s.DeleteSession(f.ctx, a1.TokenHash); err != nil {
			t.Errorf("DeleteSession twice: %v, want nil", err)
		}
		if err := f.s.DeleteSession(f.ctx, tokenHash("never")); err != nil {
			t.Errorf("DeleteSession(unknown): %v, want nil", err)
		}
	}},
	{"HashIsOpaqueBytes", func(t *testing.T, f *fixture) {
		// Hashes are arbitrary bytes, zeros and non-UTF-8 included.
		alice := f.user("alice")
		now := time.Now()
		h := bytes.Repeat([]byte{0x00, 0xff, 0x80}, 11)[:32]
		if err := f.s.CreateSession(f.ctx, chat.Session{TokenHash: h, UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if got, err := f.s.SessionUser(f.ctx, h, now); err != nil || got != alice {
			t.Errorf("SessionUser = %+v, %v; want %+v", got, err, alice)
		}
		_, err := f.s.SessionUser(f.ctx, h[:31], now)
		checkErr(t, "SessionUser(prefix of the hash)", err, chat.ErrUnauthorized)
	}},
}
