package web

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// cheap are argon2id parameters that keep the tests fast; the stored hash
// carries them, so verification uses them too.
var cheap = hashParams{time: 1, memory: 64, threads: 1}

func testUser(t *testing.T, name string, role Role, password string) User {
	t.Helper()
	hash, err := hashWith([]byte(password), cheap)
	if err != nil {
		t.Fatal(err)
	}
	return User{Name: name, Role: role, Password: hash}
}

// fakeAPI answers every API request with its path, so that tests see
// whether the UI let the request through.
var fakeAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
})

type testServer struct {
	*httptest.Server
	reg *pki.Registry
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	if opts.API == nil {
		opts.API = fakeAPI
	}
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, reg: opts.Registry}
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so that tests see them.
func (s *testServer) client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, header ...string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

var hiddenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken returns the CSRF token of the first form of a page.
func formToken(t *testing.T, page string) string {
	t.Helper()
	m := hiddenRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

// login logs c in and returns the session's CSRF token.
func (s *testServer) login(t *testing.T, c *http.Client, name, password string) string {
	t.Helper()
	form := do(t, c, "GET", s.URL+"/login", nil)
	res := do(t, c, "POST", s.URL+"/login", url.Values{"csrf": {formToken(t, form.body)}, "name": {name}, "password": {password}, "next": {"/sensors"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/sensors" {
		t.Fatalf("login %s: status %d, location %q, want 303 to /sensors:\n%s", name, res.status, res.header.Get("Location"), res.body)
	}
	page := do(t, c, "GET", s.URL+"/sensors", nil)
	if page.status != 200 {
		t.Fatalf("after login: GET /sensors = %d", page.status)
	}
	return formToken(t, page.body) // the logout form's token: the session's
}

func TestCheckListen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr            string
		tls, insecure   bool
		wantErr, refuse bool
	}{
		{addr: "127.0.0.1:8080"},
		{addr: "127.0.0.2:0"},
		{addr: "[::1]:8080"},
		{addr: "localhost:8080"},
		{addr: "0.0.0.0:8080", refuse: true},
		{addr: ":8080", refuse: true},
		{addr: "[::]:8080", refuse: true},
		{addr: "192.0.2.7:443", refuse: true},
		{addr: "[::ffff:127.0.0.1]:8080"},
		{addr: "0.0.0.0:8443", tls: true},
		{addr: "0.0.0.0:8080", insecure: true},
		{addr: "no-port", wantErr: true},
	} {
		err := CheckListen(tc.addr, tc.tls, tc.insecure)
		if tc.refuse != errors.Is(err, ErrInsecureListen) || (err != nil) != (tc.wantErr || tc.refuse) {
			t.Errorf("CheckListen(%q, tls=%v, insecure=%v) = %v, want refused %v, error %v", tc.addr, tc.tls, tc.insecure, err, tc.refuse, tc.wantErr || tc.refuse)
		}
		if tc.refuse && (!strings.Contains(err.Error(), "--tls-cert") || !strings.Contains(err.Error(), "--insecure-listen")) {
			t.Errorf("CheckListen(%q) error %q does not say how to fix it", tc.addr, err)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	hash, err := hashWith([]byte("correct horse"), cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with its parameters", hash)
	}
	if !VerifyPassword(hash, []byte("correct horse")) {
		t.Error("VerifyPassword(right password) = false")
	}
	if VerifyPassword(hash, []byte("correct horsE")) {
		t.Error("VerifyPassword(wrong password) = true")
	}
	again, _ := hashWith([]byte("correct horse"), cheap)
	if again == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	// The default parameters are RFC 9106's second recommendation.
	if p := defaultHashParams; p.time != 3 || p.memory != 64*1024 || p.threads != 4 {
		t.Errorf("default parameters %+v", defaultHashParams)
	}
	for _, bad := range []string{
		"", "plain", "$2a$10$abcdefghijklmnopqrstuv", // bcrypt is not accepted
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 9.5 GiB
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, err := parseHash(bad); err == nil {
			t.Errorf("parseHash(%q) accepted it", bad)
		}
		if VerifyPassword(bad, []byte("x")) {
			t.Errorf("VerifyPassword(%q) = true", bad)
		}
	}
}

func TestUserFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.yaml")
	f, err := LoadUserFile(path) // missing: empty
	if err != nil || len(f.Users) != 0 {
		t.Fatalf("LoadUserFile(missing) = %v, %v", f, err)
	}
	if _, err := f.Set("alice", Admin, []byte("short")); err == nil {
		t.Error("Set accepted a 5-character password")
	}
	if _, err := f.Set("-bad", Viewer, []byte("long enough")); err == nil {
		t.Error("Set accepted the name -bad")
	}
	if _, err := f.Set("bob", "root", []byte("long enough")); err == nil {
		t.Error("Set accepted the role root")
	}
	f.Users = append(f.Users, testUser(t, "alice", Admin, "alice-password"), testUser(t, "bob", Viewer, "bob-password"))
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("users file: %v, %v; want mode 0600", st, err)
	}
	back, err := LoadUserFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(back, f); diff != "" {
		t.Errorf("round trip (-got, +want):\n%s", diff)
	}
	if !back.Remove("bob") || back.Remove("bob") {
		t.Error("Remove(bob) twice: want true, then false")
	}

	for name, content := range map[string]string{
		"unknown key": "users:\n  - name: a\n    role: viewer\n    password: x\n    email: a@example.org\n",
		"bad role":    "users:\n  - name: a\n    role: root\n    password: " + testUser(t, "a", Viewer, "pw-pw-pw-pw").Password + "\n",
		"clear text":  "users:\n  - name: a\n    role: viewer\n    password: hunter22\n",
		"duplicate":   "users:\n  - {name: a, role: viewer, password: '" + f.Users[0].Password + "'}\n  - {name: a, role: admin, password: '" + f.Users[0].Password + "'}\n",
	} {
		if _, err := ParseUserFile([]byte(content)); err == nil {
			t.Errorf("ParseUserFile(%s) accepted it", name)
		}
	}
}

func TestLoginAndRoles(t *testing.T) {
	t.Parallel()
	users := NewUsers(testUser(t, "alice", Admin, "alice-password"), testUser(t, "victor", Viewer, "victor-password"))
	s := newTestServer(t, Options{Users: users, Registry: newRegistry(t)})

	anon := s.client(t)
	for _, path := range []string{"/", "/ports", "/compare", "/sources", "/sources/192.0.2.1", "/sensors", "/admin"} {
		res := do(t, anon, "GET", s.URL+path, nil)
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login?next=") {
			t.Errorf("anonymous GET %s = %d to %q, want 303 to the login form", path, res.status, res.header.Get("Location"))
		}
	}
	if res := do(t, anon, "GET", s.URL+"/api/v1/top-ports?period=2024Q3", nil); res.status != http.StatusUnauthorized {
		t.Errorf("anonymous API call = %d, want 401", res.status)
	}
	if res := do(t, anon, "GET", s.URL+"/assets/app.css", nil); res.status != 200 {
		t.Errorf("anonymous GET /assets/app.css = %d, want 200 (the login page needs it)", res.status)
	}

	// Wrong passwords and unknown users get the same answer.
	form := do(t, anon, "GET", s.URL+"/login", nil)
	for _, creds := range [][2]string{{"alice", "wrong-password"}, {"mallory", "alice-password"}} {
		res := do(t, anon, "POST", s.URL+"/login", url.Values{"csrf": {formToken(t, form.body)}, "name": {creds[0]}, "password": {creds[1]}})
		if res.status != http.StatusUnauthorized || !strings.Contains(res.body, "Wrong user name or password") {
			t.Errorf("login as %s/%s = %d, want 401 with a message", creds[0], creds[1], res.status)
		}
		form = res
	}

	viewer := s.client(t)
	s.login(t, viewer, "victor", "victor-password")
	for _, path := range []string{"/", "/ports", "/compare", "/sources", "/sources/192.0.2.1", "/sensors", "/api/v1/sensors"} {
		if res := do(t, viewer, "GET", s.URL+path, nil); res.status != 200 {
			t.Errorf("viewer GET %s = %d, want 200", path, res.status)
		}
	}
	res := do(t, viewer, "GET", s.URL+"/admin", nil)
	if res.status != http.StatusForbidden {
		t.Errorf("viewer GET /admin = %d, want 403", res.status)
	}
	if strings.Contains(do(t, viewer, "GET", s.URL+"/", nil).body, `href="/admin"`) {
		t.Error("a viewer's navigation links to /admin")
	}

	admin := s.client(t)
	s.login(t, admin, "alice", "alice-password")
	res = do(t, admin, "GET", s.URL+"/admin", nil)
	if res.status != 200 || !strings.Contains(res.body, "Enroll a sensor") {
		t.Errorf("admin GET /admin = %d, want 200 with the enrollment form", res.status)
	}

	// The session cookie: HttpOnly, SameSite=Strict, not Secure without TLS.
	c := sessionCookieOf(t, s, "alice", "alice-password")
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure", c)
	}

	// Logout ends the session.
	token := formToken(t, do(t, viewer, "GET", s.URL+"/sensors", nil).body)
	if res := do(t, viewer, "POST", s.URL+"/logout", url.Values{"csrf": {token}}); res.status != http.StatusSeeOther {
		t.Errorf("logout = %d, want 303", res.status)
	}
	if res := do(t, viewer, "GET", s.URL+"/sensors", nil); res.status != http.StatusSeeOther {
		t.Errorf("GET /sensors after logout = %d, want 303 to login", res.status)
	}
}

// sessionCookieOf logs in with a fresh client and returns the cookie set.
func sessionCookieOf(t *testing.T, s *testServer, name, password string) *http.Cookie {
	t.Helper()
	c := s.client(t)
	form := do(t, c, "GET", s.URL+"/login", nil)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/login",
		strings.NewReader(url.Values{"csrf": {formToken(t, form.body)}, "name": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == sessionCookie {
			return ck
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Users: NewUsers(testUser(t, "alice", Admin, "alice-password")), Secure: true})
	// httptest serves plain HTTP; the cookie jar would drop Secure cookies,
	// so read the Set-Cookie header.
	c := sessionCookieOf(t, s, "alice", "alice-password")
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie under TLS %+v: want Secure, HttpOnly, SameSite=Strict", c)
	}
}

func TestOpenMode(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Registry: newRegistry(t)})
	c := s.client(t)
	for _, path := range []string{"/", "/ports", "/compare", "/sources", "/sensors", "/api/v1/sensors"} {
		if res := do(t, c, "GET", s.URL+path, nil); res.status != 200 {
			t.Errorf("GET %s without users = %d, want 200 (read-only for everyone)", path, res.status)
		}
	}
	res := do(t, c, "GET", s.URL+"/admin", nil)
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "--users") {
		t.Errorf("GET /admin without users = %d, want 403 saying to give --users:\n%s", res.status, res.body)
	}
	res = do(t, c, "POST", s.URL+"/admin/enroll", url.Values{"name": {"x"}, "group": {"g"}, "addresses": {"198.18.0.1"}, "validity_days": {"30"}})
	if res.status != http.StatusForbidden || len(s.reg.Status()) != 0 {
		t.Errorf("POST /admin/enroll without users = %d (%d sensors enrolled), want 403 and none", res.status, len(s.reg.Status()))
	}
	if res := do(t, c, "GET", s.URL+"/login", nil); !strings.Contains(res.body, "no users file") {
		t.Error("the login page of a server without users does not say why nobody logs in")
	}
}

func TestPublicPortGraphs(t *testing.T) {
	t.Parallel()
	users := NewUsers(testUser(t, "victor", Viewer, "victor-password"))
	for _, public := range []bool{false, true} {
		s := newTestServer(t, Options{Users: users, Public: public})
		c := s.client(t)
		res := do(t, c, "GET", s.URL+"/ports", nil)
		if public && (res.status != 200 || !strings.Contains(res.body, `data-public="1"`)) {
			t.Errorf("public: anonymous GET /ports = %d, want 200 marked public", res.status)
		}
		if !public && res.status != http.StatusSeeOther {
			t.Errorf("not public: anonymous GET /ports = %d, want 303 to login", res.status)
		}
		for path, allowed := range map[string]bool{
			"/api/v1/port-series?period=2024Q3&port=23/TCP&by=group":             true,
			"/api/v1/port-series?period=2024Q3&port=23/TCP&by=fleet":             true,
			"/api/v1/group-top-ports?period=2024Q3":                              true,
			"/api/v1/port-series?period=2024Q3&port=23/TCP&by=sensor":            false,
			"/api/v1/port-series?period=2024Q3&port=23/TCP":                      false,
			"/api/v1/port-series?period=2024Q3&port=23/TCP&by=group&sensor=jp-1": false,
			"/api/v1/top-ports?period=2024Q3":                                    false,
			"/api/v1/sensors":                                                    false,
			"/api/v1/sources/192.0.2.1":                                          false,
			"/api/v1/alerts?port=23/TCP":                                         true,
			"/api/v1/alerts?sensor=jp-1":                                         false,
			"/api/v1/alerts/1":                                                   false,
			"/api/v1/silences":                                                   false,
		} {
			want := http.StatusUnauthorized
			if allowed && public {
				want = 200
			}
			if res := do(t, c, "GET", s.URL+path, nil); res.status != want {
				t.Errorf("public=%v: anonymous GET %s = %d, want %d", public, path, res.status, want)
			}
		}
		if res := do(t, c, "GET", s.URL+"/compare", nil); res.status != http.StatusSeeOther {
			t.Errorf("public=%v: anonymous GET /compare = %d, want 303 to login", public, res.status)
		}
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	users := NewUsers(testUser(t, "alice", Admin, "alice-password"))
	s := newTestServer(t, Options{Users: users, Registry: newRegistry(t)})
	admin := s.client(t)
	token := s.login(t, admin, "alice", "alice-password")
	enroll := func(token string) url.Values {
		return url.Values{"csrf": {token}, "name": {"jp-1"}, "group": {"Japan"}, "addresses": {"198.18.0.1"}, "validity_days": {"30"}}
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", enroll(""), nil},
		{"wrong token", enroll("x" + token), nil},
		{"another session's token", enroll(s.login(t, s.client(t), "alice", "alice-password")), nil},
		{"cross-site (Sec-Fetch-Site)", enroll(token), []string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-origin (Origin)", enroll(token), []string{"Origin", "http://evil.example"}},
	} {
		res := do(t, admin, "POST", s.URL+"/admin/enroll", tc.form, tc.header...)
		if res.status != http.StatusForbidden {
			t.Errorf("%s: POST /admin/enroll = %d, want 403", tc.name, res.status)
		}
		if res := do(t, admin, "POST", s.URL+"/admin/revoke", url.Values{"csrf": tc.form["csrf"], "name": {"jp-1"}, "confirm": {"yes"}}, tc.header...); res.status != http.StatusForbidden {
			t.Errorf("%s: POST /admin/revoke = %d, want 403", tc.name, res.status)
		}
	}
	if n := len(s.reg.Status()); n != 0 {
		t.Fatalf("%d sensors enrolled by refused requests", n)
	}
	// The same request from the page itself goes through.
	res := do(t, admin, "POST", s.URL+"/admin/enroll", enroll(token), "Sec-Fetch-Site", "same-origin", "Origin", s.URL)
	if res.status != 200 || len(s.reg.Status()) != 1 {
		t.Errorf("same-origin POST /admin/enroll with the token = %d (%d enrolled), want 200 and 1:\n%s", res.status, len(s.reg.Status()), res.body)
	}
	// Logout needs the token too, and the login form its own.
	if res := do(t, admin, "POST", s.URL+"/logout", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("POST /logout without token = %d, want 403", res.status)
	}
	anon := s.client(t)
	if res := do(t, anon, "POST", s.URL+"/login", url.Values{"name": {"alice"}, "password": {"alice-password"}}); res.status != http.StatusForbidden {
		t.Errorf("POST /login without the form's token = %d, want 403", res.status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	users := NewUsers(testUser(t, "alice", Admin, "alice-password"))
	s := newTestServer(t, Options{Users: users, Now: clock})
	c := s.client(t)
	try := func(password string) response {
		form := do(t, c, "GET", s.URL+"/login", nil)
		return do(t, c, "POST", s.URL+"/login", url.Values{"csrf": {formToken(t, form.body)}, "name": {"alice"}, "password": {password}})
	}
	for i := range loginBurst {
		if res := try("guess"); res.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, res.status)
		}
	}
	res := try("alice-password")
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("attempt %d (right password) = %d (Retry-After %q), want 429 with Retry-After", loginBurst+1, res.status, res.header.Get("Retry-After"))
	}
	now = now.Add(loginWait)
	if res := try("alice-password"); res.status != http.StatusSeeOther {
		t.Errorf("a minute later, the right password = %d, want 303", res.status)
	}
}

func TestUsersFileChanges(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.yaml")
	f := &UserFile{Users: []User{testUser(t, "alice", Admin, "alice-password"), testUser(t, "bob", Viewer, "bob-password")}}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	users, err := OpenUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Options{Users: users})
	bob := s.client(t)
	s.login(t, bob, "bob", "bob-password")
	f.Remove("bob")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := do(t, bob, "GET", s.URL+"/sensors", nil)
		if res.status == http.StatusSeeOther {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a removed user's session still works after 5 s (GET /sensors = %d)", res.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := OpenUsers(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "nightjar user add") {
		t.Errorf("OpenUsers(missing) = %v, want an error that says how to make the file", err)
	}
}

func newRegistry(t *testing.T) *pki.Registry {
	t.Helper()
	reg, err := pki.Init(filepath.Join(t.TempDir(), "registry"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

var downloadRE = regexp.MustCompile(`href="(/admin/download/[^"]+)"`)

func TestEnrollAndRevoke(t *testing.T) {
	t.Parallel()
	users := NewUsers(testUser(t, "alice", Admin, "alice-password"), testUser(t, "victor", Viewer, "victor-password"))
	s := newTestServer(t, Options{Users: users, Registry: newRegistry(t)})
	admin := s.client(t)
	token := s.login(t, admin, "alice", "alice-password")

	// A viewer cannot, even with a valid session and token of its own.
	viewer := s.client(t)
	vtoken := s.login(t, viewer, "victor", "victor-password")
	form := url.Values{"csrf": {vtoken}, "name": {"jp-tokyo-1"}, "group": {"Japan"}, "country": {"jp"},
		"description": {"campus"}, "addresses": {"198.18.1.0/24, 2001:db8:1::/64"}, "validity_days": {"30"}}
	if res := do(t, viewer, "POST", s.URL+"/admin/enroll", form); res.status != http.StatusForbidden || len(s.reg.Status()) != 0 {
		t.Fatalf("viewer POST /admin/enroll = %d, want 403 and nothing enrolled", res.status)
	}

	// Bad input is refused with the form kept.
	bad := url.Values{"csrf": {token}, "name": {"jp tokyo"}, "group": {"Japan"}, "addresses": {"198.18.1.0/24"}, "validity_days": {"30"}}
	if res := do(t, admin, "POST", s.URL+"/admin/enroll", bad); res.status != http.StatusBadRequest || !strings.Contains(res.body, `value="jp tokyo"`) {
		t.Errorf("enroll with a bad name = %d, want 400 with the form kept", res.status)
	}
	bad.Set("name", "jp-1")
	bad.Set("validity_days", "0")
	if res := do(t, admin, "POST", s.URL+"/admin/enroll", bad); res.status != http.StatusBadRequest {
		t.Errorf("enroll for 0 days = %d, want 400", res.status)
	}

	form.Set("csrf", token)
	res := do(t, admin, "POST", s.URL+"/admin/enroll", form)
	if res.status != 200 || !strings.Contains(res.body, "Enrolled jp-tokyo-1") {
		t.Fatalf("enroll = %d:\n%s", res.status, res.body)
	}
	st := s.reg.Status()
	if len(st) != 1 || st[0].Sensor.Name != "jp-tokyo-1" || st[0].Sensor.Country != "JP" || len(st[0].Sensor.Addresses) != 2 || st[0].Usable(time.Now()) != 1 {
		t.Fatalf("registry after enrollment: %+v", st)
	}
	m := downloadRE.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no download link after enrollment")
	}
	// Only the admin's session may download, and only once.
	if res := do(t, s.client(t), "GET", s.URL+m[1], nil); res.status != http.StatusSeeOther {
		t.Errorf("anonymous download = %d, want 303 to login", res.status)
	}
	other := s.client(t)
	s.login(t, other, "alice", "alice-password")
	if res := do(t, other, "GET", s.URL+m[1], nil); res.status != http.StatusNotFound {
		t.Errorf("download from another session of the same admin = %d, want 404", res.status)
	}
	dl := do(t, admin, "GET", s.URL+m[1], nil)
	if dl.status != 200 || dl.header.Get("Content-Type") != "application/gzip" || !strings.Contains(dl.header.Get("Content-Disposition"), "jp-tokyo-1-credentials.tar.gz") ||
		dl.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("download = %d %v", dl.status, dl.header)
	}
	files := untar(t, dl.body)
	if mode := files["jp-tokyo-1/sensor.key"].mode; mode != 0o600 {
		t.Errorf("sensor.key mode %o in the archive, want 600", mode)
	}
	cert := parseCert(t, files["jp-tokyo-1/sensor.crt"].data)
	if cert.Subject.CommonName != "jp-tokyo-1" {
		t.Errorf("certificate for %q, want jp-tokyo-1", cert.Subject.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(files["jp-tokyo-1/ca.crt"].data)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate does not verify against the archive's CA: %v", err)
	}
	if name, err := s.reg.SensorName(cert); err != nil || name != "jp-tokyo-1" {
		t.Errorf("registry.SensorName(downloaded certificate) = %q, %v", name, err)
	}
	if res := do(t, admin, "GET", s.URL+m[1], nil); res.status != http.StatusNotFound {
		t.Errorf("second download = %d, want 404", res.status)
	}

	// Revocation asks for a confirmation first.
	res = do(t, admin, "POST", s.URL+"/admin/revoke", url.Values{"csrf": {token}, "name": {"jp-tokyo-1"}})
	if res.status != 200 || !strings.Contains(res.body, "Revoke jp-tokyo-1?") || s.reg.Status()[0].Revoked() {
		t.Fatalf("revoke without confirmation = %d, revoked %v; want a confirmation page", res.status, s.reg.Status()[0].Revoked())
	}
	res = do(t, admin, "POST", s.URL+"/admin/revoke", url.Values{"csrf": {token}, "name": {"jp-tokyo-1"}, "confirm": {"yes"}})
	if res.status != http.StatusSeeOther || !s.reg.Status()[0].Revoked() {
		t.Fatalf("revoke = %d, revoked %v", res.status, s.reg.Status()[0].Revoked())
	}
	if _, err := s.reg.SensorName(cert); !errors.Is(err, pki.ErrRevoked) {
		t.Errorf("registry.SensorName(revoked certificate) = %v, want ErrRevoked", err)
	}
	page := do(t, admin, "GET", s.URL+res.header.Get("Location"), nil)
	if !strings.Contains(page.body, "Revoked 1 certificate(s) of jp-tokyo-1") {
		t.Errorf("the admin page after revocation does not say so:\n%s", page.body)
	}
	if res := do(t, admin, "POST", s.URL+"/admin/revoke", url.Values{"csrf": {token}, "name": {"nobody"}, "confirm": {"yes"}}); res.status != http.StatusNotFound {
		t.Errorf("revoke an unknown sensor = %d, want 404", res.status)
	}
}

type tarFile struct {
	data []byte
	mode int64
}

func untar(t *testing.T, body string) map[string]tarFile {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]tarFile{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = tarFile{data, hdr.Mode}
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAssets(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := s.client(t)
	res := do(t, c, "GET", s.URL+"/assets/vendor/echarts/echarts.min.js", nil, "Accept-Encoding", "gzip")
	if res.status != 200 || res.header.Get("Content-Encoding") != "gzip" || len(res.body) > 500_000 || res.header.Get("ETag") == "" {
		t.Errorf("echarts: %d, encoding %q, %d bytes, ETag %q", res.status, res.header.Get("Content-Encoding"), len(res.body), res.header.Get("ETag"))
	}
	if res := do(t, c, "GET", s.URL+"/assets/js/common.js", nil, "If-None-Match", do(t, c, "GET", s.URL+"/assets/js/common.js", nil).header.Get("ETag")); res.status != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", res.status)
	}
	if ct := do(t, c, "GET", s.URL+"/assets/js/common.js", nil).header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("common.js Content-Type %q", ct)
	}
	if res := do(t, c, "GET", s.URL+"/assets/%2e%2e/web.go", nil); res.status == 200 {
		t.Errorf("GET /assets/%%2e%%2e/web.go = 200")
	}
	for _, p := range []string{"/assets/", "/assets/nope.js", "/assets/js/"} {
		if res := do(t, c, "GET", s.URL+p, nil); res.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.status)
		}
	}
	page := do(t, c, "GET", s.URL+"/", nil)
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// fakeSettings records what the admin page sets.
type fakeSettings struct {
	mu   sync.Mutex
	keep time.Duration
}

func (f *fakeSettings) Retention() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keep
}

func (f *fakeSettings) SetRetention(_ context.Context, keep time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keep = keep
	return nil
}

// TestSettings: admins change the raw-record retention on /admin, with a
// CSRF token; viewers cannot; bad values are refused.
func TestSettings(t *testing.T) {
	t.Parallel()
	settings := &fakeSettings{keep: 90 * 24 * time.Hour}
	users := NewUsers(testUser(t, "alice", Admin, "alice-password"), testUser(t, "victor", Viewer, "victor-password"))
	s := newTestServer(t, Options{Users: users, Settings: settings})
	admin := s.client(t)
	token := s.login(t, admin, "alice", "alice-password")
	if page := do(t, admin, "GET", s.URL+"/admin", nil); !strings.Contains(page.body, `name="retention_days" type="number" min="0" max="36500" value="90"`) {
		t.Fatalf("admin page does not show the retention of 90 days:\n%s", page.body)
	}
	viewer := s.client(t)
	vtoken := s.login(t, viewer, "victor", "victor-password")
	if res := do(t, viewer, "POST", s.URL+"/admin/settings", url.Values{"csrf": {vtoken}, "retention_days": {"1"}}); res.status != http.StatusForbidden {
		t.Errorf("viewer POST /admin/settings = %d, want 403", res.status)
	}
	if res := do(t, admin, "POST", s.URL+"/admin/settings", url.Values{"retention_days": {"1"}}); res.status != http.StatusForbidden {
		t.Errorf("POST /admin/settings without a CSRF token = %d, want 403", res.status)
	}
	for _, bad := range []string{"-1", "soon", "99999999"} {
		if res := do(t, admin, "POST", s.URL+"/admin/settings", url.Values{"csrf": {token}, "retention_days": {bad}}); res.status != http.StatusBadRequest {
			t.Errorf("retention_days=%q: %d, want 400", bad, res.status)
		}
	}
	if settings.Retention() != 90*24*time.Hour {
		t.Fatalf("refused requests changed the retention to %v", settings.Retention())
	}
	res := do(t, admin, "POST", s.URL+"/admin/settings", url.Values{"csrf": {token}, "retention_days": {"30"}})
	if res.status != http.StatusSeeOther || settings.Retention() != 30*24*time.Hour {
		t.Fatalf("POST retention_days=30: %d, retention %v", res.status, settings.Retention())
	}
	if page := do(t, admin, "GET", s.URL+res.header.Get("Location"), nil); !strings.Contains(page.body, "kept for 30 days") {
		t.Errorf("no notice after the change:\n%s", page.body)
	}
}
