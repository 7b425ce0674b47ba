package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/storecall"
)

// maxAppendBatch bounds how many Appends share one transaction.
const maxAppendBatch = 256

// appendReq is one Append waiting for the appender.
type appendReq struct {
	ctx  context.Context
	nm   chat.NewMessage
	then func(chat.Message, bool, error) // called once the fields below are set

	msg     chat.Message
	created bool
	err     error
}

// updateReq is any other write transaction waiting for the writer.
type updateReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan struct{} // closed when err is set
	err  error
}

// writer is the write connection and the statements prepared on it, which
// only runWriter uses. Preparing Append's statements once, rather than on
// every call, was a fifth of the CPU of a busy server.
type writer struct {
	conn     *sql.Conn
	begin    *sql.Stmt
	commit   *sql.Stmt
	rollback *sql.Stmt
	insert   *sql.Stmt // insertMessage
	insertAt *sql.Stmt // insertMessageAt
	index    *sql.Stmt // indexMessages
	lastSeq  *sql.Stmt // setLastSeq

	// seqs is the seq of each room's last message in the batch being
	// stored (tryAppends), for the room's next message and for setLastSeq.
	seqs map[string]int64

	// lastSeqs and usernames are what insertMessage's RETURNING told the
	// writer, so that insertMessageAt can do without it: a room's
	// last_seq as of the last commit, a user's username (which never
	// changes). Neither is trusted: insertMessageAt stores nothing unless
	// the room's last_seq is the one given, and a user's id is never given
	// to another. Both are bounded by maxKnown.
	lastSeqs  map[string]int64
	usernames map[string]string
}

// maxKnown bounds writer.lastSeqs and writer.usernames: past it they are
// cleared and learnt again.
const maxKnown = 1 << 16

// insertMessage is all of an Append that succeeds, in one statement:
// membership, as chat.Access.MayPost has it (the join finds no row for a
// non-member or a missing room, the WHERE none for an archived room),
// idempotency (ON CONFLICT DO NOTHING on the client id's unique index),
// seq = last_seq + 1, or ?8 for a room's later messages in a batch (the
// writer moves last_seq once per batch, see migration 0010), and the
// sender's stored username. It returns no row if the message was not
// stored; appendSlow then finds out why. SQLite undoes a statement that
// fails as a whole, keeping the rest of the transaction, so a failed
// Append needs no savepoint to leave the other Appends of its batch intact.
//
// Parameters: room, user id, message id, text, client id or NULL, sent_at,
// the thread a reply joins or NULL (appendOne has checked it), the seq to
// take or NULL for last_seq + 1.
const insertMessage = `INSERT INTO messages (room, seq, id, user_id, text, client_msg_id, sent_at, reply_to)
	SELECT r.name, COALESCE(?8, r.last_seq + 1), ?3, m.user_id, ?4, ?5, ?6, ?7
	FROM rooms r JOIN memberships m ON m.room = r.name AND m.user_id = ?2
	WHERE r.name = ?1 AND r.archived = 0
	ON CONFLICT (room, user_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING
	RETURNING seq, (SELECT username FROM users WHERE id = ?2), rowid`

// insertMessageAt is insertMessage for a room whose last_seq the writer
// believes it knows (?9): it stores the message with seq ?8 only if the
// room's last_seq is still ?9, so a wrong belief stores nothing and the
// Append goes on with insertMessage. It has no RETURNING: SQLite gathers a
// RETURNING statement's rows in a temporary table of their own before it
// returns the first, and the statement's rows, the username lookup and
// their reading cost about a fifth of an Append (the store benchmark's CPU
// per Append: 50 -> 43 µs). The seq is ?8, the rowid sqlite3_last_insert_rowid,
// the username the writer's.
//
// Parameters: those of insertMessage, ?8 the seq to take (not NULL), ?9
// the room's last_seq before the batch.
const insertMessageAt = `INSERT INTO messages (room, seq, id, user_id, text, client_msg_id, sent_at, reply_to)
	SELECT r.name, ?8, ?3, m.user_id, ?4, ?5, ?6, ?7
	FROM rooms r JOIN memberships m ON m.room = r.name AND m.user_id = ?2
	WHERE r.name = ?1 AND r.archived = 0 AND r.last_seq = ?9
	ON CONFLICT (room, user_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING`

// indexMessages adds the messages with rowids from ?1 to ?2, those a batch
// inserted, to the search index (see migration 0006): one statement for
// the batch, so that FTS5 writes one segment at the commit.
const indexMessages = `INSERT INTO messages_fts (rowid, text)
	SELECT rowid, text FROM messages WHERE rowid BETWEEN ?1 AND ?2`

// setLastSeq moves room ?1's last_seq to ?2, the seq of its last message
// in the batch, before the batch commits (migration 0010).
const setLastSeq = `UPDATE rooms SET last_seq = ?2 WHERE name = ?1`

// newWriter takes db's only connection for good and prepares the writer's
// statements on it.
func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, seqs: make(map[string]int64), lastSeqs: make(map[string]int64), usernames: make(map[string]string)}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		// IMMEDIATE takes the write lock at BEGIN, as _txlock does for
		// the other transactions.
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
		{&w.insert, insertMessage},
		{&w.insertAt, insertMessageAt},
		{&w.index, indexMessages},
		{&w.lastSeq, setLastSeq},
	} {
		if *p.stmt, err = conn.PrepareContext(ctx, p.query); err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return w, nil
}

// close releases the statements and returns the connection to its pool.
func (w *writer) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.begin, w.commit, w.rollback, w.insert, w.insertAt, w.index, w.lastSeq} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, w.conn.Close())...)
}

// runWriter is the store's only user of the write connection. It takes
// write requests in arrival order, so none waits behind a flood of others
// (database/sql hands a freed connection to a random waiter), and it is
// the group commit: consecutive Appends waiting together are stored in one
// write transaction, so that the fsync that makes them durable is paid
// once per batch instead of once per message. Nothing is reported as
// stored before the commit returns.
//
// The outcomes of a batch are reported on a goroutine of their own
// (storecall.Reporter), batch after batch in the writer's order, while
// the writer goes on to the next batch: the completions (the server
// encodes the ack and publishes the message in them) are off the serial
// path, which is what limits durable sends (the writer is busy all the
// time, mostly waiting for its commit's fsync and for a CPU, see
// docs/benchmarks.md). An update waits for the completions before it
// runs, so its outcome is reported after theirs, as when the writer
// reported everything itself.
func (s *Store) runWriter() {
	reporter := storecall.NewReporter(reportQueue, (*appendReq).finish)
	defer func() {
		reporter.Close()
		close(s.writerDone)
	}()
	var next any // a request taken while gathering a batch, to run after it
	for {
		job := next
		next = nil
		if job == nil {
			var ok bool
			if job, ok = <-s.writes; !ok {
				return
			}
		}
		switch j := job.(type) {
		case *updateReq:
			reporter.Wait()
			j.err = s.runUpdate(j.ctx, j.fn)
			close(j.done)
		case *appendReq:
			// A new array each time: the reporter may still hold the last.
			batch := append(make([]*appendReq, 0, min(maxAppendBatch, len(s.writes)+1)), j)
		gather:
			for len(batch) < maxAppendBatch {
				select {
				case r, ok := <-s.writes:
					if !ok {
						break gather
					}
					if a, isAppend := r.(*appendReq); isAppend {
						batch = append(batch, a)
						continue
					}
					next = r
					break gather
				default:
					break gather
				}
			}
			s.commitAppends(batch)
			reporter.Report(batch)
		}
	}
}

// reportQueue bounds the batches committed but not yet reported: past
// it the writer waits for the reporter.
const reportQueue = 4

func (s *Store) runUpdate(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err // gave up before its turn
	}
	// The transaction itself is not bound to ctx: database/sql rolls a
	// transaction whose context ends back from a goroutine of its own,
	// racing the statement that ctx has just interrupted, and a rollback
	// that loses leaves the writer's connection inside the transaction,
	// so that every later write failed with "cannot start a transaction
	// within a transaction" (seen when ten thousand joins waited past
	// their deadline). fn's statements still end with ctx; the rollback
	// runs here, after them.
	tx, err := s.w.conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			// Make sure the connection is out of the transaction.
			s.w.rollback.ExecContext(context.Background())
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		s.w.rollback.ExecContext(context.Background()) // an interrupted commit leaves the transaction open
		return err
	}
	return nil
}

// commitAppends stores a batch of Appends in one transaction and sets each
// one's outcome, for the reporter to report once the commit has returned.
//
// An Append that fails on its own (not a member, a constraint) is undone
// by SQLite as a statement and fails alone. Any other failure may have
// ended the transaction: the batch is rolled back and each of its Appends
// tried again in a transaction of its own, so that one that cannot be
// stored does not fail the others.
func (s *Store) commitAppends(batch []*appendReq) {
	err := s.tryAppends(batch)
	if err == nil || len(batch) == 1 {
		if err != nil {
			for _, r := range batch {
				r.msg, r.created, r.err = chat.Message{}, false, err
			}
		}
		return
	}
	for i, r := range batch {
		r.msg, r.created, r.err = chat.Message{}, false, nil
		s.commitAppends(batch[i : i+1])
	}
}

// tryAppends runs batch in one transaction and commits it if any Append
// stored a message. It sets each request's outcome; an error means that
// the transaction did not commit and the outcomes are void.
//
// Statements run with a context that is never done: the driver watches a
// context that can end with a goroutine per statement, and no wait here is
// unbounded (busy_timeout bounds lock waits). Each Append's own context is
// checked before its turn.
func (s *Store) tryAppends(batch []*appendReq) error {
	ctx := context.Background()
	if _, err := s.w.begin.ExecContext(ctx); err != nil {
		return err
	}
	// The rowids of the messages stored, to index them for search.
	var first, last int64
	seqs := s.w.seqs
	clear(seqs)
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // gave up before its turn: nothing stored
			continue
		}
		var rowid int64
		var next any // the seq to take, if the batch has stored into the room
		if seq, ok := seqs[r.nm.Room]; ok {
			next = seq + 1
		}
		r.msg, r.created, rowid, r.err = s.appendOne(ctx, r.nm, next)
		switch {
		case r.err == nil:
			if r.created {
				if first == 0 {
					first = rowid
				}
				last = rowid
				seqs[r.msg.Room] = r.msg.Seq
			}
		case undoneAlone(r.err):
			// Nothing of it remains; the transaction goes on.
		default:
			s.w.rollback.ExecContext(ctx)
			return r.err
		}
	}
	if first == 0 {
		_, err := s.w.rollback.ExecContext(ctx)
		return err
	}
	for room, seq := range seqs {
		if _, err := s.w.lastSeq.ExecContext(ctx, room, seq); err != nil {
			s.w.rollback.ExecContext(ctx)
			return err
		}
	}
	if _, err := s.w.index.ExecContext(ctx, first, last); err != nil {
		s.w.rollback.ExecContext(ctx)
		return err
	}
	_, err := s.w.commit.ExecContext(ctx)
	if err != nil {
		// A failed COMMIT may leave the transaction open.
		s.w.rollback.ExecContext(ctx)
		return err
	}
	known := s.w.lastSeqs
	if len(known)+len(seqs) > maxKnown {
		clear(known)
	}
	for room, seq := range seqs {
		known[room] = seq
	}
	return nil
}

// appendOne is one Append inside the batch's transaction; next is the seq
// to give the message if the batch has stored into its room already (the
// room's last_seq moves only at the end of the batch), or nil. It also
// returns the rowid of the message it stored (rowids only grow within a
// transaction, which the single writer has to itself).
func (s *Store) appendOne(ctx context.Context, nm chat.NewMessage, next any) (chat.Message, bool, int64, error) {
	sentAt := nm.SentAt
	if sentAt.IsZero() {
		sentAt = time.Now()
	}
	msg := chat.Message{
		Room:        nm.Room,
		ID:          chat.NewMessageID(sentAt),
		From:        chat.User{ID: nm.From.ID},
		Text:        nm.Text,
		SentAt:      fromMillis(toMillis(sentAt)),
		ClientMsgID: nm.ClientMsgID,
	}
	var clientMsgID, replyTo any
	if nm.ClientMsgID != "" {
		clientMsgID = nm.ClientMsgID
	}
	if nm.ReplyTo > 0 {
		root, err := threadOf(ctx, s.w.conn, nm)
		if err != nil {
			return chat.Message{}, false, 0, err
		}
		msg.ReplyTo, replyTo = root, root
	}
	if len(nm.Attachments) > 0 {
		if err := attachable(ctx, s.w.conn, nm); err != nil {
			if errors.Is(err, chat.ErrNotAttachable) {
				m, created, err := s.appendSlow(ctx, nm, err) // a resend's files are attached already
				return m, created, 0, err
			}
			return chat.Message{}, false, 0, err
		}
	}
	rowid, stored, err := s.insertAt(ctx, nm, &msg, clientMsgID, replyTo, next)
	if err != nil {
		return chat.Message{}, false, 0, err
	}
	if !stored {
		err = s.w.insert.QueryRowContext(ctx, nm.Room, nm.From.ID, msg.ID, msg.Text, clientMsgID,
			toMillis(msg.SentAt), replyTo, next).Scan(&msg.Seq, &msg.From.Username, &rowid)
		if err == nil {
			s.learn(nm.From.ID, msg.From.Username, msg.Room, msg.Seq, next)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		m, created, err := s.appendSlow(ctx, nm, nil)
		return m, created, 0, err
	}
	if err != nil {
		return chat.Message{}, false, 0, err
	}
	if len(nm.Attachments) > 0 {
		if err := attachFiles(ctx, s.w.conn, nm, &msg); err != nil {
			return chat.Message{}, false, 0, err
		}
	}
	// The rest only for text with an @ and for replies: an ordinary
	// message costs no more than the insert.
	if err := recordMentions(ctx, s.w.conn, &msg); err != nil {
		return chat.Message{}, false, 0, err
	}
	if msg.ReplyTo > 0 {
		threads, err := replySummaries(ctx, s.w.conn, msg.Room, msg.ReplyTo, msg.ReplyTo)
		if err != nil {
			return chat.Message{}, false, 0, err
		}
		msg.Thread = threads[msg.ReplyTo]
	}
	return msg, true, rowid, nil
}

// insertAt stores msg with insertMessageAt if the writer knows its room's
// last_seq and its sender's username, and reports whether it did; msg
// then has its seq and username. Not stored (the writer knows neither, or
// what it knew was wrong, or the Append is not one that succeeds) is for
// insertMessage to try, which also finds out why.
func (s *Store) insertAt(ctx context.Context, nm chat.NewMessage, msg *chat.Message, clientMsgID, replyTo, next any) (int64, bool, error) {
	w := s.w
	base, ok := w.lastSeqs[nm.Room]
	username, known := w.usernames[nm.From.ID]
	if !ok || !known {
		return 0, false, nil
	}
	seq := base + 1
	if next != nil {
		seq = next.(int64)
	}
	res, err := w.insertAt.ExecContext(ctx, nm.Room, nm.From.ID, msg.ID, msg.Text, clientMsgID,
		toMillis(msg.SentAt), replyTo, seq, base)
	if err != nil {
		return 0, false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		// Not stored: perhaps the room's last_seq moved without the
		// writer (another process), perhaps the Append fails.
		delete(w.lastSeqs, nm.Room)
		return 0, false, err
	}
	rowid, err := res.LastInsertId()
	if err != nil {
		return 0, false, err
	}
	msg.Seq, msg.From.Username = seq, username
	return rowid, true, nil
}

// learn keeps what insertMessage returned for insertMessageAt: the
// sender's username and, for the first message of its room in the batch
// (next nil: its seq was last_seq + 1), the room's last_seq before the
// batch, which is what it still is in the database until the batch
// commits.
func (s *Store) learn(userID, username, room string, seq int64, next any) {
	w := s.w
	if len(w.usernames) >= maxKnown {
		clear(w.usernames)
	}
	w.usernames[userID] = username
	if next == nil {
		if len(w.lastSeqs) >= maxKnown {
			clear(w.lastSeqs)
		}
		w.lastSeqs[room] = seq - 1
	}
}

// appendSlow finds out why insertMessage stored nothing, or why the files
// nm names were refused (refused, the answer if nothing else is): the
// sender may not post to the room (chat.Access.MayPost says why), or the
// client id was used before, in which case the first message, with its
// files, is the answer (also in an archived room, so that a resend is
// answered as the first send was).
func (s *Store) appendSlow(ctx context.Context, nm chat.NewMessage, refused error) (chat.Message, bool, error) {
	a, err := checkAccess(ctx, s.w.conn, nm.From.ID, nm.Room, chat.Access.MayRead)
	if err != nil {
		return chat.Message{}, false, err
	}
	if nm.ClientMsgID != "" {
		m, err := scanMessage(s.w.conn.QueryRowContext(ctx,
			selectMessage+`WHERE g.room = ? AND g.user_id = ? AND g.client_msg_id = ?`,
			nm.Room, nm.From.ID, nm.ClientMsgID))
		if err == nil {
			msgs := []chat.Message{m}
			err = withAttachments(ctx, s.w.conn, nm.Room, msgs)
			m = msgs[0]
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return m, false, err
		}
	}
	if err := a.MayPost(); err != nil {
		return chat.Message{}, false, err
	}
	if refused != nil {
		return chat.Message{}, false, refused
	}
	return chat.Message{}, false, fmt.Errorf("append to %s stored nothing, yet the sender is a member and the client id is new", nm.Room)
}

// finish reports the outcome.
func (r *appendReq) finish() {
	if r.err != nil {
		r.then(chat.Message{}, false, mapErr("append", r.err))
		return
	}
	r.then(r.msg, r.created, nil)
}

// undoneAlone reports whether an Append that failed with err left the
// batch's transaction as it was: a domain error comes from reads, and
// SQLite undoes a statement that violates a constraint (ABORT, its default
// conflict resolution) and only that statement.
func undoneAlone(err error) bool {
	var (
		ce *chat.Error
		se *sqlite.Error
	)
	return errors.As(err, &ce) || errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
