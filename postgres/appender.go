package postgres

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/storecall"
)

// maxAppendBatch bounds how many Appends share one transaction.
const maxAppendBatch = 256

// appendTimeout bounds one batch's transaction: an Append waits for its
// batch whatever its own context says, and the server's requests allow
// themselves 5 s.
const appendTimeout = 5 * time.Second

// appendReq is one Append waiting for an appender.
type appendReq struct {
	ctx  context.Context
	nm   chat.NewMessage
	then func(chat.Message, bool, error) // called once the fields below are set

	msg     chat.Message
	created bool
	err     error

	names       []string // mentioned, from the text
	mentionRoom bool     // the text has @room
}

// lockRooms takes the row locks of a batch's rooms, in name order, before
// any of its Appends runs. The lock serialises a room's writers on every
// node until they commit, so the next one reads a last_seq whose message
// is committed, and sees any message with the client id it brings. One
// order for every batch means two nodes' batches that share rooms wait
// for each other instead of deadlocking. FOR NO KEY UPDATE, not FOR
// UPDATE: it does not block the key-share locks that inserts of
// memberships and messages take on the room through their foreign keys.
const lockRooms = `SELECT FROM rooms WHERE name = ANY($1) ORDER BY name FOR NO KEY UPDATE`

// appendMessage is one Append in one statement, so that a batch of them
// goes to the server in one round trip: the sender's access to the room
// (a, for chat.Access.MayPost to judge; r's WHERE mirrors it), the message
// they already sent with this client id (old), and, only if they are a
// member and there is no such message, the next seq (r) and the insert
// (ins). It always returns one row, from which appendOutcome tells what
// happened; a refused Append changes nothing.
//
// A reply ($7 not NULL) joins the thread of the message it names (p), and
// is stored only if that message exists (parent_ok).
//
// A message with files ($8 not NULL) is stored only if every one is an
// unattached upload of the sender to the room (f); att attaches them. Two
// messages naming one file are of one room, whose lock makes them take
// turns: the second sees the first's files attached.
//
// Parameters: room, user id, message id, text, client id or NULL, sent_at,
// the seq a reply names or NULL, the ids of the files or NULL.
const appendMessage = `WITH a AS (
	SELECT r.private, m.user_id IS NOT NULL AS member, r.archived
	FROM rooms r LEFT JOIN memberships m ON m.room = r.name AND m.user_id = $2
	WHERE r.name = $1
), p AS (
	SELECT COALESCE(reply_to, seq) AS root FROM messages WHERE room = $1 AND seq = $7::bigint
), old AS (
	SELECT g.seq, g.id, g.text, g.sent_at, g.edited_at, g.deleted, g.reply_to, g.mentions, g.mention_room
	FROM messages g
	WHERE g.room = $1 AND g.user_id = $2 AND g.client_msg_id = $5
), f AS (
	SELECT $8::text[] IS NULL OR (SELECT COUNT(*) FROM files
		WHERE id = ANY($8::text[]) AND room = $1 AND uploader = $2 AND seq IS NULL) = cardinality($8::text[]) AS ok
), r AS (
	UPDATE rooms SET last_seq = last_seq + 1
	WHERE name = $1 AND EXISTS (SELECT FROM a WHERE member AND NOT archived) AND NOT EXISTS (SELECT FROM old)
		AND ($7 IS NULL OR EXISTS (SELECT FROM p)) AND (SELECT ok FROM f)
	RETURNING last_seq
), ins AS (
	INSERT INTO messages (room, seq, id, user_id, text, client_msg_id, sent_at, reply_to)
	SELECT $1, r.last_seq, $3, $2, $4, $5, $6, (SELECT root FROM p) FROM r
	RETURNING seq, reply_to
), att AS (
	UPDATE files SET seq = r.last_seq, pos = array_position($8::text[], files.id) - 1
	FROM r WHERE files.id = ANY($8::text[]) AND files.room = $1 AND files.uploader = $2 AND files.seq IS NULL
	RETURNING ` + attachmentJSON + ` AS j, files.pos
)
SELECT a.private, a.member, a.archived, (SELECT username FROM users WHERE id = $2),
	ins.seq, old.seq, old.id, old.text, old.sent_at, old.edited_at, old.deleted,
	$7 IS NULL OR EXISTS (SELECT FROM p), COALESCE(ins.reply_to, old.reply_to), old.mentions, old.mention_room,
	(SELECT ok FROM f),
	COALESCE((SELECT json_agg(j ORDER BY pos) FROM att),
		(SELECT json_agg(` + attachmentJSON + ` ORDER BY files.pos) FROM files WHERE files.room = $1 AND files.seq = old.seq))
FROM (VALUES (1)) one
LEFT JOIN a ON true LEFT JOIN ins ON true LEFT JOIN old ON true`

// runAppender is one of the store's group commits: it takes the Appends
// waiting together in queue and stores them in one transaction, sent as
// one batch, so that the round trips and the WAL flush that makes them
// durable are paid once per batch instead of once per message. It reports
// each batch's Appends in the order it took them, after its commit and
// before the next batch's.
//
// Several appenders share the queue of Append, so that one batch runs
// while another waits for its commit. AppendAsync's queues (lanes) have
// one each, as its order is a promise: two batches of one room at once
// could store a sender's later message first.
//
// A lane reports on a goroutine of its own (storecall.Reporter): the
// reports are the server's work on each stored message (its ack, its
// delivery), which then runs while the lane's next batch is in the
// database, instead of delaying that batch.
func (s *Store) runAppender(queue <-chan *appendReq, lane bool) {
	defer s.appendersDone.Done()
	report := finishAll
	if lane {
		reporter := storecall.NewReporter(reportQueue, (*appendReq).finish)
		defer reporter.Close()
		report = reporter.Report
	}
	for r := range queue {
		// A new slice each time: a lane's reporter may still hold the last.
		batch := append(make([]*appendReq, 0, min(maxAppendBatch, len(queue)+1)), r)
	gather:
		for len(batch) < maxAppendBatch {
			select {
			case r, ok := <-queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commitAppends(batch, report)
	}
}

// reportQueue bounds a lane's batches committed but not yet reported:
// past it the lane waits for its reporter.
const reportQueue = 8

// finishAll reports the outcomes of batch, in order.
func finishAll(batch []*appendReq) {
	for _, r := range batch {
		r.finish()
	}
}

// commitAppends stores batch and reports each Append's outcome through
// report, in batch order, once the commit has returned. An Append that is
// refused (not a member, a repeated client id) is decided by its statement
// and changes nothing. Any error aborts the transaction: if the database
// is unavailable all fail, otherwise each Append is tried again in a
// transaction of its own, so that one that the database refuses (a NUL
// byte in its text, say) does not fail the others.
func (s *Store) commitAppends(batch []*appendReq, report func([]*appendReq)) {
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	err := s.tryAppends(ctx, batch)
	cancel()
	if err == nil || len(batch) == 1 || unavailable(err) {
		if err != nil {
			for _, r := range batch {
				r.msg, r.created, r.err = chat.Message{}, false, err
			}
		}
		report(batch)
		return
	}
	for _, r := range batch {
		r.msg, r.created, r.err = chat.Message{}, false, nil
		s.commitAppends([]*appendReq{r}, report)
	}
}

// appendMessages is appendMessage for a run of plain Appends (no reply,
// no files, no mentions), so that a batch costs one statement instead of
// one per Append: the arrays are one Append each, in batch order. Each
// Append's access and username (a), and the message it already sent with
// its client id (the old_ columns), are looked up; the ones that
// may post and are new are numbered per room in batch order from the
// room's last_seq (n; the room is locked, so no one else moves it), the
// rooms move by their count (up) and the messages are inserted (ins). It
// returns one row per Append, in batch order, with appendMessage's
// columns.
//
// The lookups are LATERAL subqueries with OFFSET 0, so that they stay
// index lookups per Append: as joins, the prepared statement's generic
// plan (which cannot know how many Appends the arrays hold) hashes whole
// tables, scanning all the messages at every batch.
//
// The parts of one statement do not see each other's inserts, so a run
// must not hold one client id twice: tryAppends answers a repeat with the
// first's outcome.
//
// Parameters: rooms, user ids, message ids, texts, client ids (NULL for
// none), sent_ats.
const appendMessages = `WITH b AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
		WITH ORDINALITY AS b(room, user_id, id, text, client_msg_id, sent_at, ord)
), a AS (
	SELECT b.*, r.private, r.archived, r.last_seq, m.member,
		(SELECT username FROM users u WHERE u.id = b.user_id) AS username, g.*
	FROM b
	LEFT JOIN LATERAL (SELECT private, archived, last_seq FROM rooms WHERE name = b.room OFFSET 0) r ON true
	LEFT JOIN LATERAL (SELECT true AS member FROM memberships WHERE room = b.room AND user_id = b.user_id OFFSET 0) m ON true
	LEFT JOIN LATERAL (
		SELECT seq AS old_seq, id AS old_id, text AS old_text, sent_at AS old_sent_at, edited_at AS old_edited_at,
			deleted AS old_deleted, reply_to AS old_reply_to, mentions AS old_mentions, mention_room AS old_mention_room
		FROM messages
		WHERE room = b.room AND user_id = b.user_id AND client_msg_id = b.client_msg_id
		OFFSET 0
	) g ON true
), n AS (
	SELECT ord, last_seq + row_number() OVER (PARTITION BY room ORDER BY ord) AS seq
	FROM a WHERE member AND NOT archived AND old_seq IS NULL
), up AS (
	UPDATE rooms SET last_seq = c.top
	FROM (SELECT a.room, max(n.seq) AS top FROM a JOIN n USING (ord) GROUP BY a.room) c
	WHERE rooms.name = c.room
), ins AS (
	INSERT INTO messages (room, seq, id, user_id, text, client_msg_id, sent_at)
	SELECT a.room, n.seq, a.id, a.user_id, a.text, a.client_msg_id, a.sent_at FROM a JOIN n USING (ord)
)
SELECT a.private, a.member, a.archived, a.username,
	n.seq, a.old_seq, a.old_id, a.old_text, a.old_sent_at, a.old_edited_at, a.old_deleted,
	true, a.old_reply_to, a.old_mentions, a.old_mention_room,
	true,
	CASE WHEN a.old_seq IS NOT NULL THEN (SELECT json_agg(` + attachmentJSON + ` ORDER BY files.pos)
		FROM files WHERE files.room = a.room AND files.seq = a.old_seq) END
FROM a LEFT JOIN n USING (ord)
ORDER BY a.ord`

// plain reports whether r can go into appendMessages: it names no
// message, no file and no one.
func (r *appendReq) plain() bool {
	return r.nm.ReplyTo <= 0 && len(r.nm.Attachments) == 0 && len(r.names) == 0 && !r.mentionRoom
}

// appendRun is a run of plain Appends of a batch, stored by one
// appendMessages, or a single Append of any kind.
type appendRun struct {
	reqs  []*appendReq
	bulk  bool
	dupOf map[*appendReq]*appendReq // repeats of a client id in the run: answered as the first
}

// tryAppends runs batch in one transaction and commits it. It sets each
// request's outcome; an error means that nothing was committed and the
// outcomes are void.
func (s *Store) tryAppends(ctx context.Context, batch []*appendReq) error {
	// BEGIN and the rooms' lock go first, in the same round trip as the
	// statements: only COMMIT waits for their results.
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	lock := b.Queue(lockRooms) // its rooms once they are known
	rooms := make([]string, 0, len(batch))
	var (
		runs []*appendRun
		run  *appendRun               // the plain run being gathered, if any
		seen map[[3]string]*appendReq // its client ids
	)
	flush := func() {
		if run == nil {
			return
		}
		n := len(run.reqs) - len(run.dupOf)
		roomv, users, ids, texts := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		cids, sentAts := make([]*string, 0, n), make([]time.Time, 0, n)
		for _, r := range run.reqs {
			if run.dupOf[r] != nil {
				continue
			}
			roomv, users, ids, texts = append(roomv, r.msg.Room), append(users, r.msg.From.ID), append(ids, r.msg.ID), append(texts, r.msg.Text)
			var cid *string
			if r.nm.ClientMsgID != "" {
				cid = &r.nm.ClientMsgID
			}
			cids, sentAts = append(cids, cid), append(sentAts, r.msg.SentAt)
		}
		b.Queue(appendMessages, roomv, users, ids, texts, cids, sentAts)
		runs = append(runs, run)
		run, seen = nil, nil
	}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // gave up before its turn: nothing stored
			continue
		}
		sentAt := r.nm.SentAt
		if sentAt.IsZero() {
			sentAt = time.Now()
		}
		r.msg = chat.Message{
			Room:        r.nm.Room,
			ID:          chat.NewMessageID(sentAt),
			From:        chat.User{ID: r.nm.From.ID},
			Text:        r.nm.Text,
			SentAt:      toDB(sentAt),
			ClientMsgID: r.nm.ClientMsgID,
		}
		r.names, r.mentionRoom = chat.ParseMentions(r.nm.Text)
		rooms = append(rooms, r.nm.Room)
		if r.plain() {
			if run == nil {
				run, seen = &appendRun{bulk: true}, map[[3]string]*appendReq{}
			}
			run.reqs = append(run.reqs, r)
			if r.nm.ClientMsgID != "" {
				key := [3]string{r.nm.Room, r.nm.From.ID, r.nm.ClientMsgID}
				if first := seen[key]; first != nil {
					if run.dupOf == nil {
						run.dupOf = map[*appendReq]*appendReq{}
					}
					run.dupOf[r] = first
				} else {
					seen[key] = r
				}
			}
			continue
		}
		flush()
		runs = append(runs, &appendRun{reqs: []*appendReq{r}})
		var clientMsgID *string
		if r.nm.ClientMsgID != "" {
			clientMsgID = &r.nm.ClientMsgID
		}
		var replyTo *int64
		if r.nm.ReplyTo > 0 {
			replyTo = &r.nm.ReplyTo
		}
		var files []string // NULL, unless the message names files
		if len(r.nm.Attachments) > 0 {
			files = r.nm.Attachments
		}
		b.Queue(appendMessage, r.msg.Room, r.msg.From.ID, r.msg.ID, r.msg.Text, clientMsgID, r.msg.SentAt, replyTo, files)
		// Mentions and a reply's thread summary go in the same batch, and
		// only for the messages that need them; each finds nothing if the
		// Append stored nothing.
		if len(r.names) > 0 || r.mentionRoom {
			b.Queue(recordMentions, r.msg.Room, r.msg.From.ID, r.msg.ID, r.names, r.mentionRoom, chat.MaxRoomMentionMembers)
		}
		if replyTo != nil {
			b.Queue(threadSummary, r.msg.Room, r.msg.ID)
		}
	}
	flush()
	if len(rooms) == 0 {
		return nil
	}
	slices.Sort(rooms)
	rooms = slices.Compact(rooms)
	lock.Arguments = []any{rooms}

	br := s.pool.SendBatch(ctx, b)
	defer func() {
		// After Commit, a no-op; otherwise it ends the transaction (if the
		// BEGIN ran) and hands the connection back.
		if tx := br.Tx(); tx != nil {
			tx.Rollback(ctx)
		}
	}()
	for range 2 { // BEGIN, the lock
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	for _, run := range runs {
		var err error
		if run.bulk {
			err = readRun(br, run)
		} else {
			r := run.reqs[0]
			if err = appendOutcome(br.QueryRow(), r); err == nil {
				err = appendExtras(br, r)
			}
		}
		if err != nil {
			br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	return br.Tx().Commit(ctx)
}

// readRun reads the rows of a run's appendMessages into its Appends, and
// answers each repeat of a client id as its first.
func readRun(br pgx.BatchResults, run *appendRun) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for _, r := range run.reqs {
		if run.dupOf[r] != nil {
			continue
		}
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("append: fewer rows than the %d messages of a run", len(run.reqs)-len(run.dupOf))
		}
		if err := appendOutcome(rows, r); err != nil {
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for r, first := range run.dupOf {
		r.msg, r.created, r.err = first.msg, false, first.err
	}
	return nil
}

// appendOutcome reads appendMessage's row into r.
func appendOutcome(row pgx.Row, r *appendReq) error {
	var (
		private, member *bool
		archived        *bool
		username        *string
		seq, oldSeq     *int64
		oldID, oldText  *string
		oldSentAt       *time.Time
		oldEditedAt     *time.Time
		oldDeleted      *bool
		parentOK        bool
		replyTo         *int64
		oldMentions     []string
		oldMentionRoom  *bool
		filesOK         bool
		files           []attachmentRow
	)
	if err := row.Scan(&private, &member, &archived, &username, &seq,
		&oldSeq, &oldID, &oldText, &oldSentAt, &oldEditedAt, &oldDeleted, &parentOK, &replyTo,
		&oldMentions, &oldMentionRoom, &filesOK, &files); err != nil {
		return err
	}
	a := chat.Access{Exists: private != nil, Private: private != nil && *private, Member: member != nil && *member,
		Archived: archived != nil && *archived}
	if err := a.MayRead(); err != nil {
		r.msg, r.err = chat.Message{}, err
		return nil
	}
	switch {
	case oldSeq == nil && seq == nil && a.Archived: // a resend is still answered, a new message is not
		r.msg, r.err = chat.Message{}, a.MayPost()
	case seq != nil:
		r.msg.Seq, r.msg.From.Username, r.created = *seq, *username, true
		if replyTo != nil {
			r.msg.ReplyTo = *replyTo
		}
		r.msg.Attachments = attachments(files)
	case oldSeq == nil && !parentOK:
		r.msg, r.err = chat.Message{}, chat.ErrMessageNotFound
		return nil
	case oldSeq == nil && !filesOK:
		r.msg, r.err = chat.Message{}, chat.ErrNotAttachable
		return nil
	case oldSeq != nil:
		m := chat.Message{Room: r.msg.Room, Seq: *oldSeq, ID: *oldID, From: chat.User{ID: r.msg.From.ID, Username: *username},
			Text: *oldText, ClientMsgID: r.msg.ClientMsgID, SentAt: fromDB(*oldSentAt), Deleted: *oldDeleted,
			Mentions: oldMentions, MentionRoom: oldMentionRoom != nil && *oldMentionRoom,
			Attachments: attachments(files)}
		if replyTo != nil {
			m.ReplyTo = *replyTo
		}
		if oldEditedAt != nil {
			t := fromDB(*oldEditedAt)
			m.EditedAt = &t
		}
		r.msg = m
	default:
		return fmt.Errorf("append to %s stored nothing, yet the sender is a member and the client id is new", r.msg.Room)
	}
	return nil
}

// finish reports the outcome.
func (r *appendReq) finish() {
	if r.err != nil {
		r.then(chat.Message{}, false, mapErr("append", r.err))
		return
	}
	r.then(r.msg, r.created, nil)
}

// lanes is AppendAsync's ordering: each room's Appends go to one lane
// (an appender of its own), so that they are stored in queue order, and
// the outcomes of all lanes are reported in queue order through tickets,
// so that a sender who writes to two rooms hears back in the order it
// wrote. Lanes run at once, like Append's appenders.
type lanes struct {
	seed maphash.Seed

	qmu    sync.Mutex // guards the following, and orders the lanes' queues
	queues []chan *appendReq
	next   uint64 // the next Append's ticket

	rmu      sync.Mutex // guards the following
	reported uint64     // the ticket to report next
	waiting  map[uint64]func()
}

func newLanes(n int) *lanes {
	l := &lanes{seed: maphash.MakeSeed(), queues: make([]chan *appendReq, n), waiting: map[uint64]func(){}}
	for i := range l.queues {
		l.queues[i] = make(chan *appendReq, maxAppendBatch)
	}
	return l
}

// queue hands r to its room's lane; report then reports its outcome once
// every Append queued before it has been reported.
func (l *lanes) queue(ctx context.Context, r *appendReq, report func(chat.Message, bool, error)) {
	l.qmu.Lock()
	ticket := l.next
	l.next++
	r.then = func(m chat.Message, created bool, err error) {
		l.report(ticket, func() { report(m, created, err) })
	}
	q := l.queues[maphash.String(l.seed, r.nm.Room)%uint64(len(l.queues))]
	select {
	case q <- r: // in ticket order: qmu is held
		l.qmu.Unlock()
	case <-ctx.Done():
		l.qmu.Unlock()
		r.then(chat.Message{}, false, mapErr("append", ctx.Err()))
	}
}

// report runs fn, the report of ticket, in ticket order.
func (l *lanes) report(ticket uint64, fn func()) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	l.waiting[ticket] = fn
	for {
		fn, ok := l.waiting[l.reported]
		if !ok {
			return
		}
		delete(l.waiting, l.reported)
		l.reported++
		fn()
	}
}

// close ends the lanes' appenders once they have drained their queues.
func (l *lanes) close() {
	for _, q := range l.queues {
		close(q)
	}
}
