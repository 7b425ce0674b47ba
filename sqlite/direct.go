package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	zz "zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// The short reads of the connect path (Store.lookup) go to SQLite
// directly, through zombiezen.com/go/sqlite (the same transpiled library
// underneath), with no database/sql in between: binding a value is one
// call into SQLite and reading a column another, where database/sql and
// the driver box every argument and value, copy them into driver values,
// convert them back, and allocate rows per statement (see
// docs/benchmarks.md, "SQLite through zombiezen").

// direct is a connection opened by openDirect, with the statements
// prepared on it, by query text.
//
// Not zombiezen's own cache (Conn.Prepare): it clears a statement's
// bindings each time it hands it out, and SQLite marks a statement whose
// bindings are cleared as expired if its plan could depend on one of them,
// so that every use re-prepared it (parsing and planning the query again:
// half the CPU of a Rooms call). Every use here binds every parameter.
type direct struct {
	conn  *zz.Conn
	stmts map[string]*zz.Stmt
}

// openDirect opens a read connection to the database at uri (a "file:"
// URI), with the settings the read pool's connections get from their
// parameters (Open).
func openDirect(uri string) (*direct, error) {
	c, err := zz.OpenConn(uri, zz.OpenReadWrite|zz.OpenURI)
	if err != nil {
		return nil, err
	}
	c.SetBusyTimeout(busyTimeout)
	for _, p := range []string{`PRAGMA foreign_keys = 1`, `PRAGMA query_only = 1`} {
		if err := sqlitex.ExecuteTransient(c, p, nil); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &direct{conn: c, stmts: make(map[string]*zz.Stmt)}, nil
}

// close finalizes the statements and closes the connection.
func (d *direct) close() error {
	var errs []error
	for _, st := range d.stmts {
		errs = append(errs, st.Finalize())
	}
	return errors.Join(append(errs, d.conn.Close())...)
}

// stmt returns the statement for query, prepared on first use.
func (d *direct) stmt(query string) (*zz.Stmt, error) {
	if st, ok := d.stmts[query]; ok {
		return st, nil
	}
	st, trailing, err := d.conn.PrepareTransient(query)
	if err != nil {
		return nil, err
	}
	if trailing != 0 {
		st.Finalize()
		return nil, fmt.Errorf("sqlite: prepare %q: more than one statement", query)
	}
	d.stmts[query] = st
	return st, nil
}

// each runs query with args on d and calls row for each row of its
// result (none if row is nil) until row fails.
func each(d *direct, query string, args []any, row func(st *zz.Stmt) error) (err error) {
	st, err := d.stmt(query)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := st.Reset(); err == nil {
			err = rerr
		}
	}()
	if err := bind(st, args); err != nil {
		return err
	}
	for {
		ok, err := st.Step()
		if err != nil || !ok {
			return err
		}
		if row != nil {
			if err := row(st); err != nil {
				return err
			}
		}
	}
}

// one runs query with args on c, as each does, and reads its first row
// into dest (as columns does); sql.ErrNoRows if it has none.
func one(d *direct, query string, args []any, dest ...any) error {
	found := false
	err := each(d, query, args, func(st *zz.Stmt) error {
		if !found {
			found = true
			return columns(st, dest...)
		}
		return nil
	})
	if err == nil && !found {
		return sql.ErrNoRows
	}
	return err
}

// bind binds args to st's parameters ?1, ?2, ... in order.
func bind(st *zz.Stmt, args []any) error {
	for i, a := range args {
		switch a := a.(type) {
		case nil:
			st.BindNull(i + 1)
		case string:
			st.BindText(i+1, a)
		case []byte:
			st.BindBytes(i+1, a)
		case int64:
			st.BindInt64(i+1, a)
		case int:
			st.BindInt64(i+1, int64(a))
		case bool:
			st.BindBool(i+1, a)
		default:
			return fmt.Errorf("bind %T", a)
		}
	}
	return nil
}

// columns reads the current row of st into dest, the way database/sql's
// Scan would for the types the store scans into, so that the scanners
// written for database/sql's rows (scanRoom) read zombiezen's as well.
func columns(st *zz.Stmt, dest ...any) error {
	for i, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = st.ColumnText(i)
		case *int64:
			*d = st.ColumnInt64(i)
		case *int:
			*d = st.ColumnInt(i)
		case *bool:
			*d = st.ColumnInt64(i) != 0
		case *sql.NullInt64:
			d.Valid = st.ColumnType(i) != zz.TypeNull
			d.Int64 = st.ColumnInt64(i)
		case *sql.NullBool:
			d.Valid = st.ColumnType(i) != zz.TypeNull
			d.Bool = st.ColumnInt64(i) != 0
		default:
			return fmt.Errorf("scan column %d into %T", i, d)
		}
	}
	return nil
}

// row is the current row of a statement as a scanner.
type row struct{ st *zz.Stmt }

func (r row) Scan(dest ...any) error { return columns(r.st, dest...) }
