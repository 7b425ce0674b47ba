package postgres_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/postgres"
	"github.com/chatd/chatd/postgres/pgtest"
)

// TestAppendRefusesUnknownRoomOrSender: messages has no foreign keys to
// rooms and users since migration 0008, so the appender's own checks are
// all that keeps a message from naming a room or a sender that does not
// exist. Each such Append, alone or among good ones in one batch, plain or
// through the per-Append statement (a mention), is refused and stores
// nothing, and no room's last_seq moves for it.
func TestAppendRefusesUnknownRoomOrSender(t *testing.T) {
	url, s, alice := withAlice(t)
	ctx := t.Context()
	ghost := chat.User{ID: "u_nobody", Username: "nobody"}
	bad := []chat.NewMessage{
		{Room: "no-such-room", From: alice, Text: "nowhere"},
		{Room: "no-such-room", From: alice, Text: "nowhere, @alice"},
		{Room: chat.General, From: ghost, Text: "from no one"},
		{Room: chat.General, From: ghost, Text: "from no one, @alice"},
		{Room: "no-such-room", From: ghost, Text: "no one, nowhere"},
	}
	for i, m := range bad {
		m.ClientMsgID, m.SentAt = "alone"+string(rune('a'+i)), time.Now()
		if _, _, err := s.Append(ctx, m); err == nil {
			t.Errorf("Append(%q from %s to %s) stored it", m.Text, m.From.ID, m.Room)
		} else if !errors.Is(err, chat.ErrNotFound) && !errors.Is(err, chat.ErrForbidden) {
			t.Errorf("Append(%q from %s to %s) = %v, want not found or forbidden", m.Text, m.From.ID, m.Room, err)
		}
	}
	// Together with good Appends, so that they share batches.
	good, refused := 0, 0
	msgs := append([]chat.NewMessage{{Room: chat.General, From: alice, Text: "good"}}, bad...)
	appendTogether(t, s, 20, msgs, func(m chat.NewMessage, got chat.Message, err error) {
		switch {
		case err != nil && m.From.ID != alice.ID || err != nil && m.Room != chat.General:
			refused++
		case err == nil && m.From.ID == alice.ID && m.Room == chat.General && got.Seq > 0:
			good++
		default:
			t.Errorf("AppendAsync(%q from %s to %s) = %+v, %v", m.Text, m.From.ID, m.Room, got, err)
		}
	})
	if good != 20 || refused != 20*len(bad) {
		t.Errorf("%d good Appends stored and %d bad ones refused, want 20 and %d", good, refused, 20*len(bad))
	}
	db := rawConn(t, url)
	var stray, lastSeq int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE user_id <> $1 OR room <> $2`, alice.ID, chat.General).Scan(&stray); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT last_seq FROM rooms WHERE name = $1`, chat.General).Scan(&lastSeq); err != nil {
		t.Fatal(err)
	}
	if stray != 0 || lastSeq != 20 {
		t.Errorf("%d messages of an unknown room or sender stored, general's last_seq %d; want 0 and 20", stray, lastSeq)
	}
}

// withAlice opens a store on a schema of its own, with one user, alice,
// and returns the schema's URL.
func withAlice(t *testing.T) (string, *postgres.Store, chat.User) {
	url := pgtest.URL(t)
	s := open(t, url)
	alice, err := s.CreateUser(t.Context(), "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	return url, s, alice
}

// appendTogether queues msgs with AppendAsync rounds times without
// waiting, so that they share batches, each with a client id of its own,
// calls outcome with each one's outcome (one call at a time), and returns
// once all are in.
func appendTogether(t *testing.T, s *postgres.Store, rounds int, msgs []chat.NewMessage,
	outcome func(m chat.NewMessage, got chat.Message, err error)) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for round := range rounds {
		for i, m := range msgs {
			m.ClientMsgID, m.SentAt = "batch"+string(rune('a'+round))+string(rune('a'+i)), time.Now()
			wg.Add(1)
			s.AppendAsync(t.Context(), m, func(got chat.Message, _ bool, err error) {
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				outcome(m, got, err)
			})
		}
	}
	wg.Wait()
}

// TestAppendWaitsForItsCommit: an Append is reported stored only once its
// batch's COMMIT has succeeded. A deferred constraint trigger refuses the
// text "boom" at COMMIT, after every statement of the batch has run and
// returned its rows: that Append fails, alone or among good ones in one
// batch, nothing of it is stored, and the good ones of its batch are
// stored with gap-free seqs.
func TestAppendWaitsForItsCommit(t *testing.T) {
	url, s, alice := withAlice(t)
	ctx := t.Context()
	db := rawConn(t, url)
	if _, err := db.Exec(ctx, `
		CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.text = 'boom' THEN RAISE EXCEPTION 'boom refused at commit'; END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER refuse_boom AFTER INSERT ON messages
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_boom();`); err != nil {
		t.Fatal(err)
	}
	boom := chat.NewMessage{Room: chat.General, From: alice, Text: "boom", ClientMsgID: "alone", SentAt: time.Now()}
	if m, _, err := s.Append(ctx, boom); err == nil {
		t.Errorf("Append(boom) = seq %d, nil; want an error", m.Seq)
	}
	const rounds = 20
	good := chat.NewMessage{Room: chat.General, From: alice, Text: "good"}
	msgs := []chat.NewMessage{good, good, {Room: chat.General, From: alice, Text: "boom"}, good, good}
	stored, failed := 0, 0
	appendTogether(t, s, rounds, msgs, func(m chat.NewMessage, got chat.Message, err error) {
		switch {
		case m.Text == "boom" && err != nil:
			failed++
		case m.Text == "good" && err == nil && got.Seq > 0:
			stored++
		default:
			t.Errorf("AppendAsync(%q) = seq %d, %v", m.Text, got.Seq, err)
		}
	})
	want := rounds * (len(msgs) - 1)
	if stored != want || failed != rounds {
		t.Errorf("%d good Appends stored and %d boom ones failed, want %d and %d", stored, failed, want, rounds)
	}
	var booms, count, maxSeq, lastSeq int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE text = 'boom'), COUNT(*), COALESCE(MAX(seq), 0),
		(SELECT last_seq FROM rooms WHERE name = $1) FROM messages WHERE room = $1`, chat.General).
		Scan(&booms, &count, &maxSeq, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if booms != 0 || count != want || maxSeq != want || lastSeq != want {
		t.Errorf("stored %d boom and %d messages, max seq %d, last_seq %d; want 0 and %d, both %d",
			booms, count, maxSeq, lastSeq, want, want)
	}
}

// TestMessagesKeepTheirRoomAndSender: what messages' foreign keys did
// besides checking inserts, the triggers of migration 0008 do: a room or a
// user that messages name cannot be deleted or change its key. One
// without messages can.
func TestMessagesKeepTheirRoomAndSender(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := t.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, "bob", "hash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRoom(ctx, alice.ID, "talk", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRoom(ctx, bob.ID, "quiet", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(ctx, chat.NewMessage{Room: "talk", From: alice, Text: "hi", SentAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db := rawConn(t, url)
	// Nothing but the message holds on to them: memberships and ownership
	// have foreign keys of their own.
	if _, err := db.Exec(ctx, `DELETE FROM memberships WHERE room IN ('talk', 'quiet') OR user_id IN ($1, $2)`, alice.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE rooms SET owner = NULL WHERE name IN ('talk', 'quiet')`); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`DELETE FROM rooms WHERE name = 'talk'`,
		`UPDATE rooms SET name = 'talk2' WHERE name = 'talk'`,
		`DELETE FROM users WHERE username = 'alice'`,
		`UPDATE users SET id = 'u_other' WHERE username = 'alice'`,
	} {
		_, err := db.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23503" {
			t.Errorf("%s: %v, want a foreign key violation (23503)", sql, err)
		}
	}
	// Without messages, nothing refuses.
	for _, sql := range []string{
		`DELETE FROM rooms WHERE name = 'quiet'`,
		`DELETE FROM users WHERE username = 'bob'`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
}
