package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// TestSafeNext feeds the login's next= the values that browsers read as
// another site once they drop tabs and newlines or turn "\" into "/".
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ next, want string }{
		"a page":                   {"/sensors", "/sensors"},
		"a page with a query":      {"/ports?port=23/TCP&period=2024Q3", "/ports?port=23/TCP&period=2024Q3"},
		"an encoded slash inside":  {"/sources/a%2Fb", "/sources/a%2Fb"},
		"empty":                    {"", "/"},
		"relative":                 {"sensors", "/"},
		"another site":             {"https://evil.example/", "/"},
		"scheme-relative":          {"//evil.example", "/"},
		"backslash":                {"/\\evil.example", "/"},
		"tab (decoded %09)":        {"/\t/evil.example", "/"},
		"newline":                  {"/\n/evil.example", "/"},
		"carriage return":          {"/\r/evil.example", "/"},
		"NUL":                      {"/\x00/evil.example", "/"},
		"DEL":                      {"/\x7f/evil.example", "/"},
		"encoded slashes":          {"/%2F%2Fevil.example", "/"},
		"encoded slash after one":  {"/%2Fevil.example", "/"},
		"encoded backslash":        {"/%5Cevil.example", "/"},
		"encoded tab":              {"/%09/evil.example", "/"},
		"encoded newline":          {"/%0a/evil.example", "/"},
		"javascript":               {"javascript:alert(1)", "/"},
		"user info":                {"//user@evil.example/", "/"},
		"encoded C1 control (NEL)": {"/%C2%85/evil.example", "/"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("%s: safeNext(%q) = %q, want %q", name, tc.next, got, tc.want)
		}
	}
}

// TestLoginRedirectThroughTab logs in with next=/%09/evil.example, as the
// issue's link does: the answer must send the browser home, not to
// "/\t/evil.example" (which browsers read as //evil.example).
func TestLoginRedirectThroughTab(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Users: NewUsers(testUser(t, "alice", Admin, "alice-password"))})
	c := s.client(t)
	form := do(t, c, "GET", s.URL+"/login?next=/%09/evil.example", nil)
	res := do(t, c, "POST", s.URL+"/login", url.Values{"csrf": {formToken(t, form.body)}, "name": {"alice"}, "password": {"alice-password"}, "next": {"/\t/evil.example"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/" {
		t.Errorf("login with next=/%%09/evil.example = %d to %q, want 303 to \"/\"", res.status, res.header.Get("Location"))
	}
}

// loginFrom posts the login form to h from a client address, with a
// double-submit token of its own.
func loginFrom(t *testing.T, h http.Handler, client, name, password string) *httptest.ResponseRecorder {
	t.Helper()
	const token = "test-login-token"
	req := httptest.NewRequestWithContext(t.Context(), "POST", "/login",
		strings.NewReader(url.Values{"csrf": {token}, "name": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCookie, Value: token})
	req.RemoteAddr = client
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestLoginLockoutFromElsewhere: an attacker's wrong passwords for alice
// lock out the attacker's address, not alice at hers; the failures are
// counted in the metrics.
func TestLoginLockoutFromElsewhere(t *testing.T) {
	t.Parallel()
	h := New(Options{Users: NewUsers(testUser(t, "alice", Admin, "alice-password")), API: fakeAPI})
	const attacker, alice = "198.51.100.7:40000", "203.0.113.5:50000"
	for i := range loginBurst {
		if res := loginFrom(t, h, attacker, "alice", "guess"); res.Code != http.StatusUnauthorized {
			t.Fatalf("attacker's attempt %d = %d, want 401", i+1, res.Code)
		}
	}
	if res := loginFrom(t, h, attacker, "alice", "guess"); res.Code != http.StatusTooManyRequests {
		t.Errorf("attacker's attempt %d = %d, want 429", loginBurst+1, res.Code)
	}
	if res := loginFrom(t, h, alice, "alice", "alice-password"); res.Code != http.StatusSeeOther {
		t.Errorf("alice from her own address after the attacker's failures = %d, want 303 (logged in)", res.Code)
	}
	// Another address of the attacker's IPv6 /64 shares its count.
	for range loginBurst {
		loginFrom(t, h, "[2001:db8:1:2::1]:1", "alice", "guess")
	}
	if res := loginFrom(t, h, "[2001:db8:1:2::99]:1", "alice", "guess"); res.Code != http.StatusTooManyRequests {
		t.Errorf("another address of the same IPv6 /64 = %d, want 429", res.Code)
	}
	got := counters(t, h.Metrics()...)
	want := map[string]float64{
		`nightjar_web_login_attempts_total{result="success"}`: 1,
		`nightjar_web_login_attempts_total{result="failure"}`: 2 * loginBurst,
		`nightjar_web_login_attempts_total{result="limited"}`: 2,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("nightjar_web_login_attempts_total (-got, +want):\n%s", diff)
	}
}

// TestLoginBackoff: after the burst, every further failure doubles the
// wait; a success clears it.
func TestLoginBackoff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(Options{Users: NewUsers(testUser(t, "alice", Admin, "alice-password")), API: fakeAPI, Now: func() time.Time { return now }})
	const client = "198.51.100.7:40000"
	try := func(password string) int { return loginFrom(t, h, client, "alice", password).Code }
	for range loginBurst {
		try("guess")
	}
	for _, wait := range []time.Duration{loginWait, 2 * loginWait, 4 * loginWait} {
		now = now.Add(wait - time.Second)
		if code := try("alice-password"); code != http.StatusTooManyRequests {
			t.Fatalf("%v into a wait of %v: %d, want 429", wait-time.Second, wait, code)
		}
		now = now.Add(time.Second)
		if code := try("guess"); code != http.StatusUnauthorized {
			t.Fatalf("after a wait of %v: %d, want 401 (one more attempt)", wait, code)
		}
	}
	now = now.Add(8 * loginWait)
	if code := try("alice-password"); code != http.StatusSeeOther {
		t.Fatalf("after the last wait, the right password = %d, want 303", code)
	}
	if code := try("guess"); code != http.StatusUnauthorized {
		t.Errorf("a failure after a success = %d, want 401 (the count starts again)", code)
	}
}

// counters gathers the counters of cs, named name{label="value",...}.
func counters(t *testing.T, cs ...prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			got[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return got
}

// TestHostCheck: without users, a page reached by another name (DNS
// rebinding: evil.example resolving to 127.0.0.1) is refused; loopback
// names and the configured ones are served.
func TestHostCheck(t *testing.T) {
	t.Parallel()
	open := New(Options{API: fakeAPI, AllowedHosts: []string{"Nightjar.Example.org"}})
	withUsers := New(Options{API: fakeAPI, Users: NewUsers(testUser(t, "alice", Admin, "alice-password"))})
	for _, tc := range []struct {
		handler *Handler
		host    string
		want    int
	}{
		{open, "127.0.0.1:8080", 200},
		{open, "127.0.0.2", 200},
		{open, "localhost:8080", 200},
		{open, "LocalHost.", 200},
		{open, "[::1]:8080", 200},
		{open, "[::1]", 200},
		{open, "nightjar.example.org:443", 200},
		{open, "evil.example", http.StatusMisdirectedRequest},
		{open, "evil.example:8080", http.StatusMisdirectedRequest},
		{open, "localhost.evil.example", http.StatusMisdirectedRequest},
		{open, "127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{open, "192.0.2.1:8080", http.StatusMisdirectedRequest},
		{open, "", http.StatusMisdirectedRequest},
		{withUsers, "evil.example", http.StatusUnauthorized}, // viewing needs a login there
	} {
		for _, path := range []string{"/sensors", "/api/v1/sensors"} {
			req := httptest.NewRequestWithContext(t.Context(), "GET", path, nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			want := tc.want
			if want == http.StatusUnauthorized && path == "/sensors" {
				want = http.StatusSeeOther // to the login form
			}
			if rec.Code != want {
				t.Errorf("users=%v: GET %s with Host %q = %d, want %d", tc.handler.opts.Users != nil, path, tc.host, rec.Code, want)
			}
			if want == http.StatusMisdirectedRequest && !strings.Contains(rec.Body.String(), "--allowed-host") {
				t.Errorf("Host %q: the refusal does not say how to allow a name: %q", tc.host, rec.Body.String())
			}
		}
	}
}
