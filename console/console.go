// Package console serves the compliance console: server-rendered pages
// over the store (an overview of every asset type, one page per type with
// its item table, the item and asset views with their evidence, baseline
// settings, tasks and exports) for people who log in with an API key.
// Every file it serves is embedded; no page loads anything from another
// host, and a strict Content-Security-Policy says so. Writes run the API's
// own actions in process (server.Server.Call), so that a read-only key is
// refused here as it is there and every write behaves as its API action.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store"
)

// prefix is the path the console is served under.
const prefix = "/console/"

// maxFormBytes bounds a form's body, read before anything else is done.
const maxFormBytes = 64 << 10

// DefaultSessionTTL is how long a session lasts after its login.
const DefaultSessionTTL = 8 * time.Hour

//go:embed web
var webFS embed.FS

// Store is what the console reads: the latest results and their
// roll-ups, the trend of finished tasks, the ignore list, the period
// tasks and the tasks.
type Store interface {
	store.ResultReader
	store.ExportReader
	store.WhitelistStore
	store.PeriodStore
	store.TaskStore
}

// Options configure the console.
type Options struct {
	// API checks keys and runs the writes (required).
	API *server.Server
	// Store is read for every page (required).
	Store Store
	// Catalog lists the loaded items (required).
	Catalog *checks.Catalog
	// SessionTTL is how long a login lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is the period tasks' time zone, as the scheduler's
	// (default UTC): the settings page names it.
	Location *time.Location
}

// Console is the console's HTTP handler, to be mounted at /console/.
type Console struct {
	api      *server.Server
	store    Store
	cat      *checks.Catalog
	log      *slog.Logger
	now      func() time.Time
	loc      *time.Location
	sessions *sessions
	trends   *trends
	pages    map[string]*template.Template
	mux      *http.ServeMux
	static   http.Handler
}

// New returns the console.
func New(opts Options) (*Console, error) {
	if opts.API == nil || opts.Store == nil || opts.Catalog == nil {
		return nil, errors.New("console: the API server, the store and the catalog are required")
	}
	c := &Console{api: opts.API, store: opts.Store, cat: opts.Catalog, log: opts.Logger, now: opts.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "console")
	if c.now == nil {
		c.now = time.Now
	}
	if c.loc = opts.Location; c.loc == nil {
		c.loc = time.UTC
	}
	ttl := opts.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	c.sessions = newSessions(ttl, c.now)
	c.trends = newTrends(c.store, c.now)
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix(prefix+"static/", http.FileServerFS(static))
	c.routes()
	return c, nil
}

// Handler mounts the console at /console/ in front of the API: every other
// path goes to api.
func Handler(c *Console, apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(prefix, c)
	mux.Handle("/", apiHandler)
	return mux
}

// Only serves the console on a listener of its own: /console/, and the
// export downloads (/exports/, signed links) that its export page gives;
// "/" leads to the console, anything else is not found.
func Only(c *Console, apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(prefix, c)
	mux.Handle("GET /exports/", apiHandler)
	mux.Handle("GET /{$}", http.RedirectHandler(prefix, http.StatusSeeOther))
	return mux
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+prefix+"login", c.loginPage)
	m.HandleFunc("POST "+prefix+"login", c.login)
	m.Handle("GET "+prefix+"static/", c.static)
	page := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		m.HandleFunc("GET "+prefix+pattern, c.authed(h))
	}
	write := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		m.HandleFunc("POST "+prefix+pattern, c.authed(c.checked(h)))
	}
	page("{$}", c.overview)
	page("type/{type}", c.typePage)
	page("assets", c.assetList)
	page("asset/{id}", c.assetPage)
	page("item/{id}", c.itemPage)
	page("settings", c.settings)
	page("tasks", c.tasks)
	page("export", c.exportPage)
	page("export/{job}", c.exportJob)
	write("logout", c.logout)
	write("recheck", c.recheck)
	write("ignore", c.ignore)
	write("unignore", c.unignore)
	write("period", c.period)
	write("export", c.startExport)
	c.mux = m
}

// securityHeaders forbid anything but the console's own files, framing,
// type sniffing, referrers to other sites (a download link carries a SecretId) and
// caching of pages.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// ServeHTTP serves one console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if !strings.HasPrefix(r.URL.Path, prefix+"static/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if !sameOrigin(r) {
			c.fail(w, r, nil, http.StatusForbidden, "the form was sent from another site")
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a write whose Origin (sent by every browser with a
// POST) names another host than the one the request came to.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// authed gives h the request's session, or sends the browser to the
// login page.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, o, ok := c.sessions.fromRequest(r)
		if !ok {
			if r.Method == http.MethodPost {
				c.fail(w, r, nil, http.StatusUnauthorized, "your session has ended: log in again")
				return
			}
			next := r.URL.RequestURI()
			http.Redirect(w, r, prefix+"login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		h(w, r, o)
	}
}

// checked lets a write through only with the session's CSRF token.
func (c *Console) checked(h func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, o *session) {
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, o, http.StatusBadRequest, "the form could not be read: "+err.Error())
			return
		}
		if !o.validCSRF(r.PostForm.Get("csrf")) {
			c.log.Warn("write refused: missing or wrong CSRF token", "path", r.URL.Path, "client", server.ClientAddr(r), "secret_id", o.key.SecretID)
			c.fail(w, r, o, http.StatusForbidden, "the form's token is missing or wrong: reload the page and try again")
			return
		}
		h(w, r, o)
	}
}

// call runs an API action as the session's key; a refusal is answered
// with its message, and true is returned only on success.
func (c *Console) call(w http.ResponseWriter, r *http.Request, o *session, action string, params any) (any, bool) {
	resp, err := c.api.Call(r.Context(), o.key, action, params)
	if err == nil {
		c.log.Info("write", "action", action, "secret_id", o.key.SecretID, "client", server.ClientAddr(r))
		return resp, true
	}
	c.log.Warn("write refused", "action", action, "secret_id", o.key.SecretID, "err", err)
	c.fail(w, r, o, apiStatus(err), err.Error())
	return nil, false
}

// apiStatus is the HTTP status of an API error.
func apiStatus(err error) int {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return http.StatusInternalServerError
	}
	switch {
	case strings.HasPrefix(ae.Code, "AuthFailure"):
		return http.StatusForbidden
	case ae.Code == api.ResourceNotFound:
		return http.StatusNotFound
	case ae.Code == api.ErrAlreadyScanning:
		return http.StatusConflict
	case ae.Code == api.InternalError:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// back is where a write returns to: the form's "back" when it is a
// console path, else the overview.
func back(r *http.Request) string {
	b := r.PostForm.Get("back")
	if strings.HasPrefix(b, prefix) && !strings.HasPrefix(b, "//") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return prefix
}

// fail answers with an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, o *session, status int, msg string) {
	c.render(w, r, o, status, "error", map[string]any{"Message": msg, "Status": status, "Title": http.StatusText(status)})
}

// view is what every page template receives.
type view struct {
	Title    string
	Nav      string
	CanWrite bool
	SecretID string
	CSRF     string
	Path     string
	// Refresh reloads the page after that many seconds (0: never), while
	// a task or an export runs.
	Refresh int
	Data    any
}

// render writes a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, o *session, status int, name string, data any) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	v := view{Nav: name, Path: r.URL.RequestURI(), Data: data}
	if m, ok := data.(map[string]any); ok {
		v.Title, _ = m["Title"].(string)
	}
	if t, ok := data.(interface{ title() string }); ok {
		v.Title = t.title()
	}
	if t, ok := data.(interface{ refresh() int }); ok {
		v.Refresh = t.refresh()
	}
	if o != nil {
		v.CanWrite, v.SecretID, v.CSRF = !o.key.ReadOnly, o.key.SecretID, o.csrf
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// readErr answers a failed read of the store.
func (c *Console) readErr(w http.ResponseWriter, r *http.Request, o *session, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrInvalidParameter):
		status = http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return
	case errors.As(err, new(*api.Error)):
		status = apiStatus(err)
	default:
		c.log.Error("reading the store", "path", r.URL.Path, "err", err)
	}
	msg := err.Error()
	for _, sentinel := range []error{store.ErrInvalidParameter, store.ErrNotFound} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	c.fail(w, r, o, status, msg)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.sessions.fromRequest(r); ok {
		http.Redirect(w, r, nextPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "login", map[string]any{"Title": "Log in", "Next": r.URL.Query().Get("next")})
}

// nextPath is where a login continues: a console path, or the overview.
func nextPath(next string) string {
	if strings.HasPrefix(next, prefix) && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return prefix
}

// login checks a SecretId and SecretKey like the API's keys and opens a
// session. A client that failed too often (the API's failed signatures
// count too) is refused before its key is looked at; every failure is
// logged and counted.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	client := server.ClientAddr(r)
	if ok, first := c.api.AuthAllowed(r); !ok {
		if first {
			c.log.Warn("login throttled after failed authentications", "client", client)
		}
		c.fail(w, r, nil, http.StatusTooManyRequests, "too many failed logins from "+client+": wait and try again")
		return
	}
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, http.StatusBadRequest, "the form could not be read")
		return
	}
	id, secret := strings.TrimSpace(r.PostForm.Get("secret_id")), r.PostForm.Get("secret_key")
	key, ok := c.api.CheckKey(id, secret)
	if !ok {
		c.api.AuthFailed(r, id)
		c.log.Warn("login failed: wrong SecretId or SecretKey", "client", client, "secret_id", api.Clip(id, 128))
		c.render(w, r, nil, http.StatusUnauthorized, "login", map[string]any{"Title": "Log in", "Next": r.PostForm.Get("next"),
			"Error": "The SecretId or the SecretKey is wrong."})
		return
	}
	token, _ := c.sessions.create(key)
	http.SetCookie(w, sessionCookie(r, token, int(c.sessions.ttl.Seconds())))
	c.log.Info("login", "client", client, "secret_id", key.SecretID, "read_only", key.ReadOnly)
	http.Redirect(w, r, nextPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, o *session) {
	token, _, _ := c.sessions.fromRequest(r)
	c.sessions.revoke(token)
	http.SetCookie(w, sessionCookie(r, "", -1))
	c.log.Info("logout", "secret_id", o.key.SecretID)
	http.Redirect(w, r, prefix+"login", http.StatusSeeOther)
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(n[strings.LastIndex(n, "/")+1:], ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(webFS, "web/templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}
