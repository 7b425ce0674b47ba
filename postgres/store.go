// Package postgres implements chat.Store on PostgreSQL with pgx, for chatd
// clusters: every node opens the same database, and the row lock that
// Append takes on its room serialises the writers of one room across nodes.
//
// Transactions run at READ COMMITTED, PostgreSQL's default. Every statement
// sees what was committed before it started, and the one invariant that
// needs more, a room's gap-free seqs, comes from the room row's lock rather
// than from the isolation level, so no transaction is ever retried.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/storecall"
)

// defaultConnectTimeout bounds each new connection when the URL sets no
// connect_timeout, so that an unreachable database fails a call instead of
// hanging it.
const defaultConnectTimeout = 5 * time.Second

var (
	_ chat.Store         = (*Store)(nil)
	_ chat.AsyncAppender = (*Store)(nil)
)

// Store is a chat.Store backed by a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool

	appends       chan *appendReq // Append's, to its appenders
	lanes         *lanes          // AppendAsync's, to their appenders
	appendersDone sync.WaitGroup

	gate storecall.Gate // every call enters it; Close shuts it
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as libpq takes), checks that it answers, and brings
// its schema up to date. The schema lives in the first schema of the
// connection's search_path (a search_path parameter in the URL chooses
// another than public).
//
// ctx bounds the connection and the migration; an unreachable database
// fails with chat.ErrUnavailable.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, where, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, mapErr("open "+where, fmt.Errorf("migrate: %w", err))
	}
	// Half the pool's connections at most for Appends, so that reads and
	// other writes always find one. A server uses Append or AppendAsync,
	// not both.
	n := max(1, int(pool.Config().MaxConns)/2)
	s := &Store{pool: pool, appends: make(chan *appendReq, maxAppendBatch), lanes: newLanes(asyncLanes(n))}
	s.appendersDone.Add(n + len(s.lanes.queues))
	for range n {
		go s.runAppender(s.appends, false)
	}
	for _, q := range s.lanes.queues {
		go s.runAppender(q, true)
	}
	return s, nil
}

// asyncLanes is how many lanes AppendAsync runs when n appenders may
// write at once: half of them (one, with the default pool of four
// connections on a machine of up to four cores). A lane's batch is every
// Append queued while its previous batch committed, so fewer lanes make
// larger batches, and a batch's fixed cost (BEGIN, the lock, starting the
// statement's plan, COMMIT and its WAL flush) is paid by more messages:
// with chatbench's 50 senders in 50 rooms on two cores, one lane's batches
// held ~50 Appends against two lanes' ~30, and the backends spent a
// quarter less CPU per message, at the same throughput (the backends
// share the cores with chatd). Its backend spends ~50 µs of CPU per
// Append there, so one lane with a core of its own could store about
// 20,000 a second.
func asyncLanes(n int) int { return max(1, n/2) }

// connect opens a pool on the database at url and makes its first
// connection, so that a database that cannot be reached fails here rather
// than at the first call (pgxpool connects lazily). It also returns the
// database's name for errors.
func connect(ctx context.Context, url string) (*pgxpool.Pool, string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error quotes the URL with its password masked.
		return nil, "", fmt.Errorf("postgres: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	where := describe(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: open %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, "", mapErr("open "+where, fmt.Errorf("connect: %w", err))
	}
	return pool, where, nil
}

// describe names the database of cfg for errors, without the password.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// Ping checks that the database answers a query on the schema.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM rooms WHERE name = $1`, chat.General).Scan(&n)
	return mapErr("ping", err)
}

// Close waits for the calls in progress, then closes the pool. Calls after
// Close fail with chat.ErrUnavailable; closing again does nothing.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		// No Append is in flight (each is inside the gate until it has its
		// outcome): the appenders can stop.
		close(s.appends)
		s.lanes.close()
		s.appendersDone.Wait()
		s.pool.Close()
		return nil
	})
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// update runs fn in a transaction, committing if fn returns nil. op names
// the operation in errors.
func (s *Store) update(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return mapErr(op, err)
	}
	if err := fn(tx); err != nil {
		// A rollback that fails (a broken connection, ctx done) closes the
		// connection, which ends the transaction as well; fn's error is
		// the one worth reporting.
		tx.Rollback(ctx)
		return mapErr(op, err)
	}
	return mapErr(op, tx.Commit(ctx))
}

// view runs fn against the pool, outside a transaction: every read is one
// statement, which sees one snapshot. op names the operation in errors.
func (s *Store) view(ctx context.Context, op string, fn func(q querier) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Exit()
	return mapErr(op, fn(s.pool))
}

// mapErr gives err a chat code (see storecall.MapErr): failures to reach
// the database or of the database itself become chat.ErrUnavailable.
func mapErr(op string, err error) error { return storecall.MapErr("postgres", op, err, unavailable) }

// unavailable reports whether err means that the database could not be
// reached or could not do the work now, as opposed to a bug or bad data:
// the caller may try again later.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	if errors.As(err, &connectErr) || errors.As(err, &netErr) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, too many connections
			"58": // system error: I/O
			return true
		}
		switch pe.Code {
		case "57P01", "57P02", "57P03", // admin or crash shutdown, cannot connect now
			"57014",          // query canceled: statement_timeout
			"55P03",          // lock not available: lock_timeout
			"40001", "40P01", // serialization failure, deadlock: try again
			"25006": // read-only transaction: a standby after a failover
			return true
		}
		return false
	}
	// A connection that broke mid-call, or a pool closed under us.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool")
}

// SQLSTATEs the store turns into domain errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// isCode reports whether err is a PostgreSQL error with that SQLSTATE.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// isConstraint reports whether err is a violation of the named constraint
// or unique index.
func isConstraint(err error, name string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.ConstraintName == name
}

// Times are written truncated to milliseconds and read back in UTC, so what
// a write returns equals what a later read returns, as with sqlite.

func toDB(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func fromDB(t time.Time) time.Time { return t.UTC() }

// now is the current time at the precision the store keeps.
func now() time.Time { return toDB(time.Now()) }
