package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
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

// Login rate limiting: every attempt takes a token from the bucket of the
// client's address and from the bucket of the user name it tries; a bucket
// holds loginBurst tokens and gains one every loginRefill. An empty bucket
// refuses the attempt (429) before any password is hashed.
const (
	loginBurst   = 5
	loginRefill  = time.Minute
	maxBuckets   = 10_000
	maxHashing   = 2 // argon2id hashes computed at once (64 MiB each)
	unknownUser  = "\x00unknown"
	retryMessage = "too many login attempts: wait a minute and try again"
)

type bucket struct {
	tokens float64
	last   time.Time
}

type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{buckets: map[string]*bucket{}, now: now}
}

// allow takes a token from each key's bucket, or returns how long to wait
// when one of them is empty (and then takes none).
func (l *limiter) allow(keys ...string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.buckets) > maxBuckets {
		for k, b := range l.buckets {
			if l.fill(b, now) >= loginBurst {
				delete(l.buckets, k)
			}
		}
	}
	bs := make([]*bucket, len(keys))
	for i, k := range keys {
		b := l.buckets[k]
		if b == nil {
			if len(l.buckets) > maxBuckets {
				// Too many clients failing at once: refuse newcomers too.
				return false, loginRefill
			}
			b = &bucket{tokens: loginBurst, last: now}
			l.buckets[k] = b
		}
		if t := l.fill(b, now); t < 1 {
			return false, time.Duration((1 - t) * float64(loginRefill))
		}
		bs[i] = b
	}
	for _, b := range bs {
		b.tokens--
	}
	return true, 0
}

// reset refills a key's bucket (after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

func (l *limiter) fill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(loginBurst, b.tokens+float64(d)/float64(loginRefill))
		b.last = now
	}
	return b.tokens
}

// clientIP is the address of the peer (proxies' headers are not trusted:
// the server is meant to be reached directly, or through a proxy on the
// same machine, where all clients share one bucket).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
