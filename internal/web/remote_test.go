package web

import (
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The UI runs where sensors and SOCs are often offline, and a page that
// loads a script from a CDN leaks who looks at it: nothing may come from
// the network. These tests fail on any remote URL in the embedded files
// and in the served pages; the browser tests also watch every request the
// pages make.

// xmlNamespaces are names, not addresses: browsers never fetch them, and
// SVG and ECharts' SVG renderer must write them.
var xmlNamespaces = map[string]bool{
	"http://www.w3.org/2000/svg":           true,
	"http://www.w3.org/1999/xlink":         true,
	"http://www.w3.org/2000/xmlns/":        true,
	"http://www.w3.org/XML/1998/namespace": true,
}

var (
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	remoteURL    = regexp.MustCompile(`(?i)\bhttps?://[^\s"'` + "`" + `)<>]*`)
	cssURL       = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]*)`)
	cssImport    = regexp.MustCompile(`(?i)@import`)
	// protocolRelative finds "//host/..." in string literals and attributes.
	protocolRelative = regexp.MustCompile(`["'(=]\s*//[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
)

// licenseDocument reports whether a file is a license or provenance text,
// which names its sources' addresses for people, not for browsers.
func licenseDocument(name string) bool {
	base := path.Base(name)
	return strings.HasPrefix(base, "LICENSE") || base == "NOTICE" || base == "README.md"
}

// withoutLicenseComments drops the /* ... */ comments that carry a license
// or copyright notice (ECharts keeps those of Apache, tslib and ZRender).
func withoutLicenseComments(s string) string {
	return blockComment.ReplaceAllStringFunc(s, func(c string) string {
		l := strings.ToLower(c)
		if strings.Contains(l, "license") || strings.Contains(l, "copyright") {
			return ""
		}
		return c
	})
}

// remoteRefs lists the remote addresses in a text.
func remoteRefs(text string) []string {
	var out []string
	for _, u := range remoteURL.FindAllString(text, -1) {
		if !xmlNamespaces[u] {
			out = append(out, u)
		}
	}
	return append(out, protocolRelative.FindAllString(text, -1)...)
}

func TestNoRemoteURLsInEmbeddedFiles(t *testing.T) {
	t.Parallel()
	checked := 0
	err := fs.WalkDir(content, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if licenseDocument(name) {
			return nil
		}
		data, err := fs.ReadFile(content, name)
		if err != nil {
			return err
		}
		text := withoutLicenseComments(string(data))
		for _, u := range remoteRefs(text) {
			t.Errorf("%s references a remote URL: %s", name, u)
		}
		if path.Ext(name) == ".css" {
			for _, m := range cssURL.FindAllStringSubmatch(text, -1) {
				if !localRef(m[1]) {
					t.Errorf("%s: CSS url(%s) is not local", name, m[1])
				}
			}
			if cssImport.MatchString(text) {
				t.Errorf("%s: @import (load nothing from elsewhere; one stylesheet)", name)
			}
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d embedded files", checked)
	}
}

// The checker itself must catch what it is for.
func TestRemoteURLCheckerCatches(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		`<script src="https://cdn.jsdelivr.net/npm/echarts@5/dist/echarts.min.js"></script>`,
		`<link href="//fonts.googleapis.com/css?family=Roboto" rel="stylesheet">`,
		`import x from "http://esm.sh/x";`,
		`/* a comment, not a license */ fetch('https://example.com/track')`,
		`body { background: url( "//example.com/x.png") }`,
	} {
		refs := remoteRefs(withoutLicenseComments(bad))
		if len(refs) == 0 {
			t.Errorf("remoteRefs(%q) found nothing", bad)
		}
	}
	if refs := remoteRefs(withoutLicenseComments("/* Licensed under http://www.apache.org/licenses/LICENSE-2.0 */ var ns='http://www.w3.org/2000/svg';")); len(refs) > 0 {
		t.Errorf("remoteRefs flagged a license comment or an XML namespace: %v", refs)
	}
	if localRef("https://example.com/a.png") || localRef("//example.com/a.png") || !localRef("/assets/a.png") || !localRef("#x") {
		t.Error("localRef is wrong")
	}
}

// localRef reports whether a reference stays on this server.
func localRef(ref string) bool {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "#") {
		return true
	}
	if strings.HasPrefix(ref, "//") || strings.HasPrefix(ref, `/\`) {
		return false
	}
	u, err := url.Parse(ref)
	return err == nil && u.Scheme == "" && u.Host == ""
}

// urlAttrs are the attributes that make a browser load or send something.
var urlAttrs = map[string]bool{"src": true, "href": true, "action": true, "formaction": true, "poster": true, "data": true, "srcset": true, "xlink:href": true, "background": true, "manifest": true, "ping": true}

func TestServedPagesAreLocal(t *testing.T) {
	t.Parallel()
	users := NewUsers(testUser(t, "alice", Admin, "alice-password"))
	s := newTestServer(t, Options{Users: users, Registry: newRegistry(t), Public: true})
	admin := s.client(t)
	token := s.login(t, admin, "alice", "alice-password")
	// An enrolled sensor, so that the admin page shows its tables.
	enrolled := do(t, admin, "POST", s.URL+"/admin/enroll", url.Values{"csrf": {token}, "name": {"jp-1"}, "group": {"Japan"}, "addresses": {"198.18.0.1"}, "validity_days": {"30"}})
	pages := map[string]string{"/admin/enroll (result)": enrolled.body}
	for _, p := range []string{"/", "/ports?period=2024Q3&port=23/TCP", "/compare", "/sources", "/sources/192.0.2.1", "/origins", "/devices", "/sensors", "/admin", "/login"} {
		res := do(t, admin, "GET", s.URL+p, nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s = %d", p, res.status)
		}
		pages[p] = res.body
	}
	pages["/login (anonymous)"] = do(t, s.client(t), "GET", s.URL+"/login", nil).body
	pages["/ports (public)"] = do(t, s.client(t), "GET", s.URL+"/ports", nil).body
	for name, body := range pages {
		refs := 0
		z := html.NewTokenizer(strings.NewReader(body))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				if tt == html.TextToken {
					for _, u := range remoteRefs(string(z.Text())) {
						t.Errorf("%s: text references %s", name, u)
					}
				}
				continue
			}
			tag, _ := z.TagName()
			for {
				k, v, more := z.TagAttr()
				key, val := strings.ToLower(string(k)), string(v)
				if urlAttrs[key] {
					refs++
					for _, ref := range strings.Split(val, ",") {
						if !localRef(strings.Fields(ref + " x")[0]) {
							t.Errorf("%s: <%s %s=%q> is not local", name, tag, key, val)
						}
					}
				}
				if key == "style" {
					for _, m := range cssURL.FindAllStringSubmatch(val, -1) {
						if !localRef(m[1]) {
							t.Errorf("%s: <%s style> url(%s) is not local", name, tag, m[1])
						}
					}
				}
				if !more {
					break
				}
			}
		}
		if refs == 0 {
			t.Errorf("%s: no src/href attribute at all: did the page render?", name)
		}
	}
}
