package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// Options configure the UI.
type Options struct {
	// API serves the JSON API; the UI forwards every request under
	// /api/v1/ to it (with the request's full path) after checking access.
	// Nil: the pages load but show that the API is unavailable.
	API http.Handler
	// Registry is the sensors' registry. When set, admins enroll and
	// revoke sensors on /admin; nil disables those actions.
	Registry *pki.Registry
	// Users are the accounts that may log in. Nil: nobody logs in, every
	// client that reaches the listener views everything (read-only) and
	// nobody administers — keep the listener on loopback then. With users,
	// viewing needs a login too (but see Public).
	Users *Users
	// AllowedHosts are the host names (without port) that clients may
	// reach the UI by when Users is nil, besides the loopback ones
	// (localhost, 127.0.0.0/8, ::1). Any other Host header is refused
	// (421): a page of another site whose name resolves to this server
	// (DNS rebinding) would otherwise read everything. Ignored with
	// Users, where viewing needs a login.
	AllowedHosts []string
	// Settings are the store's settings an admin may change on /admin;
	// nil hides them.
	Settings Settings
	// Alerts lets admins acknowledge and resolve alerts on /alerts (an
	// alerts.Lifecycle over the store the API reads them from); nil:
	// nobody changes them from the UI.
	Alerts AlertLifecycle
	// Silences lets admins add and delete silences on /alerts (the
	// store's store.AlertStore); nil: none from the UI.
	Silences SilenceBook
	// Public lets anonymous clients see the port graphs (per group and
	// for the fleet, never per sensor) when Users is set.
	Public bool
	// PublicMinSensors is the smallest group (or fleet) whose graphs
	// anonymous visitors see: a smaller one's would show a sensor's own
	// traffic. At least 2 (the default).
	PublicMinSensors int
	// Secure marks the session cookies Secure: set it when the server is
	// reached over TLS.
	Secure bool
	// EnrollValidity is how long the certificates enrolled from the admin
	// page are valid by default (365 days when zero).
	EnrollValidity time.Duration
	// Logger receives security events (logins, enrollments,
	// revocations). Nil discards them.
	Logger *slog.Logger
	// Version is shown in the footer.
	Version string
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time
}

// MinPublicGroup is the smallest PublicMinSensors: a group of one sensor
// is that sensor.
const MinPublicGroup = 2

// Handler is the UI: pages, assets, access control, and the API behind it.
// Create it with New; it is an http.Handler for every path ("/").
type Handler struct {
	opts     Options
	root     http.Handler
	pages    map[string]*template.Template
	sessions *sessions
	limiter  *limiter
	hashing  chan struct{} // bounds concurrent argon2id computations
	dummy    func() string // a hash to verify unknown users against, so that they take as long as known ones
	loads    *downloads
	assets   *assetServer
	logins   *prometheus.CounterVec // by result: success, failure, limited
}

// New builds the UI. It does no I/O.
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.PublicMinSensors = max(opts.PublicMinSensors, MinPublicGroup)
	if opts.EnrollValidity <= 0 {
		opts.EnrollValidity = 365 * 24 * time.Hour
	}
	h := &Handler{
		opts:     opts,
		pages:    parsePages(),
		sessions: newSessions(opts.Now),
		limiter:  newLimiter(opts.Now),
		hashing:  make(chan struct{}, maxHashing),
		dummy: sync.OnceValue(func() string {
			s, _ := HashPassword([]byte(randomToken()))
			return s
		}),
		loads:  newDownloads(opts.Now),
		assets: newAssetServer(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nightjar_web_login_attempts_total",
			Help: "Login attempts by result: success, failure (wrong name or password), limited (refused by the rate limit before any hashing)."},
			[]string{"result"}),
	}
	for _, result := range []string{"success", "failure", "limited"} {
		h.logins.WithLabelValues(result)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", h.assets)
	mux.Handle("/api/v1/", http.HandlerFunc(h.api))
	for _, p := range dataPages {
		mux.Handle("GET "+p.pattern, h.page(p))
	}
	mux.HandleFunc("GET /login", h.loginForm)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("GET /admin", h.admin(h.adminPage))
	mux.HandleFunc("POST /admin/enroll", h.admin(h.checkCSRF(h.enroll)))
	mux.HandleFunc("POST /admin/revoke", h.admin(h.checkCSRF(h.revoke)))
	mux.HandleFunc("POST /admin/settings", h.admin(h.checkCSRF(h.setRetention)))
	mux.HandleFunc("GET /admin/download/{token}", h.admin(h.download))
	h.alertActions(mux)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/assets/favicon.svg", http.StatusMovedPermanently)
	})

	// Browsers mark cross-origin requests (Sec-Fetch-Site, Origin):
	// every state-changing one is refused, before the per-session CSRF
	// token is even looked at.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.opts.Logger.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"), "client", clientIP(r))
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	h.root = securityHeaders(h.checkHost(cop.Handler(mux)))
	return h
}

// checkHost refuses, on a server without users, the requests whose Host
// is neither a loopback name nor one of Options.AllowedHosts.
func (h *Handler) checkHost(next http.Handler) http.Handler {
	if h.opts.Users != nil {
		return next
	}
	allowed := map[string]bool{}
	for _, name := range h.opts.AllowedHosts {
		allowed[normalHost(name)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if name, _, err := net.SplitHostPort(host); err == nil {
			host = name
		}
		if host = normalHost(host); !IsLoopback(host) && !allowed[host] {
			h.opts.Logger.Warn("request refused: unknown host name", "host", r.Host, "client", clientIP(r))
			http.Error(w, fmt.Sprintf("this server has no users file and answers only to loopback names (localhost, 127.0.0.1, [::1]) and --allowed-host names, not %q", r.Host), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// normalHost is a host name as compared: lower case, without a final dot.
func normalHost(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// Metrics are the UI's metrics, for the daemon's metrics endpoint.
func (h *Handler) Metrics() []prometheus.Collector { return []prometheus.Collector{h.logins} }

// contentSecurityPolicy allows nothing but this origin: no remote script,
// style, font, image or connection. ECharts writes inline styles, hence
// 'unsafe-inline' for styles only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// identity is who makes a request.
type identity struct {
	Name  string
	Role  Role // "" for an anonymous client of a server with users
	token string
	sess  *session
}

// Viewer reports whether the client may view everything.
func (id identity) Viewer() bool { return id.Role == Viewer || id.Role == Admin }

// Admin reports whether the client may administer.
func (id identity) Admin() bool { return id.Role == Admin }

// LoggedIn reports whether the client has a session.
func (id identity) LoggedIn() bool { return id.sess != nil }

// who returns the identity of a request: every client is a viewer when
// the server has no users; otherwise the session's user, as the users
// file says now (a removed user, or one whose password changed, loses the
// session).
func (h *Handler) who(r *http.Request) identity {
	if h.opts.Users == nil {
		return identity{Role: Viewer}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return identity{}
	}
	sess := h.sessions.get(c.Value)
	if sess == nil {
		return identity{}
	}
	u, ok := h.opts.Users.Lookup(sess.user)
	if !ok || u.Password != sess.hash {
		h.sessions.remove(c.Value)
		return identity{}
	}
	return identity{Name: u.Name, Role: u.Role, token: c.Value, sess: sess}
}

// dataPage is a page whose data the browser loads from the API.
type dataPage struct {
	pattern, name, title, script string
	// public pages are shown to anonymous clients with Options.Public.
	public bool
}

// dataPages are the pages of the navigation bar, in its order.
var dataPages = []dataPage{
	{"/{$}", "overview", "Overview", "overview.js", false},
	{"/alerts", "alerts", "Alerts", "alerts.js", false},
	{"/ports", "ports", "Port graphs", "ports.js", true},
	{"/compare", "compare", "Sensor comparison", "compare.js", false},
	{"/sources", "sources", "Sources", "sources.js", false},
	{"/origins", "origins", "Origins", "origins.js", false},
	{"/devices", "devices", "Devices", "devices.js", false},
	{"/sources/{ip}", "source", "Source", "source.js", false},
	{"/sensors", "sensors", "Sensors", "sensors.js", false},
}

// page serves a data page to those who may see it.
func (h *Handler) page(p dataPage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.who(r)
		public := false
		if !id.Viewer() {
			if !p.public || !h.opts.Public {
				h.toLogin(w, r)
				return
			}
			public = true
		}
		d := h.pageData(r, id, p.name, p.title)
		d.Script, d.Public = p.script, public
		switch p.name {
		case "source":
			d.Title = "Source " + r.PathValue("ip")
		case "devices":
			d.Tags = api.TagNames()
		case "alerts":
			d.Detectors = alerts.Detectors
			d.AlertAdmin = id.Admin() && h.opts.Alerts != nil
			d.SilenceAdmin = id.Admin() && h.opts.Silences != nil
		}
		h.render(w, http.StatusOK, "data", d)
	})
}

// toLogin redirects an anonymous client to the login form, which brings
// it back here.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// api checks access, then hands the request to the API.
func (h *Handler) api(w http.ResponseWriter, r *http.Request) {
	if h.opts.API == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "this server has no JSON API")
		return
	}
	id := h.who(r)
	if !id.Viewer() {
		if !h.opts.Public || !publicAPI(r) {
			writeJSONError(w, http.StatusUnauthorized, "log in first (/login)")
			return
		}
		r = r.WithContext(api.Anonymous(r.Context(), h.opts.PublicMinSensors))
	}
	h.opts.API.ServeHTTP(w, r)
}

// publicAPI reports whether an anonymous client of the public port graphs
// may make this API request: port series per group or for the fleet, the
// groups' top ports (which suggest ports), and the alerts (the graphs'
// markers). Nothing names a sensor, and the API leaves out the groups of
// fewer than PublicMinSensors sensors, and their alerts and those of
// sensors.
func publicAPI(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/api/v1/port-series":
		by := q.Get("by")
		return (by == "group" || by == "fleet") && !q.Has("sensor")
	case "/api/v1/group-top-ports", "/api/v1/alerts":
		return !q.Has("sensor")
	}
	return false
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// pageData is what every template receives.
type pageData struct {
	Title, Page, Script string
	Who                 identity
	CSRF                string
	UsersEnabled        bool
	Public              bool // an anonymous visitor of the public port graphs
	AdminEnabled        bool // a registry is configured
	Version             string
	Nav                 []navItem
	// Tags are the fingerprint tags a page may filter by; Detectors the
	// alert detectors.
	Tags, Detectors []string
	// AlertAdmin and SilenceAdmin: the visitor may acknowledge and
	// resolve alerts, and add and delete silences.
	AlertAdmin, SilenceAdmin bool
	// Now is the server's clock when the page was made (RFC 3339): the
	// pages' default periods, "today" and "so far" follow the server (and
	// its --now), not the visitor's computer.
	Now string

	Login  *loginData
	Admin  *adminData
	Notice string
	Error  string
}

type navItem struct {
	Href, Title string
	Current     bool
}

func (h *Handler) pageData(r *http.Request, id identity, name, title string) *pageData {
	d := &pageData{
		Title: title, Page: name, Who: id,
		UsersEnabled: h.opts.Users != nil, AdminEnabled: h.opts.Registry != nil,
		Version: h.opts.Version, Now: h.opts.Now().UTC().Format(time.RFC3339Nano),
	}
	if id.sess != nil {
		d.CSRF = id.sess.csrf
	}
	for _, p := range dataPages {
		if p.name == "source" || (!id.Viewer() && !(p.public && h.opts.Public)) {
			continue
		}
		current := p.name == name || (name == "source" && p.name == "sources")
		d.Nav = append(d.Nav, navItem{Href: strings.TrimSuffix(p.pattern, "{$}"), Title: p.title, Current: current})
	}
	if id.Admin() {
		d.Nav = append(d.Nav, navItem{Href: "/admin", Title: "Admin", Current: name == "admin"})
	}
	return d
}

// render executes a page template; templates are compiled in, so an error
// here is a bug, reported as a 500.
func (h *Handler) render(w http.ResponseWriter, status int, name string, d *pageData) {
	t := h.pages[name]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", d); err != nil {
		h.opts.Logger.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// parsePages compiles every page with the layout.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("").ParseFS(content, "templates/layout.html"))
	pages := map[string]*template.Template{}
	names, err := fs.Glob(content, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(content, n))
	}
	return pages
}
