package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
)

// maxAppendBatch bounds how many Appends share one transaction.
const maxAppendBatch = 256

// appendTimeout bounds one batch's transaction: an Append waits for its
// batch whatever its own context says, and the server's requests allow
// themselves 5 s.
const appendTimeout = 5 * time.Second

// appendReq is one Append waiting for the appender.
type appendReq struct {
	ctx  context.Context
	nm   chat.NewMessage
	done chan struct{} // closed when the fields below are set

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

// runWriter is the store's only user of the write connection. It takes
// write requests in arrival order, so none waits behind a flood of others
// (database/sql hands a freed connection to a random waiter), and it is
// the group commit: consecutive Appends waiting together are stored in one
// write transaction, so that the fsync that makes them durable is paid
// once per batch instead of once per message. Each Append runs under a
// savepoint, so that one that fails (not a member, say) leaves the others'
// work in place. Nothing is reported as stored before the commit returns.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	batch := make([]*appendReq, 0, maxAppendBatch)
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
			j.err = s.runUpdate(j.ctx, j.fn)
			close(j.done)
		case *appendReq:
			batch = append(batch[:0], j)
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
			clear(batch)
		}
	}
}

func (s *Store) runUpdate(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err // gave up before its turn
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) commitAppends(batch []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	finish := func(err error) {
		for _, r := range batch {
			if r.err == nil && err != nil {
				r.msg, r.created, r.err = chat.Message{}, false, err
			}
			close(r.done)
		}
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		finish(err)
		return
	}
	stored := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // gave up before its turn: nothing stored
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT append`); err != nil {
			r.err = err
			continue
		}
		r.msg, r.created, r.err = appendTx(ctx, tx, r.nm)
		if r.err != nil {
			_, rbErr := tx.ExecContext(ctx, `ROLLBACK TO append`)
			if rbErr != nil {
				tx.Rollback()
				finish(errors.Join(r.err, rbErr))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE append`); err != nil {
			tx.Rollback()
			finish(err)
			return
		}
		if r.err == nil {
			stored++
		}
	}
	if stored == 0 {
		tx.Rollback()
		finish(nil)
		return
	}
	finish(tx.Commit())
}
