package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// loginData fills the login form.
type loginData struct {
	Name, Next, Token string
}

// maxFormBytes bounds the body of every form.
const maxFormBytes = 64 << 10

// safeNext returns where to go after login: a path of this server, never
// another site. Browsers drop tabs and newlines from URLs and read "\" as
// "/", so "/\t/evil.example" and "/\evil.example" are "//evil.example" to
// them: next is refused unless it parses as a path without scheme or host
// that starts with a single "/" and holds no backslash or control
// character, before and after its escapes are decoded ("/%5Cevil",
// "/%2F%2Fevil").
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		unsafePath(next) || unsafePath(u.Path) {
		return "/"
	}
	return next
}

// unsafePath reports whether p is not a local absolute path as a browser
// reads it.
func unsafePath(p string) bool {
	return !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || unicode.IsControl(r) })
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.opts.Secure, SameSite: http.SameSiteStrictMode,
	})
}

// loginForm shows the form, with a fresh double-submit token in a cookie
// and in the form.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.showLogin(w, r, http.StatusOK, "", r.URL.Query().Get("next"), "")
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, name, next, msg string) {
	id := h.who(r)
	d := h.pageData(r, id, "login", "Log in")
	d.Error = msg
	if h.opts.Users != nil {
		token := randomToken()
		h.setCookie(w, loginCookie, token, 3600)
		d.Login = &loginData{Name: name, Next: safeNext(next), Token: token}
	}
	h.render(w, status, "login", d)
}

// login checks a user name and password. Attempts are rate-limited per
// user name and client address before any hashing (see limiter), and at
// most maxHashing hashes run at once.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.opts.Users == nil {
		http.Error(w, "this server has no users file: nobody logs in", http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(c.Value, r.PostForm.Get("csrf")) {
		h.opts.Logger.Warn("login refused: missing or wrong CSRF token", "client", clientIP(r))
		h.showLogin(w, r, http.StatusForbidden, "", r.PostForm.Get("next"), "The form expired or came from another site: try again.")
		return
	}
	name, password, next := r.PostForm.Get("name"), r.PostForm.Get("password"), r.PostForm.Get("next")
	user := name
	if ValidUserName(name) != nil {
		user = unknownUser
	}
	key := loginKey(user, clientIP(r))
	if ok, wait := h.limiter.allow(key); !ok {
		h.logins.WithLabelValues("limited").Inc()
		h.opts.Logger.Warn("login rate-limited", "user", name, "client", clientIP(r))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		h.showLogin(w, r, http.StatusTooManyRequests, name, next, "Too many login attempts from this address: wait and try again.")
		return
	}
	select {
	case h.hashing <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	u, known := h.opts.Users.Lookup(name)
	hash := u.Password
	if !known {
		hash = h.dummy()
	}
	good := VerifyPassword(hash, []byte(password)) && known
	<-h.hashing
	if !good {
		h.logins.WithLabelValues("failure").Inc()
		h.opts.Logger.Warn("login failed", "user", name, "client", clientIP(r))
		h.showLogin(w, r, http.StatusUnauthorized, name, next, "Wrong user name or password.")
		return
	}
	h.limiter.reset(key)
	h.logins.WithLabelValues("success").Inc()
	if id := h.who(r); id.sess != nil {
		h.sessions.remove(id.token)
	}
	token, _ := h.sessions.create(u.Name, u.Password)
	h.setCookie(w, sessionCookie, token, int(sessionLifetime.Seconds()))
	h.setCookie(w, loginCookie, "", -1)
	h.opts.Logger.Info("login", "user", u.Name, "role", string(u.Role), "client", clientIP(r))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// logout ends the session (a POST with the session's CSRF token).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	h.checkCSRF(func(w http.ResponseWriter, r *http.Request, id identity) {
		h.sessions.remove(id.token)
		h.setCookie(w, sessionCookie, "", -1)
		h.opts.Logger.Info("logout", "user", id.Name, "client", clientIP(r))
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})(w, r, h.who(r))
}

// identified is a handler that knows who calls it.
type identified func(w http.ResponseWriter, r *http.Request, id identity)

// admin lets admins through; it sends anonymous clients to the login form
// and refuses viewers.
func (h *Handler) admin(next identified) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := h.who(r)
		switch {
		case id.Admin():
			next(w, r, id)
		case !id.LoggedIn() && h.opts.Users != nil && r.Method == http.MethodGet:
			h.toLogin(w, r)
		default:
			msg := "This needs an admin login."
			if h.opts.Users == nil {
				msg = "Administration needs a login: start the server with --users FILE (nightjar user add --role admin)."
			}
			h.opts.Logger.Warn("admin action refused", "user", id.Name, "path", r.URL.Path, "client", clientIP(r))
			h.refuse(w, r, id, "Admin", msg)
		}
	}
}

// checkCSRF refuses a POST whose form does not carry the session's token.
func (h *Handler) checkCSRF(next identified) identified {
	return func(w http.ResponseWriter, r *http.Request, id identity) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		token := r.PostForm.Get("csrf")
		if token == "" {
			token = r.Header.Get("X-CSRF-Token")
		}
		if id.sess == nil || !sameToken(token, id.sess.csrf) {
			h.opts.Logger.Warn("request refused: missing or wrong CSRF token", "user", id.Name, "path", r.URL.Path, "client", clientIP(r))
			h.refuse(w, r, id, "Refused", "The form expired or came from another page: reload the page and try again.")
			return
		}
		next(w, r, id)
	}
}

// refuse answers 403 with msg: JSON to the API's paths (the admins'
// actions on alerts), a page otherwise.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, id identity, title, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONError(w, http.StatusForbidden, msg)
		return
	}
	d := h.pageData(r, id, "admin", title)
	d.Error = msg
	h.render(w, http.StatusForbidden, "message", d)
}
