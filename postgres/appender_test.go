package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/postgres/pgtest"
)

// TestAppendWaitsForItsCommit: an Append is reported stored only once its
// batch's COMMIT has succeeded. A deferred constraint trigger refuses the
// text "boom" at COMMIT, after every statement of the batch has run and
// returned its rows: that Append fails, alone or among good ones in one
// batch, nothing of it is stored, and the good ones of its batch are
// stored with gap-free seqs.
func TestAppendWaitsForItsCommit(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := t.Context()
	alice, err := s.CreateUser(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
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
	// Together with good Appends, so that they share batches.
	const rounds, goodPerRound = 20, 4
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		good, bad  int
		unexpected []string
	)
	for round := range rounds {
		for i := range goodPerRound + 1 {
			m := chat.NewMessage{Room: chat.General, From: alice, Text: "good", SentAt: time.Now(),
				ClientMsgID: "c" + string(rune('a'+round)) + string(rune('a'+i))}
			if i == goodPerRound/2 {
				m.Text = "boom"
			}
			wg.Add(1)
			s.AppendAsync(ctx, m, func(got chat.Message, _ bool, err error) {
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				switch {
				case m.Text == "boom" && err != nil:
					bad++
				case m.Text == "good" && err == nil && got.Seq > 0:
					good++
				default:
					unexpected = append(unexpected, m.Text+": "+got.Text+" "+errString(err))
				}
			})
		}
	}
	wg.Wait()
	if good != rounds*goodPerRound || bad != rounds || len(unexpected) > 0 {
		t.Errorf("%d good Appends stored, %d boom ones failed, unexpected %q; want %d, %d, none",
			good, bad, unexpected, rounds*goodPerRound, rounds)
	}
	var booms, count, lastSeq, maxSeq int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE text = 'boom'), COUNT(*), COALESCE(MAX(seq), 0),
		(SELECT last_seq FROM rooms WHERE name = $1) FROM messages WHERE room = $1`, chat.General).
		Scan(&booms, &count, &maxSeq, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if booms != 0 || count != rounds*goodPerRound || maxSeq != count || lastSeq != count {
		t.Errorf("stored %d boom and %d messages, max seq %d, last_seq %d; want 0, %d, %d, %d",
			booms, count, maxSeq, lastSeq, rounds*goodPerRound, rounds*goodPerRound, rounds*goodPerRound)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
