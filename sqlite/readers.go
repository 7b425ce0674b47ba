package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
)

// maxReaderStmts bounds one reader's prepared statements; queries beyond
// it are prepared each time.
const maxReaderStmts = 64

// readers runs the store's reads on a few long-lived goroutines, each of
// which owns one read connection and the statements prepared on it.
//
// Why not database/sql's pool from the caller's goroutine, as before: the
// caller is usually a fresh goroutine (a WebSocket upgrade, a frame the
// poller just read), and SQLite's translated C needs a deep stack, so
// every read began by growing the caller's stack from 2 KiB, copying it
// at each doubling: in a reconnect storm that was a tenth of the server's
// CPU. A reader's stack is grown once. Owning the connection also skips
// the pool's bookkeeping and the shared statement cache's lock, and a read
// whose caller has given up while it waited in the queue (a client that
// timed out its handshake) is not run at all.
type readers struct {
	jobs  chan *readJob
	wg    sync.WaitGroup
	conns []*readConn // one per reader

	mu   sync.Mutex // guards errs
	errs []error    // closing the connections
}

// readJob is one call of view: fn runs on a reader, err is its outcome,
// done is closed after.
type readJob struct {
	ctx  context.Context
	fn   func(rc *readConn) error
	err  error
	done chan struct{}
}

// startReaders takes n connections from db, opens n direct ones to uri
// (openDirect), and starts a reader on each pair.
func startReaders(ctx context.Context, db *sql.DB, uri string, n int) (*readers, error) {
	rs := &readers{jobs: make(chan *readJob, 4*n)}
	rcs := make([]*readConn, 0, n)
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			for _, rc := range rcs {
				rc.close()
			}
			return nil, err
		}
		d, err := openDirect(uri)
		if err != nil {
			c.Close()
			for _, rc := range rcs {
				rc.close()
			}
			return nil, err
		}
		rcs = append(rcs, &readConn{conn: c, stmts: make(map[string]*sql.Stmt), direct: d})
	}
	rs.conns = rcs
	for _, rc := range rcs {
		rs.wg.Go(func() { rs.run(db, rc) })
	}
	return rs, nil
}

// do runs fn on a reader and returns its error. It waits for fn even when
// ctx ends meanwhile (fn's queries end with ctx), since fn writes the
// caller's variables.
func (rs *readers) do(ctx context.Context, fn func(rc *readConn) error) error {
	j := &readJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case rs.jobs <- j: // the queue has room: ctx.Done would make a channel for nothing
	default:
		select {
		case rs.jobs <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	<-j.done
	return j.err
}

// short is the context of a read that is short by construction (a primary
// key lookup, one user's memberships): its statements run without ctx's
// deadline or cancellation, which still bound its wait for a reader (do,
// run). Watching a context costs every statement two goroutines,
// database/sql's (Rows.awaitDone) and the driver's (interruptOnDone), and
// a channel: for a connect's reads (SessionUser, Rooms) about a tenth of
// the server's CPU per connect in a profile.
func short(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// close stops the readers once the calls in progress are done (the store's
// gate is closed: no new ones come) and releases their connections.
func (rs *readers) close() error {
	close(rs.jobs)
	rs.wg.Wait()
	return errors.Join(rs.errs...)
}

func (rs *readers) run(db *sql.DB, rc *readConn) {
	defer func() {
		err := rc.close()
		rs.mu.Lock()
		rs.errs = append(rs.errs, err)
		rs.mu.Unlock()
	}()
	for j := range rs.jobs {
		if err := j.ctx.Err(); err != nil {
			j.err = err // the caller gave up while this waited
		} else {
			j.err = j.fn(rc)
		}
		close(j.done)
		if errors.Is(j.err, sql.ErrConnDone) || errors.Is(j.err, driver.ErrBadConn) {
			rc.renew(db) // as the pool would have, for a connection that broke
		}
	}
}

// readConn is one reader's connections, with their queries prepared once:
// one through database/sql for most reads, and a direct one (openDirect)
// for the short reads of the connect path (Store.lookup).
type readConn struct {
	conn   *sql.Conn
	stmts  map[string]*sql.Stmt
	direct *direct
}

var _ querier = (*readConn)(nil)

// stmt returns the statement for query, prepared on first use; nil when
// there are too many or it does not prepare (the caller then runs the
// query text, which reports the error).
func (rc *readConn) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := rc.stmts[query]; ok {
		return st
	}
	if len(rc.stmts) >= maxReaderStmts {
		return nil
	}
	st, err := rc.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	rc.stmts[query] = st
	return st
}

func (rc *readConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := rc.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return rc.conn.ExecContext(ctx, query, args...)
}

func (rc *readConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := rc.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return rc.conn.QueryContext(ctx, query, args...)
}

func (rc *readConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := rc.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return rc.conn.QueryRowContext(ctx, query, args...)
}

// renew replaces a broken database/sql connection with a new one from db,
// as the pool would have. The old one goes first, giving its slot back;
// without a new one the reader keeps the closed one, whose next read fails
// and renews. (The direct connection has no pool to break it: it stays.)
func (rc *readConn) renew(db *sql.DB) {
	rc.closeConn()
	rc.stmts = make(map[string]*sql.Stmt)
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
	defer cancel()
	if c, err := db.Conn(ctx); err == nil {
		rc.conn = c
	}
}

func (rc *readConn) close() error {
	return errors.Join(rc.closeConn(), rc.direct.close())
}

// closeConn closes the database/sql connection and its statements.
func (rc *readConn) closeConn() error {
	var errs []error
	for _, st := range rc.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, rc.conn.Close())...)
}
