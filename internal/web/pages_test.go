package web

import (
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pagePath is a data page's path, with an address for the source page.
func pagePath(p dataPage) string {
	return strings.ReplaceAll(strings.TrimSuffix(p.pattern, "{$}"), "{ip}", "192.0.2.1")
}

var navLink = regexp.MustCompile(`<a href="([^"]+)"`)

// TestDataPages: every data page answers a viewer with its title, its
// name and its own script (which is served); an anonymous client of a
// server with users is sent to the login form; the navigation bar lists
// the pages in order, Devices after Origins, and the source page under
// Sources.
func TestDataPages(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Users: NewUsers(testUser(t, "victor", Viewer, "victor-password"))})
	viewer, anon := s.client(t), s.client(t)
	s.login(t, viewer, "victor", "victor-password")
	for _, p := range dataPages {
		u := s.URL + pagePath(p)
		res := do(t, viewer, "GET", u, nil)
		if res.status != http.StatusOK {
			t.Errorf("viewer GET %s = %d, want 200", u, res.status)
			continue
		}
		title := p.title
		if p.name == "source" {
			title = "Source 192.0.2.1"
		}
		for _, want := range []string{"<title>" + title + " · Nightjar</title>", `data-page="` + p.name + `"`,
			`<script type="module" src="/assets/js/` + p.script + `"></script>`, `<script src="/assets/vendor/echarts/echarts.min.js"></script>`} {
			if !strings.Contains(res.body, want) {
				t.Errorf("GET %s: the page lacks %s", u, want)
			}
		}
		if js := do(t, viewer, "GET", s.URL+"/assets/js/"+p.script, nil); js.status != http.StatusOK || !strings.Contains(js.header.Get("Content-Type"), "javascript") {
			t.Errorf("%s's script %s: %d %q", p.name, p.script, js.status, js.header.Get("Content-Type"))
		}
		if res := do(t, anon, "GET", u, nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login?next=") {
			t.Errorf("anonymous GET %s = %d to %q, want 303 to the login form", u, res.status, res.header.Get("Location"))
		}
	}

	nav := func(page string) []string {
		body := do(t, viewer, "GET", s.URL+page, nil).body
		bar := body[strings.Index(body, "<nav>"):strings.Index(body, "</nav>")]
		var hrefs []string
		for _, m := range navLink.FindAllStringSubmatch(bar, -1) {
			hrefs = append(hrefs, m[1])
		}
		if cur := regexp.MustCompile(`<a href="([^"]+)" class="current"`).FindStringSubmatch(bar); cur != nil {
			hrefs = append(hrefs, "current "+cur[1])
		}
		return hrefs
	}
	order := []string{"/", "/alerts", "/ports", "/compare", "/sources", "/origins", "/devices", "/sensors"}
	for page, current := range map[string]string{"/devices": "/devices", "/sources/192.0.2.1": "/sources", "/": "/"} {
		if diff := cmp.Diff(nav(page), append(slices.Clone(order), "current "+current)); diff != "" {
			t.Errorf("the navigation bar of %s (-got, +want):\n%s", page, diff)
		}
	}

	// The devices page offers every fingerprint tag as a filter.
	devices := do(t, viewer, "GET", s.URL+"/devices", nil).body
	for _, tag := range []string{"mirai", "zmap", "spoofed"} {
		if !strings.Contains(devices, "<option>"+tag+"</option>") {
			t.Errorf("/devices: no tag filter option %q", tag)
		}
	}
}

var (
	importList = regexp.MustCompile(`(?s)import\s*\{([^}]*)\}\s*from\s*'\./common\.js'`)
	exported   = regexp.MustCompile(`(?m)^export\s+(?:async\s+)?(?:const|let|function|class)\s+([A-Za-z_$][\w$]*)`)
)

// TestScripts: every script is a data page's (no dead asset, no page
// without its script), and imports from common.js only what it exports —
// a misspelt name would break the page only in a browser.
func TestScripts(t *testing.T) {
	t.Parallel()
	js, err := fs.Glob(Assets(), "js/*.js")
	if err != nil {
		t.Fatal(err)
	}
	common, err := fs.ReadFile(Assets(), "js/common.js")
	if err != nil {
		t.Fatal(err)
	}
	exports := map[string]bool{}
	for _, m := range exported.FindAllStringSubmatch(string(common), -1) {
		exports[m[1]] = true
	}
	var scripts []string
	for _, p := range dataPages {
		scripts = append(scripts, "js/"+p.script)
	}
	slices.Sort(scripts)
	js = slices.DeleteFunc(js, func(n string) bool { return n == "js/common.js" })
	if diff := cmp.Diff(js, slices.Compact(scripts)); diff != "" {
		t.Errorf("scripts in assets/js (-) and of the data pages (+):\n%s", diff)
	}
	for _, name := range js {
		src, err := fs.ReadFile(Assets(), name)
		if err != nil {
			t.Fatal(err)
		}
		imports := importList.FindAllStringSubmatch(string(src), -1)
		if len(imports) != 1 {
			t.Errorf("%s: %d imports of common.js, want one", name, len(imports))
			continue
		}
		for _, n := range strings.Split(imports[0][1], ",") {
			if n = strings.TrimSpace(n); n != "" && !exports[n] {
				t.Errorf("%s imports %s, which common.js does not export", path.Base(name), n)
			}
		}
	}
}
