package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
	"github.com/nightjar-telescope/nightjar/internal/web/webtest"
)

var serveURL = regexp.MustCompile(`nightjar web UI: (\S+)`)

// startServe runs "nightjar serve ARGS" in-process and returns its URL
// (without the trailing slash); the test's cleanup stops it.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var stdout, stderr testenv.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d: %s", code, stderr.String())
		}
	})
	deadline := time.After(time.Minute)
	for {
		if m := serveURL.FindStringSubmatch(stdout.String()); m != nil {
			return strings.TrimSuffix(m[1], "/")
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited with %d before listening: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("serve did not print its URL within a minute: %s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dashboardNow is the instant the dashboard tests run at (nightjar --now):
// the middle of a month, so that today and this month have data. The
// calendar's edges have TestDefaultViewsInBrowser.
const dashboardNow = "2026-08-19T15:04:05Z"

// simulatedDB simulates a 6-sensor fleet's 90 days up to the instant now
// (so that "today" and "this month" have data), ingests it and returns the
// database and fleet files.
func simulatedDB(t *testing.T, packets int, now string) (db, fleetFile string) {
	t.Helper()
	dir := t.TempDir()
	pcap, fleetFile, db := filepath.Join(dir, "sim.pcap"), filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "--now", now, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile,
		"--days", "90", "--packets", fmt.Sprint(packets), "--seed", "7"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	return db, fleetFile
}

// TestServeListenRule: loopback by default; another address needs TLS or
// --insecure-listen.
func TestServeListenRule(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.duckdb")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", missing, "--listen", "0.0.0.0:0"}, "refusing to serve the web UI on a non-loopback address without TLS"},
		{[]string{"--db", missing, "--listen", ":0"}, "--insecure-listen"},
		{[]string{"--db", missing, "--listen", "[::]:0"}, "--tls-cert"},
		{[]string{"--db", missing, "--listen", "0.0.0.0:0", "--insecure-listen"}, "missing.duckdb does not exist"}, // past the rule
		{[]string{"--db", missing}, "missing.duckdb does not exist: create it with nightjar ingest"},
		{[]string{"--db", missing, "--tls-cert", "x.crt"}, "both --tls-cert and --tls-key"},
		{[]string{"--listen", "127.0.0.1:0"}, "--db PATH is required"},
		{[]string{"--db", missing, "--public-port-graphs"}, "needs --users"},
		{[]string{"--db", missing, "--heavy-queries", "0"}, "--heavy-queries 0: at least 1"},
	} {
		code, _, stderr := nightjar(t, append([]string{"serve"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q, want an error with %q", tc.args, code, stderr, tc.want)
		}
	}
	code, stdout, _ := nightjar(t, "serve", "--help")
	if code != 0 || !strings.Contains(stdout, "UNSAFE") || !strings.Contains(stdout, "127.0.0.1:8080") {
		t.Errorf("serve --help does not say the default address and that --insecure-listen is unsafe:\n%s", stdout)
	}
}

// TestServeTLS serves HTTPS on every interface and checks the session
// cookie is Secure there.
func TestServeTLS(t *testing.T) {
	db, _ := simulatedDB(t, 20_000, dashboardNow)
	dir := t.TempDir()
	// A certificate from the sensors' CA machinery is as good as any here.
	reg, err := pki.Init(filepath.Join(dir, "registry"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = reg
	certFile, keyFile := filepath.Join(dir, "registry", pki.CollectorCertFile), filepath.Join(dir, "registry", pki.CollectorKeyFile)
	users := filepath.Join(dir, "users.yaml")
	addUser(t, users, "alice", "admin", "alice-password")
	base := startServe(t, "--db", db, "--users", users, "--listen", "0.0.0.0:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("URL %s, want https", base)
	}
	base = "https://127.0.0.1:" + base[strings.LastIndex(base, ":")+1:]
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the test's own certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if token == nil {
		t.Fatalf("no login form over TLS: %s", body)
	}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"csrf": {string(token[1])}, "name": {"alice"}, "password": {"alice-password"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	found := false
	for _, c := range res.Cookies() {
		if c.Name == "nightjar_session" {
			found = true
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie over TLS %+v: want Secure, HttpOnly, SameSite=Strict", c)
			}
		}
	}
	if res.StatusCode != http.StatusSeeOther || !found {
		t.Errorf("login over TLS: %d, session cookie %v", res.StatusCode, found)
	}
}

// topPortsAPI is the part of /api/v1/top-ports the comparison table shows.
type topPortsAPI struct {
	Period  string `json:"period"`
	Sensors []struct {
		Sensor   string `json:"sensor"`
		Packets  uint64 `json:"packets"`
		TopPorts []struct {
			Rank         int    `json:"rank"`
			Port         string `json:"port"`
			PreviousRank int    `json:"previous_rank"`
		} `json:"top_ports"`
	} `json:"sensors"`
}

// sideBySideDOM is the comparison table as the page shows it.
type sideBySideDOM struct {
	Sensors []string   `json:"sensors"`
	Rows    [][]string `json:"rows"` // rank rows: the port of each sensor ("" for —)
	Packets []string   `json:"packets"`
}

const sideBySideJS = `(() => {
  const t = document.querySelector('#side-by-side');
  const sensors = [...t.querySelectorAll('thead th[data-sensor]')].map((th) => th.dataset.sensor);
  const rows = [...t.querySelectorAll('tbody tr:not(.total)')].map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => (td.querySelector('.port') || { textContent: '' }).textContent));
  const packets = [...t.querySelectorAll('tbody tr.total td')].map((td) => td.textContent);
  return { sensors, rows, packets };
})()`

// apiJSON fetches an API answer from inside the page (with its session).
func apiJSON[T any](t *testing.T, b *webtest.Browser, path string) T {
	t.Helper()
	raw := webtest.Eval[string](t, b, `fetch(`+jsString(path)+`).then((r) => r.ok ? r.text() : Promise.reject(new Error(r.status + ' ' + r.statusText)))`)
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// checkSideBySide compares the comparison page's table with the API.
func checkSideBySide(t *testing.T, b *webtest.Browser, query string) sideBySideDOM {
	t.Helper()
	dom := webtest.Eval[sideBySideDOM](t, b, sideBySideJS)
	api := apiJSON[topPortsAPI](t, b, "/api/v1/top-ports?top=10&"+query)
	if len(api.Sensors) == 0 || len(dom.Sensors) != len(api.Sensors) {
		t.Fatalf("%s: table has %d sensor columns, the API %d", query, len(dom.Sensors), len(api.Sensors))
	}
	cells := 0
	for i, s := range api.Sensors {
		if dom.Sensors[i] != s.Sensor {
			t.Errorf("%s: column %d is %q, the API's sensor %d is %q", query, i+1, dom.Sensors[i], i+1, s.Sensor)
		}
		if got, want := dom.Packets[i], analyze.Thousands(s.Packets); got != want {
			t.Errorf("%s: %s packets %q, want %q", query, s.Sensor, got, want)
		}
		for r := range dom.Rows {
			want := ""
			if r < len(s.TopPorts) {
				want = s.TopPorts[r].Port
			}
			if got := dom.Rows[r][i]; got != want {
				t.Errorf("%s: %s #%d is %q, the API says %q", query, s.Sensor, r+1, got, want)
			}
			if want != "" {
				cells++
			}
		}
		if len(s.TopPorts) > len(dom.Rows) {
			t.Errorf("%s: %s has %d ports in the API, the table %d rows", query, s.Sensor, len(s.TopPorts), len(dom.Rows))
		}
	}
	if cells < 10 {
		t.Errorf("%s: only %d filled cells", query, cells)
	}
	return dom
}

// TestDashboardInBrowser opens every page in headless Chromium over a
// simulated quarter: charts drawn with data, no console error, no request
// leaving the server, the comparison table equal to the API, the period
// picker changing the numbers, an empty period showing "no data", and an
// admin enrolling and revoking a sensor through the form. Screenshots go to
// $NIGHTJAR_ARTIFACTS (or the test's temporary directory).
func TestDashboardInBrowser(t *testing.T) {
	b := webtest.New(t)
	db, _ := simulatedDB(t, 300_000, dashboardNow)
	dir := t.TempDir()
	registry := filepath.Join(dir, "registry")
	if code, _, stderr := nightjar(t, "ca", "init", "--dir", registry); code != 0 {
		t.Fatalf("ca init: %s", stderr)
	}
	users := filepath.Join(dir, "users.yaml")
	addUser(t, users, "alice", "admin", "alice-password")
	addUser(t, users, "victor", "viewer", "victor-password")
	base := startServe(t, "--now", dashboardNow, "--db", db, "--ca", registry, "--users", users, "--listen", "127.0.0.1:0")
	now, _ := time.Parse(time.RFC3339, dashboardNow)
	day := func(daysBefore int) string { return now.AddDate(0, 0, -daysBefore).Format(time.DateOnly) }

	// Anonymous: the login form.
	b.Do(t, "open the login form", chromedp.Navigate(base+"/compare"))
	if loc := b.Location(t); !strings.HasPrefix(loc, base+"/login?next=") {
		t.Fatalf("an anonymous visitor of /compare is at %s, want the login form", loc)
	}
	b.Screenshot(t, "login")
	b.Login(t, base, "victor", "victor-password")
	if loc := b.Location(t); loc != base+"/" {
		t.Fatalf("after login at %s, want the overview", loc)
	}
	b.WaitReady(t)

	// The overview, by default the last 30 days.
	b.CheckCharts(t, "overview")
	b.CheckConsole(t, "overview")
	b.Screenshot(t, "overview")
	text := func(sel string) string {
		return webtest.Eval[string](t, b, `document.querySelector(`+jsString(sel)+`).textContent`)
	}
	fleetPackets := func(query string) string {
		var sum uint64
		for _, s := range apiJSON[topPortsAPI](t, b, "/api/v1/top-ports?top=1&"+query).Sensors {
			sum += s.Packets
		}
		if sum == 0 {
			t.Errorf("no packets in %s", query)
		}
		return analyze.Thousands(sum)
	}
	last30 := text("#packets-period")
	if want := fleetPackets("from=" + day(29) + "&to=" + day(0)); last30 != want {
		t.Errorf("overview: packets in the last 30 days %q, the API's sensors sum to %s", last30, want)
	}
	if got := text(".period-label"); !strings.Contains(got, "last 30 days") {
		t.Errorf("overview: the default period is %q, want the last 30 days", got)
	}
	if got := text("#packets-change"); !strings.Contains(got, "in the same part of the period before ("+day(59)+" 00:00 – "+day(30)+" 15:00)") {
		t.Errorf("overview: change %q, want it against the same part of the 30 days before", got)
	}
	if rows := webtest.Eval[int](t, b, `document.querySelectorAll('#top-ports tbody tr').length`); rows != 10 {
		t.Errorf("overview: %d fleet top ports, want 10", rows)
	}
	month := now.Format("2006-01")
	if got, want := text("#packets-month"), fleetPackets("period="+month); got != want {
		t.Errorf("overview: packets this month %q (overview API), in the period %s %q (top-ports API)", got, month, want)
	}
	if today := text("#packets-today"); today == "0" || today == "…" {
		t.Errorf("overview: packets today %q", today)
	}
	if active := text("#active-sensors"); !strings.HasSuffix(active, "/ 6") {
		t.Errorf("overview: active sensors %q, want n / 6", active)
	}

	// The period picker: the 30 days before have other numbers, and the
	// link reproduces the view.
	b.Click(t, "#period-prev")
	b.WaitReady(t)
	if loc, want := b.Location(t), "/?from="+day(59)+"&to="+day(30); !strings.HasSuffix(loc, want) {
		t.Errorf("after ◀ the URL is %s, want %s", loc, want)
	}
	if got := text("#packets-period"); got == last30 || got == "0" {
		t.Errorf("overview: packets in the 30 days before %q, in the last 30 days %q: the picker did not change the numbers", got, last30)
	}
	b.CheckCharts(t, "overview, the 30 days before")
	b.Screenshot(t, "overview-previous-30-days")
	// A month, through the kind selector: the month of the period's start.
	b.Follow(t, "choose a month",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#period-kind'); s.value = 'month'; s.dispatchEvent(new Event('change')); })()`))
	b.WaitReady(t)
	const prevMonth = "2026-06" // of 2026-06-21, 59 days before dashboardNow
	if loc := b.Location(t); !strings.HasSuffix(loc, "/?period="+prevMonth) {
		t.Errorf("after choosing a month the URL is %s, want period=%s", loc, prevMonth)
	}
	if got := text("#packets-change"); !regexp.MustCompile(`^[▲▼]?[0-9.]+% against [0-9,]+ in 2026-05$`).MatchString(got) {
		t.Errorf("overview of %s: change %q, want it against the whole previous month", prevMonth, got)
	}
	// Back to the default through the selector, then a quarter: the quarter of now.
	b.Follow(t, "choose the last 30 days",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#period-kind'); s.value = 'recent'; s.dispatchEvent(new Event('change')); })()`))
	b.WaitReady(t)
	if loc := b.Location(t); loc != base+"/" {
		t.Errorf("after choosing the last 30 days the URL is %s, want %s/", loc, base)
	}
	b.Follow(t, "choose a quarter",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#period-kind'); s.value = 'quarter'; s.dispatchEvent(new Event('change')); })()`))
	b.WaitReady(t)
	if loc := b.Location(t); !strings.HasSuffix(loc, "/?period=2026Q3") {
		t.Errorf("after choosing a quarter the URL is %s, want period=2026Q3", loc)
	}
	if got := text("#packets-period"); got == last30 {
		t.Errorf("overview: a quarter has the packets of the last 30 days (%s)", got)
	}
	if got := text("#packets-change"); !strings.Contains(got, "in the same part of the period before (2026-04-01 00:00 – 2026-05-20 15:00)") {
		t.Errorf("overview of 2026Q3 on %s: change %q, want it against the same part of 2026Q2", dashboardNow, got)
	}
	b.CheckConsole(t, "overview, periods")

	// Port graphs: the fleet's top three ports by default, then one more.
	b.Open(t, base+"/ports")
	charts := b.CheckCharts(t, "ports")
	if len(charts) != 6 {
		t.Errorf("ports: %d charts, want 6 (per group and per sensor for the top 3 ports)", len(charts))
	}
	b.Do(t, "add a port", chromedp.SendKeys(chromedp.ID("port-input"), "445/tcp"))
	b.Click(t, "#port-add")
	b.WaitReady(t)
	if loc := b.Location(t); !strings.Contains(loc, "port=445%2FTCP") {
		t.Errorf("after adding 445/TCP the URL is %s", loc)
	}
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('.port-panel').length`); n != 4 {
		t.Errorf("ports: %d port panels after adding one, want 4", n)
	}
	b.CheckCharts(t, "ports + 445/TCP")
	b.Screenshot(t, "ports")
	b.Open(t, base+"/ports?period="+day(0)+"&port=23%2FTCP&resolution=hour")
	b.CheckCharts(t, "ports, today by hour")
	b.Open(t, base+"/ports?from="+day(89)+"&to="+day(0)+"&port=23%2FTCP&resolution=hour")
	if note := text("#status"); !strings.Contains(note, "shown by day") {
		t.Errorf("ports over 90 days by hour: status %q, want a note that it is shown by day", note)
	}
	b.CheckCharts(t, "ports, 90 days asked by hour")
	b.CheckConsole(t, "ports")

	// The comparison: the table equals the API, for two periods; the
	// monthly chart shows by default the three months before this one and
	// this one so far.
	b.Open(t, base+"/compare")
	if charts := b.CheckCharts(t, "compare"); len(charts) != 1 || charts[0].Points != 8 {
		t.Errorf("compare: %+v, want one chart of 2 groups × 4 months", charts)
	}
	if got := webtest.Eval[[]string](t, b, `echarts.getInstanceByDom(document.querySelector('#chart-groups')).getOption().xAxis[0].data`); fmt.Sprint(got) != "[2026-05 2026-06 2026-07 2026-08 (so far)]" {
		t.Errorf("compare: months %q, want 2026-05 to 2026-08 (so far)", got)
	}
	current := checkSideBySide(t, b, "from="+day(29)+"&to="+day(0))
	b.Screenshot(t, "compare")
	b.Open(t, base+"/compare?period="+prevMonth)
	previous := checkSideBySide(t, b, "period="+prevMonth)
	if fmt.Sprint(current.Packets) == fmt.Sprint(previous.Packets) {
		t.Errorf("compare: the packets of the last 30 days and %s are equal: %v", prevMonth, current.Packets)
	}
	from, to := day(89), day(0)
	b.Open(t, base+"/compare?from="+from+"&to="+to)
	checkSideBySide(t, b, "from="+from+"&to="+to)
	if n := b.Charts(t); len(n) != 1 || n[0].Points < 6 {
		t.Errorf("compare over 90 days: %+v, want one chart with bars for 3 or more months and 2 groups", n)
	}
	b.CheckConsole(t, "compare")

	// Sources, and the page of the top source.
	b.Open(t, base+"/sources")
	b.CheckCharts(t, "sources")
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('#sources tbody tr').length`); n != 50 {
		t.Errorf("sources: %d rows, want 50", n)
	}
	b.Screenshot(t, "sources")
	top := webtest.Eval[string](t, b, `document.querySelector('#sources tbody a').textContent`)
	b.Click(t, "#sources tbody a")
	b.WaitReady(t)
	if got := text("#source-ip"); got != top {
		t.Errorf("source page for %q, want %q", got, top)
	}
	b.CheckCharts(t, "source")
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('#source-history tbody tr').length`); n == 0 {
		t.Error("source: no history rows")
	}
	b.Screenshot(t, "source")
	b.CheckConsole(t, "sources")

	// Sensors.
	b.Open(t, base+"/sensors")
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('#sensors tbody tr').length`); n != 6 {
		t.Errorf("sensors: %d rows, want 6", n)
	}
	b.Screenshot(t, "sensors")
	b.CheckConsole(t, "sensors")

	// An empty period: messages, not broken charts.
	for _, p := range []string{"/compare", "/sources", "/ports?port=23%2FTCP"} {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		b.Open(t, base+p+sep+"period=2001-01")
		b.CheckNoData(t, p+" in 2001-01")
		b.CheckConsole(t, p+" in 2001-01")
		if p == "/compare" {
			b.Screenshot(t, "compare-no-data")
		}
	}
	b.Open(t, base+"/?period=2001-01")
	if got := text("#top-ports"); !strings.Contains(got, "No data for this period") {
		t.Errorf("overview in 2001-01: top ports %q, want the no-data message", got)
	}
	if got := text("#packets-period"); got != "0" {
		t.Errorf("overview in 2001-01: %q packets, want 0", got)
	}
	b.CheckConsole(t, "/ in 2001-01")

	// A viewer has no admin page.
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('a[href="/admin"]').length`); n != 0 {
		t.Error("a viewer sees a link to /admin")
	}

	// An admin enrolls a sensor through the form, downloads its
	// credentials, and revokes it.
	b.Click(t, `form[action="/logout"] button`)
	b.Login(t, base, "alice", "alice-password")
	b.Do(t, "fill the enrollment form",
		chromedp.Navigate(base+"/admin"),
		chromedp.SendKeys(chromedp.CSS(`#enroll-form input[name=name]`), "br-sao-1"),
		chromedp.SendKeys(chromedp.CSS(`#enroll-form input[name=group]`), "overseas"),
		chromedp.SendKeys(chromedp.CSS(`#enroll-form input[name=country]`), "BR"),
		chromedp.SendKeys(chromedp.CSS(`#enroll-form textarea[name=addresses]`), "203.0.113.0/28"),
	)
	b.Click(t, "#enroll-submit")
	b.Do(t, "wait for the result", chromedp.WaitVisible(chromedp.ID("download")))
	b.Screenshot(t, "admin-enrolled")
	head := webtest.Eval[string](t, b, `fetch(document.querySelector('#download').href).then(async (r) => r.status + ' ' + r.headers.get('content-type') + ' ' + new Uint8Array(await r.arrayBuffer()).slice(0, 2).join(','))`)
	if head != "200 application/gzip 31,139" {
		t.Errorf("credentials download: %q, want a gzip archive", head)
	}
	reg, err := pki.Open(registry)
	if err != nil {
		t.Fatal(err)
	}
	status := reg.Status()
	if len(status) != 1 || status[0].Sensor.Name != "br-sao-1" || status[0].Usable(time.Now()) != 1 {
		t.Fatalf("registry after enrollment through the form: %+v", status)
	}
	b.Click(t, `tr[data-sensor="br-sao-1"] button`)
	b.Click(t, "#confirm-revoke-button")
	if msg := text(".notice"); !strings.Contains(msg, "Revoked 1 certificate(s) of br-sao-1") {
		t.Errorf("after revocation: %q", msg)
	}
	b.Screenshot(t, "admin-revoked")
	deadline := time.Now().Add(5 * time.Second)
	for !reg.Status()[0].Revoked() {
		if time.Now().After(deadline) {
			t.Fatal("the registry does not show the revocation made through the form")
		}
		time.Sleep(pki.ReloadInterval)
	}
	b.CheckConsole(t, "admin")
	b.CheckRequestsLocal(t, base)
}

// TestDefaultViewsInBrowser opens every page's default view at the
// instants where calendars trip, each over the 90 days of traffic up to it:
// every chart has data, the overview compares the period under way with
// the same part of the one before, and the monthly chart marks this month
// "so far". A dashboard that defaulted to the calendar month so far would
// show nearly nothing on the 1st.
func TestDefaultViewsInBrowser(t *testing.T) {
	b := webtest.New(t)
	// At the last seconds of a day the clock passes midnight during the
	// test: the page asks for the 30 days it computed, which may be over
	// by the time the server answers, and is then compared whole.
	underWay := regexp.MustCompile(`in the same part of the period before`)
	compared := regexp.MustCompile(`^[▲▼]?[0-9.]+% against [0-9,]+ in `)
	for _, tc := range []struct {
		now     string
		crosses bool
	}{
		{"2026-12-01T00:00:30Z", false}, // the first minute of a month
		{"2027-04-01T00:20:00Z", false}, // the first hour of a quarter
		{"2026-12-31T23:59:58Z", true},  // New Year's Eve, crossing into 2027 during the test
		{"2028-02-29T12:00:00Z", false}, // 29 February
		{"2026-11-30T23:59:59Z", true},  // the last second of a month
	} {
		now := tc.now
		t.Run(now, func(t *testing.T) {
			db, _ := simulatedDB(t, 30_000, now)
			base := startServe(t, "--now", now, "--db", db, "--listen", "127.0.0.1:0")
			for _, p := range []string{"/", "/ports", "/compare", "/sources", "/sensors"} {
				b.Open(t, base+p)
				if p != "/sensors" {
					b.CheckCharts(t, now+" "+p)
				}
				b.CheckConsole(t, now+" "+p)
				switch p {
				case "/":
					change := webtest.Eval[string](t, b, `document.querySelector('#packets-change').textContent`)
					if !compared.MatchString(change) || !tc.crosses && !underWay.MatchString(change) {
						t.Errorf("overview at %s: change %q, want the 30 days so far against the same part of the 30 days before", now, change)
					}
				case "/compare":
					months := webtest.Eval[[]string](t, b, `echarts.getInstanceByDom(document.querySelector('#chart-groups')).getOption().xAxis[0].data`)
					if len(months) != 4 || !strings.HasSuffix(months[3], " (so far)") {
						t.Errorf("compare at %s: months %q, want the 3 months before this one and this one (so far)", now, months)
					}
				case "/sensors":
					if n := webtest.Eval[int](t, b, `document.querySelectorAll('#sensors tbody tr').length`); n != 6 {
						t.Errorf("sensors at %s: %d rows, want 6", now, n)
					}
				}
			}
			b.Screenshot(t, "default-views-"+strings.NewReplacer(":", "").Replace(now))
		})
	}
}

// TestPublicPortGraphsInBrowser: with --public-port-graphs, an anonymous
// visitor sees the port graphs per group (no per-sensor chart, no API call
// refused), and nothing else.
func TestPublicPortGraphsInBrowser(t *testing.T) {
	b := webtest.New(t)
	db, _ := simulatedDB(t, 20_000, dashboardNow)
	users := filepath.Join(t.TempDir(), "users.yaml")
	addUser(t, users, "alice", "admin", "alice-password")
	base := startServe(t, "--now", dashboardNow, "--db", db, "--users", users, "--public-port-graphs", "--listen", "127.0.0.1:0")
	b.Open(t, base+"/ports")
	charts := b.CheckCharts(t, "public ports")
	if len(charts) != 3 {
		t.Errorf("public ports: %d charts, want 3 (per group, for the top 3 ports)", len(charts))
	}
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('header nav a').length`); n != 1 {
		t.Errorf("public ports: %d navigation links, want only the port graphs", n)
	}
	b.Screenshot(t, "public-ports")
	b.CheckConsole(t, "public ports")
	b.Do(t, "open the overview", chromedp.Navigate(base+"/"))
	if loc := b.Location(t); !strings.HasPrefix(loc, base+"/login") {
		t.Errorf("an anonymous visitor of the overview is at %s, want the login form", loc)
	}
	b.CheckRequestsLocal(t, base)
}

// TestDemoInBrowser opens the dashboard of a running `nightjar demo` (the
// backfill, plus six sensors streaming over mutual TLS) in the first
// minute of a year, a quarter and a month: every page draws its charts, and
// the sensors page shows each sensor's live health reported through the
// collector.
func TestDemoInBrowser(t *testing.T) {
	b := webtest.New(t)
	d := startDemo(t, t.TempDir(), "2027-01-01T00:00:30Z")
	defer func() {
		if code := d.stop(); code != 0 {
			t.Errorf("demo exited with %d:\n%s", code, d.stderr)
		}
	}()
	for _, p := range []string{"/", "/ports", "/compare", "/sources"} {
		b.Open(t, d.url+p)
		b.CheckCharts(t, "demo "+p)
		b.CheckConsole(t, "demo "+p)
	}
	b.Screenshot(t, "demo-sources")
	checkDemoOrigins(t, b, d.url)
	checkDemoDevices(t, b, d.url)
	// Every sensor reports its health within a few seconds of starting.
	deadline := time.Now().Add(time.Minute)
	for {
		b.Open(t, d.url+"/sensors")
		states := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('#sensors tbody tr td:nth-child(3)')].map((td) => td.textContent)`)
		if len(states) == 6 && strings.Count(strings.Join(states, " "), "ok") == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo sensors' states after a minute: %q, want six ok", states)
		}
		time.Sleep(time.Second)
	}
	if v := webtest.Eval[string](t, b, `document.querySelector('#sensors tbody tr td:nth-child(9)').textContent`); v != version {
		t.Errorf("demo sensors: version %q, want %q", v, version)
	}
	b.Screenshot(t, "demo-sensors")
	b.CheckConsole(t, "demo /sensors")
	b.CheckRequestsLocal(t, d.url)
}

// checkDemoOrigins: the demo's sources have countries and networks (its
// generated database): the origins page ranks them, draws them, shows the
// ports of the first, and a country links to its sources, all of it.
func checkDemoOrigins(t *testing.T, b *webtest.Browser, base string) {
	t.Helper()
	b.Open(t, base+"/origins")
	b.CheckCharts(t, "demo /origins")
	b.CheckConsole(t, "demo /origins")
	countries := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('.origin-table tbody a code')].map((c) => c.textContent)`)
	if len(countries) < 5 || !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(countries[0]) {
		t.Fatalf("demo origins: countries %q, want five or more codes", countries)
	}
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('#origin-ports tbody tr').length`); n == 0 {
		t.Error("demo origins: no ports of the first country")
	}
	b.Screenshot(t, "demo-origins")
	b.Click(t, ".origin-table tbody a")
	b.WaitReady(t)
	if loc := b.Location(t); !strings.Contains(loc, "/sources?") || !strings.Contains(loc, "country="+countries[0]) {
		t.Fatalf("a country links to %s, want its sources", loc)
	}
	got := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('#sources tbody tr td:nth-child(9)')].map((td) => td.textContent)`)
	if len(got) == 0 {
		t.Fatalf("no source of %s", countries[0])
	}
	for _, c := range got {
		if c != countries[0] {
			t.Fatalf("sources of %s: one is of %s", countries[0], c)
		}
	}
	b.CheckConsole(t, "demo /sources?country")
	// The verdict filter: the malicious sources (the demo's Mirai bots).
	b.Open(t, base+"/sources?verdict=malicious")
	verdicts := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('#sources tbody tr td:nth-child(12)')].map((td) => td.textContent)`)
	if len(verdicts) == 0 || slices.ContainsFunc(verdicts, func(v string) bool { return v != "malicious" }) {
		t.Errorf("demo sources?verdict=malicious: verdicts %q", verdicts)
	}
	b.CheckConsole(t, "demo /sources?verdict")
	b.Open(t, base+"/origins?kind=asn&by=group")
	b.CheckCharts(t, "demo /origins networks")
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('.origin-table').length`); n != 2 {
		t.Errorf("demo origins by group: %d tables, want one per group (2)", n)
	}
	b.CheckConsole(t, "demo /origins networks")
}

// checkDemoDevices: the demo's sources have devices (its simulated banner
// scans, imported): the devices page draws the models' sources over time
// and lists three models or more, and an identified source's page shows
// its device card with the evidence.
func checkDemoDevices(t *testing.T, b *webtest.Browser, base string) {
	t.Helper()
	b.Open(t, base+"/devices")
	b.CheckCharts(t, "demo /devices")
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('#devices tbody tr').length`); n < 3 {
		t.Errorf("demo devices: %d model rows, want 3 or more", n)
	}
	b.Screenshot(t, "demo-devices")
	b.CheckConsole(t, "demo /devices")
	b.Open(t, base+"/sources?top=500")
	ip := webtest.Eval[string](t, b, `(() => {
  const tr = [...document.querySelectorAll('#sources tbody tr')].find((tr) => tr.querySelector('.device'));
  return tr ? tr.querySelector('a code').textContent : '';
})()`)
	if ip == "" {
		t.Fatal("demo sources: no device on any of the top 500 sources")
	}
	b.Open(t, base+"/sources/"+url.PathEscape(ip))
	facts := webtest.Eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('#device-card dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))`)
	if facts["Vendor"] == "" || facts["Deciding rule"] == "" || facts["Kind"] == "" {
		t.Errorf("demo source %s: device card %q, want its vendor, kind and deciding rule", ip, facts)
	}
	if n := webtest.Eval[int](t, b, `document.querySelectorAll('#device-evidence tbody tr').length`); n == 0 {
		t.Errorf("demo source %s: no evidence under the device card", ip)
	}
	b.Screenshot(t, "demo-source-device")
	b.CheckConsole(t, "demo /sources/"+ip)
}
