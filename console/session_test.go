package console

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store/sqlite"
)

func TestSessionsExpireAndRevoke(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	token, o := s.create(server.Key{SecretID: "AKID1"})
	if len(token) != 64 || o.csrf == "" || o.csrf == token {
		t.Fatalf("token %q, csrf %q: want two distinct 32-byte random tokens", token, o.csrf)
	}
	if other, _ := s.create(server.Key{SecretID: "AKID1"}); other == token {
		t.Fatal("two logins got the same token")
	}
	if got, ok := s.get(token); !ok || got.key.SecretID != "AKID1" {
		t.Fatalf("a fresh session is not found: %v", ok)
	}
	now = now.Add(time.Hour + time.Second)
	if _, ok := s.get(token); ok {
		t.Fatal("a session outlived its TTL")
	}
	if _, ok := s.open[token]; ok {
		t.Error("an expired session stays in memory once seen")
	}
	token, _ = s.create(server.Key{SecretID: "AKID2"})
	s.revoke(token)
	if _, ok := s.get(token); ok {
		t.Fatal("a revoked session is still valid")
	}
	if _, ok := s.get(""); ok {
		t.Fatal("the empty token names a session")
	}
}

func TestSessionsBounded(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	first, _ := s.create(server.Key{SecretID: "AKID"})
	for range maxSessions + 10 {
		now = now.Add(time.Millisecond)
		s.create(server.Key{SecretID: "AKID"})
	}
	if len(s.open) > maxSessions {
		t.Fatalf("%d sessions held, at most %d", len(s.open), maxSessions)
	}
	if _, ok := s.get(first); ok {
		t.Error("the session closest to expiring was kept over newer ones")
	}
}

func TestCSRFToken(t *testing.T) {
	o := &session{csrf: "0123456789abcdef"}
	for sent, want := range map[string]bool{"0123456789abcdef": true, "": false, "0123456789abcdeF": false, "0123456789abcde": false} {
		if got := o.validCSRF(sent); got != want {
			t.Errorf("validCSRF(%q) = %v, want %v", sent, got, want)
		}
	}
	if (&session{}).validCSRF("") {
		t.Error("an empty token matches a session without one")
	}
}

func TestSessionCookie(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/console/login", nil)
	c := sessionCookie(r, "tok", 60)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console/" || c.Secure {
		t.Errorf("plain HTTP cookie: %+v", c)
	}
	r.TLS = &tls.ConnectionState{}
	if !sessionCookie(r, "tok", 60).Secure {
		t.Error("the cookie is not Secure under TLS")
	}
}

func TestRedirectsStayInTheConsole(t *testing.T) {
	for in, want := range map[string]string{
		"/console/type/container?risk=RISK_HIGH": "/console/type/container?risk=RISK_HIGH",
		"//evil.example/console/":                "/console/",
		"https://evil.example/console/":          "/console/",
		"/console/\r\nSet-Cookie: x":             "/console/",
		"/console/\\evil":                        "/console/",
		"/other":                                 "/console/",
		"":                                       "/console/",
	} {
		if got := nextPath(in); got != want {
			t.Errorf("nextPath(%q) = %q, want %q", in, got, want)
		}
		r := &http.Request{PostForm: url.Values{"back": {in}}}
		if got := back(r); got != want {
			t.Errorf("back(%q) = %q, want %q", in, got, want)
		}
	}
}

// newConsole is a console over a real, empty SQLite store with a full and
// a read-only key.
func newConsole(t *testing.T) (*Console, http.Handler) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.EnsurePeriodTasks(ctx); err != nil {
		t.Fatal(err)
	}
	cat := testhost.Builtin(t)
	r, err := runner.New(ctx, cat, db, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api, err := server.New(db, r, server.Options{Logger: log, ExportDir: t.TempDir(), AuthFailureBurst: 2, AuthFailuresPerSecond: 0.001,
		Keys: []server.Key{{SecretID: "AKIDfull", SecretKey: "full-secret"}, {SecretID: "AKIDro", SecretKey: "ro-secret", ReadOnly: true}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{API: api, Store: db, Catalog: cat, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return c, Handler(c, api)
}

// send serves one request and returns the response.
func send(h http.Handler, method, target string, form url.Values, cookie *http.Cookie, header map[string]string) *http.Response {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "192.0.2.7:4444"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func loginAs(t *testing.T, h http.Handler, id, key string) *http.Cookie {
	t.Helper()
	resp := send(h, http.MethodPost, "/console/login", url.Values{"secret_id": {id}, "secret_key": {key}}, nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", id, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	t.Fatalf("login %s set no session cookie", id)
	return nil
}

func TestWritesNeedSessionTokenAndOrigin(t *testing.T) {
	c, h := newConsole(t)
	full := loginAs(t, h, "AKIDfull", "full-secret")
	_, o, _ := c.sessions.fromRequest(func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(full)
		return r
	}())
	ignore := url.Values{"item": {"100505"}, "reason": {"lab"}}
	cases := []struct {
		name   string
		form   url.Values
		cookie *http.Cookie
		header map[string]string
		want   int
	}{
		{"no session", ignore, nil, nil, http.StatusUnauthorized},
		{"no token", ignore, full, nil, http.StatusForbidden},
		{"wrong token", with(ignore, "csrf", strings.Repeat("0", 64)), full, nil, http.StatusForbidden},
		{"another site", with(ignore, "csrf", o.csrf), full, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"the session's token", with(ignore, "csrf", o.csrf), full, map[string]string{"Origin": "http://example.com"}, http.StatusSeeOther},
	}
	for _, tc := range cases {
		if got := send(h, http.MethodPost, "/console/ignore", tc.form, tc.cookie, tc.header).StatusCode; got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	ro := loginAs(t, h, "AKIDro", "ro-secret")
	_, roSession, _ := c.sessions.fromRequest(func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(ro)
		return r
	}())
	if got := send(h, http.MethodPost, "/console/unignore", url.Values{"csrf": {roSession.csrf}, "entry": {"1"}}, ro, nil).StatusCode; got != http.StatusForbidden {
		t.Errorf("a read-only session's write: %d, want 403", got)
	}
	resp := send(h, http.MethodPost, "/console/logout", url.Values{"csrf": {o.csrf}}, full, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if got := send(h, http.MethodGet, "/console/", nil, full, nil).StatusCode; got != http.StatusSeeOther {
		t.Errorf("the overview after logout: %d, want a redirect to the login page", got)
	}
}

func TestFailedLoginsThrottled(t *testing.T) {
	_, h := newConsole(t)
	wrong := url.Values{"secret_id": {"AKIDfull"}, "secret_key": {"nope"}}
	for i := range 2 {
		if got := send(h, http.MethodPost, "/console/login", wrong, nil, nil).StatusCode; got != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d", i+1, got)
		}
	}
	right := url.Values{"secret_id": {"AKIDfull"}, "secret_key": {"full-secret"}}
	if got := send(h, http.MethodPost, "/console/login", right, nil, nil).StatusCode; got != http.StatusTooManyRequests {
		t.Errorf("the right key after the budget of failures: %d, want 429", got)
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vals := range v {
		out[key] = vals
	}
	out.Set(k, val)
	return out
}

func TestBadParametersNamed(t *testing.T) {
	_, h := newConsole(t)
	full := loginAs(t, h, "AKIDfull", "full-secret")
	for path, want := range map[string]string{
		"/console/type/nope":                     "type",
		"/console/type/container?risk=RISK_X":    "risk",
		"/console/type/container?result=maybe":   "result",
		"/console/type/container?page=0":         "page",
		"/console/type/container?per=1000":       "per",
		"/console/item/abc":                      "id",
		"/console/item/99999999999999999999":     "id",
		"/console/asset/1?result=sometimes":      "result",
		"/console/tasks?from=1&to=x":             "from and to",
		"/console/assets?type=container&page=-1": "page",
		"/console/asset/1?page=0":                "page",
		"/console/item/100505?per=0":             "per",
		"/console/settings?page=x":               "page",
	} {
		resp := send(h, http.MethodGet, path, nil, full, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, want 400 naming %q\n%.300s", path, resp.StatusCode, want, body)
		}
	}
	if got := send(h, http.MethodGet, "/console/item/123456", nil, full, nil).StatusCode; got != http.StatusNotFound {
		t.Errorf("an unknown item: %d, want 404", got)
	}
	big := url.Values{"csrf": {"x"}, "reason": {strings.Repeat("a", maxFormBytes)}}
	if got := send(h, http.MethodPost, "/console/ignore", big, full, nil).StatusCode; got != http.StatusBadRequest {
		t.Errorf("a form over %d bytes: %d, want 400", maxFormBytes, got)
	}
}
