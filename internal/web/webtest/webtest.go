// Package webtest drives the dashboard in a real headless Chromium (Debian's
// chromium, through github.com/chromedp/chromedp v0.23) for end-to-end
// tests: it opens pages, waits until they have loaded their data, checks
// that their charts are drawn with data, that the console has no error and
// that no request leaves the server, and saves screenshots as artifacts.
// Tests of any package that serves the UI (nightjar serve, nightjar demo)
// use it; only test binaries import it.
//
// A missing chromium skips the test with a message, or fails it when
// NIGHTJAR_REQUIRE_INTEGRATION=1 (package testenv).
package webtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// ArtifactsEnv names the directory where screenshots are saved (in a
// subdirectory per test); without it they go to the test's temporary
// directory.
const ArtifactsEnv = "NIGHTJAR_ARTIFACTS"

// Browser is a headless Chromium with one tab. It records every console
// message and every request of its pages.
type Browser struct {
	ctx       context.Context
	artifacts string

	mu       sync.Mutex
	console  []chromedp.ConsoleMessage
	requests []string
}

// New starts Chromium for the test (stopped by t.Cleanup), with the flags
// this machine needs: no sandbox (tests run as root), no GPU, and no
// background connections to Google (the network is closed here; Chromium
// would otherwise try at every start).
func New(t testing.TB) *Browser {
	t.Helper()
	exe := testenv.Tool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	b := &Browser{ctx: ctx, artifacts: artifactDir(t)}
	console := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	return b
}

func artifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv(ArtifactsEnv)
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Context is the tab's context, for chromedp actions of a test's own.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs chromedp actions in the tab, with a time limit.
func (b *Browser) Do(t testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value.
func Eval[T any](t testing.TB, b *Browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Open navigates to a page and waits until it has loaded its data
// (body[data-ready], set by the pages' run()); a page that reports an
// error fails the test with its message.
func (b *Browser) Open(t testing.TB, u string) {
	t.Helper()
	b.Do(t, "open "+u, chromedp.Navigate(u))
	b.WaitReady(t)
}

// WaitReady waits for the current page's data.
func (b *Browser) WaitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	state, err := chromedp.Run(ctx, chromedp.Poll[string](`document.readyState === 'complete' && document.body && document.body.dataset.ready`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(50*time.Second)))
	if err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		t.Fatalf("%s: the page did not finish loading its data: %v", loc, err)
	}
	if state != "ok" {
		msg := Eval[string](t, b, `(document.querySelector('#status') || {}).textContent || ''`)
		t.Fatalf("%s: the page reports an error: %s", b.Location(t), msg)
	}
}

// Location is the tab's URL.
func (b *Browser) Location(t testing.TB) string {
	t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Screenshot saves a PNG of the whole page as <artifacts>/<name>.png and
// logs its path.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Follow runs an action that loads another page — a click on a link or
// on a form's submit button — and waits for that page's load event.
func (b *Browser) Follow(t testing.TB, what string, trigger chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Click clicks the first element that matches a CSS selector and waits for
// the page it loads.
func (b *Browser) Click(t testing.TB, css string) {
	t.Helper()
	b.Follow(t, "click "+css, chromedp.Click(chromedp.CSS(css)))
}

// Login fills and submits the login form.
func (b *Browser) Login(t testing.TB, base, name, password string) {
	t.Helper()
	b.Do(t, "log in as "+name,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("login-name"), name),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
	)
	b.Click(t, "#login-submit")
}

// ConsoleProblems returns the errors, warnings and uncaught exceptions the
// pages wrote to the console since the last call.
func (b *Browser) ConsoleProblems() []string {
	// Messages arrive asynchronously; give the last ones a moment.
	time.Sleep(200 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
			where := m.URL
			if where != "" {
				where = fmt.Sprintf(" (%s:%d)", where, m.Line+1)
			}
			out = append(out, m.String()+where)
		}
	}
	b.console = nil
	return out
}

// CheckConsole fails the test for every console problem since the last
// check.
func (b *Browser) CheckConsole(t testing.TB, page string) {
	t.Helper()
	for _, p := range b.ConsoleProblems() {
		t.Errorf("%s: console: %s", page, p)
	}
}

// Requests returns the URLs the pages requested so far.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// CheckRequestsLocal fails the test for any request that did not go to
// base's origin (data: and blob: URLs stay in the page).
func (b *Browser) CheckRequestsLocal(t testing.TB, base string) {
	t.Helper()
	origin, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	reqs := b.Requests()
	if len(reqs) == 0 {
		t.Error("the browser recorded no request at all")
	}
	for _, r := range reqs {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("request to an unparsable URL %q", r)
			continue
		}
		if u.Scheme == "data" || u.Scheme == "blob" {
			continue
		}
		if u.Scheme != origin.Scheme || u.Host != origin.Host {
			t.Errorf("the page requested %s: only %s may be contacted", r, origin.Host)
		}
	}
}

// Chart is what the page's chart elements hold: an ECharts instance's
// series and axes and what its canvas shows, or the "no data" message.
type Chart struct {
	ID     string `json:"id"`
	Empty  bool   `json:"empty"`
	Text   string `json:"text"` // the message of an empty chart
	Series int    `json:"series"`
	// Points counts the series' data points above zero.
	Points int    `json:"points"`
	YName  string `json:"y_name"`
	XType  string `json:"x_type"`
	Legend int    `json:"legend"`
	// Painted is the share of the canvas' sampled pixels that are not
	// transparent; Colors the distinct colors among them.
	Painted float64 `json:"painted"`
	Colors  int     `json:"colors"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
}

const chartsJS = `[...document.querySelectorAll('.chart')].map((el) => {
  const c = window.echarts && echarts.getInstanceByDom(el);
  if (!c) return { id: el.id, empty: el.classList.contains('empty'), text: el.textContent.trim() };
  const o = c.getOption();
  const points = o.series.reduce((n, s) => n + s.data.filter((v) => (Array.isArray(v) ? v[1] : v) > 0).length, 0);
  const canvas = el.querySelector('canvas');
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let sampled = 0, painted = 0;
  const colors = new Set();
  for (let i = 0; i < d.length; i += 4 * 3) {
    sampled++;
    if (d[i + 3] > 0) { painted++; colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
  }
  const axis = (a) => (Array.isArray(a) ? a[0] : a) || {};
  return {
    id: el.id, empty: false, text: '', series: o.series.length, points,
    y_name: axis(o.yAxis).name || axis(o.xAxis).name || '', x_type: axis(o.xAxis).type || '',
    legend: o.legend && o.legend[0] && o.legend[0].data ? o.legend[0].data.length : 0,
    painted: painted / sampled, colors: colors.size, width: canvas.width, height: canvas.height,
  };
})`

// Charts returns the page's charts.
func (b *Browser) Charts(t testing.TB) []Chart {
	t.Helper()
	return Eval[[]Chart](t, b, chartsJS)
}

// CheckCharts fails the test unless the page has charts and each is drawn
// with data: series with points above zero, a named value axis (units), a
// legend, and a canvas with drawn pixels of several colors (axes, labels,
// lines). It returns the charts.
func (b *Browser) CheckCharts(t testing.TB, page string) []Chart {
	t.Helper()
	charts := b.Charts(t)
	if len(charts) == 0 {
		t.Errorf("%s: no chart", page)
	}
	for _, c := range charts {
		if err := c.drawn(); err != nil {
			t.Errorf("%s: chart #%s: %v (%+v)", page, c.ID, err, c)
		}
	}
	return charts
}

func (c Chart) drawn() error {
	switch {
	case c.Empty:
		return fmt.Errorf("shows no data: %q", c.Text)
	case c.Series == 0 || c.Points == 0:
		return errors.New("has no data points")
	case c.YName == "":
		return errors.New("its value axis has no name (unit)")
	case c.Legend == 0:
		return errors.New("has no legend")
	case c.Width < 100 || c.Height < 100:
		return fmt.Errorf("canvas is %dx%d", c.Width, c.Height)
	case c.Painted < 0.01 || c.Colors < 3:
		return fmt.Errorf("canvas looks blank: %.1f%% painted, %d colors", 100*c.Painted, c.Colors)
	}
	return nil
}

// CheckNoData fails the test unless every chart of the page shows the
// "no data for this period" message instead of a chart.
func (b *Browser) CheckNoData(t testing.TB, page string) {
	t.Helper()
	charts := b.Charts(t)
	if len(charts) == 0 {
		t.Errorf("%s: no chart element", page)
	}
	for _, c := range charts {
		if !c.Empty || !strings.Contains(strings.ToLower(c.Text), "no data") {
			t.Errorf("%s: chart #%s of an empty period: %+v, want the no-data message", page, c.ID, c)
		}
	}
}
