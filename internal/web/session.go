package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Cookie names.
const (
	sessionCookie = "nightjar_session"
	// loginCookie carries the login form's CSRF token (double submit):
	// there is no session yet to hold it.
	loginCookie = "nightjar_login"
)

// Session lifetimes.
const (
	sessionIdle     = 8 * time.Hour
	sessionLifetime = 24 * time.Hour
)

// session is a logged-in user. The server keeps sessions in memory: a
// restart logs everyone out.
type session struct {
	user    string
	hash    string // the user's password hash at login: a new password ends the session
	csrf    string // the token every POST of this session must carry
	created time.Time
	seen    time.Time
}

// sessions maps the SHA-256 of session tokens to sessions, so that the
// tokens themselves are never kept.
type sessions struct {
	mu   sync.Mutex
	byID map[[32]byte]*session
	now  func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{byID: map[[32]byte]*session{}, now: now}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics if the system's source is broken)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its token.
func (s *sessions) create(user, hash string) (token string, sess *session) {
	token = randomToken()
	now := s.now()
	sess = &session{user: user, hash: hash, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.byID[sha256.Sum256([]byte(token))] = sess
	return token, sess
}

// get returns the live session of a token and marks it used.
func (s *sessions) get(token string) *session {
	if token == "" {
		return nil
	}
	key := sha256.Sum256([]byte(token))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[key]
	if sess == nil {
		return nil
	}
	if now.Sub(sess.seen) > sessionIdle || now.Sub(sess.created) > sessionLifetime {
		delete(s.byID, key)
		return nil
	}
	sess.seen = now
	return sess
}

// remove ends the session of a token.
func (s *sessions) remove(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(token)))
}

// pruneLocked forgets expired sessions.
func (s *sessions) pruneLocked(now time.Time) {
	for k, sess := range s.byID {
		if now.Sub(sess.seen) > sessionIdle || now.Sub(sess.created) > sessionLifetime {
			delete(s.byID, k)
		}
	}
}

// sameToken compares two tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Login rate limiting, per (user name, client address) so that an
// attacker elsewhere cannot lock a user out: every attempt counts against
// its pair before any password is hashed, and a successful login clears
// the pair. After loginBurst attempts the pair waits loginWait, then
// twice as long after each further failure, up to maxBackoff (429 with
// Retry-After meanwhile). A pair forgets its failures after forgetAfter
// without attempts.
const (
	loginBurst  = 5
	loginWait   = time.Minute
	maxBackoff  = time.Hour
	forgetAfter = 24 * time.Hour
	maxPairs    = 10_000
	maxHashing  = 2 // argon2id hashes computed at once (64 MiB each)
	unknownUser = "\x00unknown"
)

// attempts are a pair's attempts since its last successful login.
type attempts struct {
	count int
	last  time.Time // the last attempt
	until time.Time // refused until then
}

type limiter struct {
	mu    sync.Mutex
	pairs map[string]*attempts
	now   func() time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{pairs: map[string]*attempts{}, now: now}
}

// loginKey is the limiter's key of a user name tried from a client
// address. IPv6 clients are keyed by their /64, which one host commonly
// holds whole.
func loginKey(user, client string) string {
	if ip, err := netip.ParseAddr(client); err == nil && ip.Is6() && !ip.Is4In6() {
		client = netip.PrefixFrom(ip, 64).Masked().String()
	}
	return user + "\x00" + client
}

// allow counts an attempt of key, or returns how long to wait when the key
// must wait (and then counts nothing).
func (l *limiter) allow(key string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.pairs[key]
	if a == nil {
		if len(l.pairs) >= maxPairs {
			l.pruneLocked(now)
		}
		if len(l.pairs) >= maxPairs {
			// Too many pairs waiting at once: refuse newcomers too.
			return false, loginWait
		}
		a = &attempts{}
		l.pairs[key] = a
	}
	if now.Before(a.until) {
		return false, a.until.Sub(now)
	}
	if now.Sub(a.last) > forgetAfter {
		a.count = 0
	}
	a.count++
	a.last = now
	if a.count >= loginBurst {
		a.until = now.Add(backoff(a.count - loginBurst))
	}
	return true, 0
}

// backoff is the wait after the nth attempt beyond the burst.
func backoff(n int) time.Duration {
	if n >= 6 { // 2⁶ minutes is past maxBackoff already; avoids overflow
		return maxBackoff
	}
	return min(maxBackoff, loginWait<<n)
}

// reset clears a key's attempts (after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pairs, key)
}

// pruneLocked forgets the pairs that do not wait and made no attempt for
// forgetAfter, then, if the table is still full, those that do not wait.
func (l *limiter) pruneLocked(now time.Time) {
	for k, a := range l.pairs {
		if !now.Before(a.until) && now.Sub(a.last) > forgetAfter {
			delete(l.pairs, k)
		}
	}
	if len(l.pairs) < maxPairs {
		return
	}
	for k, a := range l.pairs {
		if !now.Before(a.until) {
			delete(l.pairs, k)
		}
	}
}

// clientIP is the address of the peer (proxies' headers are not trusted:
// the server is meant to be reached directly, or through a proxy on the
// same machine, where all clients share one count per user name).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
