package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/chat"
)

// maxAppendBatch bounds how many Appends share one transaction.
const maxAppendBatch = 256

// appendTimeout bounds one batch's transaction.
const appendTimeout = 10 * time.Second

// appendReq is one Append waiting for the appender.
type appendReq struct {
	ctx  context.Context
	nm   chat.NewMessage
	done chan struct{} // closed when the fields below are set

	msg     chat.Message
	created bool
	err     error
}

// runAppender is the group commit: it takes every Append that is waiting
// and stores them in one write transaction, so that the fsync that makes
// them durable is paid once per batch instead of once per message. Each
// Append runs under a savepoint, so that one that fails (not a member, say)
// leaves the others' work in place. Nothing is reported as stored before
// the commit returns.
func (s *Store) runAppender() {
	defer close(s.appenderDone)
	batch := make([]*appendReq, 0, maxAppendBatch)
	for first := range s.appends {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxAppendBatch {
			select {
			case r, ok := <-s.appends:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commitAppends(batch)
		clear(batch)
	}
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
