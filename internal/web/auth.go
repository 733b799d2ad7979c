package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/internal/procs"
)

// Sessions, logins and CSRF tokens of the pages (docs/web.md, Security).
//
// Without web.users (allowed only on a loopback listener) every visitor
// gets a session of role sm without logging in: whoever can reach
// 127.0.0.1 is already on the station. With web.users every page needs a
// login. Either way every POST carries the session's CSRF token, except a
// request without a session that no browser sent (no Origin and no
// Sec-Fetch-Site header: curl on the station itself) when no login is
// required, so the documented curl calls of the sim board keep working.

const (
	sessionCookie = "cuelight_session"
	// SessionLifetime is how long a login lasts: longer than a show day.
	SessionLifetime = 16 * time.Hour
	// MaxSessions bounds the sessions kept in memory; the oldest goes.
	MaxSessions = 1024
	// LoginBurst login attempts are allowed at once from one address, then
	// one every LoginEvery.
	LoginBurst = 5
	LoginEvery = 12 * time.Second
	// maxLimiters bounds the addresses whose login attempts are counted.
	maxLimiters = 4096
)

type role uint8

const (
	roleNone role = iota
	roleViewer
	roleCrew
	roleSM
)

func (r role) String() string {
	return [...]string{"none", config.WebRoleViewer, config.WebRoleCrew, config.WebRoleSM}[r]
}

func roleOf(s string) role {
	switch s {
	case config.WebRoleViewer:
		return roleViewer
	case config.WebRoleCrew:
		return roleCrew
	case config.WebRoleSM:
		return roleSM
	}
	return roleNone
}

type session struct {
	token    string
	user     string // "" without a login
	role     role
	channels []string
	csrf     string
	created  time.Time
}

// canAck reports whether the session may press ACK or CALL on ch.
func (s *session) canAck(ch string) bool {
	return s.role == roleSM || (s.role == roleCrew && slices.Contains(s.channels, ch))
}

type bucket struct {
	tokens float64
	at     time.Time
}

type auth struct {
	clock    clockwork.Clock
	open     bool // no web.users: no login
	users    map[string]config.WebUser
	mu       sync.Mutex
	sessions map[string]*session
	limits   map[string]*bucket
}

func newAuth(users []config.WebUser, clock clockwork.Clock) *auth {
	a := &auth{clock: clock, open: len(users) == 0, users: map[string]config.WebUser{},
		sessions: map[string]*session{}, limits: map[string]*bucket{}}
	for _, u := range users {
		a.users[u.Name] = u
	}
	return a
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// session returns the request's valid session, or nil.
func (a *auth) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil {
		return nil
	}
	if a.clock.Since(s.created) > SessionLifetime {
		delete(a.sessions, s.token)
		return nil
	}
	return s
}

// newSession stores a session and sets its cookie.
func (a *auth) newSession(w http.ResponseWriter, r *http.Request, user string, ro role, channels []string) *session {
	s := &session{token: randomToken(), user: user, role: ro, channels: channels, csrf: randomToken(), created: a.clock.Now()}
	a.mu.Lock()
	now := a.clock.Now()
	for len(a.sessions) >= MaxSessions {
		var oldest *session
		for _, o := range a.sessions {
			if now.Sub(o.created) > SessionLifetime {
				oldest = o
				break
			}
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		delete(a.sessions, oldest.token)
	}
	a.sessions[s.token] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(SessionLifetime / time.Second)})
	return s
}

func (a *auth) drop(s *session) {
	a.mu.Lock()
	delete(a.sessions, s.token)
	a.mu.Unlock()
}

// forPage returns the session a page is shown with: the request's, or
// without web.users a fresh one of role sm. nil means: log in first.
func (a *auth) forPage(w http.ResponseWriter, r *http.Request) *session {
	s := a.session(r)
	if s != nil && s.role != roleNone {
		return s
	}
	if a.open {
		return a.newSession(w, r, "", roleSM, nil)
	}
	return nil
}

// csrfOK reports whether a POST carries the session's CSRF token (header
// X-CSRF-Token, or form field csrf).
func csrfOK(r *http.Request, s *session) bool {
	t := r.Header.Get("X-CSRF-Token")
	if t == "" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		t = r.PostFormValue("csrf")
	}
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.csrf)) == 1
}

// fromBrowser reports whether a request came from a web page: browsers
// send Origin on every POST and Sec-Fetch-Site on every request.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != ""
}

// post checks a POST: the session and its CSRF token, and at least role
// min. A request that no browser sent passes without web.users as sm, and
// with web.users by the HTTP Basic credentials of a user (curl -u). It
// writes the refusal and returns nil when the request may not go on.
func (a *auth) post(w http.ResponseWriter, r *http.Request, min role) *session {
	s := a.session(r)
	if s == nil && a.open && !fromBrowser(r) {
		return &session{role: roleSM}
	}
	if name, pw, ok := r.BasicAuth(); ok && s == nil && !a.open && !fromBrowser(r) {
		// a script (curl -u NAME:PASSWORD): checked like a login, and
		// like a login limited in rate; a browser always uses its session
		if !a.allowLogin(r) {
			writeError(w, http.StatusTooManyRequests, "too many attempts: wait a few seconds")
			return nil
		}
		u, ok := a.check(name, pw)
		if !ok {
			writeError(w, http.StatusUnauthorized, "wrong user name or password")
			return nil
		}
		if s = (&session{user: u.Name, role: roleOf(u.Role), channels: u.Channels}); s.role < min {
			writeError(w, http.StatusForbidden, "role "+s.role.String()+" may not do this")
			return nil
		}
		return s
	}
	switch {
	case s == nil:
		writeError(w, http.StatusUnauthorized, "log in first: open /login")
	case !csrfOK(r, s):
		writeError(w, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
	case s.role < min:
		writeError(w, http.StatusForbidden, "role "+s.role.String()+" may not do this")
	default:
		return s
	}
	return nil
}

// allowLogin takes one login attempt from the client's address off its
// bucket; false means too many.
func (a *auth) allowLogin(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	now := a.clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.limits[host]
	if b == nil {
		if len(a.limits) >= maxLimiters {
			for k, o := range a.limits { // forget the full buckets first
				if now.Sub(o.at) >= LoginEvery*LoginBurst {
					delete(a.limits, k)
				}
			}
			if len(a.limits) >= maxLimiters {
				return false
			}
		}
		b = &bucket{tokens: LoginBurst, at: now}
		a.limits[host] = b
	}
	b.tokens = min(LoginBurst, b.tokens+float64(now.Sub(b.at))/float64(LoginEvery))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// dummyHash is compared against when the user is unknown, so that a
// wrong name takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() (h []byte) {
	procs.Heavy(func() { h, _ = bcrypt.GenerateFromPassword([]byte("cuelight-no-such-user"), 10) })
	return h
})

// check returns the user if name and password match.
func (a *auth) check(name, password string) (config.WebUser, bool) {
	u, ok := a.users[name]
	hash := []byte(u.PasswordHash)
	if !ok {
		hash = dummyHash()
	}
	var err error
	// bcrypt computes for tens of milliseconds: with a core lent, the cue
	// loop is not held up meanwhile (internal/procs).
	procs.Heavy(func() { err = bcrypt.CompareHashAndPassword(hash, []byte(password)) })
	return u, ok && err == nil
}
