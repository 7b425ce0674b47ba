package main

// The admin command: chatd's subcommands besides serving. They work on the
// database of a server (--data-dir or --postgres-url, with the same
// environment twins), also while it runs: each change is one store
// transaction, and running nodes pick up what concerns them (revoked
// sessions within a second, see server/revocations.go; an archived room at
// the next message; a new owner at the next request).

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/server"
)

// commandsUsage heads the server's -h.
const commandsUsage = `Usage:
  chatd [flags]                      serve (the flags below)
  chatd user add|list|reset-password|disable|enable ...
  chatd room list|archive|unarchive|set-owner ...
  chatd sessions revoke USERNAME
  chatd backup FILE | chatd restore FILE
  chatd version
Each command takes -h. Flags of the server:
`

// command is one leaf of the command tree.
type command struct {
	name  string // "user add"
	args  string // the positional arguments, for the usage line
	about string
	// flags declares the command's own flags; run gets the positional
	// arguments, checked against nargs.
	flags func(fs *flag.FlagSet, o *cmdOpts)
	nargs int
	// noDB: the command opens no store (version, backup, restore).
	noDB bool
	// create: the command may create the SQLite database (user add).
	create bool
	// check, if set, vets the arguments before anything is opened.
	check func(args []string) error
	run   func(ctx context.Context, e *cmdEnv, args []string) error
}

// cmdOpts holds the flags commands may declare.
type cmdOpts struct {
	passwordStdin bool
	keepSessions  bool
	json          bool
}

// cmdEnv is what a running command has: its store (unless noDB), its
// options and its streams.
type cmdEnv struct {
	store  chat.Store
	cfg    config // dataDir and postgresURL
	opts   cmdOpts
	stdin  io.Reader
	stdout io.Writer
}

var commands = []command{
	{name: "user add", args: "USERNAME", about: "create an account; prints a generated password unless --password-stdin",
		flags: passwordFlag, nargs: 1, create: true, check: checkUsername, run: userAdd},
	{name: "user list", about: "list accounts", flags: jsonFlag, run: userList},
	{name: "user reset-password", args: "USERNAME", about: "set a new password (generated unless --password-stdin) and end the user's sessions",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			passwordFlag(fs, o)
			fs.BoolVar(&o.keepSessions, "keep-sessions", false, "do not end the user's sessions")
		}, nargs: 1, run: userResetPassword},
	{name: "user disable", args: "USERNAME", about: "disable an account: no login, its sessions end", nargs: 1, run: userSetDisabled(true)},
	{name: "user enable", args: "USERNAME", about: "enable a disabled account", nargs: 1, run: userSetDisabled(false)},
	{name: "room list", about: "list rooms, DMs included", flags: jsonFlag, run: roomList},
	{name: "room archive", args: "ROOM", about: "make a room read-only: no new messages or edits, history stays readable", nargs: 1, run: roomSetArchived(true)},
	{name: "room unarchive", args: "ROOM", about: "let a room take messages again", nargs: 1, run: roomSetArchived(false)},
	{name: "room set-owner", args: "ROOM USERNAME", about: "give a room a new owner (made a member if need be)", nargs: 2, run: roomSetOwner},
	{name: "sessions revoke", args: "USERNAME", about: "end every session of a user; their sockets close on every node within a second", nargs: 1, run: sessionsRevoke},
	{name: "backup", args: "FILE", about: "write a consistent copy of the SQLite database to FILE, also while chatd serves", nargs: 1, noDB: true, run: backup},
	{name: "restore", args: "FILE", about: "put a backup into an empty data directory", nargs: 1, noDB: true, run: restore},
	{name: "version", about: "print chatd's version", noDB: true, run: printVersion},
}

func passwordFlag(fs *flag.FlagSet, o *cmdOpts) {
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
}

func jsonFlag(fs *flag.FlagSet, o *cmdOpts) {
	fs.BoolVar(&o.json, "json", false, "print JSON, one object per line")
}

// isCommand reports whether args name a subcommand rather than the
// server's flags: "chatd" and "chatd --addr :80" serve.
func isCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, c := range commands {
		if first, _, _ := strings.Cut(c.name, " "); first == args[0] {
			return true
		}
	}
	return false
}

// usageError is bad use of a command: exit status 2, with a hint.
type usageError struct{ error }

// runCommand runs the subcommand args name and returns the exit status: 0,
// 1 when the command failed, 2 for bad use.
func runCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "chatd:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "chatd:", describeError(err))
		return 1
	}
}

// describeError shows a store's coded error by its message ("user not
// found"), whatever it wraps; other errors as they are.
func describeError(err error) string {
	var ce *chat.Error
	if errors.As(err, &ce) && ce.Code != chat.CodeUnavailable {
		return ce.Message
	}
	return err.Error()
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	group := args[0]
	var names []string
	for i := range commands {
		c := &commands[i]
		first, second, _ := strings.Cut(c.name, " ")
		if first != group {
			continue
		}
		if second == "" {
			return runLeaf(ctx, c, args[1:], getenv, stdin, stdout, stderr)
		}
		names = append(names, second)
		if len(args) > 1 && args[1] == second {
			return runLeaf(ctx, c, args[2:], getenv, stdin, stdout, stderr)
		}
	}
	if len(args) > 1 && (args[1] == "-h" || args[1] == "-help" || args[1] == "--help") {
		fmt.Fprintf(stderr, "Usage: chatd %s %s ... (each takes -h)\n", group, strings.Join(names, "|"))
		return flag.ErrHelp
	}
	if len(args) == 1 {
		return usageError{fmt.Errorf("%s needs a subcommand: %s", group, strings.Join(names, ", "))}
	}
	return usageError{fmt.Errorf("unknown command %q; %s has %s", group+" "+args[1], group, strings.Join(names, ", "))}
}

func runLeaf(ctx context.Context, c *command, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &cmdEnv{stdin: stdin, stdout: stdout}
	fs := flag.NewFlagSet("chatd "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: chatd %s [flags] %s\n%s.\n", c.name, c.args, c.about)
		fs.PrintDefaults()
	}
	if c.name != "version" {
		fs.StringVar(&e.cfg.dataDir, "data-dir", "./data", "the server's data directory (SQLite)")
		fs.StringVar(&e.cfg.postgresURL, "postgres-url", "", "the server's PostgreSQL URL, instead of --data-dir")
	}
	if c.flags != nil {
		c.flags(fs, &e.opts)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fs.Usage()
		return err
	}
	if err == nil {
		err = applyEnvTwins(fs, getenv)
	}
	if err == nil && len(pos) != c.nargs {
		want := c.args
		if want == "" {
			want = "no arguments"
		}
		err = fmt.Errorf("takes %s, got %d argument(s)", want, len(pos))
	}
	if err == nil && c.check != nil {
		err = c.check(pos)
	}
	if err != nil {
		return usageError{fmt.Errorf("%s: %v (see chatd %s -h)", c.name, err, c.name)}
	}
	if !c.noDB {
		if e.cfg.postgresURL == "" && !c.create {
			if _, err := os.Stat(filepath.Join(e.cfg.dataDir, dbFile)); err != nil {
				return fmt.Errorf("no chatd database in %s (%v): give the server's --data-dir or --postgres-url", e.cfg.dataDir, err)
			}
		}
		store, err := openStore(ctx, e.cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		e.store = store
	}
	return c.run(ctx, e, pos)
}

// parseInterspersed parses flags wherever they are among the positional
// arguments ("user add alice --data-dir /srv/chatd"), which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// applyEnvTwins fills each flag of fs not given on the command line from
// its environment twin: CHATD_ and the flag's name in upper case, - as _.
func applyEnvTwins(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "CHATD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !given[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", env, v, e)
			}
		}
	})
	return err
}

// password returns the password to set: the first line of stdin with
// --password-stdin, else a new random one, which generated reports so
// that it is printed. Passwords never come from the command line, where
// other users of the machine could read them (ps).
func (e *cmdEnv) password() (password string, generated bool, err error) {
	if !e.opts.passwordStdin {
		return rand.Text(), true, nil // 26 base32 characters, 130 bits
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 4096))
	if err != nil {
		return "", false, fmt.Errorf("read the password: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), false, nil
}

// hashed returns the hash of the password to set, and a note that shows a
// generated one, to print once it is set.
func (e *cmdEnv) hashed(username string) (hash, note string, err error) {
	pw, generated, err := e.password()
	if err != nil {
		return "", "", err
	}
	hash, err = server.HashPassword(pw)
	if err != nil {
		return "", "", usageError{fmt.Errorf("--password-stdin: %s", describeError(err))}
	}
	if generated {
		note = fmt.Sprintf("password for %s: %s\n", username, pw)
	}
	return hash, note, nil
}

func checkUsername(args []string) error {
	if !chat.ValidUsername(args[0]) {
		return fmt.Errorf("%q is not a username: 3-32 of A-Z a-z 0-9 _ . -", args[0])
	}
	return nil
}

func userAdd(ctx context.Context, e *cmdEnv, args []string) error {
	name := args[0]
	if _, err := e.store.UserByName(ctx, name); err == nil {
		return fmt.Errorf("user add: %s exists", name)
	}
	hash, note, err := e.hashed(name)
	if err != nil {
		return err
	}
	u, err := e.store.CreateUser(ctx, name, hash)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created user %s (%s)\n%s", u.Username, u.ID, note)
	return nil
}

func userList(ctx context.Context, e *cmdEnv, _ []string) error {
	users, err := e.store.Users(ctx)
	if err != nil {
		return err
	}
	if e.opts.json {
		enc := json.NewEncoder(e.stdout)
		for _, u := range users {
			enc.Encode(struct {
				ID        string    `json:"id"`
				Username  string    `json:"username"`
				CreatedAt time.Time `json:"created_at"`
				Disabled  bool      `json:"disabled"`
				Sessions  int       `json:"sessions"`
			}{u.ID, u.Username, u.CreatedAt, u.Disabled, u.Sessions})
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tID\tCREATED\tSTATUS\tSESSIONS")
	for _, u := range users {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", u.Username, u.ID, u.CreatedAt.Format(time.DateTime), status, u.Sessions)
	}
	return tw.Flush()
}

func userResetPassword(ctx context.Context, e *cmdEnv, args []string) error {
	u, err := e.store.UserByName(ctx, args[0])
	if err != nil {
		return err
	}
	hash, note, err := e.hashed(u.Username)
	if err != nil {
		return err
	}
	if _, err := e.store.SetPassword(ctx, u.Username, hash); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, note)
	if e.opts.keepSessions {
		fmt.Fprintf(e.stdout, "password of %s set; sessions kept\n", u.Username)
		return nil
	}
	_, n, err := e.store.RevokeSessions(ctx, u.Username)
	if err != nil {
		return fmt.Errorf("password set, but ending the sessions failed: %w", err)
	}
	fmt.Fprintf(e.stdout, "password of %s set; %d session(s) ended\n", u.Username, n)
	return nil
}

func userSetDisabled(disabled bool) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, e *cmdEnv, args []string) error {
		u, err := e.store.SetDisabled(ctx, args[0], disabled)
		if err != nil {
			return err
		}
		if disabled {
			fmt.Fprintf(e.stdout, "disabled %s; their sessions ended\n", u.Username)
		} else {
			fmt.Fprintf(e.stdout, "enabled %s\n", u.Username)
		}
		return nil
	}
}

func roomList(ctx context.Context, e *cmdEnv, _ []string) error {
	rooms, err := e.store.AllRooms(ctx)
	if err != nil {
		return err
	}
	if e.opts.json {
		enc := json.NewEncoder(e.stdout)
		for _, r := range rooms {
			enc.Encode(struct {
				Name      string    `json:"name"`
				Private   bool      `json:"private"`
				Owner     string    `json:"owner"`
				Members   int       `json:"members"`
				LastSeq   int64     `json:"last_seq"`
				Archived  bool      `json:"archived"`
				CreatedAt time.Time `json:"created_at"`
			}{r.Name, r.Private, r.Owner, r.Members, r.LastSeq, r.Archived, r.CreatedAt})
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tKIND\tOWNER\tMEMBERS\tMESSAGES\tSTATUS")
	for _, r := range rooms {
		kind, status, owner := "public", "open", r.Owner
		if r.Private {
			kind = "private"
		}
		if r.Archived {
			status = "archived"
		}
		if owner == "" {
			owner = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Name, kind, owner, r.Members, r.LastSeq, status)
	}
	return tw.Flush()
}

func roomSetArchived(archived bool) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, e *cmdEnv, args []string) error {
		if err := e.store.SetArchived(ctx, args[0], archived); err != nil {
			return fmt.Errorf("room %s: %s", args[0], describeError(err))
		}
		if archived {
			fmt.Fprintf(e.stdout, "archived %s: it takes no new messages\n", args[0])
		} else {
			fmt.Fprintf(e.stdout, "unarchived %s\n", args[0])
		}
		return nil
	}
}

func roomSetOwner(ctx context.Context, e *cmdEnv, args []string) error {
	if err := e.store.SetRoomOwner(ctx, args[0], args[1]); err != nil {
		if errors.Is(err, chat.ErrBadRequest) {
			return usageError{fmt.Errorf("room set-owner: %s", describeError(err))}
		}
		return err
	}
	fmt.Fprintf(e.stdout, "%s now owns %s\n", args[1], args[0])
	return nil
}

func sessionsRevoke(ctx context.Context, e *cmdEnv, args []string) error {
	u, n, err := e.store.RevokeSessions(ctx, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ended %d session(s) of %s; their sockets close within a second\n", n, u.Username)
	return nil
}

func printVersion(_ context.Context, e *cmdEnv, _ []string) error {
	fmt.Fprintf(e.stdout, "chatd %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
