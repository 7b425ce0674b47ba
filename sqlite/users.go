package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatd/chatd/chat"
)

// usernameKey is the form in which usernames are unique and looked up.
// Usernames are ASCII (chat.ValidUsername), so ToLower agrees with SQL lower().
func usernameKey(username string) string { return strings.ToLower(username) }

var (
	errUserNotFound = chat.Errorf(chat.CodeNotFound, "user not found")
	errNoSession    = chat.Errorf(chat.CodeUnauthorized, "no valid session")
)

// CreateUser creates an account and makes it a member of general, with its
// read marker at general's last seq.
func (s *Store) CreateUser(ctx context.Context, username, passwordHash string) (chat.User, error) {
	u := chat.User{ID: chat.NewID("u_"), Username: username}
	err := s.update(ctx, "create user", func(tx *sql.Tx) error {
		at := toMillis(now())
		_, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, username, usernameKey(username), passwordHash, at)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return chat.Errorf(chat.CodeConflict, "username is taken")
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO memberships (room, user_id, last_read_seq, joined_at)
			 SELECT name, ?, last_seq, ? FROM rooms WHERE name = ?`,
			u.ID, at, chat.General)
		return err
	})
	if err != nil {
		return chat.User{}, err
	}
	return u, nil
}

// UserCredentials returns the user named username (in any case) and their
// password hash.
func (s *Store) UserCredentials(ctx context.Context, username string) (chat.User, string, error) {
	var u chat.User
	var hash string
	err := s.view(ctx, "user credentials", func(q querier) error {
		err := q.QueryRowContext(ctx,
			`SELECT id, username, password_hash FROM users WHERE username_key = ?`,
			usernameKey(username)).Scan(&u.ID, &u.Username, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		return err
	})
	if err != nil {
		return chat.User{}, "", err
	}
	return u, hash, nil
}

// UserByName returns the user named username (in any case).
func (s *Store) UserByName(ctx context.Context, username string) (chat.User, error) {
	var u chat.User
	err := s.view(ctx, "user by name", func(q querier) error {
		var err error
		u, err = userByName(ctx, q, username)
		return err
	})
	return u, err
}

func userByName(ctx context.Context, q querier, username string) (chat.User, error) {
	var u chat.User
	err := q.QueryRowContext(ctx, `SELECT id, username FROM users WHERE username_key = ?`,
		usernameKey(username)).Scan(&u.ID, &u.Username)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, errUserNotFound
	}
	return u, err
}

func userByID(ctx context.Context, q querier, id string) (chat.User, error) {
	u := chat.User{ID: id}
	err := q.QueryRowContext(ctx, `SELECT username FROM users WHERE id = ?`, id).Scan(&u.Username)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, errUserNotFound
	}
	return u, err
}

// CreateSession stores a session, and drops the user's expired ones so
// they do not pile up.
func (s *Store) CreateSession(ctx context.Context, sess chat.Session) error {
	created := sess.CreatedAt
	if created.IsZero() {
		created = now()
	}
	return s.update(ctx, "create session", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?`,
			sess.UserID, toMillis(now())); err != nil {
			return err
		}
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = ?`, sess.UserID).Scan(&disabled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errUserNotFound
		case err != nil:
			return err
		case disabled:
			return chat.ErrDisabled
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			sess.TokenHash, sess.UserID, toMillis(created), toMillis(sess.ExpiresAt))
		switch {
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
			return chat.Errorf(chat.CodeConflict, "session exists")
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
			return errUserNotFound
		}
		return err
	})
}

// SessionUser returns the user of the session whose token hashes to
// tokenHash, if it has not expired at now.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (chat.User, error) {
	var u chat.User
	err := s.lookup(ctx, "session user", func(c *direct) error {
		err := one(c, `SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id
			 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0`,
			[]any{tokenHash, toMillis(now)}, &u.ID, &u.Username)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoSession
		}
		return err
	})
	if err != nil {
		return chat.User{}, err
	}
	return u, nil
}

// DeleteSession revokes a session; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.update(ctx, "delete session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}
