package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"golang.org/x/crypto/argon2"
	"golang.org/x/time/rate"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "chatd_session"

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemoryKiB = 19456
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password length limits in bytes.
const (
	minPasswordLen = 8
	maxPasswordLen = 256
)

// Login throttling: failures consume tokens; with none left, attempts are
// refused with 429 before the password is checked.
var (
	accountFailures = rateSpec{every: 12 * time.Second, burst: 5} // 5 failures, then one per 12 s
	addressFailures = rateSpec{every: 3 * time.Second, burst: 20} // 20 failures, then one per 3 s
)

type rateSpec struct {
	every time.Duration
	burst int
}

type auth struct {
	s        *Server
	hashSem  chan struct{} // bounds concurrent argon2 hashing (19 MiB each)
	byName   *limiterSet
	byAddr   *limiterSet
	dummyPHC string // hashed for unknown users so that timing does not tell
}

func newAuth(s *Server) *auth {
	a := &auth{
		s:       s,
		hashSem: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		byName:  newLimiterSet(float64(time.Second)/float64(accountFailures.every), accountFailures.burst),
		byAddr:  newLimiterSet(float64(time.Second)/float64(addressFailures.every), addressFailures.burst),
	}
	a.dummyPHC = hashPasswordWith([]byte("not a real password"), make([]byte, argonSaltLen))
	return a
}

// hashPassword returns the PHC string of an argon2id hash of password.
func (a *auth) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	if err := a.acquire(ctx); err != nil {
		return "", err
	}
	defer a.release()
	return hashPasswordWith([]byte(password), salt), nil
}

// HashPassword checks that password is one a user could register with and
// returns its argon2id hash as the store keeps it: for the admin command,
// which sets passwords without a server.
func HashPassword(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	return hashPasswordWith([]byte(password), salt), nil
}

// checkPassword enforces the password length limits.
func checkPassword(password string) error {
	if len(password) < minPasswordLen || len(password) > maxPasswordLen {
		return chat.Errorf(chat.CodeBadRequest, "password must be %d-%d bytes", minPasswordLen, maxPasswordLen)
	}
	return nil
}

func hashPasswordWith(password, salt []byte) string {
	key := argon2.IDKey(password, salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verifyPassword checks password against a PHC string made by hashPassword
// (with whatever parameters it names).
func (a *auth) verifyPassword(ctx context.Context, phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("unknown password hash format")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("bad argon2id parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, errors.New("bad argon2id encoding")
	}
	if err := a.acquire(ctx); err != nil {
		return false, err
	}
	defer a.release()
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (a *auth) acquire(ctx context.Context) error {
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return chat.Errorf(chat.CodeUnavailable, "server busy")
	}
}

func (a *auth) release() { <-a.hashSem }

// newToken returns a random session token (256 bits) and its hash.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// identity is an authenticated request's user and how it proved it.
type identity struct {
	user      chat.User
	tokenHash []byte
	byCookie  bool // ambient credentials: subject to the Origin check
}

// authenticate finds the session of r: an "Authorization: Bearer" header
// first, then the session cookie.
func (a *auth) authenticate(r *http.Request) (identity, error) {
	token, byCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
			return identity{}, chat.Errorf(chat.CodeUnauthorized, "malformed Authorization header")
		}
		token = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		token, byCookie = c.Value, true
	}
	if token == "" || len(token) > 256 {
		return identity{}, chat.Errorf(chat.CodeUnauthorized, "not logged in")
	}
	hash := hashToken(token)
	u, err := timed(a.s.metrics, "session_user", func() (chat.User, error) {
		return a.s.store.SessionUser(r.Context(), hash, time.Now())
	})
	if err != nil {
		if errors.Is(err, chat.ErrUnauthorized) || errors.Is(err, chat.ErrNotFound) {
			return identity{}, chat.Errorf(chat.CodeUnauthorized, "session expired or revoked")
		}
		return identity{}, err
	}
	return identity{user: u, tokenHash: hash, byCookie: byCookie}, nil
}

// originAllowed implements the Origin allowlist that protects cookie
// sessions from cross-site requests (and WebSocket hijacking). A request
// without Origin is not from a browser page and passes.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(s.cfg.AllowedOrigins) == 0 {
		return strings.EqualFold(u.Host, r.Host)
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}

// clientAddr is the peer address used for throttling. chatd does not trust
// X-Forwarded-For: behind a proxy, all clients share the proxy's budget.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type authResponse struct {
	User  chat.User `json:"user"`
	Token string    `json:"token"`
}

func (c credentials) validate() error {
	if !chat.ValidUsername(c.Username) {
		return chat.Errorf(chat.CodeBadRequest, "username must be 3-32 of A-Z a-z 0-9 _ . -")
	}
	return checkPassword(c.Password)
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := readJSON(w, r, &c); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := c.validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	hash, err := s.auth.hashPassword(r.Context(), c.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := timed(s.metrics, "create_user", func() (chat.User, error) {
		return s.store.CreateUser(r.Context(), c.Username, hash)
	})
	if err != nil {
		if errors.Is(err, chat.ErrConflict) {
			err = chat.Errorf(chat.CodeConflict, "username is taken")
		}
		s.writeError(w, r, err)
		return
	}
	s.metrics.registrations.Inc()
	s.startSession(w, r, u, http.StatusCreated)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := readJSON(w, r, &c); err != nil {
		s.writeError(w, r, err)
		return
	}
	nameKey, addr := throttleName(c.Username), clientAddr(r)
	if wait := max(s.auth.byName.exhausted(nameKey), s.auth.byAddr.exhausted(addr)); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		s.writeError(w, r, chat.Errorf(chat.CodeRateLimited, "too many failed logins; try again later"))
		return
	}
	u, ok, err := s.checkCredentials(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		if nameKey != "" {
			s.auth.byName.take(nameKey)
		}
		s.auth.byAddr.take(addr)
		s.metrics.loginFailures.Inc()
		s.writeError(w, r, chat.Errorf(chat.CodeUnauthorized, "wrong username or password"))
		return
	}
	s.startSession(w, r, u, http.StatusOK)
}

// throttleName is the key under which failed logins to an account name are
// counted: the name as accounts are looked up (case-insensitively, and
// ASCII, so lower case), or "" for a name no account can have, which only
// the address throttle counts (it would otherwise hold a key of up to a
// request body's size).
func throttleName(username string) string {
	if !chat.ValidUsername(username) {
		return ""
	}
	return strings.ToLower(username)
}

// checkCredentials verifies a login. Unknown users cost the same hash as
// known ones, and both failures look alike to the caller.
func (s *Server) checkCredentials(ctx context.Context, c credentials) (chat.User, bool, error) {
	if c.validate() != nil {
		return chat.User{}, false, nil
	}
	type creds struct {
		u   chat.User
		phc string
	}
	res, err := timed(s.metrics, "user_credentials", func() (creds, error) {
		u, phc, err := s.store.UserCredentials(ctx, c.Username)
		return creds{u, phc}, err
	})
	u, phc := res.u, res.phc
	if errors.Is(err, chat.ErrNotFound) {
		s.auth.verifyPassword(ctx, s.auth.dummyPHC, c.Password)
		return chat.User{}, false, nil
	}
	if err != nil {
		return chat.User{}, false, err
	}
	ok, err := s.auth.verifyPassword(ctx, phc, c.Password)
	if err != nil {
		return chat.User{}, false, err
	}
	return u, ok, nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u chat.User, status int) {
	token, hash := newToken()
	now := time.Now()
	err := timedErr(s.metrics, "create_session", func() error {
		return s.store.CreateSession(r.Context(), chat.Session{
			TokenHash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL),
		})
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, status, authResponse{User: u, Token: token})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, id identity) {
	if err := timedErr(s.metrics, "delete_session", func() error { return s.store.DeleteSession(r.Context(), id.tokenHash) }); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.hub.publishLogout(id.user.ID, id.tokenHash)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, id identity) {
	writeJSON(w, http.StatusOK, struct {
		User chat.User `json:"user"`
	}{id.user})
}

// maxLimiterKeys bounds the keys of a limiterSet.
const maxLimiterKeys = 10000

// limiterSet keeps one token bucket per key (a user, an account name, an
// address), at most max of them: full buckets are forgotten first, and
// then the fullest (see pruneLocked).
type limiterSet struct {
	limit rate.Limit
	burst int
	max   int

	mu sync.Mutex // guards the following
	m  map[string]*rate.Limiter
}

func newLimiterSet(perSecond float64, burst int) *limiterSet {
	return &limiterSet{limit: rate.Limit(perSecond), burst: max(burst, 1), max: maxLimiterKeys, m: make(map[string]*rate.Limiter)}
}

func (ls *limiterSet) get(key string) *rate.Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.m[key]
	if !ok {
		if len(ls.m) >= ls.max {
			ls.pruneLocked()
		}
		l = rate.NewLimiter(ls.limit, ls.burst)
		ls.m[key] = l
	}
	return l
}

// pruneLocked drops buckets that have refilled: forgetting them changes
// nothing. If more than half of max remain (a flood of keys, each with a
// failure or two against it), it then drops the fullest down to half:
// forgetting those lets least through again, and a key hammered empty (an
// attack on one account) goes last. Halving sorts once per max/2 keys
// added, a dozen comparisons or so for each.
func (ls *limiterSet) pruneLocked() {
	type bucket struct {
		key    string
		tokens float64
	}
	now := time.Now()
	left := make([]bucket, 0, len(ls.m))
	for k, l := range ls.m {
		t := l.TokensAt(now)
		if t >= float64(ls.burst) {
			delete(ls.m, k)
			continue
		}
		left = append(left, bucket{k, t})
	}
	if len(left) <= ls.max/2 {
		return
	}
	slices.SortFunc(left, func(a, b bucket) int { return cmp.Compare(b.tokens, a.tokens) }) // fullest first
	for _, b := range left[:len(left)-ls.max/2] {
		delete(ls.m, b.key)
	}
}

// allow takes one token for key if there is one.
func (ls *limiterSet) allow(key string) bool { return ls.get(key).Allow() }

// take takes one token for key if there is one (a failure recorded while
// the bucket is empty changes nothing: exhausted already refuses).
func (ls *limiterSet) take(key string) { ls.get(key).AllowN(time.Now(), 1) }

// exhausted returns how long until key has a token again (0 if it has one).
func (ls *limiterSet) exhausted(key string) time.Duration {
	ls.mu.Lock()
	l, ok := ls.m[key]
	ls.mu.Unlock()
	if !ok {
		return 0
	}
	now := time.Now()
	if t := l.TokensAt(now); t < 1 {
		return time.Duration((1 - t) / float64(ls.limit) * float64(time.Second))
	}
	return 0
}
