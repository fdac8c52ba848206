package console

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/baselinehq/baseline/server"
)

// cookieName is the session cookie; its path is the console's prefix.
const cookieName = "baseline_console"

// maxSessions bounds the sessions held at once: beyond it, the expired
// ones are dropped, then the one closest to expiring.
const maxSessions = 4096

// session is one login: the API key it was opened with and the token
// every write must carry (CSRF).
type session struct {
	key     server.Key
	csrf    string
	expires time.Time
}

// sessions keeps the open sessions in memory (a restart logs everyone
// out), each under a random token that only its cookie carries.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	open map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, open: map[string]*session{}}
}

// randomToken is 32 random bytes in hex.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// create opens a session for key and returns its token.
func (s *sessions) create(key server.Key) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.open) >= maxSessions {
		var oldest string
		for t, o := range s.open {
			if now.After(o.expires) {
				delete(s.open, t)
			} else if oldest == "" || o.expires.Before(s.open[oldest].expires) {
				oldest = t
			}
		}
		if len(s.open) >= maxSessions {
			delete(s.open, oldest)
		}
	}
	token := randomToken()
	o := &session{key: key, csrf: randomToken(), expires: now.Add(s.ttl)}
	s.open[token] = o
	return token, o
}

// get returns the session of a token, unless it expired (then it is
// dropped).
func (s *sessions) get(token string) (*session, bool) {
	if token == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.open[token]
	if !ok {
		return nil, false
	}
	if s.now().After(o.expires) {
		delete(s.open, token)
		return nil, false
	}
	return o, true
}

// revoke ends a session (logout).
func (s *sessions) revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, token)
}

// fromRequest is the request's session, if its cookie names a live one.
func (s *sessions) fromRequest(r *http.Request) (string, *session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", nil, false
	}
	o, ok := s.get(c.Value)
	return c.Value, o, ok
}

// validCSRF reports whether the token sent with a write is the session's.
func (o *session) validCSRF(sent string) bool {
	return sent != "" && hmac.Equal([]byte(sent), []byte(o.csrf))
}

// sessionCookie is the cookie of a session token (an empty token and a
// negative maxAge remove it): HttpOnly, SameSite=Strict, limited to the
// console's path, and Secure when the console is reached over TLS.
func sessionCookie(r *http.Request, token string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: token, Path: prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}
