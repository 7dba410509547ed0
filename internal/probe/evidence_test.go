package probe

import (
	"crypto/x509/pkix"
	"strings"
	"testing"
	"unicode/utf8"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

func TestTitle(t *testing.T) {
	for name, tc := range map[string]struct{ page, want string }{
		"plain":      {"<html><head><title>Archer AX50</title></head></html>", "Archer AX50"},
		"entities":   {"<title>AT&amp;T &lt;Gateway&gt;</title>", "AT&T <Gateway>"},
		"whitespace": {"<TITLE>\n  RouterOS   router\tconfiguration page\n</TITLE>", "RouterOS router configuration page"},
		"first only": {"<title>one</title><title>two</title>", "one"},
		"markup":     {"<title>a <b>bold</b> title</title>", "a <b>bold</b> title"},
		"none":       {"<html><body>no title</body></html>", ""},
		"in script":  {`<script>document.title = "<title>x</title>"</script>`, ""},
		"unclosed":   {"<title>" + strings.Repeat("word ", 400), strings.TrimSpace(strings.Repeat("word ", 103)[:maxTitle])},
	} {
		if got := title(tc.page); got != tc.want {
			t.Errorf("%s: title() = %q, want %q", name, got, tc.want)
		}
	}
}

// TestPageEvidence: the record keeps banner.MaxBody bytes of the page in
// UTF-8, decoded from the charset the page declares; the hash is of the
// bytes read.
func TestPageEvidence(t *testing.T) {
	// "ロジテック 設定画面" in Shift_JIS, as Logitec's routers serve it.
	sjis := "\x83\x8d\x83\x57\x83\x65\x83\x62\x83\x4e \x90\xdd\x92\xe8\x89\xe6\x96\xca"
	for name, tc := range map[string]struct {
		contentType, body string
		wantTitle         string
	}{
		"shift_jis header": {"text/html; charset=Shift_JIS", "<title>" + sjis + "</title>", "ロジテック 設定画面"},
		"shift_jis meta":   {"text/html", `<meta charset="shift_jis"><title>` + sjis + "</title>", "ロジテック 設定画面"},
		"utf-8":            {"text/html", "<title>ロジテック 設定画面</title>", "ロジテック 設定画面"},
		"invalid utf-8":    {"text/html; charset=utf-8", "<title>bad \xff byte</title>", "bad \uFFFD byte"},
	} {
		var h banner.HTTP
		pageEvidence(&h, 200, map[string][]string{"Content-Type": {tc.contentType}}, []byte(tc.body))
		if h.Title != tc.wantTitle || !utf8.ValidString(h.Body) {
			t.Errorf("%s: title %q, body valid UTF-8 %v; want %q", name, h.Title, utf8.ValidString(h.Body), tc.wantTitle)
		}
	}
	long := "<title>big</title>" + strings.Repeat("é", banner.MaxBody) // 2 bytes a rune
	var h banner.HTTP
	pageEvidence(&h, 200, map[string][]string{"Server": {"a", "b"}}, []byte(long))
	if len(h.Body) > banner.MaxBody || len(h.Body) < banner.MaxBody-1 || !utf8.ValidString(h.Body) || !strings.HasPrefix(long, h.Body) {
		t.Errorf("excerpt of %d bytes (valid %v), want the first %d bytes at a rune boundary", len(h.Body), utf8.ValidString(h.Body), banner.MaxBody)
	}
	if h.Server != "a, b" || h.Title != "big" {
		t.Errorf("Server %q, title %q; want both headers, and the title", h.Server, h.Title)
	}
}

// TestCertDN: subjects and issuers read as recog writes them, most
// specific first, commas escaped.
func TestCertDN(t *testing.T) {
	name := pkix.Name{CommonName: "TP-LINK CA", Organization: []string{"TP-LINK Technologies CO., LTD."},
		Locality: []string{"Shenzhen"}, Province: []string{"Guangdong"}, Country: []string{"CN"}}
	c := testenv.SelfSigned(t, name, "tplinkwifi.net")
	got := certEvidence(c.Leaf)
	want := certOf(c, `CN=TP-LINK CA,O=TP-LINK Technologies CO.\, LTD.,L=Shenzhen,ST=Guangdong,C=CN`, "tplinkwifi.net")
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("certEvidence() (-got, +want):\n%s", diff)
	}
}

// FuzzPageEvidence: whatever a host answers, the record's body is valid
// UTF-8 within banner.MaxBody and its title bounded.
func FuzzPageEvidence(f *testing.F) {
	f.Add("text/html", []byte(archerAX50Page))
	f.Add("text/html; charset=Shift_JIS", []byte("<title>\x83\x8d\x83\x57</title>"))
	f.Add("text/html; charset=utf-16", []byte("\xff\xfe<\x00t\x00"))
	f.Add("", []byte("<title>"+strings.Repeat("\xe3\x81", 3000)))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var h banner.HTTP
		pageEvidence(&h, 200, map[string][]string{"Content-Type": {contentType}}, body)
		if !utf8.ValidString(h.Body) || len(h.Body) > banner.MaxBody || !utf8.ValidString(h.Title) || len(h.Title) > maxTitle {
			t.Errorf("body %d bytes (valid %v), title %d bytes (valid %v)", len(h.Body), utf8.ValidString(h.Body), len(h.Title), utf8.ValidString(h.Title))
		}
	})
}
