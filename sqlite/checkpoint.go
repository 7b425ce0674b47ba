package sqlite

import (
	"fmt"
	"sync"

	zz "zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// The WAL's checkpoints (copying committed pages from the WAL into the
// database file, and syncing it, so that the WAL can start over) run on a
// connection and goroutine of their own, beside the writer, instead of
// inside the writer's COMMIT, where SQLite runs them by default once the
// WAL holds wal_autocheckpoint pages: the writer is the serial part of
// every durable send, and a checkpoint there stalled the batch behind it
// for its page copies and two fsyncs. A checkpoint does not change what is
// durable: a commit is durable once its WAL frames are synced (the
// writer's COMMIT, synchronous=FULL), and a checkpoint copies only
// committed frames, syncing the WAL before and the database after.

const (
	// checkpointEvery is how many messages the writer commits between
	// two nudges to the checkpointer: about as many WAL pages (a message
	// costs about one), SQLite's default autocheckpoint.
	checkpointEvery = 1000

	// writerAutocheckpoint is the writer's own wal_autocheckpoint, in
	// pages: a bound on the WAL should the checkpointer fall behind. A
	// PASSIVE checkpoint beside a busy writer copies what was committed
	// when it began; the WAL starts over only when a checkpoint has
	// copied all of it before the next write transaction begins, which
	// under continuous writes may not happen. Then the writer checkpoints
	// itself here, copying only what the checkpointer has not.
	writerAutocheckpoint = 10000
)

// checkpointer runs PASSIVE checkpoints on its own connection when nudged.
type checkpointer struct {
	conn  *zz.Conn
	nudge chan struct{}
	done  sync.WaitGroup

	// written counts the messages committed since the last nudge; the
	// writer alone uses it.
	written int
}

// startCheckpointer opens the checkpointer's connection to uri (a "file:"
// URI) and starts its goroutine.
func startCheckpointer(uri string) (*checkpointer, error) {
	c, err := zz.OpenConn(uri, zz.OpenReadWrite|zz.OpenURI)
	if err != nil {
		return nil, err
	}
	c.SetBusyTimeout(busyTimeout)
	// A checkpoint syncs the WAL before it copies and the database after,
	// as synchronous=FULL has it on every connection of the store.
	if err := sqlitex.ExecuteTransient(c, `PRAGMA synchronous = FULL`, nil); err != nil {
		c.Close()
		return nil, err
	}
	cp := &checkpointer{conn: c, nudge: make(chan struct{}, 1)}
	cp.done.Go(cp.run)
	return cp, nil
}

// committed tells the checkpointer that the writer committed n messages;
// every checkpointEvery of them it is nudged, without waiting.
func (cp *checkpointer) committed(n int) {
	cp.written += n
	if cp.written < checkpointEvery {
		return
	}
	cp.written = 0
	select {
	case cp.nudge <- struct{}{}:
	default: // a checkpoint is due already
	}
}

func (cp *checkpointer) run() {
	for range cp.nudge {
		// A failure (a lock held by another process past busy_timeout,
		// say) leaves the WAL to the next checkpoint, or to the writer's
		// own (writerAutocheckpoint); nothing waits on this one.
		sqlitex.ExecuteTransient(cp.conn, `PRAGMA wal_checkpoint(PASSIVE)`, nil)
	}
}

// close stops the goroutine and closes the connection.
func (cp *checkpointer) close() error {
	close(cp.nudge)
	cp.done.Wait()
	if err := cp.conn.Close(); err != nil {
		return fmt.Errorf("checkpointer: %w", err)
	}
	return nil
}
