package report

import (
	"bytes"
	"encoding/base64"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
	"github.com/nightjar-telescope/nightjar/internal/web/webtest"
)

// extraFixture is the fixture's alert, stored once in the fixture's store.
var extraFixture struct {
	once  sync.Once
	alert store.Alert
	err   error
}

// storedAlert returns the fixture alert (localChangeAlert of the
// fixture's 2024Q3) as the store gives it back by its ID.
func storedAlert(t *testing.T) (*duckdb.Store, store.Alert) {
	t.Helper()
	st, _, _ := theFixture(t)
	extraFixture.once.Do(func() {
		a := localChangeAlert(t, st, "2024Q3")
		ids, err := st.PutAlerts(t.Context(), []store.AlertWrite{{Alert: a}}, nil)
		if err != nil {
			extraFixture.err = err
			return
		}
		got, err := st.Alerts(t.Context(), store.AlertQuery{IDs: ids})
		if err == nil && len(got) != 1 {
			err = os.ErrNotExist
		}
		if err == nil {
			extraFixture.alert = got[0]
		}
		extraFixture.err = err
	})
	if extraFixture.err != nil {
		t.Fatalf("store the fixture alert: %v", extraFixture.err)
	}
	return st, extraFixture.alert
}

// localChangeAlert is the alert the engine would store for the port
// prominent at one sensor in the quarter q of st (section 5's first
// single port): its peak hour at that sensor against the median of the
// same hour of the four weeks before, the hours around the peak of at
// least three times their baseline, and the other sensors' figures in
// the peak hour. Every figure comes from the store's hourly port series.
func localChangeAlert(t *testing.T, st Store, q string) store.Alert {
	t.Helper()
	p, err := period.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(t.Context(), st, p, generated)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Single) == 0 {
		t.Fatalf("%s has no port prominent at one sensor to alert on", q)
	}
	sensor, port := d.Single[0].Sensor, d.Single[0].Port
	ps, err := st.PortSeries(t.Context(), store.PortSeriesQuery{Period: p, Resolution: store.Hour, Ports: []string{port}, By: store.BySensor})
	if err != nil {
		t.Fatal(err)
	}
	const weeks, week = 4, 7 * 24
	measure := func(s []uint64, i int) (obs, base, spread, score float64) {
		var samples, dev []float64
		for k := 1; k <= weeks; k++ {
			samples = append(samples, float64(s[i-k*week]))
		}
		base = medianOf(samples)
		for _, v := range samples {
			dev = append(dev, math.Abs(v-base))
		}
		spread = max(1.4826*medianOf(dev), math.Sqrt(base+1), base/10)
		obs = float64(s[i])
		return obs, base, spread, math.Round((obs-base)/spread*100) / 100
	}
	var own []uint64
	for _, s := range ps.Series {
		if s.Sensor == sensor {
			own = s.Packets
		}
	}
	peak, best := -1, 0.0
	for i := weeks * week; i < len(own); i++ {
		if _, _, _, score := measure(own, i); score > best {
			peak, best = i, score
		}
	}
	if peak < 0 {
		t.Fatalf("%s at %s never rose above its baseline", port, sensor)
	}
	surging := func(i int) bool {
		obs, base, _, _ := measure(own, i)
		return i >= weeks*week && i < len(own) && obs > 0 && obs >= 3*max(base, 1)
	}
	first, last := peak, peak
	for first-1 >= weeks*week && surging(first-1) {
		first--
	}
	for last+1 < len(own) && surging(last+1) {
		last++
	}
	obs, base, spread, score := measure(own, peak)
	a := store.Alert{Detector: alerts.DetectLocalChange, Scope: store.Scope{Sensor: sensor, Port: port}, State: store.AlertOpen,
		Severity: store.SeverityWarning, Start: ps.Buckets[first], LastSeen: ps.Buckets[last], Updated: ps.Buckets[last].Add(time.Hour),
		Summary: port + " at " + sensor + " (surge)",
		Evidence: store.Evidence{Measure: "packets per hour", Hour: ps.Buckets[peak], Observed: obs, Baseline: base, Spread: spread, Score: score,
			Method: "median of the same hour of the previous 4 weeks, spread: scaled MAD"}}
	for i := first; i <= last; i++ {
		o, b, _, _ := measure(own, i)
		a.Evidence.Series = append(a.Evidence.Series, store.EvidencePoint{Hour: ps.Buckets[i], Observed: o, Baseline: b})
	}
	for _, s := range ps.Series {
		if s.Sensor != sensor {
			o, b, _, sc := measure(s.Packets, peak)
			a.Evidence.Others = append(a.Evidence.Others, store.PeerChange{Sensor: s.Sensor, Observed: o, Baseline: b, Score: sc})
		}
	}
	a.Link = alerts.Link(a)
	return a
}

func medianOf(v []float64) float64 {
	v = slices.Sorted(slices.Values(v))
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// renderExtraDoc builds and renders the extra issue of a.
func renderExtraDoc(t *testing.T, st Store, a store.Alert, lang Lang) (*Extra, *document) {
	t.Helper()
	x, err := BuildExtra(t.Context(), st, a, generated)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := renderExtra(x, lang, testCharter(t, lang))
	if err != nil {
		t.Fatal(err)
	}
	return x, doc
}

// svgData matches the figures' data: URIs in an HTML page.
var svgData = regexp.MustCompile(`data:image/svg\+xml;base64,[A-Za-z0-9+/=]+`)

// TestExtraGolden: the extra issue of the fixture alert, Markdown and
// HTML in both languages (go test ./internal/report -run ExtraGolden
// -update rewrites testdata/; the HTML's figure is left out of it, and
// checked to be an SVG). The figures it shows are checked against the
// store by TestExtraFigures.
func TestExtraGolden(t *testing.T) {
	t.Parallel()
	st, a := storedAlert(t)
	for _, lang := range Langs {
		_, doc := renderExtraDoc(t, st, a, lang)
		md := markdown(doc, "extra-"+string(lang)+"-")
		checkText(t, "extra "+string(lang), md)
		golden(t, "extra-"+string(lang)+".md", md)
		if figs := doc.figures(); len(figs) != 1 {
			t.Errorf("%s: %d figures, want 1", lang, len(figs))
		}
		page, err := htmlReport(doc)
		if err != nil {
			t.Fatal(err)
		}
		checkText(t, "extra "+string(lang)+" html", page)
		uris := svgData.FindAll([]byte(html.UnescapeString(string(page))), -1)
		if len(uris) != 1 {
			t.Fatalf("%s: %d inline figures, want 1", lang, len(uris))
		}
		svg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(uris[0]), "data:image/svg+xml;base64,"))
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s: the figure is not an SVG: %v", lang, err)
		}
		golden(t, "extra-"+string(lang)+".html", svgData.ReplaceAll(page, []byte("data:image/svg+xml;base64,FIGURE")))
	}
}

// TestExtraFigures: the draft's figures are the store's: the alert's own
// evidence, the sensors' packets of the alert's hours, the chart's
// hours, and the top sources of the alert's sensor in those hours.
func TestExtraFigures(t *testing.T) {
	t.Parallel()
	st, a := storedAlert(t)
	x, doc := renderExtraDoc(t, st, a, English)
	md := string(markdown(doc, "x-"))
	if a.ID == 0 || a.Scope.Sensor == "" || a.Scope.Port == "" || len(a.Evidence.Series) == 0 || len(a.Evidence.Others) != 5 {
		t.Fatalf("fixture alert %+v; want a stored local change at one sensor, with its hours and five peers", a)
	}
	// The sensors' packets in the alert's hours add up to the port
	// series' and the top ports' answers.
	ps, err := st.PortSeries(t.Context(), store.PortSeriesQuery{Period: x.Hours, Resolution: store.Day, Ports: []string{a.Scope.Port}, By: store.ByFleet})
	if err != nil {
		t.Fatal(err)
	}
	var want, got uint64
	for _, n := range ps.Series[0].Packets {
		want += n
	}
	for _, s := range x.Sensors {
		got += s.PortPackets
	}
	if got != want || want == 0 {
		t.Errorf("packets to %s in the alert's hours: sensors sum to %d, the fleet's series says %d", a.Scope.Port, got, want)
	}
	in, out := x.InScope(), x.OutOfScope()
	if len(in) != 1 || in[0].Name != a.Scope.Sensor || in[0].Peak == nil || in[0].Peak.Observed != a.Evidence.Observed || len(out) != 5 {
		t.Errorf("in scope %+v, out %d; want the alert's sensor with its evidence, and the five others", in, len(out))
	}
	for _, s := range out {
		if s.Peak == nil {
			t.Errorf("sensor %s has no peak-hour figures, although the evidence compared it", s.Name)
		}
	}
	// The chart: every hour of the window, the alert's hours with their
	// baseline, the peak's observation the evidence's.
	c := x.Chart
	if len(c.Hours) != int(c.Window.Duration()/time.Hour) || !c.Window.Start.Equal(x.Hours.Start.Add(-ExtraBefore)) || c.Measure != "packets per hour" {
		t.Errorf("chart window %s with %d hours, measure %q", c.Window, len(c.Hours), c.Measure)
	}
	baselines := 0
	for i, h := range c.Hours {
		if !math.IsNaN(c.Baseline[i]) {
			baselines++
		}
		if h.Equal(a.Evidence.Hour) && c.Observed[i] != a.Evidence.Observed {
			t.Errorf("chart at the peak hour: %v, the evidence observed %v", c.Observed[i], a.Evidence.Observed)
		}
	}
	if baselines != len(a.Evidence.Series) {
		t.Errorf("%d hours with a baseline, the evidence has %d", baselines, len(a.Evidence.Series))
	}
	// The top sources are the store's for the alert's sensor and hours;
	// the first sent packets to the port.
	top, err := st.TopSources(t.Context(), store.TopSourcesQuery{Period: x.Hours, N: ExtraSourcesTopN, Sensors: []string{a.Scope.Sensor}})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Sources.Top) != len(top) || len(top) == 0 || x.Sources.Days || !x.Sources.PortKnown || x.Sources.Top[0].IP != top[0].IP {
		t.Errorf("sources %+v; want the store's top sources %+v", x.Sources, top)
	}
	var toPort uint64
	for _, s := range x.Sources.Top {
		if s.ToPort > s.Packets {
			t.Errorf("source %s: %d packets to the port of %d", s.IP, s.ToPort, s.Packets)
		}
		toPort += s.ToPort
	}
	if toPort == 0 || toPort > in[0].PortPackets {
		t.Errorf("the top sources sent %d packets to %s, the sensor received %d", toPort, a.Scope.Port, in[0].PortPackets)
	}
	l := newLocale(English)
	for _, want := range []string{"# " + mdText(l.T("x.title", a.Scope.Port, "sensor "+a.Scope.Sensor, l.Date(a.Start))),
		"| " + mdText(l.T("x.key.observed")) + " | " + l.Int(uint64(a.Evidence.Observed)) + " |",
		"| " + mdText(l.T("x.key.link")) + " | " + mdText(a.Link) + " |",
		"| " + a.Scope.Sensor + " | " + in[0].Group + " | yes | " + l.Int(in[0].Packets) + " | " + l.Int(in[0].PortPackets) + " |",
		"| #1 | " + top[0].IP + " | " + l.Int(top[0].Packets) + " |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft does not have %q", want)
		}
	}
}

// TestExtraOtherScopes: a group's alert and a tag's alert (no port) are
// drafted from the same questions: their sensors, a chart of the tag's
// hourly packets, no port column.
func TestExtraOtherScopes(t *testing.T) {
	t.Parallel()
	st, a := storedAlert(t)
	group := a
	group.Scope = store.Scope{Group: "Japan", Port: a.Scope.Port}
	group.Evidence.Others = []store.PeerChange{{Group: "overseas", Observed: 3, Baseline: 2, Score: 0.5}}
	x, doc := renderExtraDoc(t, st, group, Japanese)
	md := string(markdown(doc, "x-"))
	checkText(t, "group ja", []byte(md))
	if n := len(x.InScope()); n != 3 || x.Groups[0].InScope != 3 || x.Groups[1].Peak == nil || x.Groups[1].Peak.Observed != 3 {
		t.Errorf("group alert: %d sensors in scope, groups %+v", n, x.Groups)
	}
	if !strings.Contains(md, "変化はグループJapanの") || !strings.Contains(md, "他のグループ（overseas：センサー3台）では見られません。") {
		t.Errorf("group alert:\n%s", md)
	}

	tag := a
	tag.Detector, tag.Scope = alerts.DetectBackscatter, store.Scope{Sensor: a.Scope.Sensor, Tag: "backscatter"}
	tag.Evidence.Measure = "backscatter packets per hour"
	x, doc = renderExtraDoc(t, st, tag, English)
	md = string(markdown(doc, "x-"))
	checkText(t, "tag en", []byte(md))
	tc, err := st.TagCounts(t.Context(), store.TagCountsQuery{Period: x.Chart.Window, Sensors: []string{a.Scope.Sensor}})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, v := range x.Chart.Observed {
		sum += v
	}
	if sum != float64(tc.Tags["backscatter"]) || x.Chart.Measure != "backscatter packets per hour" || x.Sources.PortKnown {
		t.Errorf("tag chart sums to %v, the store's tag counts say %d; measure %q", sum, tc.Tags["backscatter"], x.Chart.Measure)
	}
	for _, want := range []string{"Extra issue: the backscatter tag at sensor " + a.Scope.Sensor, "backscatter-tagged packets per hour",
		"backscatter burst (a DoS victim)"} {
		if !strings.Contains(md, want) {
			t.Errorf("tag alert: no %q in\n%s", want, md)
		}
	}
	if strings.Contains(md, "| To ") {
		t.Error("a tag alert's draft has a port column")
	}
}

// TestBuildExtraBadAlert: an alert the store cannot place is refused
// with a reason.
func TestBuildExtraBadAlert(t *testing.T) {
	t.Parallel()
	st, a := storedAlert(t)
	for _, tt := range []struct {
		name string
		edit func(*store.Alert)
		want string
	}{
		{"unknown sensor", func(a *store.Alert) { a.Scope.Sensor = "gone-1" }, `its sensor "gone-1" is not in the store`},
		{"unknown group", func(a *store.Alert) { a.Scope = store.Scope{Group: "Mars"} }, `its group "Mars" is not in the store`},
		{"no hours", func(a *store.Alert) { a.LastSeen = a.Start.Add(-time.Hour) }, "no hours"},
		{"bad port", func(a *store.Alert) { a.Scope.Port = "99999/TCP" }, "port"},
	} {
		b := a
		tt.edit(&b)
		if _, err := BuildExtra(t.Context(), st, b, generated); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error with %q", tt.name, err, tt.want)
		}
	}
}

// TestExtraCatalog: every detector has its description in both
// languages.
func TestExtraCatalog(t *testing.T) {
	t.Parallel()
	for _, lang := range Langs {
		for _, d := range alerts.Detectors {
			if !newLocale(lang).has("det." + d) {
				t.Errorf("%s: no description of the detector %q", lang, d)
			}
		}
	}
}

// TestExtraInChromium writes the fixture alert's extra issue in every
// format and both languages with the real headless Chromium, then opens
// the HTML in it, as TestInChromium does for the quarterly report.
func TestExtraInChromium(t *testing.T) {
	t.Parallel()
	exe := testenv.Tool(t, "chromium")
	if !slices.ContainsFunc(CJKFonts, func(p string) bool { _, err := os.Stat(p); return err == nil }) {
		testenv.Missing(t, "no Japanese font for the charts (scripts/deps.sh installs fonts-ipafont-gothic): looked for %s", strings.Join(CJKFonts, ", "))
	}
	st, a := storedAlert(t)
	dir := t.TempDir()
	b := webtest.New(t)
	for _, lang := range Langs {
		name := "alert-" + string(lang)
		res, err := WriteExtra(t.Context(), st, a, Config{Lang: lang, Formats: Formats, Dir: dir, Name: name, Chromium: exe, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, name)
		want := []string{base + ".html", base + ".md", base + "-fig1-chart.svg", base + "-fig1-chart.png", base + ".pdf"}
		if !slices.Equal(res.Files, want) || res.NoPDF != "" || len(res.Warnings) > 0 {
			t.Errorf("%s: wrote %q (no PDF: %q, warnings %q), want %q", lang, res.Files, res.NoPDF, res.Warnings, want)
		}
		pdf := readFile(t, base+".pdf")
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/Type /Page")) < 2 {
			t.Errorf("%s: %s is not a PDF of pages (%d bytes)", lang, base+".pdf", len(pdf))
		}
		checkChartImage(t, base+"-fig1-chart.png", readFile(t, base+"-fig1-chart.png"))
		page := "file://" + base + ".html"
		b.Do(t, "open "+page, chromedp.Navigate(page))
		if !webtest.Eval[bool](t, b, `[...document.images].length === 1 && [...document.images].every((i) => i.complete && i.naturalWidth > 0)`) {
			t.Errorf("%s: the figure did not load", lang)
		}
		shot, err := chromedp.Run(b.Context(), chromedp.Screenshot(chromedp.CSS("figure.chart img")))
		if err != nil {
			t.Fatalf("%s: screenshot of the chart: %v", lang, err)
		}
		checkChartImage(t, string(lang)+" chart", shot)
		b.CheckConsole(t, page)
		for _, r := range b.Requests() {
			if !strings.HasPrefix(r, "file://") && !strings.HasPrefix(r, "data:") {
				t.Errorf("%s: the page requested %s", lang, r)
			}
		}
	}
}
