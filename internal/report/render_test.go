package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestCatalogs: every message exists in every language, with the same
// arguments (each used with the same verb).
func TestCatalogs(t *testing.T) {
	t.Parallel()
	en := catalogs[English]
	for _, lang := range Langs {
		msgs := catalogs[lang]
		if msgs == nil {
			t.Fatalf("no catalogue for %s", lang)
		}
		for key := range en {
			if _, ok := msgs[key]; !ok {
				t.Errorf("%s: no message %q", lang, key)
			}
		}
		for key, m := range msgs {
			e, ok := en[key]
			if !ok {
				t.Errorf("%s: message %q is not in English", lang, key)
				continue
			}
			if m == "" {
				t.Errorf("%s: message %q is empty", lang, key)
			}
			if got, want := verbs(m), verbs(e); !slices.Equal(got, want) {
				t.Errorf("%s: message %q takes %v, English takes %v", lang, key, got, want)
			}
		}
	}
}

// numberFirst are the English sentences that open with a formatted number
// ("1,234 packets (…) carried …"): a digit needs no capital.
var numberFirst = map[string]bool{"mir.text": true}

// TestEnglishSentencesStartWithACapital: every English message that is a
// full sentence (it ends with a full stop, perhaps before a format verb that
// appends another sentence) starts with a capital letter. A sentence may not
// open with a format verb, whose case the catalogue does not control ("the
// previous quarter (…)"), unless the verb is a number (numberFirst).
func TestEnglishSentencesStartWithACapital(t *testing.T) {
	t.Parallel()
	sentences := 0
	for key, m := range catalogs[English] {
		text := strings.TrimSpace(m)
		if !strings.HasSuffix(strings.TrimRightFunc(verbRE.ReplaceAllString(text, ""), unicode.IsSpace), ".") {
			continue
		}
		sentences++
		if loc := verbRE.FindStringIndex(text); loc != nil && loc[0] == 0 {
			if !numberFirst[key] {
				t.Errorf("message %q starts with a format verb: %q", key, m)
			}
			continue
		}
		if first, _ := utf8.DecodeRuneInString(text); !unicode.IsUpper(first) {
			t.Errorf("message %q does not start with a capital: %q", key, m)
		}
	}
	if sentences < 25 {
		t.Errorf("found %d sentences in the English catalogue, want at least 25", sentences)
	}
}

var verbRE = regexp.MustCompile(`%(\[(\d+)\])?([a-z%])`)

// verbs lists a format's arguments as "index:verb", sorted and unique.
func verbs(format string) []string {
	var out []string
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(format, -1) {
		if m[3] == "%" {
			continue
		}
		i := next
		if m[2] != "" {
			i, _ = strconv.Atoi(m[2])
		}
		next = i + 1
		out = append(out, fmt.Sprintf("%d:%s", i, m[3]))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestLocale: numbers and dates in both languages.
func TestLocale(t *testing.T) {
	t.Parallel()
	q3, _ := period.Parse("2024Q3")
	july, _ := period.Parse("2024-07")
	days, _ := period.ParseRange("2024-07-01", "2024-07-10")
	hours, _ := period.ParseRange("2024-07-01T12:00:00Z", "2024-07-02T06:30:00Z")
	for _, tt := range []struct {
		lang Lang
		got  func(l locale) string
		want string
	}{
		{English, func(l locale) string { return l.Int(1234567) }, "1,234,567"},
		{Japanese, func(l locale) string { return l.Int(1234567) }, "1,234,567"},
		{English, func(l locale) string { return l.Int(999) }, "999"},
		{English, func(l locale) string { return l.Float(-12345.678, 1) }, "-12,345.7"},
		{English, func(l locale) string { return l.Pct(0.1234) }, "12.3%"},
		{English, func(l locale) string { return l.Pct(0.0001) }, "<0.1%"},
		{English, func(l locale) string { return l.Change(110, 100) }, "+10.0%"},
		{English, func(l locale) string { return l.Change(90, 100) }, "−10.0%"},
		{English, func(l locale) string { return l.Change(5, 0) }, "new"},
		{Japanese, func(l locale) string { return l.Change(5, 0) }, "新規"},
		{English, func(l locale) string { return l.Change(0, 0) }, "—"},
		{English, func(l locale) string { return l.Date(july.Start) }, "1 July 2024"},
		{Japanese, func(l locale) string { return l.Date(july.Start) }, "2024年7月1日"},
		{Japanese, func(l locale) string { return l.Month(july.Start) }, "2024年7月"},
		{English, func(l locale) string { return l.Period(q3) }, "2024 Q3 (July–September 2024)"},
		{Japanese, func(l locale) string { return l.Period(q3) }, "2024年第3四半期（7月〜9月）"},
		{English, func(l locale) string { return l.PeriodShort(q3.Previous()) }, "2024 Q2"},
		{English, func(l locale) string { return l.Period(july) }, "July 2024"},
		{English, func(l locale) string { return l.Period(days) }, "1 July 2024 – 10 July 2024"},
		{Japanese, func(l locale) string { return l.Period(days) }, "2024年7月1日〜2024年7月10日"},
		{English, func(l locale) string { return l.Period(hours) }, "2024-07-01 12:00 – 2024-07-02 06:30 UTC"},
		{English, func(l locale) string { return l.N(1, "sensor") }, "1 sensor"},
		{English, func(l locale) string { return l.N(6, "sensor") }, "6 sensors"},
		{Japanese, func(l locale) string { return l.N(6, "sensor") }, "センサー6台"},
	} {
		if got := tt.got(newLocale(tt.lang)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.lang, got, tt.want)
		}
	}
}

// render builds and renders the report of p from the fixture's store.
func render(t *testing.T, st Store, p period.Period, lang Lang) (*Data, *document) {
	t.Helper()
	d, err := Build(t.Context(), st, p, generated)
	if err != nil {
		t.Fatal(err)
	}
	return d, renderData(t, d, lang)
}

// renderData renders a report's data.
func renderData(t *testing.T, d *Data, lang Lang) *document {
	t.Helper()
	doc, err := renderDoc(d, lang, testCharter(t, lang))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// testCharter is the charter of lang with the fonts of the machine.
func testCharter(t *testing.T, lang Lang) *charter {
	t.Helper()
	ch, _, err := newCharter(lang, "", CJKFonts)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestGolden: the Markdown of the fixture's 2024Q3 report in both
// languages (go test ./internal/report -run Golden -update rewrites
// testdata/). Its numbers are those TestNumbersMatchTruth checks.
func TestGolden(t *testing.T) {
	t.Parallel()
	st, _, _ := theFixture(t)
	q3, _ := period.Parse("2024Q3")
	for _, lang := range Langs {
		_, doc := render(t, st, q3, lang)
		md := markdown(doc, "report-"+string(lang)+"-")
		checkText(t, string(lang), md)
		golden(t, "report-2024Q3-"+string(lang)+".md", md)
		if figs := doc.figures(); len(figs) != 3 {
			t.Errorf("%s: %d figures, want 3", lang, len(figs))
		}
	}
}

func golden(t *testing.T, name string, got []byte) { testenv.Golden(t, *update, name, got) }

// checkText fails for a missing message and for text of the other
// language (Japanese script in an English report).
func checkText(t *testing.T, what string, text []byte) {
	t.Helper()
	if m := regexp.MustCompile(`![a-z.]+!`).Find(text); m != nil {
		t.Errorf("%s: message %s missing from the catalogue", what, m)
	}
	if bytes.Contains(text, []byte("%!")) {
		t.Errorf("%s: a message has the wrong arguments: %q", what, text[bytes.Index(text, []byte("%!")):][:60])
	}
	if strings.HasPrefix(what, "en") && regexp.MustCompile(`\p{Han}|\p{Hiragana}|\p{Katakana}`).Match(text) {
		t.Errorf("%s: Japanese text in an English report", what)
	}
}

// TestHTMLSelfContained: one file, nothing fetched: style inline, figures
// as SVG data: URIs, no remote URL anywhere (the SVG inside included).
func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	st, _, _ := theFixture(t)
	q3, _ := period.Parse("2024Q3")
	for _, lang := range Langs {
		_, doc := render(t, st, q3, lang)
		page, err := htmlReport(doc)
		if err != nil {
			t.Fatal(err)
		}
		checkText(t, string(lang)+" html", page)
		// The attribute's + and = are escaped as character references.
		imgs := regexp.MustCompile(`<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"`).FindAllSubmatch([]byte(html.UnescapeString(string(page))), -1)
		if len(imgs) != 3 {
			t.Errorf("%s: %d inline SVG figures, want 3", lang, len(imgs))
		}
		for _, m := range imgs {
			svg, err := base64.StdEncoding.DecodeString(string(m[1]))
			if err != nil || !bytes.Contains(svg, []byte("<svg")) {
				t.Errorf("%s: a figure is not an SVG: %v", lang, err)
			}
			// The SVG's namespaces are names, not fetched; nothing else may
			// be a URL.
			rest := regexp.MustCompile(`xmlns(:xlink)?="http://www\.w3\.org/[0-9]+/(svg|xlink)"`).ReplaceAll(svg, nil)
			if bytes.Contains(rest, []byte("http")) {
				t.Errorf("%s: a figure refers to a URL", lang)
			}
		}
		for _, bad := range []string{`src="http`, `href="http`, `url(`, `@import`, `<script`, `<link`} {
			if bytes.Contains(page, []byte(bad)) {
				t.Errorf("%s: the page has %q", lang, bad)
			}
		}
		if !bytes.Contains(page, []byte(`<html lang="`+string(lang)+`">`)) {
			t.Errorf("%s: the page does not declare its language", lang)
		}
	}
}

// TestNoData: a period without packets gives a clearly worded section
// each, and no figure; so does a store without sensors.
func TestNoData(t *testing.T) {
	t.Parallel()
	st, _, _ := theFixture(t)
	empty, _ := period.Parse("2023Q1")
	for _, lang := range Langs {
		_, doc := render(t, st, empty, lang)
		md := markdown(doc, "x-")
		checkText(t, string(lang)+" no data", md)
		if figs := doc.figures(); len(figs) != 0 {
			t.Errorf("%s: %d figures for a period without data", lang, len(figs))
		}
		nodata := newLocale(lang).T("nodata", newLocale(lang).Period(empty))
		for _, s := range doc.Sections {
			text := markdown(&document{Lang: lang, Sections: []section{s}}, "x-")
			if !bytes.Contains(text, []byte(mdText(nodata))) {
				t.Errorf("%s: section %q does not say the period has no data:\n%s", lang, s.Title, text)
			}
		}
	}
	if t.Failed() {
		return
	}
	// A quarter whose previous quarter has no data: no change, no
	// previous rank.
	q2, _ := period.Parse("2024Q2")
	d, doc := render(t, st, q2, English)
	md := string(markdown(doc, "x-"))
	for _, want := range []string{"There is no data for the previous quarter (2024 Q1): no change is computed.",
		"There is no data for the previous quarter (2024 Q1): previous ranks and changes are not shown."} {
		if !strings.Contains(md, want) {
			t.Errorf("2024Q2 report does not say %q", want)
		}
	}
	if d.Summary.Previous.Packets != 0 || len(doc.figures()) != 3 || strings.Contains(md, "| new |") {
		t.Errorf("2024Q2: previous packets %d, %d figures; want 0, 3 and no port marked new", d.Summary.Previous.Packets, len(doc.figures()))
	}
}

// TestFontMissing: without a Japanese font, the charts of a Japanese
// report are labelled in English, with a warning; a font file given but
// missing is an error.
func TestFontMissing(t *testing.T) {
	t.Parallel()
	ch, warning, err := newCharter(Japanese, "", []string{"/nonexistent/ipag.ttf"})
	if err != nil || !strings.Contains(warning, "no Japanese font") || !strings.Contains(warning, "English") || ch.l.lang != English {
		t.Errorf("newCharter(ja, no font) = %v, %q, %v; want English labels and a warning", ch, warning, err)
	}
	if _, _, err := newCharter(Japanese, "/nonexistent/font.ttf", CJKFonts); err == nil {
		t.Error("newCharter(ja, missing --font) succeeded; want an error")
	}
	if _, _, err := newCharter(Japanese, "render_test.go", CJKFonts); err == nil || !strings.Contains(err.Error(), "render_test.go") {
		t.Errorf("newCharter(ja, a file that is no font): %v; want an error naming it", err)
	}
	if ch, warning, err := newCharter(English, "", nil); err != nil || warning != "" || ch.l.lang != English {
		t.Errorf("newCharter(en) = %v, %q, %v", ch, warning, err)
	}
	// A chart without data is never drawn.
	if _, _, err := ch.draw(chart{Categories: []string{"23/TCP"}, Series: []series{{Name: "x", Values: []float64{0}}}}); err == nil {
		t.Error("drawing a chart of zeros succeeded; want an error")
	}
}
