package web

import (
	"net/http"
	"net/url"
	"testing"
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
